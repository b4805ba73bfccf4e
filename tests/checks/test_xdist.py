"""``-n 2`` gives the outcomes of a serial run for a mix of healthy and broken endpoints."""

from __future__ import annotations

from .conftest import vault


def test_xdist_outcomes_match_serial(sb, run_connectors):
    sb.dns.fail("nx.sandbox.test", "NXDOMAIN")
    docs = [
        vault("healthy", sb.https("healthy.sandbox.test").url),
        vault("healthy_http", sb.http("plain.sandbox.test").url),
        vault("nx", "https://nx.sandbox.test:8200"),
        vault("refused", sb.refusing("refused.sandbox.test").url),
        vault("hole", sb.blackhole("hole.sandbox.test").url),
        vault("expired", sb.https("expired.sandbox.test", variant="expired").url),
        vault("wrong_host", sb.https("mismatch.sandbox.test", variant="wrong-host").url),
        vault("silent", sb.silent("silent.sandbox.test").url),
    ]
    expected_modes = {
        ("nx", "dns"): "dns-resolution-failed",
        ("refused", "tcp"): "port-unreachable",
        ("hole", "tcp"): "connection-timeout",
        ("expired", "tls"): "tls-certificate-expired",
        ("wrong_host", "tls"): "tls-hostname-mismatch",
        ("silent", "tls"): "connection-timeout",
    }

    serial = run_connectors(*docs, timeout=1.0, args=["-p", "no:xdist"])
    parallel = run_connectors(*docs, timeout=1.0, args=["-n", "2"])

    failed = {key: mode for key, (outcome, mode, _) in serial.outcomes().items() if mode}
    assert failed == expected_modes
    assert parallel.outcomes() == serial.outcomes()
    assert parallel.counts == serial.counts
    assert serial.counts["failed"] == len(expected_modes)
