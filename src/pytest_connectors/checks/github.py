"""GitHub: ``auth`` (the token is accepted), ``permissions`` (scopes and repository access) and
``rate_limit`` (headroom), through the REST API the connector's API access uses.

Token credentials (personal access tokens, classic and fine-grained, and OAuth tokens) and
GitHub Apps are checked here; anonymous and SSH-only access are skipped with a reason.
API base: ``https://api.github.com`` for github.com, ``https://<host>[:port]/api/v3`` otherwise.

A GitHub App (``type: GithubApp`` under ``authentication`` or ``apiAccess``) is checked as GitHub
documents its use: an app JWT (RS256, ``iat`` 60 s in the past, ``exp`` at most 10 minutes ahead,
``iss`` the application id) signed with ``privateKeyRef`` authenticates ``GET /app``, then
``POST /app/installations/{installationId}/access_tokens`` mints an installation token, which
``permissions`` and ``rate_limit`` use (``Authorization: token <installation token>``). The
installation token is cached per run (on the run's prober) and minted again when it is missing,
since each check runs in its own item. JWT and installation token are :class:`Secret` values, so
the masker scrubs them from every output.

* https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
* https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-an-installation-access-token-for-a-github-app
"""

from __future__ import annotations

import base64
import json
import time
import weakref
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..endpoints import Endpoint, EndpointError, api_endpoint, parse_url
from ..model import Connector, Credential, ScmSpec, SecretRef
from ..probes.http import HttpResult
from ..probes.prober import Prober
from ..results import Failure, NotApplicable, Skip
from ..secrets import Secret
from .api import (
    NO_VALIDATION_REPO,
    as_int,
    call,
    epoch_to_iso,
    json_object,
    judge_headroom,
    names_no_repository,
    raise_if_server_error,
    secret_of,
)
from .context import CheckContext, CollectContext
from .network import applies_to_network

DEFAULT_SCOPES = ("repo", "admin:repo_hook", "user")
#: A classic scope grants the scopes listed under it (GitHub's scope hierarchy).
_IMPLIED = {
    "repo": {"repo:status", "repo_deployment", "public_repo", "repo:invite", "security_events"},
    "admin:repo_hook": {"write:repo_hook", "read:repo_hook"},
    "write:repo_hook": {"read:repo_hook"},
    "admin:org": {"write:org", "read:org", "manage_runners:org"},
    "write:org": {"read:org"},
    "user": {"read:user", "user:email", "user:follow"},
    "admin:public_key": {"write:public_key", "read:public_key"},
    "admin:gpg_key": {"write:gpg_key", "read:gpg_key"},
    "write:packages": {"read:packages"},
    "project": {"read:project"},
    "write:discussion": {"read:discussion"},
    "admin:ssh_signing_key": {"write:ssh_signing_key", "read:ssh_signing_key"},
    "write:ssh_signing_key": {"read:ssh_signing_key"},
    "admin:enterprise": {
        "manage_runners:enterprise",
        "manage_billing:enterprise",
        "read:enterprise",
    },
    "audit_log": {"read:audit_log"},
    "codespace": {"codespace:secrets"},
    "copilot": {"manage_billing:copilot"},
}
_TOKEN_FIELD = "tokenRef"


_APP_KIND = "GithubApp"
_KEY_FIELD = "privateKeyRef"
_PASSWORD_FIELD = "passwordRef"
#: JWT lifetime: GitHub accepts ``exp`` at most 10 minutes ahead; ``iat`` is backdated 60 s
#: against clock drift (GitHub's recommendation).
JWT_BACKDATE_S = 60
JWT_LIFETIME_S = 540
#: An installation token lives an hour; a cached one is minted again this long before it ends.
_REUSE_MARGIN_S = 120.0


