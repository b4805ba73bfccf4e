"""Bad trust material must give a named failure (or a usage error), never a crashed check.

``tests/conftest.py``'s ``assert_no_traceback`` is the suite's rule for bad input: no traceback
and no path into the plugin's code in the output.
"""

from __future__ import annotations

import pytest

from .conftest import jwt_without_exp, k8s_service_account, vault


def test_malformed_ca_cert_ref_blocks_tls_without_crashing_tcp(
    sb, run_connectors, assert_no_traceback
):
    server = sb.https("k8s.sandbox.test")
    secrets = {"account.ca": "not a certificate", "account.k8s_token": jwt_without_exp("ci")}

    run = run_connectors(k8s_service_account("bad_ca", server.url), secrets=secrets)

    run.assert_failed("bad_ca", "secrets", "secret-format-invalid")
    run.assert_passed("bad_ca", "dns")
    assert_no_traceback(run.result)
    run.assert_passed("bad_ca", "tcp")  # connecting needs no CA
    run.assert_blocked("bad_ca", "secrets", "secret-format-invalid", ["tls", "latency"])


def test_missing_ca_bundle_file_is_reported_not_crashed(
    sb, run_connectors, pytester: pytest.Pytester, assert_no_traceback
):
    server = sb.https("vault.sandbox.test")
    missing = pytester.path / "no-such-ca.pem"

    run = run_connectors(
        vault("v", server.url),
        ca_bundle=False,
        args=[f"--connectors-ca-bundle={missing}"],
        require_report=False,
    )

    assert_no_traceback(run.result)
    if run.result.ret == pytest.ExitCode.USAGE_ERROR:  # refused up front: fine
        assert str(missing) in run.text
        return
    run.assert_passed("v", "tcp")  # connecting needs no CA
    for check in run.checks("v").values():  # whatever fails names a failure mode
        assert check["outcome"] != "failed" or check["failure_mode"], check
