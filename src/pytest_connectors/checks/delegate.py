"""``delegate``: selectors are set, match a connected delegate, and this host qualifies.

One job per delegate: a CI job running as one delegate (``--delegate``) checks the connectors
that delegate would run. A connector whose selectors this host lacks belongs to another
delegate: its ``delegate`` check passes (naming the delegates that qualify) and its network
checks are not run here, so it counts as not fully checked in this job, never as failed. Only
an inventory that positively shows no connected, healthy delegate carrying every selector makes
``delegate-unavailable``. ``executeOnDelegate: false`` involves no delegate at all.
"""

from __future__ import annotations

from ..results import Phase
from ..settings import DelegateEntry
from . import Check
from .context import CheckContext

#: What a connector that connects through Harness Platform needs from its target.
PLATFORM = (
    "Harness Platform (executeOnDelegate: false): no delegate is involved; Harness connects from"
    " its own platform addresses, which the target must allow"
)


def check_delegate(ctx: CheckContext) -> None:
    connector, delegate = ctx.connector, ctx.delegate
    selectors = connector.delegate_selectors
    inventory = ctx.settings.delegates
    ctx.note(selectors=list(selectors), this_delegate=delegate.name or "(unknown)")
    if delegate.problems:
        ctx.note(delegate_problems=list(delegate.problems))
    if not connector.execute_on_delegate:
        ctx.note(connects_from=PLATFORM)
        if selectors:
            ctx.note(selectors_ignored="Harness ignores delegateSelectors in this mode")
        return
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
    me = (delegate.name or "").lower()
    listed_me = next((d for d in inventory if me and d.name.lower() == me), None)
    i_qualify = delegate.identity_known and delegate.qualifies(selectors)
    if inventory:
        ctx.note(matching_delegates=[d.name for d in matching])
        # A delegate the inventory does not list yet (this one, when it qualifies) may run it.
        if not usable and not (i_qualify and listed_me is None):
            _unavailable(ctx, selectors, inventory, matching)
            return
        if i_qualify and listed_me is None:
            ctx.note(this_host="qualifies; the inventory does not list this delegate")
    else:
        ctx.note(inventory="no delegate inventory (pytestConnectors.delegates): not judged")
    if not delegate.identity_known:
        ctx.note(
            this_host="not checked: delegate identity unknown (use --delegate or DELEGATE_NAME)"
        )
        return
    others = [d.name for d in usable if d.name.lower() != me]
    if i_qualify:
        if (
            listed_me is not None
            and listed_me not in usable
            and others
            and not ctx.options.any_delegate
        ):
            # Harness sees this delegate as down: the delegates it does see run the connector
            assert listed_me is not None
            state = "disconnected" if not listed_me.connected else "unhealthy"
            ctx.note(this_host=f"qualifies, but the inventory lists it as {state}")
            ctx.defer_dependents(
                f"runs on {', '.join(others)}; this run is {delegate.name} ({state} in the"
                " inventory)"
            )
        return
    missing = ", ".join(sorted(wanted - delegate.selectors))
    ctx.note(this_host=f"lacks the selectors {missing}", runs_on=others or "not listed")
    if ctx.options.any_delegate:
        ctx.note(any_delegate="--connectors-any-delegate: checked from this host anyway")
        return
    if others:
        where = ", ".join(others)
    else:
        where = f"a delegate with the selectors {', '.join(selectors)}"
        where += "" if inventory else " (no delegate inventory says which)"
    ctx.defer_dependents(f"runs on {where}; this run is {delegate.name}")


def _unavailable(
    ctx: CheckContext,
    selectors: tuple[str, ...],
    inventory: tuple[DelegateEntry, ...],
    matching: list[DelegateEntry],
) -> None:
    """No connected, healthy delegate carries every selector: Harness has nowhere to run it.
    Under --connectors-any-delegate the network checks still run (the failure does not block).
    """
    blocks = not ctx.options.any_delegate
    if not matching:
        ctx.fail(
            "delegate-unavailable",
            f"no delegate in the inventory has all of the selectors {', '.join(selectors)}",
            blocks=blocks,
            problem="no delegate matches",
            candidates=", ".join(d.name for d in inventory),
        )
        return
    states = ", ".join(
        f"{d.name} ({'disconnected' if not d.connected else 'unhealthy'})" for d in matching
    )
    ctx.fail(
        "delegate-unavailable",
        f"the delegates that match the selectors are not usable: {states}",
        blocks=blocks,
        problem="matching delegates are disconnected or unhealthy",
        candidates=", ".join(d.name for d in matching),
    )


DELEGATE = Check("delegate", Phase.DEFINITION, check_delegate, description=__doc__ or "")