def _secret_field(credential: Credential) -> str | None:
    """Where a credential keeps what API calls carry. ``UsernamePassword`` holds a token in
    ``passwordRef`` (GitHub accepts no account passwords on its API or for Git since 2021)."""
    if credential.kind == _APP_KIND:
        return _KEY_FIELD
    return next((f for f in (_TOKEN_FIELD, _PASSWORD_FIELD) if f in credential.refs), None)


def _api_credential(connector: Connector) -> Credential | None:
    """The credential Harness uses for API calls: API access first, else the HTTP auth one —
    whichever holds a token or is a GitHub App."""
    spec = connector.spec
    if not isinstance(spec, ScmSpec):
        return None
    for credential in (spec.api_access, spec.auth):
        if credential is not None and _secret_field(credential):
            return credential
    return None


def _is_app(connector: Connector) -> bool:
    credential = _api_credential(connector)
    return credential is not None and credential.kind == _APP_KIND


def _token_ref(connector: Connector) -> SecretRef | None:
    """The ref behind API calls: the token, or the GitHub App's private key."""
    credential = _api_credential(connector)
    field = _secret_field(credential) if credential is not None else None
    return credential.refs.get(field) if credential is not None and field else None


def _reference(connector: Connector) -> str | None:
    ref = _token_ref(connector)
    return ref.raw if ref is not None else None


def _applies(connector: Connector, collect: CollectContext) -> bool:
    spec = connector.spec
    if not isinstance(spec, ScmSpec) or not applies_to_network(connector, collect):
        return False
    return spec.api_access is not None or spec.protocol == "Http"


def _token(ctx: CheckContext) -> tuple[SecretRef, Secret]:
    """The token API calls carry: the connector's own, or a GitHub App's installation token
    (minted, or reused from earlier in the run) under the private key's ref."""
    credential = _api_credential(ctx.connector)
    if credential is not None and credential.kind == _APP_KIND:
        app = _app(ctx, credential)
        return app.key_ref, _installation_token(ctx, app)
    if credential is not None:
        return secret_of(ctx, credential, _secret_field(credential) or _TOKEN_FIELD)
    spec = ctx.connector.spec
    assert isinstance(spec, ScmSpec)
    kinds = [c.kind for c in (spec.api_access, spec.auth) if c is not None]
    raise Skip(
        f"no token credential to check ({', '.join(kinds) or 'none'}): anonymous and SSH access"
        " are not checked yet"
    )


def _api(ctx: CheckContext) -> Endpoint:
    base = api_endpoint(ctx.connector)
    if base is None:
        raise Skip("no GitHub API base can be derived from the connector URL")
    return base


def _headers(authorization: str) -> dict[str, str]:
    return {
        "Authorization": authorization,
        "Accept": "application/vnd.github+json",
        "User-Agent": "pytest-connectors",
    }


def _anonymous(connector: Connector) -> bool:
    spec = connector.spec
    return (
        isinstance(spec, ScmSpec)
        and _api_credential(connector) is None
        and spec.auth is not None
        and spec.auth.kind == "Anonymous"
    )


def _call(ctx: CheckContext, path: str) -> HttpResult:
    if _anonymous(ctx.connector):
        headers = _headers("")
        headers.pop("Authorization", None)
        return call(ctx, _api(ctx), path, headers)
    _, token = _token(ctx)
    return call(ctx, _api(ctx), path, _headers(f"token {token.reveal()}"))


# -- GitHub App -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _App:
    key_ref: SecretRef
    private_key: Secret
    application_id: str
    installation_id: str

    @property
    def described(self) -> str:
        return f"GitHub App {self.application_id} (private key {self.key_ref.raw})"


#: Installation tokens minted in this run: per prober (one per run), keyed by connector, API
#: base, application and installation; the value is the token and when it expires (epoch s).
_MINTED: weakref.WeakKeyDictionary[Prober, dict[tuple[object, ...], tuple[Secret, float]]] = (
    weakref.WeakKeyDictionary()
)


