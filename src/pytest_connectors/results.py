"""Check outcomes as data: a check records :class:`Finding` s; the engine turns them into results.

A finding names one failure mode of the catalogue, a one-line cause with this run's evidence,
and the evidence itself. It never holds a secret value: only references to secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from . import catalogue
from .catalogue import Severity


class Outcome(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    SKIPPED = "skipped"


class Phase(str, Enum):
    DEFINITION = "definition"
    CONNECTIVITY = "connectivity"
    AUTHENTICATION = "authentication"
    AUTHORIZATION = "authorization"
    CAPACITY = "capacity"

    @property
    def order(self) -> int:
        return list(Phase).index(self)


@dataclass(frozen=True)
class Finding:
    mode: str
    cause: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    #: False when the finding should not block the checks that depend on this one.
    blocks: bool = True

    def __post_init__(self) -> None:
        catalogue.get(self.mode)  # an unknown id is a programming error: fail loudly

    @property
    def severity(self) -> Severity:
        return catalogue.get(self.mode).severity


class Failure(Exception):
    """Raised by a check to stop with one finding (the usual way for a check to fail)."""

    def __init__(self, mode: str, cause: str, **evidence: Any) -> None:
        super().__init__(f"[{mode}] {cause}")
        self.finding = Finding(mode, cause, evidence)


class SkipKind(str, Enum):
    """Why a check did not run; only ``not-checked`` leaves a gap in what the run vouches for."""

    #: A check it depends on failed: the root cause is reported there, once.
    BLOCKED = "blocked"
    #: It could have been checked, not here: SDK extra missing, no secret source, another
    #: delegate's connector, skipped by settings, a variant without live checks yet.
    NOT_CHECKED = "not-checked"
    #: There is nothing to check for this connector (no repository named, rate limiting off).
    NOT_APPLICABLE = "not-applicable"


class Skip(Exception):
    """Raised by a check that could not check this connector here (the reason says why)."""

    kind = SkipKind.NOT_CHECKED


class NotApplicable(Skip):
    """Raised by a check that has nothing to check for this connector: not a gap."""

    kind = SkipKind.NOT_APPLICABLE


@dataclass(frozen=True)
class CheckResult:
    check: str
    outcome: Outcome
    findings: tuple[Finding, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)
    skip_reason: str | None = None
    duration_s: float = 0.0
    skip_kind: SkipKind | None = None
    #: Set on a result whose dependents must not run here, with the reason they show (e.g. the
    #: ``delegate`` check of a connector that belongs to another delegate).
    defer_dependents: str | None = None
    #: For a check skipped because a dependency failed: the failure mode that blocked it.
    blocked_by: str | None = None

    @property
    def not_checked(self) -> bool:
        return self.outcome is Outcome.SKIPPED and self.skip_kind is SkipKind.NOT_CHECKED

    @property
    def primary(self) -> Finding | None:
        """The finding that names this result: the first error, else the first warning."""
        errors = [f for f in self.findings if f.severity is Severity.ERROR]
        ranked = errors or list(self.findings)
        return ranked[0] if ranked else None

    @property
    def blocking(self) -> Finding | None:
        """The finding that blocks dependent checks, if any."""
        if self.outcome is not Outcome.FAILED:
            return None
        return next((f for f in self.findings if f.severity is Severity.ERROR and f.blocks), None)
