"""Bitbucket Server / Data Center: ``auth`` (the credential is accepted by the REST API) and
``permissions`` (the connector's repository is readable).

API base: ``https://<host>[:port]/rest/api/1.0`` from the connector URL (``endpoints.py``).
Bitbucket Cloud (``bitbucket.org``, API ``/2.0``) is not checked here: its items are skipped.

Credential: ``apiAccess`` when given (``UsernameToken``: Basic ``username:token``, the way a
user's HTTP access token works; ``OAuth``: ``Authorization: Bearer <token>``, the only way a
project or repository HTTP access token works), else the HTTP ``UsernamePassword``
authentication (Basic ``username:password``). SSH-only connectors without ``apiAccess`` have
nothing to check here.

``auth`` calls ``GET /users/{username}`` with Basic credentials (the endpoint needs an
authenticated caller, so a 200 proves the credential) and ``GET /application-properties`` with
a Bearer token (no user name to look up; Bitbucket rejects credentials it does not accept with
401 on every path, this one included). The server version is noted either way.

No ``rate_limit`` check: Data Center rate limiting is an opt-in token bucket whose documentation
promises only the ``429`` (with ``Retry-After``), no remaining-count headers on ordinary
answers. A ``429`` on any call fails as ``rate-limited`` with ``retry_after`` and, when the
server sends them, ``X-RateLimit-Limit`` / ``X-RateLimit-Remaining``.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from ..endpoints import Endpoint, api_endpoint
from ..model import Connector, Credential, ScmSpec
from ..probes.http import HttpResult
from ..results import Failure, Skip
from ..secrets import Secret
from .api import call, secret_of
from .context import CheckContext, CollectContext
from .network import applies_to_network

CLOUD_API_PATH = "/2.0"


def _credential(spec: ScmSpec) -> tuple[Credential, str] | None:
    """The credential the API calls use and the field holding its secret."""
    api = spec.api_access
    if api is not None and "tokenRef" in api.refs:
        return api, "tokenRef"
    auth = spec.auth
    if auth is not None and auth.kind == "UsernamePassword" and "passwordRef" in auth.refs:
        return auth, "passwordRef"
    return None


def applies(connector: Connector, collect: CollectContext) -> bool:
    spec = connector.spec
    return (
        isinstance(spec, ScmSpec)
        and applies_to_network(connector, collect)
        and _credential(spec) is not None
    )


def _spec(ctx: CheckContext) -> ScmSpec:
    spec = ctx.connector.spec
    assert isinstance(spec, ScmSpec)
    return spec


def _base(ctx: CheckContext) -> Endpoint:
    base = api_endpoint(ctx.connector)
    if base is None:
        raise Skip("no Bitbucket API base can be derived from the connector")
    if base.path.rstrip("/") == CLOUD_API_PATH:
        raise Skip("Bitbucket Cloud (api.bitbucket.org/2.0) is not checked yet")
    return base


def _reference(ctx: CheckContext) -> str:
    found = _credential(_spec(ctx))
    return found[0].refs[found[1]].raw if found else "?"


def _username(ctx: CheckContext, credential: Credential) -> str | None:
    username = credential.values.get("username")
    if username is None and "usernameRef" in credential.refs:
        username = secret_of(ctx, credential, "usernameRef")[1].reveal()
    return username


def _headers(ctx: CheckContext) -> tuple[dict[str, str], str | None]:
    """The ``Authorization`` header and the user name (None for a Bearer token)."""
    found = _credential(_spec(ctx))
    if found is None:
        raise Skip("the connector has no credential for the Bitbucket API")
    credential, field = found
    ref, secret = secret_of(ctx, credential, field)
    if credential.kind == "OAuth":
        return {"Authorization": f"Bearer {secret.reveal()}"}, None
    username = _username(ctx, credential)
    if not username:
        raise Skip(f"the {credential.kind} credential has no username: nothing to check yet")
    pair = base64.b64encode(f"{username}:{secret.reveal()}".encode()).decode()
    header = Secret(pair, ref.raw, "derived")  # the encoded pair is masked too
    return {"Authorization": f"Basic {header.reveal()}"}, username


def _call(ctx: CheckContext, path: str) -> HttpResult:
    headers, _ = _headers(ctx)
    result = call(ctx, _base(ctx), path, headers)
    _raise_if_throttled(result)
    return result


def provider_error(result: HttpResult) -> str:
    """Bitbucket's own words: ``errors[0].message``, else the start of the body."""
    data = result.json()
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            message = errors[0].get("message")
            if isinstance(message, str) and message:
                return message
    return result.message


