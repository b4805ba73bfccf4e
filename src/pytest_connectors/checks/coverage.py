"""What a run cannot check for a connector, known before any check runs.

A connector is ``passed`` only when everything that applies to it was checked. Gaps found while
running (an SDK extra missing, no secret source, another delegate's connector) are skips of the
checks themselves; the gaps listed here have no item to skip: a Harness type without live
checks, or a type whose credential this release does not verify yet.
"""

from __future__ import annotations

from ..model import Connector
from .context import CollectContext
from .provider import PROVIDERS


def coverage_gaps(connector: Connector, collect: CollectContext) -> list[dict[str, str]]:
    """``[{check, reason}]`` for what no item of this run will check (none offline: a static
    run checks what it is asked to)."""
    if collect.options.offline or connector.errors:
        return []
    if not connector.supported:
        return [
            {
                "check": "live checks",
                "reason": f"none yet for type {connector.type}: only the static checks ran",
            }
        ]
    if connector.type not in PROVIDERS:
        return [
            {
                "check": "auth",
                "reason": f"{connector.type} credentials are not verified yet: only reachability"
                " and the static checks ran",
            }
        ]
    return []
