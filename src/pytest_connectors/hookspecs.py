"""Hooks that pytest-connectors adds; implement them in a plugin or a rootdir conftest.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .checks import CheckRegistry
    from .refs import ScopeId

hookspec = pytest.hookspec


@hookspec
def pytest_connectors_register_checks(registry: CheckRegistry) -> None:
    """Register checks with ``registry.register(Check(...))``; called once per process."""


@hookspec(firstresult=True)
def pytest_connectors_resolve_secret(ref: str, scope: ScopeId, config: pytest.Config) -> str | None:
    """Return the value of secret ``ref`` (as written from ``scope``, e.g. ``account.gh_pat``),
    or None to let the next implementation try. ``scope`` is where the secret lives."""
