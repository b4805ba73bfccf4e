"""Typed ``config.stash`` keys: the per-run state the plugin shares between hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .checks import CheckRegistry
    from .checks.context import CollectContext
    from .inventory import Inventory
    from .options import ConnectorOptions

OPTIONS_KEY: pytest.StashKey[ConnectorOptions] = pytest.StashKey()
INVENTORY_KEY: pytest.StashKey[Inventory] = pytest.StashKey()
REGISTRY_KEY: pytest.StashKey[CheckRegistry] = pytest.StashKey()
COLLECT_KEY: pytest.StashKey[CollectContext] = pytest.StashKey()
