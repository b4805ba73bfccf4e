"""Helpers for the sandbox's own tests: clients that connect to 127.0.0.1 directly and send the
server's name as SNI and Host, so no resolver is involved."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from typing import Any

import dns.resolver
import httpx
import pytest

from pytest_connectors.sandbox import Sandbox


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An httpx client that trusts only the sandbox CA and ignores proxy/CA variables."""
    with httpx.Client(verify=sandbox.ssl_context(), trust_env=False, timeout=5.0) as c:
        yield c


@pytest.fixture
def fetch(client: httpx.Client) -> Callable[..., httpx.Response]:
    """``fetch(server, path="/", method="GET", scheme=None, **kwargs)`` via 127.0.0.1."""

    def get(server: Any, path: str = "/", method: str = "GET", **kwargs: Any) -> httpx.Response:
        scheme = kwargs.pop("scheme", None) or server.scheme
        extensions = {"sni_hostname": server.name} if scheme == "https" else {}
        return client.request(
            method,
            f"{scheme}://{server.host}:{server.port}{path}",
            headers={"Host": server.name, **kwargs.pop("headers", {})},
            extensions=extensions,
            **kwargs,
        )

    return get


@pytest.fixture
def resolver(sandbox: Sandbox) -> dns.resolver.Resolver:
    """dnspython asking only the sandbox DNS server (1 s lifetime)."""
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = [sandbox.dns.address]
    r.port = sandbox.dns.port
    r.timeout = r.lifetime = 1.0
    return r


@pytest.fixture
def insecure() -> ssl.SSLContext:
    """A client context that verifies nothing (to look at what a server presents)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
