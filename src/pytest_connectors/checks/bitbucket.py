"""Bitbucket Server / Data Center and Bitbucket Cloud: ``auth`` (the credential is accepted by
the REST API) and ``permissions`` (the connector's repository is readable).

API base: ``https://<host>[:port]/rest/api/1.0`` from the connector URL, and
``https://api.bitbucket.org/2.0`` for a ``bitbucket.org`` URL (``endpoints.py``); the
per-connector setting ``bitbucket: {apiUrl: ...}`` replaces it as given. The connector is judged
as Bitbucket Cloud when its URL is on bitbucket.org or its API base ends in ``/2.0``.

Credential: ``apiAccess`` when given (``UsernameToken``: Basic ``username:token``, the way a
user's HTTP access token works; ``AccessToken`` and ``OAuth``: ``Authorization: Bearer
<token>``, the only way a project or repository HTTP access token works, and a way a user's
token works too; ``EmailAndApiToken``: Basic ``email:token``, an Atlassian API token, which
only Bitbucket Cloud knows: against Server / Data Center both checks skip and say so, sending
nothing), else the HTTP ``UsernamePassword`` authentication (Basic ``username:password``).
SSH-only connectors without ``apiAccess`` have nothing to check here. Docs: Data Center HTTP
access tokens (Basic for a user's, Bearer for any):
https://confluence.atlassian.com/bitbucketserver091/http-access-tokens-1443038354.html; Cloud
API tokens (Basic with the account e-mail): https://support.atlassian.com/bitbucket-cloud/docs/using-api-tokens/.

``auth`` calls ``GET /users/{username}`` with Basic credentials (the endpoint needs an
authenticated caller, so a 200 proves the credential) and ``GET /application-properties`` with
a Bearer token (no user name to look up; Bitbucket rejects credentials it does not accept with
401 on every path, this one included). The server version is noted either way.

Bitbucket Cloud takes the same credentials: Basic ``username:app password`` (or the Atlassian
account e-mail with an API token: ``EmailAndApiToken``) and ``Authorization: Bearer`` for a
repository, project or workspace access token (``apiAccess`` ``AccessToken`` or ``OAuth``).
``auth`` calls ``GET /2.0/user``: 200 passes; a 403
means the credential was accepted but lacks the ``account`` scope that endpoint needs (Harness
does not need it), so it passes with a note; a 401 is ``invalid-credentials``, except that an
access token refused on ``/user`` is tried on the connector's repository first (access tokens
are not accepted everywhere). ``permissions`` calls ``GET
/2.0/repositories/{workspace}/{repo_slug}``: 403 (private, no access, or a scope missing) and
404 (no such repository, or not visible) are ``insufficient-permissions`` naming the repository.
Docs: https://developer.atlassian.com/cloud/bitbucket/rest/intro/ (authentication) and
https://developer.atlassian.com/cloud/bitbucket/rest/api-group-repositories/.

No ``rate_limit`` check: Data Center rate limiting is an opt-in token bucket whose documentation
promises only the ``429`` (with ``Retry-After``), no remaining-count headers on ordinary
answers, and Bitbucket Cloud sends its ``X-RateLimit-*`` headers only to access tokens on some
endpoints. A ``429`` on any call fails as ``rate-limited`` with ``retry_after`` and, when the
server sends them, ``X-RateLimit-Limit`` / ``-Remaining`` / ``-Resource`` / ``-NearLimit``.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from ..endpoints import Endpoint, EndpointError, api_endpoint
from ..model import Connector, Credential, ScmSpec
from ..probes.http import HttpResult
from ..results import Failure, NotApplicable, Skip
from ..secrets import Secret
from .api import (
    NO_VALIDATION_REPO,
    call,
    json_object,
    names_no_repository,
    raise_if_server_error,
    secret_of,
)
from .context import CheckContext, CollectContext
from .network import applies_to_network

CLOUD_API_PATH = "/2.0"
#: apiAccess types sent as ``Authorization: Bearer <token>``; the others go as Basic.
BEARER_KINDS = ("OAuth", "AccessToken")
#: An Atlassian API token, sent as Basic ``email:token``: only Bitbucket Cloud accepts one.
CLOUD_ONLY_KIND = "EmailAndApiToken"


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
    try:
        base = api_endpoint(ctx.connector, ctx.expectations.provider)
    except EndpointError as exc:
        raise Failure(
            "incorrect-endpoint", f"the Bitbucket API base is unusable: {exc}",
            url=exc.url, problem=exc.problem,
        ) from None  # fmt: skip
    if base is None:
        raise Skip("no Bitbucket API base can be derived from the connector")
    return base


def _is_cloud(ctx: CheckContext) -> bool:
    """Bitbucket Cloud: an API base ending in ``/2.0`` (what ``endpoints`` derives for a
    bitbucket.org URL, or what ``bitbucket.apiUrl`` names)."""
    return _base(ctx).path.rstrip("/").endswith(CLOUD_API_PATH)


def _reference(ctx: CheckContext) -> str:
    found = _credential(_spec(ctx))
    return found[0].refs[found[1]].raw if found else "?"


def _user_field(credential: Credential) -> str:
    """What Basic authentication puts before the colon: the e-mail for an API token."""
    return "email" if credential.kind == CLOUD_ONLY_KIND else "username"


def _username(ctx: CheckContext, credential: Credential) -> tuple[str | None, str | None]:
    """The user name Basic authentication sends, and how messages name it: as the YAML writes
    it, or by the reference of the secret that holds it (never its value, however short)."""
    field = _user_field(credential)
    username = credential.values.get(field)
    if username is not None:
        return username, username
    if f"{field}Ref" in credential.refs:
        ref, secret = secret_of(ctx, credential, f"{field}Ref")
        secret.mask_case_variants()  # the API path lower-cases it; the server echoes it
        return secret.reveal(), f"the {field} in {ref.raw}"
    return None, None


def _user_shown(ctx: CheckContext) -> str | None:
    """How messages name the user of a Basic credential (None for a Bearer token)."""
    found = _credential(_spec(ctx))
    if found is None or found[0].kind in BEARER_KINDS:
        return None
    return _username(ctx, found[0])[1]


def _headers(ctx: CheckContext) -> tuple[dict[str, str], str | None]:
    """The ``Authorization`` header and the user name (None for a Bearer token)."""
    found = _credential(_spec(ctx))
    if found is None:
        raise Skip("the connector has no credential for the Bitbucket API")
    credential, field = found
    ref, secret = secret_of(ctx, credential, field)
    if credential.kind in BEARER_KINDS:
        return {"Authorization": f"Bearer {secret.reveal()}"}, None
    username, _ = _username(ctx, credential)
    if not username:
        field = _user_field(credential)
        raise Skip(f"the {credential.kind} credential has no {field}: nothing to check yet")
    pair = base64.b64encode(f"{username}:{secret.reveal()}".encode()).decode()
    header = Secret(pair, ref.raw, "derived")  # the encoded pair is masked too
    return {"Authorization": f"Basic {header.reveal()}"}, username


def _call(ctx: CheckContext, path: str) -> HttpResult:
    headers, _ = _headers(ctx)
    result = call(ctx, _base(ctx), path, headers)
    _raise_if_throttled(result)
    return result


def provider_error(result: HttpResult) -> str:
    """Bitbucket's own words: ``errors[0].message`` (Server), ``error.message`` (Cloud), else
    the start of the body."""
    data = result.json()
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
            return str(error["message"])
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
    for name, key in (
        ("x-ratelimit-limit", "limit"),
        ("x-ratelimit-remaining", "remaining"),
        ("x-ratelimit-resource", "resource"),
        ("x-ratelimit-nearlimit", "near_limit"),
    ):
        if headers.get(name) is not None:
            evidence[key] = headers[name]
    raise Failure(
        "rate-limited",
        f"Bitbucket answered 429: {provider_error(result)}"
        + (f" (retry after {evidence['retry_after']} s)" if evidence["retry_after"] else ""),
        **evidence,
    )


def _refuse_cloud_only(ctx: CheckContext) -> None:
    """An Atlassian API token on a Server / Data Center API: said plainly, nothing sent."""
    found = _credential(_spec(ctx))
    if found is None or found[0].kind != CLOUD_ONLY_KIND:
        return
    raise Skip(
        f"apiAccess {CLOUD_ONLY_KIND} holds an Atlassian API token, which only Bitbucket Cloud"
        f" accepts; {_base(ctx).url} is a Bitbucket Server / Data Center API, which has no such"
        " tokens, so it was not sent. On Data Center use UsernameToken with a user's HTTP"
        " access token, or AccessToken with a project or repository token"
    )


def check_auth(ctx: CheckContext) -> None:
    if _is_cloud(ctx):
        _check_cloud_auth(ctx)
        return
    _refuse_cloud_only(ctx)
    _, username = _headers(ctx)
    shown = _user_shown(ctx)
    secret_user = shown != username
    path = f"/users/{quote(username.lower(), safe='')}" if username else "/application-properties"
    result = _call(ctx, path)
    api = _base(ctx).url.rstrip("/") + "/users/{username}" if secret_user else result.url
    ctx.note(api=api, status=result.status)
    if result.status in (401, 403):
        message = provider_error(result)
        raise Failure(
            "invalid-credentials",
            f"Bitbucket rejected {_reference(ctx)}"
            + (f" for {shown}" if shown else "")
            + f": {result.status} {message}",
            reference=_reference(ctx),
            provider_error=message,
        )
    if result.status == 404 and username:
        # Accepted credentials (a wrong one answers 401 on every path), but the user slug is
        # not the user name: fall back to a call that needs no slug.
        slug = f"for {shown}" if secret_user else repr(username.lower())
        ctx.note(user_lookup=f"no user slug {slug}: version checked instead")
        result = _call(ctx, "/application-properties")
    if result.status == 404:
        raise Failure(
            "incorrect-endpoint", f"{result.url} answers 404: there is no Bitbucket REST API there",
            url=result.url, problem="no Bitbucket Server REST API at the API base",
        )  # fmt: skip
    raise_if_server_error(result, "Bitbucket")
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
        if secret_user:  # the server's name and slug are the secret's value
            ctx.note(username=shown)
        else:
            ctx.note(username=body.get("name") or username, user_slug=body.get("slug"))
        _note_version(ctx)


def _note_version(ctx: CheckContext) -> None:
    result = _call(ctx, "/application-properties")
    if result.status == 200:
        ctx.note(server_version=json_object(result).get("version"))


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
    if _is_cloud(ctx):
        _check_cloud_permissions(ctx)
        return
    _refuse_cloud_only(ctx)
    found = repository_key(ctx.connector)
    if found is None and names_no_repository(_spec(ctx)):
        raise NotApplicable(NO_VALIDATION_REPO)
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


# -- Bitbucket Cloud --------------------------------------------------------------------------


def cloud_repository(connector: Connector) -> tuple[str, str] | None:
    """(workspace, repository slug) of a Bitbucket Cloud connector.

    ``https://[user@]bitbucket.org/<workspace>/<repo>[.git]`` (anything after the slug, such as
    ``/src/main``, is ignored), ``git@bitbucket.org:<workspace>/<repo>.git``; an Account
    connector's URL names the workspace and ``validationRepo`` the repository.
    """
    spec = connector.spec
    assert isinstance(spec, ScmSpec) and spec.url
    rest = spec.url.split("://", 1)[-1]
    head, _, path = rest.partition("/")
    if "://" not in spec.url and ":" in head:  # git@bitbucket.org:workspace/repo
        path = head.split(":", 1)[1] + ("/" + path if path else "")
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if spec.connection_type == "Account":
        if not spec.validation_repo:
            return None
        extra = [p for p in spec.validation_repo.split("/") if p]
        parts = parts[:1] + extra[-1:] if parts else extra[-2:]
    parts = [p.removesuffix(".git") for p in parts[:2]]
    return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None


def _cloud_repository_path(workspace: str, slug: str) -> str:
    return f"/repositories/{quote(workspace, safe='')}/{quote(slug, safe='')}"


def _scope_detail(result: HttpResult) -> tuple[list[str], list[str]]:
    """(required, granted) scopes from a Cloud 403's ``error.detail``, when it lists them."""
    data = result.json()
    error = data.get("error") if isinstance(data, dict) else None
    detail = error.get("detail") if isinstance(error, dict) else None
    if not isinstance(detail, dict):
        return [], []
    required, granted = detail.get("required"), detail.get("granted")
    return (
        [str(s) for s in required] if isinstance(required, list) else [],
        [str(s) for s in granted] if isinstance(granted, list) else [],
    )