def _plain_or_ref(ctx: CheckContext, credential: Credential, key: str) -> str:
    """``installationId`` / ``applicationId``: the plain value, else the secret behind its ref."""
    value = credential.values.get(key)
    if value is not None:
        return str(value).strip()
    _, secret = secret_of(ctx, credential, f"{key}Ref")
    return secret.reveal().strip()


def _app(ctx: CheckContext, credential: Credential) -> _App:
    key_ref, key = secret_of(ctx, credential, _KEY_FIELD)
    return _App(
        key_ref,
        key,
        _plain_or_ref(ctx, credential, "applicationId"),
        _plain_or_ref(ctx, credential, "installationId"),
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def app_jwt(private_key_pem: str, application_id: str, now: float | None = None) -> str:
    """An app JWT as GitHub wants it: RS256, ``iat`` now-60 s, ``exp`` now+540 s, ``iss`` the id.

    Raises ``ValueError`` when the PEM holds no RSA private key.
    """
    try:
        key = serialization.load_pem_private_key(private_key_pem.strip().encode(), password=None)
    except UnsupportedAlgorithm as exc:  # an unknown curve or key type: not an RSA key either
        raise ValueError(f"the key cannot be read here ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"the key is {type(key).__name__.removeprefix('_')}, not an RSA key")
    issued = int(time.time() if now is None else now)
    issuer: int | str = int(application_id) if application_id.isdigit() else application_id
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {"iat": issued - JWT_BACKDATE_S, "exp": issued + JWT_LIFETIME_S, "iss": issuer}
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


def _jwt(app: _App) -> Secret:
    try:
        value = app_jwt(app.private_key.reveal(), app.application_id)
    except (ValueError, TypeError) as exc:
        raise Failure(
            "invalid-credentials",
            f"{app.key_ref.raw} cannot sign the GitHub App JWT: {exc}",
            reference=app.key_ref.raw,
            application_id=app.application_id,
            provider_error=str(exc),
        ) from None
    return Secret(value, f"{app.key_ref.raw} (GitHub App JWT)", "minted")


def _app_rejected(app: _App, result: HttpResult, what: str) -> Failure:
    return Failure(
        "invalid-credentials",
        f"GitHub rejected the JWT of {app.described} {what}: {result.status} {result.message}",
        reference=app.key_ref.raw,
        application_id=app.application_id,
        installation_id=app.installation_id,
        provider_error=result.message,
    )


def _expiry(raw: object) -> float:
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return time.time() + 3600.0


def _mint(ctx: CheckContext, app: _App) -> tuple[Secret, HttpResult]:
    """``GET /app`` with the JWT, then ``POST .../access_tokens``; a refusal is a Failure."""
    jwt = _jwt(app)
    bearer = _headers(f"Bearer {jwt.reveal()}")
    base = _api(ctx)
    result = call(ctx, base, "/app", bearer)
    ctx.note(api=result.url, status=result.status)
    if result.status != 200:
        _raise_common(result)
        if result.status == 401:
            raise _app_rejected(app, result, "(wrong private key, application id or clock)")
        raise _app_rejected(app, result, "on GET /app")
    data = json_object(result)
    ctx.note(app_slug=data.get("slug"), app_id=data.get("id"))
    path = f"/app/installations/{app.installation_id}/access_tokens"
    minted = call(ctx, base, path, bearer, method="POST")
    ctx.note(installation_status=minted.status)
    if minted.status == 404:
        raise Failure(
            "invalid-credentials",
            f"installation {app.installation_id} not found for this app ({app.described}):"
            f" {minted.status} {minted.message}",
            reference=app.key_ref.raw,
            application_id=app.application_id,
            installation_id=app.installation_id,
            provider_error="installation not found for this app",
        )
    body = json_object(minted)
    if minted.status != 201 or not body.get("token"):
        _raise_common(minted)
        raise _app_rejected(app, minted, f"minting a token for installation {app.installation_id}")
    token = Secret(
        str(body["token"]), f"{app.key_ref.raw} (installation {app.installation_id})", "minted"
    )
    key = (ctx.connector.key, base.url, app.application_id, app.installation_id)
    _MINTED.setdefault(ctx.prober, {})[key] = (token, _expiry(body.get("expires_at")))
    return token, minted


def _installation_token(ctx: CheckContext, app: _App) -> Secret:
    key = (ctx.connector.key, _api(ctx).url, app.application_id, app.installation_id)
    cached = _MINTED.get(ctx.prober, {}).get(key)
    if cached is not None and cached[1] - _REUSE_MARGIN_S > time.time():
        return cached[0]
    return _mint(ctx, app)[0]


def _check_app_auth(ctx: CheckContext, credential: Credential) -> None:
    app = _app(ctx, credential)
    _, minted = _mint(ctx, app)
    body = json_object(minted)
    ctx.note(
        token_kind="GitHub App installation",
        application_id=app.application_id,
        installation_id=app.installation_id,
        expires_at=body.get("expires_at"),
        repository_selection=body.get("repository_selection"),
        installation_permissions=body.get("permissions"),
    )


def _raise_rate_limited(result: HttpResult) -> None:
    raise Failure(
        "rate-limited",
        f"GitHub refused the call with {result.status}: {result.message}",
        remaining=as_int(result.headers.get("x-ratelimit-remaining")),
        limit=as_int(result.headers.get("x-ratelimit-limit")),
        reset_at=epoch_to_iso(result.headers.get("x-ratelimit-reset")),
        retry_after=result.headers.get("retry-after"),
    )


def _rate_limited(result: HttpResult) -> bool:
    if result.status == 429:
        return True
    text = result.message.lower()
    remaining = result.headers.get("x-ratelimit-remaining")
    return result.status == 403 and ("rate limit" in text or remaining == "0")


def _raise_common(result: HttpResult) -> None:
    """Rate limits and a missing API: the same for every credential."""
    if _rate_limited(result):
        _raise_rate_limited(result)
    if result.status == 404:
        raise Failure(
            "incorrect-endpoint", f"{result.url} answers 404: there is no GitHub API there",
            url=result.url, problem="no GitHub API at the derived API base",
        )  # fmt: skip
    raise_if_server_error(result, "GitHub")


def check_auth(ctx: CheckContext) -> None:
    credential = _api_credential(ctx.connector)
    if credential is not None and credential.kind == _APP_KIND:
        _check_app_auth(ctx, credential)
        return
    if _anonymous(ctx.connector):
        raise NotApplicable(
            "anonymous access: no credential to authenticate; `permissions` checks the"
            " repository is public"
        )
    ref, _ = _token(ctx)
    result = _call(ctx, "/user")
    ctx.note(api=result.url, status=result.status)
    if result.status == 200:
        user = json_object(result)
        scopes = result.headers.get("x-oauth-scopes")
        ctx.note(
            login=user.get("login"),
            token_kind="classic" if scopes is not None else "fine-grained or OAuth app",
            scopes=[s.strip() for s in scopes.split(",") if s.strip()] if scopes else scopes,
        )
        return
    if result.status == 401:
        raise Failure(
            "invalid-credentials",
            f"GitHub rejected the token {ref.raw}: {result.status} {result.message}",
            reference=ref.raw,
            provider_error=result.message,
        )
    _raise_common(result)
    raise Failure(
        "invalid-credentials",
        f"GitHub did not accept the token {ref.raw}: {result.status} {result.message}",
        reference=ref.raw,
        provider_error=f"{result.status} {result.message}",
    )


def _missing_scopes(granted: list[str], required: list[str]) -> list[str]:
    have: set[str] = set()
    todo = list(granted)
    while todo:  # transitively: a scope implies what its implied scopes imply
        scope = todo.pop()
        if scope not in have:
            have.add(scope)
            todo.extend(_IMPLIED.get(scope, ()))
    return [scope for scope in required if scope not in have]


def repository_path(connector: Connector) -> str | None:
    """``owner/repo`` (GitLab: ``group/sub/project``) the connector clones or validates with."""
    spec = connector.spec
    assert isinstance(spec, ScmSpec) and spec.url
    try:  # https://host[:port]/org/repo, ssh://git@host[:port]/org/repo, git@host:org/repo
        path = parse_url(spec.url, "git").path
    except EndpointError:
        return None
    parts = [p for p in path.split("/") if p]
    if parts:
        parts[-1] = parts[-1].removesuffix(".git")
        parts = [p for p in parts if p]
    if spec.connection_type == "Repo" and len(parts) >= 2:
        return "/".join(parts)
    if parts and spec.validation_repo:
        return "/".join([*parts, spec.validation_repo.removesuffix(".git")])
    return None


def check_permissions(ctx: CheckContext) -> None:
    auth = ctx.result_of("auth").evidence
    required = list(
        ctx.expectations.provider.get("github", {}).get("requiredScopes") or DEFAULT_SCOPES
    )
    scopes = auth.get("scopes")
    app = _is_app(ctx.connector)
    if app:
        ctx.note(
            scopes="none: a GitHub App installation has permissions; repository access checked"
        )
    elif scopes is None:
        ctx.note(scopes="not listed (fine-grained token or OAuth app): repository access checked")
    else:
        missing = _missing_scopes(list(scopes), required)
        if missing:
            ctx.fail(
                "insufficient-permissions",
                f"the classic token lacks the scopes {', '.join(missing)}"
                f" (it has {', '.join(scopes) or 'none'})",
                missing=", ".join(missing),
                granted=", ".join(scopes) or "none",
                reference=_reference(ctx.connector),
            )
    repository = repository_path(ctx.connector)
    if repository is None:
        spec = ctx.connector.spec
        if isinstance(spec, ScmSpec) and names_no_repository(spec):
            ctx.note(repository=f"not checked: {NO_VALIDATION_REPO}")
        return
    result = _call(ctx, f"/repos/{repository}")
    ctx.note(repository=repository, repository_status=result.status)
    if result.status == 200:
        return
    if _rate_limited(result):
        _raise_rate_limited(result)
    raise_if_server_error(result, "GitHub")
    sso = result.headers.get("x-github-sso") or (
        "saml" in result.message.lower() and result.message
    )
    if sso:
        problem = f"the token is not authorised for the organisation's SAML SSO ({result.message})"
    elif result.status in (403, 404) and app:
        problem = (
            f"the GitHub App installation cannot read {repository} ({result.status}"
            f" {result.message}): the app is not installed on it or lacks Contents/Metadata read"
        )
    elif result.status in (403, 404):
        problem = f"the token cannot read {repository} ({result.status} {result.message})"
    else:
        problem = f"reading {repository} answered {result.status} {result.message}"
    ctx.fail(
        "insufficient-permissions",
        problem,
        missing=f"read access to {repository}",
        reference=_reference(ctx.connector),
    )


def check_rate_limit(ctx: CheckContext) -> None:
    result = _call(ctx, "/rate_limit")
    data = json_object(result)
    resources = data.get("resources")
    core = (resources.get("core") if isinstance(resources, dict) else None) or data.get("rate")
    core = core if isinstance(core, dict) else {}
    remaining = as_int(core.get("remaining"))
    if result.status != 200 or remaining is None:
        if _rate_limited(result):
            raise Failure(
                "rate-limited",
                f"GitHub refused /rate_limit: {result.message}",
                retry_after=result.headers.get("retry-after"),
                reset_at=epoch_to_iso(result.headers.get("x-ratelimit-reset")),
            )
        raise Skip(f"/rate_limit answered {result.status}: no rate-limit information")
    judge_headroom(ctx, remaining, as_int(core.get("limit")) or 0, epoch_to_iso(core.get("reset")))


#: What this module contributes to the provider checks (see checks/provider.py).
PROVIDES = {"auth": check_auth, "permissions": check_permissions, "rate_limit": check_rate_limit}
APPLIES = _applies
