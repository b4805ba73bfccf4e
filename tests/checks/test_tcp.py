"""``tcp``: connect to each endpoint; refused and silently dropped connections differ."""

from __future__ import annotations

from .conftest import vault

TIMEOUT = 1.0


def test_refused_port_is_port_unreachable(sb, run_connectors):
    refusing = sb.refusing("refused.sandbox.test")

    run = run_connectors(vault("refused", refusing.url))

    evidence = run.assert_failed("refused", "tcp", "port-unreachable")
    assert evidence["reason"] == "refused"
    assert evidence["host"] == "refused.sandbox.test"
    assert evidence["port"] == refusing.port
    assert evidence["address"] == "127.0.0.1"
    run.assert_passed("refused", "dns")
    run.assert_blocked("refused", "tcp", "port-unreachable", ["tls", "latency"])


def test_blackhole_is_connection_timeout_and_the_run_ends(sb, run_connectors):
    hole = sb.blackhole("hole.sandbox.test")

    run = run_connectors(vault("hole", hole.url), timeout=TIMEOUT)

    evidence = run.assert_failed("hole", "tcp", "connection-timeout")
    assert evidence["reason"] == "timeout"
    assert evidence["timeout_s"] == TIMEOUT
    assert (evidence["host"], evidence["port"]) == ("hole.sandbox.test", hole.port)
    # The probe gave up at the configured timeout (not the OS's minutes-long SYN retries) ...
    connect_s = evidence[f"hole.sandbox.test:{hole.port}"]["connect_s"]
    assert 0.5 * TIMEOUT <= connect_s <= 3 * TIMEOUT
    # ... and the whole run ended: generous bound, only to catch a hang.
    assert run.elapsed < 10 * TIMEOUT + 5
    run.assert_blocked("hole", "tcp", "connection-timeout", ["tls", "latency"])
