"""GitHub: ``auth`` (the token is accepted), ``permissions`` (scopes and repository access) and
``rate_limit`` (headroom), through the REST API the connector's API access uses.

Token credentials (personal access tokens, classic and fine-grained, and OAuth tokens) are
checked here; GitHub App and SSH credentials are skipped with a reason until their support lands.
API base: ``https://api.github.com`` for github.com, ``https://<host>[:port]/api/v3`` otherwise.
"""

from __future__ import annotations

from ..endpoints import Endpoint, api_endpoint
from ..model import Connector, ScmSpec, SecretRef
from ..probes.http import HttpResult
from ..results import Failure, Skip
from ..secrets import Secret
from .api import call, epoch_to_iso, judge_headroom, secret_of
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
}
_TOKEN_FIELD = "tokenRef"


def _token_ref(connector: Connector) -> SecretRef | None:
    """The token Harness uses for API calls: the API access token, else the HTTP one."""
    spec = connector.spec
    if not isinstance(spec, ScmSpec):
        return None
    for credential in (spec.api_access, spec.auth):
        if credential is not None and _TOKEN_FIELD in credential.refs:
            return credential.refs[_TOKEN_FIELD]
    return None


def _applies(connector: Connector, collect: CollectContext) -> bool:
    spec = connector.spec
    if not isinstance(spec, ScmSpec) or not applies_to_network(connector, collect):
        return False
    return spec.api_access is not None or spec.protocol == "Http"


def _token(ctx: CheckContext) -> tuple[SecretRef, Secret]:
    spec = ctx.connector.spec
    assert isinstance(spec, ScmSpec)
    for credential in (spec.api_access, spec.auth):
        if credential is not None and _TOKEN_FIELD in credential.refs:
            return secret_of(ctx, credential, _TOKEN_FIELD)
    kinds = [c.kind for c in (spec.api_access, spec.auth) if c is not None]
    raise Skip(
        f"no token credential to check ({', '.join(kinds) or 'none'}): GitHub App, anonymous"
        " and SSH access are not checked yet"
    )


def _api(ctx: CheckContext) -> Endpoint:
    base = api_endpoint(ctx.connector)
    if base is None:
        raise Skip("no GitHub API base can be derived from the connector URL")
    return base


def _call(ctx: CheckContext, path: str) -> HttpResult:
    _, token = _token(ctx)
    headers = {
        "Authorization": f"token {token.reveal()}",
        "Accept": "application/vnd.github+json",
        "User-Agent": "pytest-connectors",
    }
    return call(ctx, _api(ctx), path, headers)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _raise_rate_limited(result: HttpResult) -> None:
    raise Failure(
        "rate-limited",
        f"GitHub refused the call with {result.status}: {result.message}",
        remaining=_int(result.headers.get("x-ratelimit-remaining")),
        limit=_int(result.headers.get("x-ratelimit-limit")),
        reset_at=epoch_to_iso(result.headers.get("x-ratelimit-reset")),
        retry_after=result.headers.get("retry-after"),
    )


def _rate_limited(result: HttpResult) -> bool:
    if result.status == 429:
        return True
    text = result.message.lower()
    remaining = result.headers.get("x-ratelimit-remaining")
    return result.status == 403 and ("rate limit" in text or remaining == "0")


def check_auth(ctx: CheckContext) -> None:
    ref, _ = _token(ctx)
    result = _call(ctx, "/user")
    ctx.note(api=result.url, status=result.status)
    if result.status == 200:
        user = result.json() or {}
        scopes = result.headers.get("x-oauth-scopes")
        ctx.note(
            login=user.get("login"),
            token_kind="classic" if scopes is not None else "fine-grained or OAuth app",
            scopes=[s.strip() for s in scopes.split(",") if s.strip()] if scopes else scopes,
        )
        return
    if _rate_limited(result):
        _raise_rate_limited(result)
    if result.status == 401:
        raise Failure(
            "invalid-credentials",
            f"GitHub rejected the token {ref.raw}: {result.status} {result.message}",
            reference=ref.raw,
            provider_error=result.message,
        )
    if result.status == 404:
        raise Failure(
            "incorrect-endpoint", f"{result.url} answers 404: there is no GitHub API there",
            url=result.url, problem="no GitHub API at the derived API base",
        )  # fmt: skip
    raise Failure(
        "invalid-credentials",
        f"GitHub did not accept the token {ref.raw}: {result.status} {result.message}",
        reference=ref.raw,
        provider_error=f"{result.status} {result.message}",
    )


def _missing_scopes(granted: list[str], required: list[str]) -> list[str]:
    have = set(granted)
    for scope in granted:
        have |= _IMPLIED.get(scope, set())
    return [scope for scope in required if scope not in have]


def repository_path(connector: Connector) -> str | None:
    """``owner/repo`` (GitLab: ``group/sub/project``) the connector clones or validates with."""
    spec = connector.spec
    assert isinstance(spec, ScmSpec) and spec.url
    path = (
        spec.url.split("://", 1)[-1].split("/", 1)[1] if "/" in spec.url.split("://", 1)[-1] else ""
    )
    if ":" in path.split("/", 1)[0]:  # git@host:org/repo
        path = path.split(":", 1)[1]
    parts = [p for p in path.removesuffix(".git").split("/") if p]
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
    if scopes is None:
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
                reference=_token_ref(ctx.connector).raw,  # type: ignore[union-attr]
            )
    repository = repository_path(ctx.connector)
    if repository is None:
        return
    result = _call(ctx, f"/repos/{repository}")
    ctx.note(repository=repository, repository_status=result.status)
    if result.status == 200:
        return
    if _rate_limited(result):
        _raise_rate_limited(result)
    sso = result.headers.get("x-github-sso") or (
        "saml" in result.message.lower() and result.message
    )
    if sso:
        problem = f"the token is not authorised for the organisation's SAML SSO ({result.message})"
    elif result.status in (403, 404):
        problem = f"the token cannot read {repository} ({result.status} {result.message})"
    else:
        problem = f"reading {repository} answered {result.status} {result.message}"
    ctx.fail(
        "insufficient-permissions",
        problem,
        missing=f"read access to {repository}",
        reference=_token_ref(ctx.connector).raw,  # type: ignore[union-attr]
    )


def check_rate_limit(ctx: CheckContext) -> None:
    result = _call(ctx, "/rate_limit")
    data = result.json() or {}
    core = (data.get("resources") or {}).get("core") or data.get("rate") or {}
    if result.status != 200 or "remaining" not in core:
        if _rate_limited(result):
            raise Failure(
                "rate-limited",
                f"GitHub refused /rate_limit: {result.message}",
                retry_after=result.headers.get("retry-after"),
                reset_at=epoch_to_iso(result.headers.get("x-ratelimit-reset")),
            )
        raise Skip(f"/rate_limit answered {result.status}: no rate-limit information")
    judge_headroom(
        ctx, int(core["remaining"]), int(core.get("limit") or 0), epoch_to_iso(core.get("reset"))
    )


#: What this module contributes to the provider checks (see checks/provider.py).
PROVIDES = {"auth": check_auth, "permissions": check_permissions, "rate_limit": check_rate_limit}
APPLIES = _applies
