"""``secrets``: every secret reference resolves to a non-empty value of the right shape."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..model import Connector, SecretKind, SecretRef
from ..results import Phase, Skip
from ..secrets import Secret, SecretNotFound, env_var_name
from . import Check
from .context import CheckContext, CollectContext
from .shapes import check_shape

_PASSPHRASE_FIELD = "clientKeyPassphraseRef"


def _resolve(ctx: CheckContext, secret_ref: SecretRef, deferred: list[str]) -> Secret | None:
    reference = secret_ref.reference
    if reference.problem or reference.scope_problem(ctx.connector.scope):
        return None  # the references check names this; nothing to look up
    try:
        return ctx.secrets.resolve(reference, ctx.connector.scope)
    except SecretNotFound as missing:
        where = f"{secret_ref.field_path} (line {secret_ref.line})"
        down = missing.manager_down
        if down is not None:
            ctx.fail(
                "secret-manager-unhealthy",
                f"{where}: '{reference.raw}' is kept in {down.evidence.get('manager')},"
                f" which is {down.evidence.get('state')}",
                reference=reference.raw,
                field_path=secret_ref.field_path,
                **down.evidence,
            )
        elif missing.deferred:
            # kept in a secret manager this run does not read (offline, or another delegate's)
            deferred.append(f"{reference.raw} ({missing.problems[0]})")
        else:
            facts: dict[str, Any] = {}
            for problem in missing.problems:
                facts.update(problem.evidence)
            ctx.fail(
                "secret-not-found",
                f"{where}: no source has the secret {missing.address.describe()}"
                f" (reference '{reference.raw}')",
                reference=reference.raw,
                field_path=secret_ref.field_path,
                sources="; ".join(missing.asked),
                env_var=env_var_name(missing.address),
                **facts,
            )
        return None


def _article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" or noun.startswith(("SSH", "PEM")) else "a"


def _passphrase(ctx: CheckContext) -> Secret | None:
    for secret_ref in ctx.connector.secret_refs:
        if secret_ref.field_path.endswith(_PASSPHRASE_FIELD):
            try:
                return ctx.secrets.resolve(secret_ref.reference, ctx.connector.scope)
            except (SecretNotFound, ValueError):
                return None
    return None


def _check_expiry(ctx: CheckContext, secret_ref: SecretRef, expires_at: str) -> None:
    expiry = datetime.fromisoformat(expires_at)
    days_left = (expiry - datetime.now(timezone.utc)).total_seconds() / 86400
    warning_days = ctx.settings.defaults.credentialExpiryWarningDays
    evidence: dict[str, Any] = {
        "reference": secret_ref.raw,
        "expires_at": expires_at,
        "days_left": round(days_left, 1),
        "field_path": secret_ref.field_path,
    }
    if days_left <= 0:
        ctx.fail(
            "credentials-expired",
            f"the service-account token in '{secret_ref.raw}' expired at {expires_at}",
            **evidence,
        )
    elif days_left <= warning_days:
        ctx.warn(
            "credentials-expiring",
            f"the service-account token in '{secret_ref.raw}' expires at {expires_at}"
            f" ({days_left:.1f} days left)",
            **evidence,
        )


#: Why the secrets check does not run in a static run without any secret source (PR lint).
NO_SOURCE = (
    "not checked: no secret source (--connectors-offline without a secrets file,"
    " CONNECTOR_SECRET_* variables or a resolve hook); the references check still judges"
    " every reference's syntax and scope"
)


def check_secrets(ctx: CheckContext) -> None:
    if ctx.options.offline and not ctx.secrets.has_source:
        raise Skip(NO_SOURCE)
    resolved: dict[str, str] = {}
    deferred: list[str] = []
    for secret_ref in ctx.connector.secret_refs:
        secret = _resolve(ctx, secret_ref, deferred)
        if secret is None:
            continue
        resolved[secret_ref.raw] = f"{secret.source}"
        if secret_ref.kind is SecretKind.TEXT:
            continue
        passphrase = _passphrase(ctx) if secret_ref.kind is SecretKind.K8S_PRIVATE_KEY else None
        shape = check_shape(secret_ref.kind, secret, passphrase)
        if shape.problem:
            ctx.fail(
                "secret-format-invalid",
                f"{secret_ref.field_path} (line {secret_ref.line}): '{secret_ref.raw}' should hold"
                f" {_article(secret_ref.kind.value)} {secret_ref.kind.value}: {shape.problem}",
                reference=secret_ref.raw,
                field_path=secret_ref.field_path,
                expected=secret_ref.kind.value,
                problem=shape.problem,
            )
            continue
        facts = shape.facts or {}
        if facts:
            ctx.note(**{secret_ref.raw: facts})
        if secret_ref.kind is SecretKind.K8S_SA_TOKEN and facts.get("expires_at"):
            _check_expiry(ctx, secret_ref, str(facts["expires_at"]))
    ctx.note(resolved_from=resolved)
    if deferred:
        ctx.note(not_read_here=deferred)
        if not ctx.options.offline and not ctx.findings:
            raise Skip(f"not checked here: {'; '.join(deferred)}")


def _has_secret_refs(connector: Connector, collect: CollectContext) -> bool:
    return bool(connector.secret_refs)


SECRETS = Check(
    "secrets",
    Phase.DEFINITION,
    check_secrets,
    applies=_has_secret_refs,
    description=__doc__ or "",
)
