"""Pipeline, template and input-set ``connectorRef`` values, resolved as Harness resolves them.

A reference is read from the pipeline's own scope: ``x`` in its project, ``org.x`` in its
organisation, ``account.x`` in the account. A miss is either a scope mismatch (the connector
exists where another prefix would reach it) or a connector that is not found (did-you-mean).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .builtin_connectors import BUILTIN_CONNECTORS, builtin_at
from .inventory import Inventory
from .model import Connector, ConnectorUse, PipelineDocument
from .refs import Reference, Scope, ScopeId, is_expression
from .results import Finding


@dataclass(frozen=True)
class Resolution:
    use: ConnectorUse
    connector: Connector | None
    finding: Finding | None


def resolve_use(
    inventory: Inventory, holder: ScopeId, use: ConnectorUse, pipeline: str = ""
) -> Resolution:
    reference = Reference.parse(use.reference)
    where = f"{use.field_path} (line {use.line})"
    if reference.problem:
        fixed = None
        for candidate in inventory.with_identifier(reference.identifier):
            fixed = candidate.scope.ref_from(holder, candidate.identifier) or fixed
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
    identifier_problem = reference.identifier_problem()
    if identifier_problem:
        return Resolution(
            use,
            None,
            Finding(
                "definition-invalid",
                f"{where}: {identifier_problem}",
                {"field_path": use.field_path, "problem": identifier_problem, "line": use.line},
            ),
        )
    target = reference.target(holder)
    assert target is not None
    connector = inventory.connector(target, reference.identifier)
    if connector is not None or builtin_at(target, reference.identifier):
        return Resolution(use, connector, None)
    same_id = inventory.with_identifier(reference.identifier)
    reachable = [(c, c.scope.ref_from(holder, c.identifier)) for c in same_id]
    fixes = [(c, ref) for c, ref in reachable if ref]
    builtin = BUILTIN_CONNECTORS.get(reference.identifier)
    if builtin is not None and not fixes:
        scope = min(builtin[0], key=lambda s: s.rank)
        fixed = ScopeId().ref_to(reference.identifier) if scope is Scope.ACCOUNT else None
        if fixed:
            return Resolution(
                use,
                None,
                Finding(
                    "scope-mismatch",
                    f"{where}: '{use.reference}' looks for '{reference.identifier}' at"
                    f" {target.describe()}, but {builtin[1]} exists at account scope only;"
                    f" write '{fixed}'",
                    {
                        "reference": use.reference,
                        "field_path": use.field_path,
                        "suggestion": fixed,
                        "owner_scope": "account",
                        "pipeline": pipeline,
                    },
                ),
            )
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
        if (ref := c.scope.ref_from(holder, c.identifier)) is not None
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
