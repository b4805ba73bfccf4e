"""DockerRegistry: ``auth`` is ``GET /v2/`` with Basic credentials, following the registry's
bearer-token challenge (``WWW-Authenticate: Bearer realm=...``) as ``docker login`` does."""

from __future__ import annotations

import base64
import re
from urllib.parse import urlencode

from ..endpoints import Endpoint, EndpointError, parse_url
from ..model import Connector, DockerRegistrySpec
from ..probes.http import HttpResult
from ..results import Failure
from ..secrets import Secret
from .api import call, json_object, secret_of
from .context import CheckContext, CollectContext
from .network import applies_to_network

#: ``name=value`` of a challenge (RFC 7235: names are case-insensitive, values a token or a
#: quoted string with backslash escapes).
_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))')
#: What a client sends on to the token server (as the Docker client does).
_TOKEN_PARAMS = ("service", "scope")


def _challenge(header: str) -> dict[str, str]:
    """The parameters of a ``Bearer`` challenge, names lower-cased, quotes and escapes undone."""
    return {
        name.lower(): re.sub(r"\\(.)", r"\1", quoted) if quoted or not bare else bare
        for name, quoted, bare in _PARAM.findall(header)
    }


def applies(connector: Connector, collect: CollectContext) -> bool:
    return isinstance(connector.spec, DockerRegistrySpec) and applies_to_network(connector, collect)


def _basic(ctx: CheckContext) -> tuple[str, str | None]:
    """(Authorization header value or "", the password reference) for this connector."""
    spec = ctx.connector.spec
    assert isinstance(spec, DockerRegistrySpec)
    credential = spec.auth
    if credential is None or credential.kind == "Anonymous":
        return "", None
    ref, password = secret_of(ctx, credential, "passwordRef")
    username = credential.values.get("username")
    if username is None:
        _, user_secret = secret_of(ctx, credential, "usernameRef")
        username = user_secret.reveal()
    pair = f"{username}:{password.reveal()}".encode()
    token = Secret(base64.b64encode(pair).decode(), ref.raw, "derived")  # masked too
    return f"Basic {token.reveal()}", ref.raw


def _root(ctx: CheckContext) -> Endpoint:
    spec = ctx.connector.spec
    assert isinstance(spec, DockerRegistrySpec) and spec.url
    url = parse_url(spec.url, "registry")
    return Endpoint("registry", url.scheme, url.host, url.port, "/")


def _rejected(ctx: CheckContext, reference: str | None, result: HttpResult, where: str) -> Failure:
    who = f"the credentials in {reference}" if reference else "anonymous access"
    return Failure(
        "invalid-credentials",
        f"the registry refused {who} at {where}: {result.status} {result.message}",
        reference=reference or "(anonymous)",
        provider_error=f"{result.status} {result.message}",
    )


def _unexpected(result: HttpResult, where: str) -> Failure:
    """An answer that is neither a yes nor a credential refusal: throttling or no registry."""
    if result.status == 429:
        return Failure(
            "rate-limited",
            f"the registry answered 429 at {where}: {result.message}",
            retry_after=result.headers.get("retry-after"),
        )
    if result.status == 404:
        what = "there is no Docker registry API there"
    elif result.status is not None and result.status >= 500:
        what = "the server failed (this says nothing about the credential)"
    else:
        what = "not an answer of a Docker registry"
    return Failure(
        "incorrect-endpoint",
        f"{result.url} answered {result.status} {result.message}: {what}",
        url=result.url,
        problem=f"status {result.status} at {where}",
    )


def check_auth(ctx: CheckContext) -> None:
    root = _root(ctx)
    authorization, reference = _basic(ctx)
    headers = {"Authorization": authorization} if authorization else {}
    first = call(ctx, root, "/v2/", headers)
    ctx.note(api=first.url, status=first.status)
    if first.status == 200:
        return
    challenge = first.headers.get("www-authenticate", "").strip()
    if first.status not in (401, 403):
        raise _unexpected(first, "/v2/")
    if first.status != 401 or not challenge.lower().startswith("bearer"):
        raise _rejected(ctx, reference, first, "/v2/")
    found = _challenge(challenge[len("bearer") :])
    realm = found.get("realm", "")
    params = {name: found[name] for name in _TOKEN_PARAMS if found.get(name)}
    try:
        token_endpoint = parse_url(realm, "token")
    except EndpointError as exc:
        raise Failure(
            "incorrect-endpoint", f"the registry's token realm '{realm}' is unusable: {exc}",
            url=realm, problem=str(exc),
        ) from None  # fmt: skip
    if token_endpoint.scheme != "https" and not token_endpoint.host.startswith("127."):
        raise Failure(
            "insecure-transport",
            f"the registry sends credentials to a plain-HTTP token realm {realm}",
            url=realm,
        )
    ctx.note(token_realm=realm)
    query = ("?" + urlencode(params)) if params else ""
    realm_host = Endpoint("token", token_endpoint.scheme, token_endpoint.host, token_endpoint.port)
    token_result = call(ctx, realm_host, token_endpoint.path + query, headers)
    if token_result.status in (401, 403):
        raise _rejected(ctx, reference, token_result, realm)
    if token_result.status != 200:
        raise _unexpected(token_result, realm)
    data = json_object(token_result)
    token = data.get("token") or data.get("access_token")
    if not token:
        raise _rejected(ctx, reference, token_result, realm)
    bearer = Secret(str(token), "registry token", "registry")
    again = call(ctx, root, "/v2/", {"Authorization": f"Bearer {bearer.reveal()}"})
    if again.status != 200:
        raise _rejected(ctx, reference, again, "/v2/ with the issued token")


PROVIDES = {"auth": check_auth}
APPLIES = applies
