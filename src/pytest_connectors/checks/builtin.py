"""Registers the built-in checks through the same hook third-party plugins use."""

from __future__ import annotations

import pytest

from . import CheckRegistry
from .concurrency import CONCURRENCY
from .connectivity import DNS, PROXY, TCP
from .definition import DEFINITION
from .delegate import DELEGATE
from .expressions import EXPRESSIONS
from .latency import LATENCY
from .provider import AUTH, HEALTH, PERMISSIONS, RATE_LIMIT, RBAC
from .references import REFERENCES
from .secrets import SECRETS
from .tls import TLS


@pytest.hookimpl(tryfirst=True)
def pytest_connectors_register_checks(registry: CheckRegistry) -> None:
    for check in (
        DEFINITION,
        REFERENCES,
        EXPRESSIONS,
        DELEGATE,
        SECRETS,
        DNS,
        PROXY,
        TCP,
        TLS,
        LATENCY,
        HEALTH,
        AUTH,
        PERMISSIONS,
        RBAC,
        RATE_LIMIT,
        CONCURRENCY,
    ):
        registry.register(check)
