"""The network demo (part 2 of ``scripts/demo``) shows each connectivity and TLS failure mode,
and Vault (a real OpenBao holding another connector's secret) and Kubernetes failures."""

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
    # a real OpenBao, and a registry whose password it holds
    "vault_read_only_no_list": "insufficient-permissions",
    "vault_wrong_token": "invalid-credentials",
    "vault_token_lapses": "credentials-expiring",
    "vault_sealed": "secret-manager-unhealthy",
    "registry_vault_missing": "secret-not-found",
    "registry_vault_sealed": "secret-manager-unhealthy",
    # a Kubernetes API
    "k8s_rbac_too_narrow": "k8s-rbac-denied",
    "k8s_bad_token": "invalid-credentials",
}
HEALTHY = ("vault_healthy", "registry_healthy", "registry_vault_password", "k8s_healthy")
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


def test_healthy_demo_connectors_ran_their_provider_checks(tmp_path: Path) -> None:
    """The healthy Vault, Kubernetes and Vault-fed registry connectors really were checked
    end to end (their provider items passed, not skipped)."""
    report = tmp_path / "report.json"
    demo.main(["-q", f"--connectors-report={report}", "-k", "healthy or vault_password"])
    connectors = {c["identifier"]: c for c in json.loads(report.read_text())["connectors"]}
    expected = {
        "vault_healthy": ("health", "auth", "permissions"),
        "k8s_healthy": ("auth", "rbac"),
        "registry_vault_password": ("secrets", "auth"),
    }
    for identifier, names in expected.items():
        outcomes = {c["name"]: c["outcome"] for c in connectors[identifier]["checks"]}
        assert all(outcomes[name] == "passed" for name in names), (identifier, outcomes)
    evidence = {c["name"]: c["evidence"] for c in connectors["registry_vault_password"]["checks"]}
    assert evidence["secrets"]["resolved_from"] == {"account.registry_pw": "Vault"}
