"""``latency``: connect + TLS + first byte against the latency budget and the timeout."""

from __future__ import annotations

from .conftest import DEFAULT_TIMEOUT, settings_doc, vault


def test_slow_server_over_the_budget_is_high_latency(sb, run_connectors):
    server = sb.https("slow.sandbox.test")
    server.latency = 0.3

    run = run_connectors(vault("slow", server.url), settings=settings_doc(latencyBudget=0.1))

    evidence = run.assert_warning("slow", "latency", "high-latency")
    assert evidence["budget_s"] == 0.1
    assert evidence["elapsed_s"] >= 0.3
    assert evidence["timeout_s"] == DEFAULT_TIMEOUT
    timings = evidence[f"slow.sandbox.test:{server.port}"]
    assert {"connect", "tls", "first_byte", "total_s"} <= set(timings)
    assert timings["first_byte"] >= 0.3
    assert "PASSED connectors0/c.yaml::account.slow[latency]" in run.result.outlines
    assert "[high-latency]" in run.text  # listed under "connector warnings"


def test_fast_server_within_the_budget_passes(sb, run_connectors):
    server = sb.https("fast.sandbox.test")

    run = run_connectors(vault("fast", server.url), settings=settings_doc(latencyBudget=5))

    run.assert_passed("fast", "latency")


def test_close_to_the_timeout_is_timeout_too_low(sb, run_connectors):
    # Plain HTTP (no handshake in the total) answering after 0.85 s of a 1 s timeout: always
    # over the 80 % line (the server sleeps at least that long), 150 ms short of timing out.
    server = sb.http("tight.sandbox.test", latency=0.85)

    run = run_connectors(vault("tight", server.url), timeout=1.0)

    evidence = run.assert_warning("tight", "latency", "timeout-too-low")
    assert evidence["timeout_s"] == 1.0
    assert 0.8 < evidence["elapsed_s"] <= 1.0
    assert "PASSED connectors0/c.yaml::account.tight[latency]" in run.result.outlines
    assert "[timeout-too-low]" in run.text


def test_silent_http_server_is_first_byte_timeout(sb, run_connectors):
    silent = sb.silent("silent.sandbox.test", scheme="http")

    run = run_connectors(vault("silent", silent.url), timeout=0.5)

    evidence = run.assert_failed("silent", "latency", "connection-timeout")
    assert evidence["reason"] == "no first byte"
    assert evidence["timeout_s"] == 0.5
    assert evidence["port"] == silent.port
    for name in ("dns", "tcp", "tls"):  # tls: an http:// endpoint that does not answer TLS
        run.assert_passed("silent", name)
    assert silent.connections == 1


def test_silent_tls_server_is_handshake_timeout(sb, run_connectors):
    silent = sb.silent("silent-tls.sandbox.test")

    run = run_connectors(vault("silent_tls", silent.url), timeout=0.5)

    evidence = run.assert_failed("silent_tls", "tls", "connection-timeout")
    assert evidence["host"] == "silent-tls.sandbox.test"
    assert "handshake" in run.check("silent_tls", "tls")["message"]
    run.assert_passed("silent_tls", "tcp")
    run.assert_blocked("silent_tls", "tls", "connection-timeout", ["latency"])


def test_busy_host_is_delegate_resource_constraints(sb, run_connectors, monkeypatch):
    # The host's load is a fact of the machine, not of a peer: fake what /proc reports.
    import pytest_connectors.checks.latency as latency

    busy = {"load_per_core": 3.5, "available_memory_pct": 6.0}
    monkeypatch.setattr(latency, "host_pressure", lambda: dict(busy))
    server = sb.https("busy.sandbox.test")

    run = run_connectors(
        vault("busy", server.url),
        vault("busy_too", server.url),
        settings=settings_doc(latencyBudget=5),
    )

    # Named once per run, on the first connector; the other keeps the facts and points there.
    other = run.assert_passed("busy_too", "latency")
    assert other["delegate_host_pressure"] == "named once per run, on account.busy[latency]"
    assert other["delegate_host"] == busy
    check = run.check("busy", "latency")
    assert check["outcome"] == "warning"
    modes = [f["failure_mode"] for f in check["findings"]]
    assert modes == ["delegate-resource-constraints"]
    assert check["evidence"]["load_per_core"] == 3.5
    assert check["evidence"]["available_memory_pct"] == 6.0
    assert "load 3.5 per core, 6.0% memory available" in check["message"]


def test_idle_host_has_no_resource_warning(sb, run_connectors, monkeypatch):
    import pytest_connectors.checks.latency as latency

    monkeypatch.setattr(
        latency, "host_pressure", lambda: {"load_per_core": 0.2, "available_memory_pct": 80.0}
    )
    server = sb.https("idle.sandbox.test")

    run = run_connectors(vault("idle", server.url), settings=settings_doc(latencyBudget=5))

    assert run.check("idle", "latency")["outcome"] == "passed"


def test_the_host_pressure_thresholds_are_settings(sb, run_connectors, monkeypatch):
    """A shared CI runner is always busy: loadPerCoreWarning / memoryAvailableWarning move the
    line (defaults 2.0 per core and 10%)."""
    import pytest_connectors.checks.latency as latency

    monkeypatch.setattr(
        latency, "host_pressure", lambda: {"load_per_core": 3.5, "available_memory_pct": 6.0}
    )
    server = sb.https("shared-runner.sandbox.test")
    relaxed = settings_doc(latencyBudget=5, loadPerCoreWarning=8, memoryAvailableWarning=0.05)
    run = run_connectors(vault("runner", server.url), settings=relaxed)
    assert run.check("runner", "latency")["outcome"] == "passed"

    strict_memory = settings_doc(latencyBudget=5, loadPerCoreWarning=8, memoryAvailableWarning=0.2)
    run = run_connectors(vault("runner", server.url), settings=strict_memory)
    run.assert_warning("runner", "latency", "delegate-resource-constraints")
