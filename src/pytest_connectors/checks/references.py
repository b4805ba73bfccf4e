"""``references``: secret references obey Harness's syntax and scope rules; pipeline
``connectorRef`` values resolve from the pipeline's own scope (with did-you-mean suggestions).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..inventory import Inventory
from ..model import Connector, ConnectorUse, PipelineDocument
from ..refs import Reference, Scope, ScopeId, is_expression
from ..results import Finding, Phase
from . import Check
from .context import CheckContext, CollectContext


@dataclass(frozen=True)
class Resolution:
    use: ConnectorUse
    connector: Connector | None
    finding: Finding | None


def _reachable_ref(target: ScopeId, holder: ScopeId, identifier: str) -> str | None:
    return target.ref_from(holder, identifier)


def resolve_use(
    inventory: Inventory, holder: ScopeId, use: ConnectorUse, pipeline: str = ""
) -> Resolution:
    reference = Reference.parse(use.reference)
    where = f"{use.field_path} (line {use.line})"
    if reference.problem:
        fixed = None
        found = [c for c in inventory.connectors if c.identifier == reference.identifier]
        for candidate in found:
            fixed = _reachable_ref(candidate.scope, holder, candidate.identifier) or fixed
        return Resolution(
            use,
            None,
            Finding(
                "scope-mismatch",
                f"{where}: {reference.problem}",
                {
                    "reference": use.reference,
                    "field_path": use.field_path,
                    "suggestion": fixed,
                    "pipeline": pipeline,
                },
            ),
        )
    target = reference.target(holder)
    assert target is not None
    connector = inventory.connector(target, reference.identifier)
    if connector is not None:
        return Resolution(use, connector, None)
    same_id = [c for c in inventory.connectors if c.identifier == reference.identifier]
    reachable = [(c, _reachable_ref(c.scope, holder, c.identifier)) for c in same_id]
    fixes = [(c, ref) for c, ref in reachable if ref]
    if fixes:
        other, fixed = fixes[0]
        return Resolution(
            use,
            other,
            Finding(
                "scope-mismatch",
                f"{where}: '{use.reference}' does not reach '{other.identifier}', which lives"
                f" at {other.scope.describe()} ({other.location}); write '{fixed}'",
                {
                    "reference": use.reference,
                    "field_path": use.field_path,
                    "suggestion": fixed,
                    "owner_scope": other.scope.describe(),
                    "pipeline": pipeline,
                },
            ),
        )
    visible = {
        ref: c
        for c in inventory.connectors
        if (ref := _reachable_ref(c.scope, holder, c.identifier)) is not None
    }
    close = difflib.get_close_matches(use.reference, list(visible), n=3, cutoff=0.6)
    elsewhere = [f"{c.identifier} at {c.scope.describe()}" for c in same_id]
    candidates = close + [f"(not reachable from here: {e})" for e in elsewhere]
    return Resolution(
        use,
        None,
        Finding(
            "connector-not-found",
            f"{where}: no connector '{use.reference}' resolves from {holder.describe()}"
            + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""),
            {
                "reference": use.reference,
                "field_path": use.field_path,
                "candidates": ", ".join(candidates),
                "suggestion": close[0] if close else None,
                "pipeline": pipeline,
            },
        ),
    )


def resolve_pipeline(inventory: Inventory, pipeline: PipelineDocument) -> list[Resolution]:
    return [
        resolve_use(inventory, pipeline.scope, use, pipeline.identifier)
        for use in pipeline.uses
        if not is_expression(use.reference) and use.reference
    ]


def _uses(inventory: Inventory) -> dict[object, list[str]]:
    uses: dict[object, list[str]] = {}
    for pipeline in inventory.pipelines:
        for resolution in resolve_pipeline(inventory, pipeline):
            if resolution.connector is not None:
                uses.setdefault(resolution.connector.key, []).append(
                    f"{pipeline.kind} {pipeline.identifier} ({pipeline.file}:{resolution.use.line})"
                    + (" with a scope mismatch" if resolution.finding else "")
                )
    return uses


def pipeline_uses_by_connector(inventory: Inventory) -> dict[object, list[str]]:
    return inventory.memo("pipeline-uses", _uses)


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


def check_references(ctx: CheckContext) -> None:
    connector = ctx.connector
    holder = connector.scope
    documented = {(s.scope, s.identifier) for s in ctx.inventory.secrets}
    for secret_ref in connector.secret_refs:
        reference = secret_ref.reference
        where = f"{secret_ref.field_path} (line {secret_ref.line})"
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