def _token_accepted_elsewhere(ctx: CheckContext, refused: HttpResult) -> bool:
    """An access token refused on ``/user`` may still be valid: try the repository."""
    found = cloud_repository(ctx.connector)
    if found is None:
        return False
    result = _call(ctx, _cloud_repository_path(*found))
    raise_if_server_error(result, "Bitbucket Cloud")
    if result.status == 401:
        return False
    ctx.note(
        user_lookup=f"GET /user refused the access token ({provider_error(refused)}), but"
        f" {found[0]}/{found[1]} accepted it ({result.status})",
    )
    return True


_CLOUD_CREDENTIALS = {
    CLOUD_ONLY_KIND: "Atlassian account e-mail + API token (Basic)",
    "AccessToken": "access token (Bearer)",
    "OAuth": "access token (Bearer)",
}
_CLOUD_401_API_TOKEN_HINT = (
    " (an API token goes with the e-mail of the Atlassian account that created it, and Bitbucket"
    " takes only tokens created with Bitbucket scopes)"
)
#: For a username: Basic carries the same pair whichever Harness type holds it.
_CLOUD_401_USER_HINT = (
    " (Bitbucket Cloud takes the Bitbucket username, not the e-mail address, with an app"
    " password, or the Atlassian account e-mail with an API token)"
)


