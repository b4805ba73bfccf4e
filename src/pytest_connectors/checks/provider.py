"""``auth``, ``permissions`` and ``rate_limit``: one check each, implemented per provider.

Each provider module (``checks/github.py`` …) provides functions for the checks it supports
and when they apply; this module turns them into the registered checks, so a node id stays
``<ref>[auth]`` whatever the connector type, and a new provider is a module plus one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from ..model import Connector
from ..results import Phase
from . import Check, bitbucket, git, github, gitlab, kubernetes, registry, vault
from .context import CheckContext, CollectContext
from .network import CONNECTED

PROVIDERS: dict[str, ModuleType] = {
    "Github": github,
    "Gitlab": gitlab,
    "Git": git,
    "DockerRegistry": registry,
    "Bitbucket": bitbucket,
    "K8sCluster": kubernetes,
    "Vault": vault,
}

#: ``health`` applies to Vault only; for other types it is not a dependency.
_CONNECTED = (*CONNECTED, "health")


def _run(name: str) -> Callable[[CheckContext], None]:
    def run(ctx: CheckContext) -> None:
        PROVIDERS[ctx.connector.type].PROVIDES[name](ctx)

    return run


def _applies(name: str) -> Callable[[Connector, CollectContext], bool]:
    def applies(connector: Connector, collect: CollectContext) -> bool:
        module = PROVIDERS.get(connector.type)
        return module is not None and name in module.PROVIDES and module.APPLIES(connector, collect)

    return applies


def _check(name: str, phase: Phase, needs: tuple[str, ...], description: str) -> Check:
    return Check(name, phase, _run(name), _applies(name), needs, True, frozenset(), description)


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
