"""``pinned_session``: the requests session SDK clients (hvac) use, against sandbox servers.

It must resolve through the delegate's resolvers only (the sandbox DNS server here; the names
do not exist anywhere else), verify with the connector's trust alone, go through the delegate's
proxy when the host is not exempt, never follow a redirect, and talk to its own host only.
"""

from __future__ import annotations

import pytest
import requests

from pytest_connectors.delegate import DelegateContext, ProxyConfig, Resolver
from pytest_connectors.endpoints import parse_url
from pytest_connectors.probes.prober import Prober
from pytest_connectors.probes.sessions import PinningError, pinned_session
from pytest_connectors.probes.tls import Trust
from pytest_connectors.sandbox import Sandbox, SandboxResponse

from .conftest import requires_tinyproxy


def _prober(sb: Sandbox, proxy: ProxyConfig | None = None) -> Prober:
    resolver = Resolver(sb.dns.address, sb.dns.port)
    return Prober(DelegateContext(resolvers=(resolver,), proxy=proxy), timeout=5.0)


def _trust(sb: Sandbox) -> Trust:
    return Trust("sandbox CA", cadata=sb.ca_file.read_text())


def test_resolves_through_the_delegate_and_verifies_the_real_name(sb: Sandbox) -> None:
    server = sb.https("pinned.sandbox.test")
    prober = _prober(sb)
    try:
        session = pinned_session(prober, parse_url(server.url, "vault"), _trust(sb))
        response = session.get(f"{server.url}/v1/sys/health", timeout=5)
    finally:
        prober.close()
    assert response.status_code == 200
    assert server.received[-1].headers["host"] == f"pinned.sandbox.test:{server.port}"


def test_another_ca_is_not_trusted(sb: Sandbox) -> None:
    server = sb.https("untrusted.sandbox.test", variant="untrusted")
    prober = _prober(sb)
    try:
        session = pinned_session(prober, parse_url(server.url, "vault"), _trust(sb))
        with pytest.raises(requests.exceptions.SSLError):
            session.get(server.url, timeout=5)
    finally:
        prober.close()


def test_a_name_the_delegate_cannot_resolve_is_refused(sb: Sandbox) -> None:
    sb.dns.fail("gone.sandbox.test", "NXDOMAIN")
    prober = _prober(sb)
    try:
        with pytest.raises(PinningError, match=r"gone\.sandbox\.test"):
            pinned_session(prober, parse_url("https://gone.sandbox.test:8200", "vault"), _trust(sb))
    finally:
        prober.close()


def test_no_redirect_and_no_other_host(sb: Sandbox) -> None:
    other = sb.https("other.sandbox.test")
    server = sb.https(
        "moved.sandbox.test",
        handler=lambda request: SandboxResponse(307, {"Location": f"{other.url}/v1/x"}),
    )
    prober = _prober(sb)
    try:
        session = pinned_session(prober, parse_url(server.url, "vault"), _trust(sb))
        with pytest.raises(requests.exceptions.TooManyRedirects):
            session.get(f"{server.url}/v1/x", headers={"X-Vault-Token": "t"}, timeout=5)
        with pytest.raises(requests.exceptions.InvalidURL, match="only talks to"):
            session.get(f"{other.url}/v1/x", timeout=5)
    finally:
        prober.close()
    assert other.requests == 0


@requires_tinyproxy
def test_through_the_proxy_with_the_same_trust(sb: Sandbox) -> None:
    good = sb.https("behind.sandbox.test")
    bad = sb.https("behind-untrusted.sandbox.test", variant="untrusted")
    tiny = sb.proxy()
    host, port = tiny.url.rsplit("//", 1)[1].split(":")
    prober = _prober(sb, ProxyConfig("http", host, int(port)))
    try:
        session = pinned_session(prober, parse_url(good.url, "vault"), _trust(sb))
        assert session.get(good.url, timeout=5).status_code == 200
        session = pinned_session(prober, parse_url(bad.url, "vault"), _trust(sb))
        with pytest.raises(requests.exceptions.SSLError):
            session.get(bad.url, timeout=5)
    finally:
        prober.close()
    assert any(f"behind.sandbox.test:{good.port}" in line for line in tiny.log_lines())