def _check_cloud_auth(ctx: CheckContext) -> None:
    _, username = _headers(ctx)
    shown = _user_shown(ctx)
    found = _credential(_spec(ctx))
    kind = found[0].kind if found else ""
    result = _call(ctx, "/user")
    ctx.note(
        api=result.url,
        status=result.status,
        flavour="Bitbucket Cloud",
        credential=_CLOUD_CREDENTIALS.get(kind, "username + app password (Basic)"),
    )
    body = result.json()
    body = body if isinstance(body, dict) else {}
    if result.status == 200:
        ctx.note(
            username=shown if shown != username else body.get("username") or username,
            display_name=body.get("display_name"),
            account_id=body.get("account_id"),
        )
        return
    if result.status == 403:
        # Authenticated (a wrong credential is a 401), but /user wants the account scope,
        # which Harness does not need.
        required, granted = _scope_detail(result)
        ctx.note(
            username=shown,
            user_lookup=f"GET /user answered 403 {provider_error(result)}: the credential is"
            " accepted, it only lacks the scope that endpoint needs",
            user_required_scopes=required,
            granted_scopes=granted,
        )
        return
    if result.status == 401 and username is None and _token_accepted_elsewhere(ctx, result):
        return
    if result.status == 401:
        message = provider_error(result)
        hint = _CLOUD_401_API_TOKEN_HINT if kind == CLOUD_ONLY_KIND else _CLOUD_401_USER_HINT
        hint = hint if username else ""
        raise Failure(
            "invalid-credentials",
            f"Bitbucket Cloud rejected {_reference(ctx)}"
            + (f" for {shown}" if shown else "")
            + f": 401 {message}{hint}",
            reference=_reference(ctx),
            provider_error=message,
        )
    if result.status == 404:
        raise Failure(
            "incorrect-endpoint",
            f"{result.url} answers 404: there is no Bitbucket Cloud API there",
            url=result.url, problem="no Bitbucket Cloud REST API (2.0) at the API base",
        )  # fmt: skip
    raise Failure(
        "incorrect-endpoint", f"{result.url} answered {result.status} {provider_error(result)}",
        url=result.url, problem=f"status {result.status}",
    )  # fmt: skip


