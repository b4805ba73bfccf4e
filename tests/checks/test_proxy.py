"""``proxy``: the delegate's HTTP proxy (a real tinyproxy) accepts CONNECT to each endpoint."""

from __future__ import annotations

import json

import pytest

from .conftest import requires_tinyproxy, vault

pytestmark = requires_tinyproxy

PASSWORD = "pr0xy-Pa55-zq81"


def test_allowed_and_denied_targets(sb, run_connectors):
    allowed = sb.https("allowed.sandbox.test")
    denied = sb.https("denied.sandbox.test")
    proxy = sb.proxy(deny=[r"^denied\.sandbox\.test$"])

    run = run_connectors(
        vault("allowed", allowed.url), vault("denied", denied.url), proxy=proxy.url
    )

    # allowed: CONNECT accepted, everything after it passes through the tunnel
    notes = run.assert_passed("allowed", "proxy")
    assert notes["proxy"] == proxy.url
    assert notes[f"allowed.sandbox.test:{allowed.port}"].startswith("CONNECT accepted")
    dns = run.assert_passed("allowed", "dns")
    assert "resolved by the delegate's proxy" in dns["allowed.sandbox.test"]
    tcp = run.assert_passed("allowed", "tcp")
    assert tcp[f"allowed.sandbox.test:{allowed.port}"].startswith("through the proxy")
    run.assert_passed("allowed", "tls")
    assert allowed.requests == 1
    assert [(t.host, t.port) for t in proxy.tunnels if t.host == "allowed.sandbox.test"] == [
        ("allowed.sandbox.test", allowed.port)
    ]

    # denied: 403, and the checks that need the tunnel name the proxy as the cause
    evidence = run.assert_failed("denied", "proxy", "proxy-misconfigured")
    assert evidence["status"] == 403
    assert evidence["reason"] == "denied"
    assert evidence["host"] == "denied.sandbox.test"
    assert evidence["proxy"] == proxy.url
    assert evidence["reachable_directly"] is True  # so it belongs in NO_PROXY
    assert "NO_PROXY" in run.check("denied", "proxy")["message"]
    run.assert_blocked("denied", "proxy", "proxy-misconfigured", ["tcp", "tls", "latency"])
    assert denied.requests == 0


def test_proxy_wanting_credentials_is_407(sb, run_connectors):
    server = sb.https("target.sandbox.test")
    proxy = sb.proxy(auth=("harness", PASSWORD))

    run = run_connectors(vault("target", server.url), proxy=proxy.url)

    evidence = run.assert_failed("target", "proxy", "proxy-misconfigured")
    assert evidence["status"] == 407
    assert evidence["reason"] == "auth-required"
    run.assert_blocked("target", "proxy", "proxy-misconfigured", ["tcp", "tls", "latency"])


def test_credentials_in_the_proxy_url_pass_and_stay_secret(sb, run_connectors):
    server = sb.https("target.sandbox.test")
    proxy = sb.proxy(auth=("harness", PASSWORD))
    assert PASSWORD in proxy.url_with_auth()

    run = run_connectors(
        vault("target", server.url), proxy=proxy.url_with_auth(), args=["-v", "--tb=long"]
    )

    for name in ("proxy", "tcp", "tls"):
        run.assert_passed("target", name)
    assert server.requests == 1
    assert run.check("target", "proxy")["evidence"]["proxy"] == proxy.url  # no credentials
    assert PASSWORD not in run.text
    assert PASSWORD not in json.dumps(run.report)


def test_proxy_down_is_proxy_misconfigured(sb, run_connectors):
    server = sb.https("target.sandbox.test")
    down = sb.refusing("proxy-down.sandbox.test", scheme="http")

    run = run_connectors(vault("target", server.url), proxy=f"http://127.0.0.1:{down.port}")

    evidence = run.assert_failed("target", "proxy", "proxy-misconfigured")
    assert evidence["reason"] == "proxy-down"
    assert evidence["status"] is None
    assert evidence["proxy"] == f"http://127.0.0.1:{down.port}"
    run.assert_blocked("target", "proxy", "proxy-misconfigured", ["tcp", "tls", "latency"])
    assert server.requests == 0


def test_no_proxy_exempts_the_target(sb, run_connectors, monkeypatch: pytest.MonkeyPatch):
    server = sb.https("direct.sandbox.test")
    proxy = sb.proxy()
    monkeypatch.setenv("NO_PROXY", ".sandbox.test")

    run = run_connectors(vault("direct", server.url), proxy=proxy.url)

    notes = run.assert_passed("direct", "proxy")
    assert notes["no_proxy"] == [".sandbox.test"]
    assert "exempt" in notes[f"direct.sandbox.test:{server.port}"]
    tcp = run.assert_passed("direct", "tcp")
    assert tcp[f"direct.sandbox.test:{server.port}"]["address"] == "127.0.0.1"  # directly
    dns = run.assert_passed("direct", "dns")
    assert dns["direct.sandbox.test"]["addresses"] == ["127.0.0.1"]
    run.assert_passed("direct", "tls")
    assert proxy.tunnels == []  # nothing went through the proxy
    assert server.requests == 1
