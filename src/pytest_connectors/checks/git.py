"""Generic Git over HTTP(S): ``auth`` lists the repository's refs through smart HTTP
(``info/refs?service=git-upload-pack``) with the connector's credentials, as ``git ls-remote``
(and Harness's connection test) does. SSH connectors are left to the connectivity checks."""

from __future__ import annotations

import base64

from ..endpoints import parse_url
from ..masking import redact_url
from ..model import Connector, ScmSpec
from ..results import Failure, NotApplicable
from ..secrets import Secret
from .api import NO_VALIDATION_REPO, call, secret_of
from .context import CheckContext, CollectContext
from .network import applies_to_network


def applies(connector: Connector, collect: CollectContext) -> bool:
    spec = connector.spec
    return (
        isinstance(spec, ScmSpec)
        and spec.protocol == "Http"
        and applies_to_network(connector, collect)
    )


def _repository_url(spec: ScmSpec) -> str:
    assert spec.url
    if spec.connection_type == "Account":
        if not spec.validation_repo:
            raise NotApplicable(NO_VALIDATION_REPO)
        return spec.url.rstrip("/") + "/" + spec.validation_repo
    return spec.url


def check_auth(ctx: CheckContext) -> None:
    spec = ctx.connector.spec
    assert isinstance(spec, ScmSpec)
    credential = spec.auth
    ref, password = secret_of(ctx, credential, "passwordRef")
    assert credential is not None
    username = shown = credential.values.get("username")
    if username is None:  # a secret holds it: messages name its reference, never its value
        user_ref, user_secret = secret_of(ctx, credential, "usernameRef")
        username, shown = user_secret.reveal(), f"the username in {user_ref.raw}"
    pair = base64.b64encode(f"{username}:{password.reveal()}".encode()).decode()
    header = Secret(pair, ref.raw, "derived")  # the encoded pair is masked too
    repository = _repository_url(spec)
    base = parse_url(repository, "git")
    repository = redact_url(repository)  # what messages quote: no credentials of the URL
    result = call(
        ctx, base, "info/refs?service=git-upload-pack",  # relative to the repository URL
        {"Authorization": f"Basic {header.reveal()}", "Git-Protocol": "version=2"},
    )  # fmt: skip
    ctx.note(repository=repository, status=result.status)
    content_type = result.headers.get("content-type", "")
    if result.status == 200 and content_type.lower().startswith("text/html"):
        # A web page (a sign-in portal, a web UI) answers every path: not a Git server.
        raise Failure(
            "incorrect-endpoint",
            f"{repository} answered 200 with a web page ({content_type}), not Git refs",
            url=repository, problem=f"200 {content_type}: not a Git smart-HTTP answer",
        )  # fmt: skip
    if result.status == 200:
        return
    if result.status == 401:
        raise Failure(
            "invalid-credentials",
            f"the Git server rejected {shown} with {ref.raw}: {result.status}",
            reference=ref.raw,
            provider_error=f"{result.status} {result.message}",
        )
    if result.status in (403, 404):
        raise Failure(
            "insufficient-permissions",
            f"{shown} cannot read {repository} ({result.status})",
            missing=f"read access to {repository}",
            reference=ref.raw,
        )
    raise Failure(
        "incorrect-endpoint", f"{repository} answered {result.status}: not a Git smart-HTTP URL",
        url=repository, problem=f"status {result.status}",
    )  # fmt: skip


PROVIDES = {"auth": check_auth}
APPLIES = applies