def _check_cloud_permissions(ctx: CheckContext) -> None:
    found = cloud_repository(ctx.connector)
    if found is None and names_no_repository(_spec(ctx)):
        raise NotApplicable(NO_VALIDATION_REPO)
    if found is None:
        raise Skip("the connector names no Bitbucket Cloud repository (workspace/repository)")
    shown = f"{found[0]}/{found[1]}"
    result = _call(ctx, _cloud_repository_path(*found))
    ctx.note(repository=shown, repository_status=result.status)
    if result.status == 200:
        body = result.json()
        if isinstance(body, dict):
            ctx.note(is_private=body.get("is_private"))
        return
    if result.status in (401, 403, 404):
        # 403: private and not readable by this credential, or a scope is missing; 404: no such
        # repository (or one this credential may not even see).
        required, granted = _scope_detail(result)
        missing = f"read access to {shown}"
        if required:
            missing += f" (scope {', '.join(required)})"
        evidence: dict[str, Any] = {
            "missing": missing,
            "reference": _reference(ctx),
            "provider_error": provider_error(result),
        }
        if granted:
            evidence["granted"] = ", ".join(granted)
        raise Failure(
            "insufficient-permissions",
            f"{_reference(ctx)} cannot read the repository {shown}"
            f" ({result.status} {provider_error(result)})",
            **evidence,
        )
    raise Failure(
        "incorrect-endpoint", f"{result.url} answered {result.status} {provider_error(result)}",
        url=result.url, problem=f"status {result.status}",
    )  # fmt: skip


PROVIDES = {"auth": check_auth, "permissions": check_permissions}
APPLIES = applies
