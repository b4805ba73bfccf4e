"""What the provider checks share: the credential's secret, one API call with the transport
failures mapped to failure modes, and rate-limit arithmetic."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ..endpoints import Endpoint
from ..model import Credential, ScmSpec, SecretRef
from ..probes.deadline import DeadlineExceeded, NetworkLimit
from ..probes.http import HttpResult, request
from ..results import Failure, Skip
from ..secrets import Secret, SecretNotFound
from .context import CheckContext
from .network import trust

#: Why an Account git connector without ``validationRepo`` has no repository-level check.
NO_VALIDATION_REPO = (
    "no validationRepo: an Account connector names no repository to try, so (as in Harness's own"
    " connection test) only the credentials are checked"
)


def names_no_repository(spec: ScmSpec) -> bool:
    """An Account connector without ``validationRepo``: valid, with no repository to try."""
    return spec.connection_type in ("Account", "Project") and not spec.validation_repo


def secret_of(
    ctx: CheckContext, credential: Credential | None, field: str
) -> tuple[SecretRef, Secret]:
    """The secret behind ``credential.refs[field]``; a missing one is the secrets check's."""
    ref = credential.refs.get(field) if credential is not None else None
    if ref is None:
        kind = credential.kind if credential is not None else "none"
        raise Skip(f"the {kind} credential has no {field}: nothing to check yet")
    try:
        return ref, ctx.secrets.resolve(ref.reference, ctx.connector.scope)
    except (SecretNotFound, ValueError):
        raise Skip(f"{ref.raw} could not be resolved (see the secrets check)") from None


def call(
    ctx: CheckContext,
    base: Endpoint,
    path: str,
    headers: Mapping[str, str],
    *,
    query_url: str | None = None,
    method: str = "GET",
) -> HttpResult:
    """One request to the connector's own API; transport trouble and redirects fail here.

    Credentials never go over plain HTTP to a host that is not loopback unless the run allows
    it (``--connectors-allow-insecure``): the check stops with ``insecure-transport``.
    """
    if {k.lower() for k in headers} & {"authorization", "private-token"}:
        refuse_plain_credential(ctx, base)
    result = request(ctx.prober, base, path, trust(ctx), headers=headers, method=method)
    if result.limit is not None:
        raise limit_failure(result.limit, result.url, base.host, base.port)
    if result.error is not None:
        if "Timeout" in result.error:
            raise Failure(
                "connection-timeout",
                f"{result.url}: no answer within {ctx.prober.timeout:g} s",
                host=base.host,
                reason=result.error,
                timeout_s=ctx.prober.timeout,
            )
        raise Failure(
            "incorrect-endpoint", f"{result.url}: {result.error}", url=result.url,
            problem=result.error,
        )  # fmt: skip
    if result.status is not None and 300 <= result.status < 400:
        location = result.headers.get("location", "?")
        raise Failure(
            "incorrect-endpoint",
            f"{result.url} redirects to {location}; credentials are never sent after a"
            " redirect, so the connector must name the real URL",
            url=result.url,
            problem=f"redirect {result.status} to {location}",
        )
    return result


def limit_failure(
    limit: NetworkLimit, url: str, host: str, port: int, what: str | None = None
) -> Failure:
    """The failure for an operation (``what``, at ``url``) that ran into a limit of the route:
    its deadline (``connection-timeout``, naming the phase) or the body cap
    (``incorrect-endpoint``, with the answer's size)."""
    where = f"{url} ({what})" if what else url
    if isinstance(limit, DeadlineExceeded):
        return Failure(
            "connection-timeout", f"{where}: {limit}", host=host, port=port,
            phase=limit.phase, elapsed_s=round(limit.elapsed_s, 2), timeout_s=limit.budget_s,
            reason=str(limit),
        )  # fmt: skip
    return Failure(
        "incorrect-endpoint",
        f"{where}: {limit}: no answer the check expects is that large, so this is not the API"
        " the connector should name",
        url=url, problem=str(limit),
    )  # fmt: skip


def refuse_plain_credential(ctx: CheckContext, base: Endpoint, what: str = "credential") -> None:
    """The one rule for every client: a credential never goes over plain HTTP to a host that is
    not loopback unless the run allows it (``--connectors-allow-insecure``)."""
    if base.scheme == "http" and not is_loopback(base.host) and not ctx.options.allow_insecure:
        raise Failure(
            "insecure-transport",
            f"{base.url} is plain HTTP: the {what} was not sent (allow it with"
            " --connectors-allow-insecure)",
            url=base.url,
        )


def raise_if_server_error(result: HttpResult, provider: str) -> None:
    """A 5xx says the provider failed, not that the credential is wrong: never judge it."""
    if result.status is not None and result.status >= 500:
        raise Failure(
            "incorrect-endpoint",
            f"{result.url} answered {result.status} {result.message}: the {provider} server"
            " failed, which says nothing about the credential; run again, or check the"
            " provider's status page",
            url=result.url,
            problem=f"server error {result.status}",
        )


def is_loopback(host: str) -> bool:
    """Judged by the name in the URL: ``localhost`` or a loopback IP literal."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def json_object(result: HttpResult) -> dict[str, Any]:
    """The answer's JSON object; ``{}`` for anything else (not JSON, a list, a string)."""
    data = result.json()
    return data if isinstance(data, dict) else {}


def as_int(raw: Any) -> int | None:
    """An integer from a header or JSON field; None when it is absent or not a number."""
    if isinstance(raw, bool):
        return None
    try:
        return int(str(raw).strip()) if raw is not None else None
    except ValueError:
        return None


def epoch_to_iso(raw: Any) -> str | None:
    try:
        return datetime.fromtimestamp(int(raw), timezone.utc).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def judge_headroom(ctx: CheckContext, remaining: int, limit: int, reset_at: str | None) -> None:
    """``rate-limited`` at zero, warning ``rate-limit-low`` under the configured share."""
    evidence: dict[str, Any] = {"remaining": remaining, "limit": limit, "reset_at": reset_at}
    ctx.note(**evidence)
    headroom = ctx.settings.defaults.rateLimitHeadroom
    if remaining <= 0:
        ctx.fail(
            "rate-limited", f"no API calls left ({remaining} of {limit}) until {reset_at}",
            **evidence,
        )  # fmt: skip
    elif limit and remaining < headroom * limit:
        ctx.warn(
            "rate-limit-low",
            f"{remaining} of {limit} API calls left (under {headroom:.0%}) until {reset_at}",
            **evidence,
        )
