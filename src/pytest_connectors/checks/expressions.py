"""``expressions``: no ``<+...>`` runtime expression in the connector (a test cannot resolve it)."""

from __future__ import annotations

from ..results import Phase
from . import Check
from .context import CheckContext


def check_expressions(ctx: CheckContext) -> None:
    for use in ctx.connector.expressions:
        ctx.fail(
            "runtime-expression",
            f"{use.field_path} (line {use.line}) holds the runtime expression {use.value!r}",
            field_path=use.field_path,
            expression=use.value,
            line=use.line,
        )


EXPRESSIONS = Check("expressions", Phase.DEFINITION, check_expressions, description=__doc__ or "")
