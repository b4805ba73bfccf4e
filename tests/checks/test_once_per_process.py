"""Each endpoint is probed once per process however many items and connectors read it; the
outcomes do not depend on how xdist splits the items."""

from __future__ import annotations

import pytest

from .conftest import vault


@pytest.fixture
def shared(sb):
    """5 connectors on 2 servers: three share one URL, two name different paths of another."""
    one = sb.https("one.sandbox.test")
    two = sb.https("two.sandbox.test")
    docs = [
        vault("one_a", one.url),
        vault("one_b", one.url),
        vault("one_c", one.url),
        vault("two_root", two.url),
        vault("two_v1", f"{two.url}/v1/"),
    ]
    return one, two, docs


def test_one_probe_per_endpoint_in_a_serial_run(sb, run_connectors, shared):
    one, two, docs = shared

    run = run_connectors(*docs)

    assert run.counts["passed"] == 5 * 9  # definition .. latency for each connector
    # one distinct endpoint on server one, two on server two (the path is part of it)
    assert (one.requests, one.handshakes) == (1, 1)
    assert (two.requests, two.handshakes) == (2, 2)
    assert {r.path for r in two.received} == {"/", "/v1/"}
    # one A and one AAAA query per name, whatever the number of connectors using it
    assert sb.dns.queries["one.sandbox.test"] == 2
    assert sb.dns.queries["two.sandbox.test"] == 2
    assert sorted(t for n, t, _ in sb.dns.log if n == "one.sandbox.test") == ["A", "AAAA"]


def test_failed_lookups_are_not_repeated(sb, run_connectors):
    sb.dns.fail("nx.sandbox.test", "NXDOMAIN")
    sb.dns.fail("sf.sandbox.test", "SERVFAIL")
    docs = [vault(f"nx_{i}", "https://nx.sandbox.test") for i in range(3)]
    docs += [vault(f"sf_{i}", f"https://sf.sandbox.test:{8200 + i}") for i in range(3)]

    run = run_connectors(*docs)

    assert run.counts["failed"] == 6
    assert sb.dns.queries["nx.sandbox.test"] == 1  # NXDOMAIN for A: AAAA is not asked
    assert 1 <= sb.dns.queries["sf.sandbox.test"] <= 2  # A, and maybe AAAA


@pytest.mark.parametrize("subprocess", [False, True], ids=["in-process", "subprocess"])
def test_xdist_same_outcomes_and_at_most_one_probe_per_worker(
    sb, run_connectors, shared, subprocess
):
    one, two, docs = shared
    serial = run_connectors(*docs, args=["-p", "no:xdist"])
    for server in (one, two):
        server.reset_counters()
    sb.dns.reset_counters()

    parallel = run_connectors(*docs, args=["-n", "2"], subprocess=subprocess)

    assert parallel.outcomes() == serial.outcomes()
    assert parallel.counts == serial.counts
    # each worker probes each endpoint at most once: ≤ 2 per endpoint with 2 workers
    assert 1 <= one.requests <= 2
    assert 2 <= two.requests <= 4
    assert 1 <= sb.dns.queries["one.sandbox.test"] <= 4  # (A + AAAA) per worker
    assert 1 <= sb.dns.queries["two.sandbox.test"] <= 4
