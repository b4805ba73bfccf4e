"""The network guard (tests/network_guard.py) refuses anything off loopback, before sending."""

from __future__ import annotations

import errno
import socket
from typing import Any

import dns.resolver
import httpx
import pytest

from network_guard import NonLoopbackError
from pytest_connectors.sandbox import Sandbox


def test_connect_to_test_net_is_refused_before_sending(network_guard: Any) -> None:
    with network_guard.expected() as attempts:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with sock:
            sock.setblocking(False)  # a real connect would say EINPROGRESS, not raise at once
            with pytest.raises(NonLoopbackError, match="tried to leave loopback"):
                sock.connect(("192.0.2.1", 443))
            with pytest.raises(OSError) as not_connected:
                sock.getpeername()
            assert not_connected.value.errno == errno.ENOTCONN
            with pytest.raises(NonLoopbackError):
                sock.connect_ex(("192.0.2.1", 443))
    assert [a.call for a in attempts] == ["connect", "connect_ex"]
    assert "192.0.2.1" in attempts[0].target
    assert issubclass(NonLoopbackError, OSError)


def test_udp_sendto_and_ipv6_are_refused(network_guard: Any) -> None:
    with network_guard.expected() as attempts:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
            pytest.raises(NonLoopbackError),
        ):
            udp.sendto(b"x", ("192.0.2.1", 53))
        with (
            socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as v6,
            pytest.raises(NonLoopbackError),
        ):
            v6.connect(("2001:db8::1", 443, 0, 0))
    assert [a.call for a in attempts] == ["sendto", "connect"]


def test_getaddrinfo_of_a_name_is_refused(network_guard: Any) -> None:
    with network_guard.expected() as attempts:
        for name in ("example.com", "github.sandbox.test"):
            with pytest.raises(NonLoopbackError, match="tried to leave loopback"):
                socket.getaddrinfo(name, 443)
        with pytest.raises(NonLoopbackError):
            socket.gethostbyname("example.com")
        with pytest.raises(NonLoopbackError):
            socket.create_connection(("example.com", 80), timeout=1)
        with pytest.raises(httpx.ConnectError, match="tried to leave loopback"):
            httpx.get("https://example.com/", trust_env=False)
    assert len(attempts) == 5


def test_loopback_is_allowed() -> None:
    assert socket.getaddrinfo("localhost", 80)
    assert socket.getaddrinfo("127.0.0.1", 80, flags=socket.AI_NUMERICHOST)
    assert socket.getaddrinfo("::1", 80)
    assert socket.getaddrinfo(None, 80, flags=socket.AI_PASSIVE)
    with socket.socket() as server:
        server.bind(("127.0.0.2", 0))
        server.listen(1)
        socket.create_connection(server.getsockname(), timeout=1).close()


def test_dns_through_the_sandbox_server_is_allowed(
    sandbox: Sandbox, resolver: dns.resolver.Resolver
) -> None:
    sandbox.dns.add("github.sandbox.test", "127.0.0.1")
    assert [r.address for r in resolver.resolve("github.sandbox.test", "A")] == ["127.0.0.1"]


def test_a_swallowed_attempt_still_fails_the_test(
    pytester: pytest.Pytester, network_guard: Any
) -> None:
    """In-process run with the guard: the test catches the error, the guard reports it."""
    pytester.makeconftest('pytest_plugins = ["network_guard"]')
    pytester.makepyfile(
        """
        import socket

        def test_sneaky():
            try:
                socket.create_connection(("192.0.2.1", 80), timeout=1)
            except OSError:
                pass
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*this test tried to leave loopback*", "*192.0.2.1*"])
    assert network_guard.installed  # the inner session's unconfigure left ours in place


def test_an_attempt_outside_any_test_fails_the_session(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["network_guard"]')
    pytester.makepyfile(
        """
        import socket

        try:  # at collection time, outside any test
            socket.getaddrinfo("example.com", 443)
        except OSError:
            pass

        def test_fine():
            pass
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*network guard*", "*getaddrinfo('example.com')*"])
