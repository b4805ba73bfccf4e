"""The sandbox proxy is a real tinyproxy; names are resolved by the sandbox, never the system."""

from __future__ import annotations

import socket
import ssl

import httpx
import pytest

from pytest_connectors.sandbox import Sandbox, SandboxUnavailable
from pytest_connectors.sandbox import proxy as proxy_module

pytestmark = pytest.mark.usefixtures("sandbox_proxy_available")


def via(proxy_url: str, context: ssl.SSLContext) -> httpx.Client:
    return httpx.Client(proxy=proxy_url, verify=context, trust_env=False, timeout=5.0)


def test_connect_and_plain_http_by_name(sandbox: Sandbox) -> None:
    tls = sandbox.https("api.sandbox.test")
    plain = sandbox.http("plain.sandbox.test")
    proxy = sandbox.proxy()
    assert proxy.url == f"http://127.0.0.1:{proxy.port}" and proxy.host == "127.0.0.1"
    with via(proxy.url, sandbox.ssl_context()) as client:
        assert client.get(tls.url + "/x").json() == {"ok": True}
        response = client.get(plain.url + "/y?z=1")
    assert response.status_code == 200 and "tinyproxy" in response.headers["via"]
    assert plain.received[-1].path == "/y?z=1"
    assert (tls.requests, plain.requests) == (1, 1)
    tunnels = [(t.method, t.host, t.port, t.status) for t in proxy.tunnels]
    assert tunnels == [
        ("CONNECT", "api.sandbox.test", tls.port, 200),
        ("GET", "plain.sandbox.test", plain.port, 200),
    ]
    assert sandbox.dns.queries == {}  # the relay reads the table; it sends no query


def test_servers_created_later_are_allowed(sandbox: Sandbox) -> None:
    proxy = sandbox.proxy()
    later = sandbox.https("later.sandbox.test")
    assert later.port in proxy.connect_ports
    with via(proxy.url, sandbox.ssl_context()) as client:
        assert client.get(later.url).status_code == 200


def test_connect_port_not_allowed(sandbox: Sandbox) -> None:
    server = sandbox.https("api.sandbox.test")
    proxy = sandbox.proxy(connect_ports=[])
    with via(proxy.url, sandbox.ssl_context()) as client:
        with pytest.raises(httpx.ProxyError, match="403 Access violation"):
            client.get(server.url)
        sandbox.proxy_allows_port(server.port)
        assert client.get(server.url).status_code == 200


def test_allow_list(sandbox: Sandbox) -> None:
    allowed = sandbox.https("good.sandbox.test")
    other = sandbox.https("evil.sandbox.test")
    plain = sandbox.http("evil-plain.sandbox.test")
    proxy = sandbox.proxy(allow=[r"^good\.sandbox\.test$"])
    with via(proxy.url, sandbox.ssl_context()) as client:
        assert client.get(allowed.url).status_code == 200
        with pytest.raises(httpx.ProxyError, match="403 Filtered"):
            client.get(other.url)
        assert client.get(plain.url).status_code == 403
    assert other.requests == 0 and plain.requests == 0
    assert any(
        'refused on filtered domain "evil.sandbox.test"' in line for line in proxy.log_lines()
    )


def test_deny_list(sandbox: Sandbox) -> None:
    denied = sandbox.https("blocked.sandbox.test")
    fine = sandbox.https("fine.sandbox.test")
    proxy = sandbox.proxy(deny=[r"^blocked\."])
    with via(proxy.url, sandbox.ssl_context()) as client:
        with pytest.raises(httpx.ProxyError, match="403 Filtered"):
            client.get(denied.url)
        assert client.get(fine.url).status_code == 200


def test_basic_auth(sandbox: Sandbox) -> None:
    server = sandbox.https("api.sandbox.test")
    proxy = sandbox.proxy(auth=("ci", "s3cret"))
    with (
        via(proxy.url, sandbox.ssl_context()) as client,
        pytest.raises(httpx.ProxyError, match="407 Proxy Authentication Required"),
    ):
        client.get(server.url)
    wrong = proxy.url.replace("http://", "http://ci:wrong@")
    with (  # wrong credentials: tinyproxy answers 401, not 407
        via(wrong, sandbox.ssl_context()) as client,
        pytest.raises(httpx.ProxyError, match="401 Unauthorized"),
    ):
        client.get(server.url)
    assert proxy.url_with_auth() == f"http://ci:s3cret@127.0.0.1:{proxy.port}"
    with via(proxy.url_with_auth(), sandbox.ssl_context()) as client:
        assert client.get(server.url).status_code == 200


@pytest.mark.parametrize("target", ["nobody.sandbox.test", "refused"])
def test_unreachable_target_is_500(sandbox: Sandbox, target: str) -> None:
    refusing = sandbox.refusing("closed.sandbox.test")
    name = "closed.sandbox.test" if target == "refused" else target
    proxy = sandbox.proxy(connect_ports=[refusing.port])
    with (
        via(proxy.url, sandbox.ssl_context()) as client,
        pytest.raises(httpx.ProxyError, match="500 Unable to connect"),
    ):
        client.get(f"https://{name}:{refusing.port}/")
    assert proxy.tunnels[-1].status == 500 and proxy.tunnels[-1].host == name


def test_non_loopback_target_is_never_contacted(sandbox: Sandbox) -> None:
    proxy = sandbox.proxy(connect_ports=[443])
    with (
        via(proxy.url, sandbox.ssl_context()) as client,
        pytest.raises(httpx.ProxyError, match="500"),
    ):
        client.get("https://192.0.2.1:443/")
    assert "not a loopback address" in proxy.tunnels[-1].detail


def test_close_stops_tinyproxy(sandbox: Sandbox) -> None:
    proxy = sandbox.proxy()
    process = proxy._process
    proxy.close()
    assert process.poll() is not None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((proxy.host, proxy.port), timeout=2)
    sandbox.https("after.sandbox.test")  # a closed proxy no longer reloads


def test_both_lists_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="allow or deny"):
        sandbox.proxy(allow=["a"], deny=["b"])


def test_missing_binary(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(proxy_module, "FALLBACK_PATHS", ())
    with pytest.raises(SandboxUnavailable, match=r"tinyproxy not installed: apt-get install"):
        sandbox.proxy()