def _raise_if_throttled(result: HttpResult) -> None:
    if result.status != 429:
        return
    headers = result.headers
    evidence: dict[str, Any] = {"retry_after": headers.get("retry-after")}
    for name, key in (("x-ratelimit-limit", "limit"), ("x-ratelimit-remaining", "remaining")):
        if headers.get(name) is not None:
            evidence[key] = headers[name]
    raise Failure(
        "rate-limited",
        f"Bitbucket answered 429: {provider_error(result)}"
        + (f" (retry after {evidence['retry_after']} s)" if evidence["retry_after"] else ""),
        **evidence,
    )


def check_auth(ctx: CheckContext) -> None:
    _, username = _headers(ctx)
    path = f"/users/{quote(username.lower(), safe='')}" if username else "/application-properties"
    result = _call(ctx, path)
    ctx.note(api=result.url, status=result.status)
    if result.status in (401, 403):
        message = provider_error(result)
        raise Failure(
            "invalid-credentials",
            f"Bitbucket rejected {_reference(ctx)}"
            + (f" for {username}" if username else "")
            + f": {result.status} {message}",
            reference=_reference(ctx),
            provider_error=message,
        )
    if result.status == 404 and username:
        # Accepted credentials (a wrong one answers 401 on every path), but the user slug is
        # not the user name: fall back to a call that needs no slug.
        ctx.note(user_lookup=f"no user slug {username.lower()!r}: version checked instead")
        result = _call(ctx, "/application-properties")
    if result.status == 404:
        raise Failure(
            "incorrect-endpoint", f"{result.url} answers 404: there is no Bitbucket REST API there",
            url=result.url, problem="no Bitbucket Server REST API at the API base",
        )  # fmt: skip
    if result.status != 200:
        message = provider_error(result)
        raise Failure(
            "invalid-credentials", f"Bitbucket answered {result.status} {message}",
            reference=_reference(ctx), provider_error=f"{result.status} {message}",
        )  # fmt: skip
    body = result.json()
    body = body if isinstance(body, dict) else {}
    if "version" in body:
        ctx.note(server_version=body.get("version"))
    else:
        ctx.note(username=body.get("name") or username, user_slug=body.get("slug"))
        _note_version(ctx)


def _note_version(ctx: CheckContext) -> None:
    result = _call(ctx, "/application-properties")
    if result.status == 200:
        ctx.note(server_version=(result.json() or {}).get("version"))


def repository_key(connector: Connector) -> tuple[str, str] | None:
    """(project key, repository slug) from the URL (+ ``validationRepo`` for Account).

    ``https://host/scm/<project>/<repo>.git``, ``https://host/projects/<KEY>/repos/<repo>``
    (``/browse`` ...), ``ssh://git@host:7999/<project>/<repo>.git``, ``git@host:<project>/<repo>``.
    """
    spec = connector.spec
    assert isinstance(spec, ScmSpec) and spec.url
    rest = spec.url.split("://", 1)[-1]
    path = rest.split("/", 1)[1] if "/" in rest else ""
    head = rest.split("/", 1)[0]
    if "://" not in spec.url and ":" in head:  # git@host:project/repo
        path = head.split(":", 1)[1] + ("/" + path if path else "")
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if spec.connection_type == "Account":
        if not spec.validation_repo:
            return None
        parts += [p for p in spec.validation_repo.split("/") if p]
    parts = [p.removesuffix(".git") for p in parts]
    lowered = [p.lower() for p in parts]
    if "projects" in lowered and "repos" in lowered:
        i, j = lowered.index("projects"), lowered.index("repos")
        if j == i + 2 and len(parts) > j + 1:
            return parts[i + 1], parts[j + 1]
    if "scm" in lowered:
        after = parts[lowered.index("scm") + 1 :]
        return (after[0], after[1]) if len(after) >= 2 else None
    return (parts[-2], parts[-1]) if len(parts) >= 2 else None


def check_permissions(ctx: CheckContext) -> None:
    found = repository_key(ctx.connector)
    if found is None:
        raise Skip("the connector names no Bitbucket repository (project/repo)")
    project, slug = found
    shown = f"{project}/{slug}"
    path = f"/projects/{quote(project, safe='~')}/repos/{quote(slug, safe='')}"
    result = _call(ctx, path)
    ctx.note(repository=shown, repository_status=result.status)
    if result.status == 200:
        return
    if result.status in (401, 403, 404):
        # After auth passed, 401 means "not permitted"; a repository the credential cannot see
        # answers 404 like a missing one.
        raise Failure(
            "insufficient-permissions",
            f"{_reference(ctx)} cannot read the repository {shown}"
            f" ({result.status} {provider_error(result)})",
            missing=f"read access to {shown}",
            reference=_reference(ctx),
            provider_error=provider_error(result),
        )
    raise Failure(
        "incorrect-endpoint", f"{result.url} answered {result.status} {provider_error(result)}",
        url=result.url, problem=f"status {result.status}",
    )  # fmt: skip


PROVIDES = {"auth": check_auth, "permissions": check_permissions}
APPLIES = applies
