"""``delegate``: selectors are set, match a connected delegate, and this host qualifies."""

from __future__ import annotations

from ..results import Phase
from . import Check
from .context import CheckContext


def check_delegate(ctx: CheckContext) -> None:
    connector, delegate = ctx.connector, ctx.delegate
    selectors = connector.delegate_selectors
    inventory = ctx.settings.delegates
    ctx.note(selectors=list(selectors), this_delegate=delegate.name or "(unknown)")
    if delegate.problems:
        ctx.note(delegate_problems=list(delegate.problems))
    if not selectors:
        ctx.warn(
            "delegate-selector-missing",
            "no delegateSelectors: any delegate may run this connector, so a test and a"
            " pipeline can run on different delegates",
        )
        return
    wanted = {s.lower() for s in selectors}
    matching = [d for d in inventory if wanted <= d.selectors]
    usable = [d for d in matching if d.connected and d.healthy]
    if inventory:
        ctx.note(matching_delegates=[d.name for d in matching])
        if not matching:
            ctx.fail(
                "delegate-unavailable",
                f"no delegate in the inventory has all of the selectors {', '.join(selectors)}",
                problem="no delegate matches",
                candidates=", ".join(d.name for d in inventory),
            )
        elif not usable:
            states = ", ".join(
                f"{d.name} ({'disconnected' if not d.connected else 'unhealthy'})" for d in matching
            )
            ctx.fail(
                "delegate-unavailable",
                f"the delegates that match the selectors are not usable: {states}",
                problem="matching delegates are disconnected or unhealthy",
                candidates=", ".join(d.name for d in matching),
            )
    else:
        ctx.note(inventory="no delegate inventory (pytestConnectors.delegates): not judged")
    if not delegate.identity_known:
        ctx.note(
            this_host="not checked: delegate identity unknown (use --delegate or DELEGATE_NAME)"
        )
        return
    if not delegate.qualifies(selectors):
        missing = sorted(wanted - delegate.selectors)
        ctx.fail(
            "delegate-unavailable",
            f"this run's delegate '{delegate.name}' lacks the selectors {', '.join(missing)};"
            " Harness would never run this connector here",
            blocks=not ctx.options.any_delegate,
            problem="this host does not qualify",
            delegate=delegate.name,
            missing=", ".join(missing),
        )


DELEGATE = Check("delegate", Phase.DEFINITION, check_delegate, description=__doc__ or "")
