"""TCP-level peers: refused, connect timeout, and a server that never talks."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx
import pytest

from pytest_connectors.sandbox import Sandbox

Fetch = Callable[..., httpx.Response]


def test_refusing(sandbox: Sandbox, fetch: Fetch) -> None:
    endpoint = sandbox.refusing("closed.sandbox.test")
    assert (endpoint.name, endpoint.host) == ("closed.sandbox.test", "127.0.0.1")
    assert endpoint.url == f"https://closed.sandbox.test:{endpoint.port}"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((endpoint.host, endpoint.port), timeout=2)
    with pytest.raises(httpx.ConnectError, match="Connection refused"):
        fetch(endpoint)


def test_blackhole_connect_times_out(sandbox: Sandbox, fetch: Fetch) -> None:
    endpoint = sandbox.blackhole("hole.sandbox.test")
    started = time.perf_counter()
    with pytest.raises(TimeoutError):
        socket.create_connection((endpoint.host, endpoint.port), timeout=0.3)
    assert time.perf_counter() - started >= 0.3
    with pytest.raises(httpx.ConnectTimeout):
        fetch(endpoint, timeout=0.3)


def test_silent_tls_handshake_times_out(sandbox: Sandbox, fetch: Fetch) -> None:
    endpoint = sandbox.silent("mute.sandbox.test")
    started = time.perf_counter()
    with pytest.raises(httpx.ConnectTimeout, match="handshake operation timed out"):
        fetch(endpoint, timeout=0.3)
    assert time.perf_counter() - started >= 0.3
    assert endpoint.connections == 1


def test_silent_http_first_byte_times_out(sandbox: Sandbox, fetch: Fetch) -> None:
    endpoint = sandbox.silent("mute.sandbox.test", scheme="http")
    assert endpoint.url.startswith("http://")
    with pytest.raises(httpx.ReadTimeout):
        fetch(endpoint, timeout=0.3)
