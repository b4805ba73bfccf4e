"""``references``: secret references obey Harness's syntax and scope rules; pipeline
``connectorRef`` values resolve from the pipeline's own scope (with did-you-mean suggestions).
"""

from __future__ import annotations

from ..builtin_connectors import is_builtin_secret_manager
from ..model import SECRET_MANAGER_TYPES, Connector
from ..pipelines import pipeline_uses_by_connector
from ..refs import Reference, Scope, ScopeId
from ..results import Phase
from . import Check
from .context import CheckContext, CollectContext


def _secret_scope_hint(ctx: CheckContext, reference: Reference) -> tuple[str, str] | None:
    """Where ``secret:`` documents say a secret with this identifier lives: (right ref, scope)."""
    holder = ctx.connector.scope
    for secret in ctx.inventory.secrets:
        if secret.identifier == reference.identifier:
            fixed = secret.scope.ref_from(holder, secret.identifier)
            if fixed and fixed != reference.raw:
                return fixed, secret.scope.describe()
    return None


def _syntax_fix(reference: Reference, holder: ScopeId) -> str | None:
    """``project.x`` from inside a project means the bare ``x``."""
    prefix = reference.raw.partition(".")[0].lower()
    if prefix == "project" and holder.level is Scope.PROJECT and reference.identifier:
        return reference.identifier
    return None


def _manager_problem(ctx: CheckContext, reference: Reference) -> str | None:
    """Harness keeps some credentials in its built-in secret manager only; ``secret:``
    documents say where each secret lives."""
    connector = ctx.connector
    target = reference.target(connector.scope)
    kept = next(
        (
            s
            for s in ctx.inventory.secrets
            if s.identifier == reference.identifier and s.scope == target
        ),
        None,
    )
    if kept is None or is_builtin_secret_manager(kept.manager):
        return None
    where = f"kept in the secret manager '{kept.manager}' ({kept.file}:{kept.line})"
    if connector.type in SECRET_MANAGER_TYPES:
        return (
            f"'{reference.raw}' is {where}, but a secret manager's own credentials must be kept"
            " in Harness's built-in secret manager (harnessSecretManager)"
        )
    if not connector.execute_on_delegate:
        return (
            f"'{reference.raw}' is {where}, but a connector that connects through Harness"
            " Platform (executeOnDelegate: false) can only use secrets of Harness's built-in"
            " secret manager"
        )
    return None


def check_references(ctx: CheckContext) -> None:
    connector = ctx.connector
    holder = connector.scope
    documented = {(s.scope, s.identifier) for s in ctx.inventory.secrets}
    for secret_ref in connector.secret_refs:
        reference = secret_ref.reference
        where = f"{secret_ref.field_path} (line {secret_ref.line})"
        invalid = reference.identifier_problem(secret=True) or (
            None if reference.problem else _manager_problem(ctx, reference)
        )
        if invalid:
            ctx.fail(
                "definition-invalid",
                f"{where}: {invalid}",
                field_path=secret_ref.field_path,
                problem=invalid,
            )
            continue
        problem = reference.problem or reference.scope_problem(holder)
        documented_hint = _secret_scope_hint(ctx, reference)
        hint, owner_scope = documented_hint or (None, None)
        if problem is None and documented:
            target = reference.target(holder)
            known_elsewhere = hint is not None and (target, reference.identifier) not in documented
            if known_elsewhere:
                problem = (
                    f"no secret '{reference.identifier}' is defined at"
                    f" {target.describe() if target else 'that scope'}, but one exists at another"
                    " scope"
                )
        if problem is None:
            continue
        hint = hint or _syntax_fix(reference, holder)
        if hint is None and reference.scope_problem(holder) and holder.level is Scope.ACCOUNT:
            hint = f"account.{reference.identifier}"
        ctx.fail(
            "scope-mismatch",
            f"{where}: {problem}" + (f"; write '{hint}'" if hint else ""),
            reference=reference.raw,
            field_path=secret_ref.field_path,
            suggestion=hint,
            owner_scope=owner_scope,
        )
    used_by = pipeline_uses_by_connector(ctx.inventory).get(connector.key)
    if used_by:
        ctx.note(referenced_by=used_by)


def _has_references(connector: Connector, collect: CollectContext) -> bool:
    return bool(connector.secret_refs) or collect.referenced_by_pipelines(connector)


REFERENCES = Check(
    "references",
    Phase.DEFINITION,
    check_references,
    applies=_has_references,
    description="secret-ref syntax and scope rules; pipeline connectorRef resolution",
)
