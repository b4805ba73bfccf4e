"""The network checks resolve connector hosts with the delegate's resolvers only: with
``--connectors-dns`` the system resolver (``getaddrinfo``) never sees a sandbox name."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from .conftest import vault


@pytest.fixture
def system_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Hosts passed to the system resolver in this process (on top of the network guard)."""
    seen: list[str] = []
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex"):
        original = getattr(socket, name)

        def record(host: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            seen.append(host.decode() if isinstance(host, bytes) else str(host))
            return _original(host, *args, **kwargs)

        monkeypatch.setattr(socket, name, record)
    return seen


def _sandbox_names(hosts: list[str]) -> list[str]:
    return [h for h in hosts if h.rstrip(".").lower().endswith(".sandbox.test")]


def test_checks_never_ask_the_system_resolver_for_sandbox_names(sb, run_connectors, system_lookups):
    sb.dns.fail("nx.sandbox.test", "NXDOMAIN")
    docs = [
        vault("healthy", sb.https("healthy.sandbox.test").url),
        vault("plain", sb.http("plain.sandbox.test").url),
        vault("refused", sb.refusing("refused.sandbox.test").url),
        vault("expired", sb.https("expired.sandbox.test", variant="expired").url),
        vault("nx", "https://nx.sandbox.test:8200"),
    ]

    run = run_connectors(*docs)

    assert run.check("healthy", "tls")["outcome"] == "passed"
    assert _sandbox_names(system_lookups) == []
    assert system_lookups, "the recorder saw nothing: did the run connect at all?"
    # ... while the sandbox resolver was asked for every one of them
    for host in ("healthy", "plain", "refused", "expired", "nx"):
        assert sb.dns.queries[f"{host}.sandbox.test"] >= 1


def test_the_recorder_would_notice(sb, run_connectors, system_lookups, network_guard):
    """Control: without ``--connectors-dns`` the plugin falls back to the system resolver,
    which the recorder sees (and the network guard refuses)."""
    server = sb.https("healthy.sandbox.test")

    with network_guard.expected() as refused:
        run = run_connectors(vault("healthy", server.url), dns=False)

    assert _sandbox_names(system_lookups) == ["healthy.sandbox.test"]
    assert [a.target for a in refused] == ["'healthy.sandbox.test'"]
    evidence = run.assert_failed("healthy", "dns", "dns-resolution-failed")
    assert evidence["resolver"] == "system resolver"
    assert sb.dns.queries["healthy.sandbox.test"] == 0
