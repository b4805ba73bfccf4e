"""The network demo (part 2 of ``scripts/demo``) shows each connectivity and TLS failure mode."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pytest_connectors import demo

EXPECTED = {
    "vault_nxdomain": "dns-resolution-failed",
    "vault_servfail": "dns-resolution-failed",
    "vault_closed_port": "port-unreachable",
    "vault_firewalled": "connection-timeout",
    "vault_plain_port": "incorrect-endpoint",
    "vault_far_away": "high-latency",
    "vault_timeout_too_low": "timeout-too-low",
    "vault_untrusted": "tls-untrusted-certificate",
    "vault_self_signed": "tls-untrusted-certificate",
    "vault_expired": "tls-certificate-expired",
    "vault_wrong_host": "tls-hostname-mismatch",
    "vault_incomplete": "tls-incomplete-chain",
    "vault_expiring": "tls-certificate-expiring",
}
HEALTHY = ("vault_healthy", "registry_healthy")
HOST_PRESSURE = "delegate-resource-constraints"  # depends on how busy the machine is


def test_network_demo_names_every_mode(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code = demo.main(["-q", f"--connectors-report={report}"])
    assert code == 1
    connectors = {c["identifier"]: c for c in json.loads(report.read_text())["connectors"]}
    for identifier, mode in EXPECTED.items():
        modes = {
            f["failure_mode"]
            for check in connectors[identifier]["checks"]
            for f in check["findings"]
            if f["failure_mode"] != HOST_PRESSURE
        }
        assert mode in modes, (identifier, modes)
    for identifier in HEALTHY:
        for check in connectors[identifier]["checks"]:
            modes = {f["failure_mode"] for f in check["findings"]} - {HOST_PRESSURE, "high-latency"}
            assert not modes, (identifier, check)
    if shutil.which("tinyproxy"):
        blocked = {c["name"]: c for c in connectors["blocked_registry"]["checks"]}
        assert blocked["proxy"]["failure_mode"] == "proxy-misconfigured"
        assert blocked["proxy"]["evidence"]["status"] == 403
        passed = {c["name"]: c["outcome"] for c in connectors["partner_registry"]["checks"]}
        assert passed["proxy"] == "passed"
