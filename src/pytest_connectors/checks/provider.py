"""``auth``, ``permissions``, ``rbac``, ``health`` and ``rate_limit``: one check each,
implemented per provider.

Each provider module (``checks/github.py`` …) provides functions for the checks it supports
(``PROVIDES``) and when they apply (``APPLIES``); this module turns them into the registered
checks, so a node id stays ``<ref>[auth]`` whatever the connector type, and a new provider is a
module plus one line here. Provider modules are named, not imported: one is imported when a
connector of its type is first collected, so a run without Vault connectors never imports the
Vault client's stack, and a plain install (no extras) loads every run.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from types import ModuleType

from ..model import Connector
from ..results import Phase
from . import Check
from .context import CheckContext, CollectContext
from .network import CONNECTED

#: Connector type -> the module implementing its provider checks (imported on first use).
PROVIDERS: dict[str, str] = {
    "Github": "pytest_connectors.checks.github",
    "Gitlab": "pytest_connectors.checks.gitlab",
    "Git": "pytest_connectors.checks.git",
    "DockerRegistry": "pytest_connectors.checks.registry",
    "Bitbucket": "pytest_connectors.checks.bitbucket",
    "K8sCluster": "pytest_connectors.checks.kubernetes",
    "Vault": "pytest_connectors.checks.vault",
}

#: ``health`` applies to Vault only; for other types it is not a dependency.
_CONNECTED = (*CONNECTED, "health")


@cache
def provider(connector_type: str) -> ModuleType | None:
    """The provider module of ``connector_type``, imported now if it was not yet."""
    name = PROVIDERS.get(connector_type)
    return importlib.import_module(name) if name else None


def _run(name: str) -> Callable[[CheckContext], None]:
    def run(ctx: CheckContext) -> None:
        module = provider(ctx.connector.type)
        assert module is not None  # applies() said so
        module.PROVIDES[name](ctx)

    return run


def _applies(name: str) -> Callable[[Connector, CollectContext], bool]:
    def applies(connector: Connector, collect: CollectContext) -> bool:
        if connector.type not in PROVIDERS:
            return False
        module = provider(connector.type)
        return module is not None and name in module.PROVIDES and module.APPLIES(connector, collect)

    return applies


def _check(name: str, phase: Phase, needs: tuple[str, ...], description: str) -> Check:
    return Check(name, phase, _run(name), _applies(name), needs, True, frozenset(), description)


HEALTH = _check(
    "health", Phase.CONNECTIVITY, CONNECTED,
    "the secret manager is initialised, unsealed and active (Vault: sys/health)",
)  # fmt: skip
AUTH = _check("auth", Phase.AUTHENTICATION, _CONNECTED, "the provider accepts the credential")
PERMISSIONS = _check(
    "permissions", Phase.AUTHORIZATION, (*_CONNECTED, "auth"),
    "the credential can do what the connector is for",
)  # fmt: skip
RBAC = _check(
    "rbac", Phase.AUTHORIZATION, (*_CONNECTED, "auth"),
    "Kubernetes RBAC grants what Harness needs to deploy",
)  # fmt: skip
RATE_LIMIT = _check(
    "rate_limit", Phase.CAPACITY, (*_CONNECTED, "auth"), "headroom in the provider's rate limit"
)
