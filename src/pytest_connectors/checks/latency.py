"""``latency``: connect + TLS + first byte, against the timeout and the latency budget; and
whether this host (the delegate) is short of CPU or memory while it runs."""

from __future__ import annotations

import contextlib
import functools
import os
import weakref
from pathlib import Path
from typing import Any

from ..probes.prober import Prober
from ..results import Phase
from . import Check
from .context import CheckContext
from .network import CONNECTED, applies_to_network, connection, endpoints

TIMEOUT_SHARE = 0.8


def _memory_available_share() -> float | None:
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return None
    values = {}
    for line in lines:
        key, _, rest = line.partition(":")
        values[key] = float(rest.split()[0]) if rest.split() else 0.0
    total, available = values.get("MemTotal"), values.get("MemAvailable")
    return available / total if total and available is not None else None


#: Which connector's latency item named this run's host pressure (keyed on the run's prober).
_PRESSURE_NAMED_ON: weakref.WeakKeyDictionary[Prober, str] = weakref.WeakKeyDictionary()


@functools.lru_cache(maxsize=1)
def host_pressure() -> dict[str, Any]:
    """This host's load and free memory, read once per process (a fact about the run)."""
    facts: dict[str, Any] = {}
    with contextlib.suppress(OSError):  # no load average on this platform
        facts["load_per_core"] = round(os.getloadavg()[0] / (os.cpu_count() or 1), 2)
    share = _memory_available_share()
    if share is not None:
        facts["available_memory_pct"] = round(share * 100, 1)
    return facts


def check_latency(ctx: CheckContext) -> None:
    timeout = ctx.prober.timeout
    budget = ctx.settings.defaults.latencyBudget
    for endpoint in endpoints(ctx):
        probe = connection(ctx, endpoint)
        byte = probe.first_byte
        if byte is None:
            continue  # never got that far (an earlier check owns why)
        timings = {k: round(v, 3) for k, v in probe.timings.items()}
        total = sum(probe.timings.values())
        ctx.note(**{endpoint.address: {**timings, "total_s": round(total, 3)}})
        evidence: dict[str, Any] = {
            "host": endpoint.host,
            "elapsed_s": round(total, 3),
            "timeout_s": timeout,
        }
        if byte.error == "timeout":
            ctx.fail(
                "connection-timeout",
                f"{endpoint.address} accepted the connection but sent nothing within {timeout:g} s",
                port=endpoint.port,
                reason="no first byte",
                **evidence,
            )
        elif total > TIMEOUT_SHARE * timeout:
            ctx.warn(
                "timeout-too-low",
                f"{endpoint.address}: connect + TLS + first byte took {total:.2f} s, more than"
                f" {TIMEOUT_SHARE:.0%} of the {timeout:g} s timeout",
                **evidence,
            )
        elif total > budget:
            ctx.warn(
                "high-latency",
                f"{endpoint.address}: connect + TLS + first byte took {total:.2f} s, over the"
                f" {budget:g} s latency budget",
                budget_s=budget,
                **evidence,
            )
    pressure = dict(host_pressure())
    ctx.note(delegate_host=pressure)
    load = pressure.get("load_per_core", 0.0)
    memory = pressure.get("available_memory_pct", 100.0)
    defaults = ctx.settings.defaults
    if load > defaults.loadPerCoreWarning or memory < defaults.memoryAvailableWarning * 100:
        # A fact of this host, not of the connector: named once per run (per xdist worker), on
        # the first connector that found it; the others keep the facts and point there.
        first = _PRESSURE_NAMED_ON.setdefault(ctx.prober, ctx.connector.ref)
        if first != ctx.connector.ref:
            ctx.note(delegate_host_pressure=f"named once per run, on {first}[latency]")
            return
        ctx.warn(
            "delegate-resource-constraints",
            f"this host is short of resources: load {load} per core, {memory}% memory available",
            **pressure,
        )


LATENCY = Check(
    "latency",
    Phase.CONNECTIVITY,
    check_latency,
    applies_to_network,
    CONNECTED,
    network=True,
    description="connect + TLS + first byte vs the timeout and the latency budget",
)
