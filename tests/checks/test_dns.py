"""``dns``: each endpoint host resolved with the delegate's resolver (the sandbox DNS server)."""

from __future__ import annotations

import pytest

from .conftest import vault

FAILURES = ["NXDOMAIN", "SERVFAIL", "REFUSED", "NOANSWER", "TIMEOUT"]


@pytest.mark.parametrize("failure", FAILURES)
def test_dns_failure_names_reason_and_resolver_and_blocks_the_rest(sb, run_connectors, failure):
    host = f"{failure.lower()}.sandbox.test"
    sb.dns.fail(host, failure)

    run = run_connectors(vault("broken", f"https://{host}:8200"), timeout=0.5)

    evidence = run.assert_failed("broken", "dns", "dns-resolution-failed")
    assert evidence["host"] == host
    assert evidence["reason"] == failure
    assert evidence["resolver"] == sb.dns.hostport == f"127.0.0.1:{sb.dns.port}"
    assert isinstance(evidence["elapsed_s"], float)
    assert evidence["elapsed_s"] >= 0
    if failure == "TIMEOUT":
        assert evidence["elapsed_s"] >= 0.4  # it waited for the (0.5 s) timeout
    run.assert_blocked("broken", "dns", "dns-resolution-failed", ["tcp", "tls", "latency"])
    assert sb.dns.queries[host] >= 1  # asked the sandbox resolver, nobody else


def test_healthy_name_passes_with_its_addresses(sb, run_connectors):
    server = sb.https("vault.sandbox.test")

    run = run_connectors(vault("healthy", server.url))

    evidence = run.assert_passed("healthy", "dns")
    facts = evidence["vault.sandbox.test"]
    assert facts["addresses"] == ["127.0.0.1"]
    assert facts["resolver"] == sb.dns.hostport
    for name in ("tcp", "tls", "latency"):
        run.assert_passed("healthy", name)
    assert run.counts.get("failed", 0) == 0
