"""``definition``: the connector matches Harness's schema, enums and naming rules."""

from __future__ import annotations

from typing import Any

from ..results import Phase
from . import Check
from .context import CheckContext

_CREDENTIAL_FIELDS = ("spec.credential", "spec.delegateSelectors")


def check_definition(ctx: CheckContext) -> None:
    connector = ctx.connector
    ctx.note(type=connector.type, scope=connector.scope.describe())
    for error in connector.errors:
        evidence: dict[str, Any] = {"field_path": error.field_path, "line": error.line}
        if error.suggestion:
            evidence["suggestion"] = error.suggestion
        credential_type = getattr(connector.spec, "credential_type", None)
        if credential_type and error.field_path.startswith(_CREDENTIAL_FIELDS):
            evidence["credential_type"] = credential_type
        ctx.fail(
            "definition-invalid",
            f"{error.field_path} (line {error.line}): {error.problem}",
            problem=error.problem,
            **evidence,
        )
    for unknown in connector.unknown_fields:
        where = f" (it belongs at {unknown.suggestion})" if unknown.suggestion else ""
        where += f" ({unknown.note})" if unknown.note else ""
        ctx.warn(
            "unknown-field",
            f"{unknown.field_path} (line {unknown.line}): Harness does not know this key here"
            f" and drops it{where}",
            field_path=unknown.field_path,
            line=unknown.line,
            suggestion=unknown.suggestion,
            problem=unknown.note,
        )
    if not connector.supported and not connector.errors:
        ctx.note(live_checks=f"none yet for type {connector.type}: static checks only")


DEFINITION = Check("definition", Phase.DEFINITION, check_definition, description=__doc__ or "")
