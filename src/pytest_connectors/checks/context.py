"""What a check can see: the connector, the whole inventory, the delegate, secrets and settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..delegate import DelegateContext
from ..engine.resources import RunResources
from ..inventory import Inventory
from ..model import Connector
from ..pipelines import pipeline_uses_by_connector
from ..probes.prober import Prober
from ..results import CheckResult, Finding
from ..secrets import SecretChain
from ..settings import Expectations, Settings


@dataclass(frozen=True)
class RunOptions:
    offline: bool = False
    strict: bool = False
    any_delegate: bool = False
    allow_insecure: bool = False  # send credentials over plain HTTP to non-loopback hosts
    concurrency: int | None = None


@dataclass(frozen=True)
class CollectContext:
    """What is known at collection time (no fixtures yet): used by ``Check.applies``."""

    inventory: Inventory
    settings: Settings
    options: RunOptions
    has_proxy: bool = False  # the delegate of this run has an HTTP proxy (the proxy check)

    def referenced_by_pipelines(self, connector: Connector) -> bool:
        return bool(pipeline_uses_by_connector(self.inventory).get(connector.key))


@dataclass
class CheckContext:
    connector: Connector
    inventory: Inventory
    settings: Settings
    delegate: DelegateContext
    secrets: SecretChain
    options: RunOptions
    result_of: Callable[[str], CheckResult]
    prober: Prober = field(default_factory=lambda: Prober(DelegateContext(), 10.0))
    #: What the checks of this run share (sessions, clients, minted tokens): made once per run.
    resources: RunResources = field(default_factory=RunResources)
    findings: list[Finding] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)
    deferred: str | None = None

    @property
    def expectations(self) -> Expectations:
        return self.settings.expectations_for(self.connector.ref)

    def fail(self, mode: str, cause: str, *, blocks: bool = True, **evidence: Any) -> None:
        self.findings.append(Finding(mode, cause, evidence, blocks))

    warn = fail  # severity comes from the catalogue; the alias reads better at call sites

    def note(self, **facts: Any) -> None:
        self.evidence.update(facts)

    def defer_dependents(self, reason: str) -> None:
        """This check passes, but the checks that depend on it must not run here (``reason``
        is their skip reason, and they count as not checked)."""
        self.deferred = reason
