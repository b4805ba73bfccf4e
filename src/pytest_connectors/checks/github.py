"""GitHub: ``auth`` (the token is accepted), ``permissions`` (scopes and repository access) and
``rate_limit`` (headroom), through the REST API the connector's API access uses.

Token credentials (personal access tokens, classic and fine-grained, and OAuth tokens) are
checked here; GitHub App and SSH credentials are skipped with a reason until their support lands.
API base: ``https://api.github.com`` for github.com, ``https://<host>[:port]/api/v3`` otherwise.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..endpoints import Endpoint, api_endpoint
from ..model import Connector, ScmSpec, SecretRef
from ..probes.http import HttpResult, request
from ..results import Failure, Skip
from ..secrets import Secret, SecretNotFound
from .context import CheckContext, CollectContext
from .network import applies_to_network, trust

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
    ref = _token_ref(ctx.connector)
    if ref is None:
        spec = ctx.connector.spec
        kinds = [
            c.kind for c in (getattr(spec, "api_access", None), getattr(spec, "auth", None)) if c
        ]
        raise Skip(f"no token credential to check ({', '.join(kinds) or 'none'}): GitHub App,"
                   " anonymous and SSH access are not checked yet")  # fmt: skip
    try:
        return ref, ctx.secrets.resolve(ref.reference, ctx.connector.scope)
    except (SecretNotFound, ValueError):
        raise Skip(f"the token {ref.raw} could not be resolved (see the secrets check)") from None


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
    result = request(ctx.prober, _api(ctx), path, trust(ctx), headers=headers)
    _raise_for_transport(result, ctx)
    return result


def _raise_for_transport(result: HttpResult, ctx: CheckContext) -> None:
    if result.error is not None:
        if "Timeout" in result.error:
            raise Failure(
                "connection-timeout", f"{result.url}: no answer within {ctx.prober.timeout:g} s",
                host=_api(ctx).host, reason=result.error, timeout_s=ctx.prober.timeout,
            )  # fmt: skip
        raise Failure(
            "incorrect-endpoint", f"{result.url}: {result.error}", url=result.url,
            problem=result.error,
        )  # fmt: skip
    if result.status is not None and 300 <= result.status < 400:
        location = result.headers.get("location", "?")
        raise Failure(
            "incorrect-endpoint",
            f"{result.url} redirects to {location}; the token is not sent after a redirect,"
            " so the connector must name the API's real URL",
            url=result.url,
            problem=f"redirect {result.status} to {location}",
        )


def _rate_limited(result: HttpResult) -> bool:
    if result.status == 429:
        return True
    text = result.message.lower()
    return result.status == 403 and ("rate limit" in text or result.headers.get(
        "x-ratelimit-remaining") == "0")  # fmt: skip


def _reset_at(headers: Any, value: Any = None) -> str | None:
    raw = value if value is not None else headers.get("x-ratelimit-reset")
    try:
        return datetime.fromtimestamp(int(raw), timezone.utc).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


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
        raise Failure(
            "rate-limited",
            f"GitHub refused the call with {result.status}: {result.message}",
            remaining=result.headers.get("x-ratelimit-remaining"),
            limit=result.headers.get("x-ratelimit-limit"),
            reset_at=_reset_at(result.headers),
            retry_after=result.headers.get("retry-after"),
        )
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


def _repository(connector: Connector) -> str | None:
    spec = connector.spec
    assert isinstance(spec, ScmSpec) and spec.url
    path = (
        spec.url.split("://", 1)[-1].split("/", 1)[1] if "/" in spec.url.split("://", 1)[-1] else ""
    )
    if ":" in path.split("/", 1)[0]:  # git@host:org/repo
        path = path.split(":", 1)[1]
    parts = [p for p in path.removesuffix(".git").split("/") if p]
    if spec.connection_type == "Repo" and len(parts) >= 2:
        return f"{parts[-2]}/{parts[-1]}"
    if parts and spec.validation_repo:
        return f"{parts[0]}/{spec.validation_repo.removesuffix('.git')}"
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
    repository = _repository(ctx.connector)
    if repository is None:
        return
    result = _call(ctx, f"/repos/{repository}")
    ctx.note(repository=repository, repository_status=result.status)
    if result.status == 200:
        return
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
                "rate-limited", f"GitHub refused /rate_limit: {result.message}",
                retry_after=result.headers.get("retry-after"), reset_at=_reset_at(result.headers),
            )  # fmt: skip
        raise Skip(f"/rate_limit answered {result.status}: no rate-limit information")
    remaining, limit = int(core["remaining"]), int(core.get("limit") or 0)
    reset_at = _reset_at({}, core.get("reset"))
    evidence: dict[str, Any] = {"remaining": remaining, "limit": limit, "reset_at": reset_at}
    ctx.note(**evidence)
    headroom = ctx.settings.defaults.rateLimitHeadroom
    if remaining <= 0:
        ctx.fail("rate-limited", f"no API calls left ({remaining} of {limit}) until {reset_at}",
                 **evidence)  # fmt: skip
    elif limit and remaining < headroom * limit:
        ctx.warn(
            "rate-limit-low",
            f"{remaining} of {limit} API calls left (under {headroom:.0%}) until {reset_at}",
            **evidence,
        )


#: What this module contributes to the provider checks (see checks/provider.py).
PROVIDES = {"auth": check_auth, "permissions": check_permissions, "rate_limit": check_rate_limit}
APPLIES = _applies
