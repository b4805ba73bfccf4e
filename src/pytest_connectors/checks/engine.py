"""Evaluate checks once per connector per process, dependencies first, with layered skips.

Whatever item asks first triggers the work; every other item (on this worker) reuses it. A
dependency that failed turns the dependent check into a skip that names the root cause:
``blocked by <check> (<failure-mode>)``. This makes outcomes the same however xdist splits items.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from ..delegate import DelegateContext
from ..endpoints import Endpoint
from ..engine.resources import RunResources
from ..inventory import Inventory
from ..model import Connector
from ..probes.prober import Prober
from ..probes.tls import Trust
from ..results import CheckResult, Failure, Outcome, Skip, SkipKind
from ..secrets import SecretChain
from ..settings import Settings
from . import CheckRegistry, network
from .context import CheckContext, CollectContext, RunOptions

SKIPPED_BY_SETTINGS = "skipped by the connector's pytestConnectors settings"
BLOCKED, NOT_CHECKED = SkipKind.BLOCKED, SkipKind.NOT_CHECKED


class CheckCycle(Exception):
    """A check asked (through a secret source) for a result that is being computed."""


@dataclass
class CheckEngine:
    registry: CheckRegistry
    inventory: Inventory
    settings: Settings
    delegate: DelegateContext
    secrets: SecretChain
    options: RunOptions
    has_proxy: bool = False
    _results: dict[tuple[str, int, str], CheckResult | BaseException] = field(default_factory=dict)
    _prober: Prober | None = None
    _prefetched: set[tuple[str, int]] = field(default_factory=set)
    _running: set[tuple[str, int, str]] = field(default_factory=set)
    resources: RunResources = field(default_factory=RunResources)

    @property
    def collect_context(self) -> CollectContext:
        return CollectContext(self.inventory, self.settings, self.options, self.has_proxy)

    @property
    def prober(self) -> Prober:
        if self._prober is None:
            self._prober = Prober(self.delegate, self.settings.defaults.timeout)
        return self._prober

    def prefetched(self, connector: Connector) -> bool:
        return (connector.file, connector.line) in self._prefetched

    def prefetch(self, connectors: Iterable[Connector]) -> None:
        """Start the network probes of these connectors (each once per process).

        Connectors whose static checks block their network checks are not probed at all.
        """
        if "dns" not in self.registry:
            return
        dns = self.registry["dns"]
        collect = self.collect_context
        wanted: list[tuple[Endpoint, Trust]] = []
        for connector in connectors:
            key = (connector.file, connector.line)
            if key in self._prefetched:
                continue
            self._prefetched.add(key)
            if not dns.applies_to(connector, collect) or self._blocked(connector, "dns"):
                continue
            try:
                wanted.extend(network.probes_of(self._context(connector)))
            except Failure:
                continue  # the endpoint is unusable: the dns check will say so
        # Submit in one burst, after the main thread's own work: submitting while probes run
        # makes this thread queue for the GIL behind every busy probe thread.
        for endpoint, trust in wanted:
            self.prober.connection(endpoint, trust)

    def close(self) -> None:
        self.resources.close()
        if self._prober is not None:
            self._prober.close()

    def result(self, connector: Connector, name: str) -> CheckResult:
        key = (connector.file, connector.line, name)
        if key not in self._results:
            if key in self._running:
                raise CheckCycle(f"{connector.ref}[{name}] depends on its own result")
            self._running.add(key)
            try:
                self._results[key] = self._evaluate(connector, name)
            except CheckCycle:
                raise  # not this check's result: the one that closed the cycle handles it
            except Exception as exc:  # a bug in a check: re-raised for every item that asks
                self._results[key] = exc
            finally:
                self._running.discard(key)
        outcome = self._results[key]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _blocked(self, connector: Connector, name: str) -> CheckResult | None:
        """The skip ``name`` inherits from its dependencies, if one of them stops it."""
        check = self.registry[name]
        collect = self.collect_context
        for dependency in check.needs:
            if dependency not in self.registry:
                continue
            if not self.registry[dependency].applies_to(connector, collect):
                continue
            if self.options.offline and self.registry[dependency].network:
                continue
            result = self.result(connector, dependency)
            blocking = result.blocking
            if blocking is not None:
                reason = f"blocked by {dependency} ({blocking.mode})"
                return CheckResult(
                    name,
                    Outcome.SKIPPED,
                    skip_reason=reason,
                    skip_kind=BLOCKED,
                    blocked_by=blocking.mode,
                )
            if result.outcome is Outcome.SKIPPED and result.skip_kind is BLOCKED:
                return replace(result, check=name, evidence={}, duration_s=0.0)
            if result.defer_dependents:
                return CheckResult(
                    name,
                    Outcome.SKIPPED,
                    skip_reason=result.defer_dependents,
                    skip_kind=SkipKind.NOT_CHECKED,
                    defer_dependents=result.defer_dependents,
                )
        return None

    def context(self, connector: Connector) -> CheckContext:
        """A fresh context for ``connector`` (e.g. for a secret source that reads through it)."""
        return self._context(connector)

    def _context(self, connector: Connector) -> CheckContext:
        return CheckContext(
            connector=connector,
            inventory=self.inventory,
            settings=self.settings,
            delegate=self.delegate,
            secrets=self.secrets,
            options=self.options,
            result_of=lambda other: self.result(connector, other),
            prober=self.prober,
            resources=self.resources,
        )

    def _evaluate(self, connector: Connector, name: str) -> CheckResult:
        if name in self.settings.expectations_for(connector.ref).skip:
            # Not run at all, but the checks that depend on it still run (it does not block).
            return CheckResult(
                name, Outcome.SKIPPED, skip_reason=SKIPPED_BY_SETTINGS, skip_kind=NOT_CHECKED
            )
        inherited = self._blocked(connector, name)
        if inherited is not None:
            return inherited
        ctx = self._context(connector)
        started = time.perf_counter()
        skip: Skip | None = None
        try:
            self.registry[name].run(ctx)
        except Failure as failure:
            ctx.findings.append(failure.finding)
        except Skip as raised:
            skip = raised
        duration = time.perf_counter() - started
        result = finish(name, ctx.findings, ctx.evidence, duration, skip)
        if ctx.deferred and result.outcome is not Outcome.FAILED:
            return replace(result, defer_dependents=ctx.deferred)
        return result


def finish(
    name: str,
    findings: list[Any],
    evidence: dict[str, Any],
    duration: float,
    skip: Skip | None = None,
) -> CheckResult:
    """Outcome from findings: an error fails, warnings alone warn, nothing passes."""
    if skip is not None and not findings:
        reason = str(skip) or "nothing to check"
        return CheckResult(name, Outcome.SKIPPED, (), evidence, reason, duration, skip.kind)
    if any(f.severity.value == "error" for f in findings):
        outcome = Outcome.FAILED
    elif findings:
        outcome = Outcome.WARNING
    else:
        outcome = Outcome.PASSED
    return CheckResult(name, outcome, tuple(findings), evidence, None, duration)
