"""``tls``: a verified handshake per HTTPS endpoint; certificate facts reported either way."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import git_http, jwt_without_exp, k8s_service_account, vault

#: variant -> the failure mode it must produce (see docs/failure-modes.md).
BROKEN = {
    "untrusted": "tls-untrusted-certificate",
    "self-signed": "tls-untrusted-certificate",
    "incomplete-chain": "tls-incomplete-chain",
    "wrong-host": "tls-hostname-mismatch",
    "expired": "tls-certificate-expired",
    "not-yet-valid": "tls-certificate-expired",
}
FACTS = ("subject", "issuer", "sans", "not_before", "not_after", "chain")


def _ident(variant: str) -> str:
    return "v_" + variant.replace("-", "_")


def _wrong_host(host: str, check: dict[str, Any]) -> None:
    sans = check["evidence"]["sans"]
    assert "wrong.sandbox.test" in sans
    assert host not in sans
    for san in sans:
        assert san in check["message"]  # "... does not cover <host> (it names ...)"


def _incomplete_chain(host: str, check: dict[str, Any]) -> None:
    evidence = check["evidence"]
    assert len(evidence["chain"]) == 1  # the leaf alone, without its intermediate
    assert evidence["issuer"] != evidence["subject"]


def _self_signed(host: str, check: dict[str, Any]) -> None:
    assert check["evidence"]["issuer"] == check["evidence"]["subject"]
    assert "self-signed" in check["message"]


def _untrusted(host: str, check: dict[str, Any]) -> None:
    assert "Untrusted" in check["evidence"]["issuer"]  # the sandbox's other CA


def _expired(host: str, check: dict[str, Any]) -> None:
    assert check["evidence"]["days_left"] < 0
    assert "expired" in check["message"]


def _not_yet_valid(host: str, check: dict[str, Any]) -> None:
    assert check["evidence"]["days_left"] > 0  # the window has not started yet
    assert "not valid yet" in check["message"]


SPECIFIC: dict[str, Callable[[str, dict[str, Any]], None]] = {
    "untrusted": _untrusted,
    "self-signed": _self_signed,
    "incomplete-chain": _incomplete_chain,
    "wrong-host": _wrong_host,
    "expired": _expired,
    "not-yet-valid": _not_yet_valid,
}


@pytest.mark.parametrize("variant", list(BROKEN))
def test_broken_certificate_fails_with_its_mode_and_facts(sb, run_connectors, variant):
    host = f"{variant}.sandbox.test"
    server = sb.https(host, variant=variant)
    ident = _ident(variant)

    run = run_connectors(vault(ident, server.url))

    evidence = run.assert_failed(ident, "tls", BROKEN[variant])
    assert (evidence["host"], evidence["port"]) == (host, server.port)
    # The facts a user needs to fix the certificate, although verification failed.
    for fact in FACTS:
        assert evidence[fact], (fact, evidence)
    assert isinstance(evidence["sans"], list)
    assert isinstance(evidence["chain"], list)
    assert evidence["ca_source"] == f"delegate CA bundle {sb.ca_file}"
    SPECIFIC[variant](host, run.check(ident, "tls"))
    for name in ("dns", "tcp"):
        run.assert_passed(ident, name)
    run.assert_blocked(ident, "tls", BROKEN[variant], ["latency"])


def test_valid_certificate_passes_with_its_facts(sb, run_connectors):
    server = sb.https("ok.sandbox.test")

    run = run_connectors(vault("v_ok", server.url))

    facts = run.assert_passed("v_ok", "tls")[f"ok.sandbox.test:{server.port}"]
    assert "ok.sandbox.test" in facts["sans"]
    assert len(facts["chain"]) >= 2  # leaf + intermediate
    assert facts["days_left"] > 14
    run.assert_passed("v_ok", "latency")
    assert server.handshakes == 1


def test_expiring_certificate_warns_without_failing_the_item(sb, run_connectors):
    server = sb.https("expiring.sandbox.test", variant="expiring")

    run = run_connectors(vault("v_expiring", server.url))

    evidence = run.assert_warning("v_expiring", "tls", "tls-certificate-expiring")
    assert 0 < evidence["days_left"] <= 14
    assert evidence["not_after"]
    assert "PASSED connectors0/c.yaml::account.v_expiring[tls]" in run.result.outlines
    assert "connector warnings (failing: --connectors-strict)" in run.text
    listed = [line for line in run.result.outlines if line.startswith("account.v_expiring[tls]")]
    assert len(listed) == 1
    assert "[tls-certificate-expiring]" in listed[0]
    assert run.result.ret == 0
    run.assert_passed("v_expiring", "latency")  # a warning does not block what follows


def test_expiring_certificate_fails_under_strict(sb, run_connectors):
    server = sb.https("expiring.sandbox.test", variant="expiring")

    run = run_connectors(vault("v_expiring", server.url), strict=True)

    check = run.check("v_expiring", "tls")
    assert (check["outcome"], check["failure_mode"]) == ("failed", "tls-certificate-expiring")
    assert "FAILED connectors0/c.yaml::account.v_expiring[tls]" in "\n".join(run.result.outlines)
    assert run.result.ret == 1


def test_https_to_a_plain_http_port_is_incorrect_endpoint(sb, run_connectors):
    plain = sb.http("plain.sandbox.test")

    run = run_connectors(vault("plain_as_https", f"https://plain.sandbox.test:{plain.port}"))

    evidence = run.assert_failed("plain_as_https", "tls", "incorrect-endpoint")
    assert evidence["url"].startswith("https://plain.sandbox.test:")
    assert "does not speak TLS" in evidence["problem"]
    run.assert_passed("plain_as_https", "tcp")
    run.assert_blocked("plain_as_https", "tls", "incorrect-endpoint", ["latency"])


@pytest.mark.parametrize("kind", ["vault", "git"])
def test_http_url_to_a_tls_port_is_incorrect_endpoint(sb, run_connectors, kind):
    server = sb.https("tls.sandbox.test")
    url = f"http://tls.sandbox.test:{server.port}"
    doc = vault("http_to_tls", url) if kind == "vault" else git_http("http_to_tls", url)

    run = run_connectors(doc)

    evidence = run.assert_failed("http_to_tls", "tls", "incorrect-endpoint")
    assert evidence["url"].startswith(url)
    assert "TLS" in evidence["problem"]
    run.assert_blocked("http_to_tls", "tls", "incorrect-endpoint", ["latency"])


# -- the connector's own CA (caCertRef) ------------------------------------------------------


@pytest.mark.parametrize("encoding", ["pem", "base64"])
def test_connector_ca_cert_ref_trusts_a_private_ca(sb, run_connectors, encoding):
    server = sb.https("k8s.sandbox.test")
    pem = sb.ca_file.read_text()
    value = pem if encoding == "pem" else base64.b64encode(pem.encode()).decode()
    secrets = {
        "account.ca": value,
        "account.k8s_token": jwt_without_exp("system:serviceaccount:ci:harness"),
    }
    docs = [
        k8s_service_account("with_ca", server.url),
        k8s_service_account("without_ca", server.url, ca_ref=None),
    ]

    run = run_connectors(*docs, secrets=secrets, ca_bundle=False)

    run.assert_passed("with_ca", "secrets")
    evidence = run.assert_passed("with_ca", "tls")
    facts = evidence[f"k8s.sandbox.test:{server.port}"]
    assert facts["ca_source"] == "connector caCertRef account.ca"
    run.assert_passed("with_ca", "latency")
    # The same server without the connector's CA: the system store does not know the CA.
    failed = run.assert_failed("without_ca", "tls", "tls-untrusted-certificate")
    assert failed["ca_source"] == "system trust store"
