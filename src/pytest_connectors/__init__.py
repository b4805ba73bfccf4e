"""pytest-connectors: Harness connector definitions as pytest items, one per health check.

Public API for custom checks and secret sources::

    from pytest_connectors import Check, CheckContext, Failure, Phase, Secret
"""

from __future__ import annotations

from .checks import Check, CheckRegistry
from .checks.context import CheckContext, CollectContext
from .delegate import DelegateContext
from .model import Connector
from .refs import Scope, ScopeId
from .results import CheckResult, Failure, Finding, Outcome, Phase, Skip
from .secrets import Secret, SecretChain, SecretSource

__all__ = [
    "Check",
    "CheckContext",
    "CheckRegistry",
    "CheckResult",
    "CollectContext",
    "Connector",
    "DelegateContext",
    "Failure",
    "Finding",
    "Outcome",
    "Phase",
    "Scope",
    "ScopeId",
    "Secret",
    "SecretChain",
    "SecretSource",
    "Skip",
]
