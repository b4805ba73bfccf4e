"""GitLab: ``auth`` (``/api/v4/user`` and the token's own record: expiry, revocation, scopes),
``permissions`` (scopes and project access) and ``rate_limit`` (``RateLimit-*`` headers).

API base: ``apiAccess.spec.apiUrl`` when given (the instance URL; ``/api/v4`` is added), else
the host of the connector URL.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import quote

from ..endpoints import Endpoint, EndpointError, api_endpoint, parse_url
from ..model import Connector, Credential, ScmSpec
from ..probes.http import HttpResult
from ..results import Failure, NotApplicable, Skip
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
from .github import repository_path
from .network import applies_to_network

#: GitLab needs one of these for a connector that clones (Harness's documented minimum).
DEFAULT_ANY_OF = ("api", "read_repository")
#: Scopes that may read ``/user`` and ``/projects/:id``; a token without them gets
#: ``403 insufficient_scope`` there although GitLab accepted it.
USER_SCOPES = ("api", "read_api", "read_user")
PROJECT_SCOPES = ("api", "read_api")


def _credential(spec: ScmSpec) -> Credential | None:
    for credential in (spec.api_access, spec.auth):
        if credential is not None and "tokenRef" in credential.refs:
            return credential
    return None


def applies(connector: Connector, collect: CollectContext) -> bool:
    spec = connector.spec
    return (
        isinstance(spec, ScmSpec)
        and applies_to_network(connector, collect)
        and _credential(spec) is not None
    )


def _base(ctx: CheckContext) -> Endpoint:
    base = api_endpoint(ctx.connector)
    if base is None:
        raise Skip("no GitLab API base can be derived from the connector")
    return base


def _call(ctx: CheckContext, path: str) -> HttpResult:
    spec = ctx.connector.spec
    assert isinstance(spec, ScmSpec)
    credential = _credential(spec)
    _, token = secret_of(ctx, credential, "tokenRef")
    oauth = credential is not None and credential.kind == "OAuth"
    headers = {"Authorization": f"Bearer {token.reveal()}"} if oauth else {}
    if not oauth:
        headers["PRIVATE-TOKEN"] = token.reveal()
    return call(ctx, _base(ctx), "/api/v4" + path, headers)


def _reference(ctx: CheckContext) -> str:
    spec = ctx.connector.spec
    credential = _credential(spec) if isinstance(spec, ScmSpec) else None
    return credential.refs["tokenRef"].raw if credential else "?"


def _expiry(ctx: CheckContext, expires_at: str) -> None:
    try:
        day = date.fromisoformat(expires_at[:10])
    except ValueError:
        return
    moment = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    days_left = (moment - datetime.now(timezone.utc)).total_seconds() / 86400
    evidence: dict[str, Any] = {
        "reference": _reference(ctx),
        "expires_at": expires_at,
        "days_left": round(days_left, 1),
    }
    if days_left <= 0:
        ctx.fail("credentials-expired", f"the GitLab token expired on {expires_at}", **evidence)
    elif days_left <= ctx.settings.defaults.credentialExpiryWarningDays:
        ctx.warn(
            "credentials-expiring",
            f"the GitLab token expires on {expires_at} ({days_left:.1f} days left)",
            **evidence,
        )


def _raise_if_throttled(result: HttpResult) -> None:
    raise_if_server_error(result, "GitLab")
    if result.status == 429:
        raise Failure(
            "rate-limited",
            f"GitLab answered 429: {result.message}",
            retry_after=result.headers.get("retry-after"),
            reset_at=epoch_to_iso(result.headers.get("ratelimit-reset")),
        )


def check_auth(ctx: CheckContext) -> None:
    result = _call(ctx, "/user")
    ctx.note(api=result.url, status=result.status)
    _raise_if_throttled(result)
    answer = json_object(result)
    description = str(answer.get("error_description") or "")
    if result.status == 401 and "expired" in description.lower():
        raise Failure(
            "credentials-expired",
            f"GitLab says the token {_reference(ctx)} has expired: {description}",
            reference=_reference(ctx),
            provider_error=description,
        )
    scope_only = result.status == 403 and answer.get("error") == "insufficient_scope"
    if scope_only:
        # GitLab authenticated the token and then refused it this endpoint: a token with only
        # read_repository (enough to clone) cannot read /user; its own record says the rest.
        ctx.note(user_lookup=f"GET /user needs one of {', '.join(USER_SCOPES)}: {description}")
    elif result.status in (401, 403):
        raise Failure(
            "invalid-credentials",
            f"GitLab rejected the token {_reference(ctx)}: {result.status}"
            f" {description or result.message}",
            reference=_reference(ctx),
            provider_error=description or result.message,
        )
    if result.status == 404:
        raise Failure(
            "incorrect-endpoint", f"{result.url} answers 404: there is no GitLab API there",
            url=result.url, problem="no GitLab API at the API base",
        )  # fmt: skip
    if result.status != 200 and not scope_only:
        raise Failure(
            "invalid-credentials", f"GitLab answered {result.status} {result.message}",
            reference=_reference(ctx), provider_error=f"{result.status} {result.message}",
        )  # fmt: skip
    if not scope_only:
        ctx.note(username=answer.get("username"))
    token = _call(ctx, "/personal_access_tokens/self")
    record = json_object(token)
    if token.status != 200 or not record:
        ctx.note(token_record=f"not readable ({token.status}): expiry and scopes unknown")
        return
    scopes = record.get("scopes")
    ctx.note(
        scopes=[str(s) for s in scopes] if isinstance(scopes, list) else None,
        expires_at=record.get("expires_at"),
    )
    if record.get("revoked") or record.get("active") is False:
        raise Failure(
            "invalid-credentials", f"the GitLab token {_reference(ctx)} is revoked or inactive",
            reference=_reference(ctx), provider_error="revoked",
        )  # fmt: skip
    if record.get("expires_at"):
        _expiry(ctx, str(record["expires_at"]))


def check_permissions(ctx: CheckContext) -> None:
    auth = ctx.result_of("auth").evidence
    scopes = auth.get("scopes")
    required = ctx.expectations.provider.get("gitlab", {}).get("requiredScopes")
    if scopes is not None:
        have = set(scopes)
        if required:
            missing = [s for s in required if s not in have]
        else:
            missing = [] if have & set(DEFAULT_ANY_OF) else [" or ".join(DEFAULT_ANY_OF)]
        if missing:
            ctx.fail(
                "insufficient-permissions",
                f"the GitLab token lacks {', '.join(missing)}"
                f" (it has {', '.join(scopes) or 'none'})",
                missing=", ".join(missing),
                granted=", ".join(scopes) or "none",
                reference=_reference(ctx),
            )
    project = repository_path(ctx.connector)
    if project is None:
        spec = ctx.connector.spec
        if isinstance(spec, ScmSpec) and names_no_repository(spec):
            ctx.note(project=f"not checked: {NO_VALIDATION_REPO}")
        return
    project = _without_instance_path(ctx, project)
    result = _call(ctx, f"/projects/{quote(project, safe='')}")
    ctx.note(project=project, project_status=result.status)
    granted = set(scopes or ())
    if (
        result.status == 403
        and json_object(result).get("error") == "insufficient_scope"
        and scopes is not None
        and not granted & set(PROJECT_SCOPES)
    ):
        # read_repository is enough to clone, but not to read the project through the API.
        ctx.note(
            project_access=f"not readable through the API with {', '.join(scopes) or 'no'}"
            f" scopes (GitLab needs {' or '.join(PROJECT_SCOPES)} there); Git access is"
            " what the token is for"
        )
        return
    if result.status != 200:
        ctx.fail(
            "insufficient-permissions",
            f"the token cannot read the project {project} ({result.status} {result.message})",
            missing=f"read access to {project}",
            reference=_reference(ctx),
        )


def _without_instance_path(ctx: CheckContext, project: str) -> str:
    """``gitlab/group/app`` → ``group/app`` when GitLab lives under ``https://host/gitlab``
    (``apiUrl`` with that path, on the connector URL's host)."""
    spec = ctx.connector.spec
    assert isinstance(spec, ScmSpec) and spec.url
    prefix = _base(ctx).path.strip("/")
    try:
        same_host = parse_url(spec.url, "git").host == _base(ctx).host
    except EndpointError:
        same_host = False
    if prefix and same_host and project.lower().startswith(prefix.lower() + "/"):
        return project[len(prefix) + 1 :]
    return project


def check_rate_limit(ctx: CheckContext) -> None:
    result = _call(ctx, "/user")
    _raise_if_throttled(result)
    headers = result.headers
    remaining = as_int(headers.get("ratelimit-remaining"))
    if remaining is None:
        if "ratelimit-remaining" in headers:
            raise Skip(
                f"GitLab's RateLimit-Remaining is not a number: {headers['ratelimit-remaining']!r}"
            )
        raise NotApplicable("GitLab sent no RateLimit headers: rate limiting is off for this user")
    judge_headroom(
        ctx,
        remaining,
        as_int(headers.get("ratelimit-limit")) or 0,
        epoch_to_iso(headers.get("ratelimit-reset")),
    )


PROVIDES = {"auth": check_auth, "permissions": check_permissions, "rate_limit": check_rate_limit}
APPLIES = applies
