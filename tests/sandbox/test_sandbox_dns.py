"""The sandbox DNS server answers, fails and stalls as told, over UDP and TCP."""

from __future__ import annotations

import time

import dns.message
import dns.query
import dns.rcode
import dns.resolver
import pytest

from pytest_connectors.sandbox import FAILURES, LookupFailed, Sandbox


def rcode_of(error: dns.resolver.NoNameservers) -> str:
    """SERVFAIL and REFUSED both raise NoNameservers; the rcode is in the error list."""
    return str(error.kwargs["errors"][0][3])


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_a_and_aaaa(sandbox: Sandbox, resolver: dns.resolver.Resolver, tcp: bool) -> None:
    sandbox.dns.add("GitHub.Sandbox.Test.", "127.0.0.1")
    sandbox.dns.add("github.sandbox.test", "127.0.0.2")
    sandbox.dns.add("github.sandbox.test", "::1")
    answer = resolver.resolve("github.sandbox.test", "A", tcp=tcp)
    assert sorted(r.address for r in answer) == ["127.0.0.1", "127.0.0.2"]
    assert [r.address for r in resolver.resolve("GITHUB.sandbox.test", "AAAA", tcp=tcp)] == ["::1"]
    assert sandbox.dns.queries["github.sandbox.test"] == 2
    assert sandbox.dns.address == "127.0.0.1" and sandbox.dns.hostport.endswith(
        f":{sandbox.dns.port}"
    )


def test_only_loopback_addresses(sandbox: Sandbox) -> None:
    for address in ("10.0.0.1", "192.0.2.1", "2001:db8::1", "not-an-ip"):
        with pytest.raises(ValueError, match="loopback"):
            sandbox.dns.add("x.sandbox.test", address)


def test_unknown_name_is_nxdomain(sandbox: Sandbox, resolver: dns.resolver.Resolver) -> None:
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("nobody.sandbox.test", "A")
    with pytest.raises(LookupFailed, match="NXDOMAIN"):
        sandbox.dns.lookup("nobody.sandbox.test")


@pytest.mark.parametrize("mode", ["SERVFAIL", "REFUSED"])
def test_servfail_and_refused(sandbox: Sandbox, resolver: dns.resolver.Resolver, mode: str) -> None:
    sandbox.dns.add("f.sandbox.test", "127.0.0.1")
    sandbox.dns.fail("f.sandbox.test", mode)  # type: ignore[arg-type]
    with pytest.raises(dns.resolver.NoNameservers) as caught:
        resolver.resolve("f.sandbox.test", "A")
    assert rcode_of(caught.value) == mode
    query = dns.message.make_query("f.sandbox.test", "A")
    reply = dns.query.udp(query, sandbox.dns.address, port=sandbox.dns.port, timeout=2)
    assert dns.rcode.to_text(reply.rcode()) == mode
    sandbox.dns.fail("f.sandbox.test", None)
    assert [r.address for r in resolver.resolve("f.sandbox.test", "A")] == ["127.0.0.1"]


def test_nxdomain_for_a_known_name(sandbox: Sandbox, resolver: dns.resolver.Resolver) -> None:
    sandbox.dns.add("gone.sandbox.test", "127.0.0.1")
    sandbox.dns.fail("gone.sandbox.test", "NXDOMAIN")
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("gone.sandbox.test", "A")


def test_noanswer(sandbox: Sandbox, resolver: dns.resolver.Resolver) -> None:
    sandbox.dns.fail("empty.sandbox.test", "NOANSWER")
    with pytest.raises(dns.resolver.NoAnswer):
        resolver.resolve("empty.sandbox.test", "A")
    sandbox.dns.add("v6only.sandbox.test", "::1")
    with pytest.raises(dns.resolver.NoAnswer):
        resolver.resolve("v6only.sandbox.test", "A")
    with pytest.raises(LookupFailed, match="NOANSWER"):
        sandbox.dns.lookup("empty.sandbox.test")


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_timeout_never_answers(
    sandbox: Sandbox, resolver: dns.resolver.Resolver, tcp: bool
) -> None:
    sandbox.dns.add("stall.sandbox.test", "127.0.0.1")
    sandbox.dns.fail("stall.sandbox.test", "TIMEOUT")
    resolver.timeout = resolver.lifetime = 0.3
    started = time.perf_counter()
    with pytest.raises(dns.resolver.LifetimeTimeout):
        resolver.resolve("stall.sandbox.test", "A", tcp=tcp)
    assert time.perf_counter() - started >= 0.3
    assert sandbox.dns.queries["stall.sandbox.test"] >= 1


def test_delay(sandbox: Sandbox, resolver: dns.resolver.Resolver) -> None:
    sandbox.dns.add("slow.sandbox.test", "127.0.0.1")
    sandbox.dns.delay("slow.sandbox.test", 0.25)
    started = time.perf_counter()
    assert [r.address for r in resolver.resolve("slow.sandbox.test", "A")] == ["127.0.0.1"]
    assert time.perf_counter() - started >= 0.25
    sandbox.dns.delay("slow.sandbox.test", 0)
    sandbox.dns.reset_counters()
    resolver.resolve("slow.sandbox.test", "A")
    assert sandbox.dns.queries == {"slow.sandbox.test": 1}


def test_queries_snapshot_and_remove(sandbox: Sandbox, resolver: dns.resolver.Resolver) -> None:
    sandbox.dns.add("a.sandbox.test", "127.0.0.1")
    snapshot = sandbox.dns.queries
    resolver.resolve("a.sandbox.test", "A")
    assert snapshot == {} and sandbox.dns.queries == {"a.sandbox.test": 1}
    assert sandbox.dns.log[-1] == ("a.sandbox.test", "A", "udp")
    sandbox.dns.remove("a.sandbox.test")
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("a.sandbox.test", "A")


def test_failure_modes_are_validated(sandbox: Sandbox) -> None:
    assert FAILURES == ("NXDOMAIN", "SERVFAIL", "REFUSED", "TIMEOUT", "NOANSWER")
    with pytest.raises(ValueError, match="unknown DNS failure"):
        sandbox.dns.fail("x.sandbox.test", "BROKEN")  # type: ignore[arg-type]


def test_server_names_are_registered(sandbox: Sandbox, resolver: dns.resolver.Resolver) -> None:
    sandbox.https("Web.Sandbox.Test")
    sandbox.refusing("closed.sandbox.test")
    for name in ("web.sandbox.test", "closed.sandbox.test"):
        assert [r.address for r in resolver.resolve(name, "A")] == ["127.0.0.1"]
