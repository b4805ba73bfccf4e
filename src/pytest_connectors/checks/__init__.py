"""The check registry: a check is a module that registers a :class:`Check`; the core never changes.

Built-in checks register through the ``pytest_connectors_register_checks(registry)`` hook like
any third-party plugin or conftest.py would. A check's ``run`` receives a :class:`CheckContext`,
records findings (``ctx.fail``/``ctx.warn``) or raises :class:`~pytest_connectors.results.Failure`,
and may attach facts with ``ctx.note``. ``needs`` names the checks whose failure blocks it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..model import Connector
from ..results import Phase

if TYPE_CHECKING:
    from .context import CheckContext, CollectContext


def _always(connector: Connector, collect: CollectContext) -> bool:
    return True


@dataclass(frozen=True)
class Check:
    name: str
    phase: Phase
    run: Callable[[CheckContext], None]
    applies: Callable[[Connector, CollectContext], bool] = _always
    needs: tuple[str, ...] = ()
    network: bool = False
    types: frozenset[str] = frozenset()  # empty: every type
    description: str = ""

    def applies_to(self, connector: Connector, collect: CollectContext) -> bool:
        if self.types and connector.type not in self.types:
            return False
        return self.applies(connector, collect)


@dataclass
class CheckRegistry:
    checks: dict[str, Check] = field(default_factory=dict)

    def register(self, check: Check, *, replace: bool = False) -> Check:
        if check.name in self.checks and not replace:
            raise ValueError(f"a check named {check.name!r} is already registered")
        self.checks[check.name] = check
        return check

    def __getitem__(self, name: str) -> Check:
        return self.checks[name]

    def __contains__(self, name: object) -> bool:
        return name in self.checks

    def __iter__(self) -> Iterator[Check]:
        """Checks in phase order, then registration order (the order of a connector's items)."""
        ordered = sorted(enumerate(self.checks.values()), key=lambda p: (p[1].phase.order, p[0]))
        return (check for _, check in ordered)


__all__ = ["Check", "CheckRegistry"]
