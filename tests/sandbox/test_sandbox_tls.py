"""Each TLS variant behaves as described, for a client trusting only the sandbox CA."""

from __future__ import annotations

import datetime
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.x509 import verification
from cryptography.x509.oid import AuthorityInformationAccessOID

from pytest_connectors.sandbox import VARIANTS, Sandbox, SandboxResponse

Fetch = Callable[..., httpx.Response]
VERIFY_FAILED = "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "


def eventually(condition: Callable[[], object], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def presented(server: Any, context: ssl.SSLContext) -> x509.Certificate:
    """The leaf a server presents (read without verification)."""
    with (
        socket.create_connection((server.host, server.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=server.name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def sans(cert: x509.Certificate) -> list[str]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(name.value) for name in ext]


def test_ok_answers_200_json_and_counts(sandbox: Sandbox, fetch: Fetch) -> None:
    server = sandbox.https("ok.sandbox.test")
    response = fetch(server, "/any/path")
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert (server.handshakes, server.requests, server.connections) == (1, 1, 1)
    assert server.url == f"https://ok.sandbox.test:{server.port}"
    assert server.host == "127.0.0.1" and sandbox.dns.lookup("ok.sandbox.test") == ["127.0.0.1"]
    server.reset_counters()
    assert (server.handshakes, server.requests) == (0, 0)


def test_ok_serves_leaf_and_intermediate(sandbox: Sandbox) -> None:
    server = sandbox.https("chain.sandbox.test")
    leaf, intermediate = (x509.load_pem_x509_certificate(p) for p in server.chain_pems)
    root = x509.load_pem_x509_certificate(sandbox.ca_file.read_bytes())
    assert leaf.issuer == intermediate.subject and intermediate.issuer == root.subject
    assert sans(leaf) == ["chain.sandbox.test", "127.0.0.1"]
    assert sandbox.intermediate_pem == server.chain_pems[1]


@pytest.mark.parametrize(
    ("variant", "reason"),
    [
        ("untrusted", "unable to get local issuer certificate"),
        ("self-signed", "self-signed certificate"),
        ("incomplete-chain", "unable to get local issuer certificate"),
        ("expired", "certificate has expired"),
        ("not-yet-valid", "certificate is not yet valid"),
        ("wrong-host", "Hostname mismatch, certificate is not valid for 'bad.sandbox.test'."),
    ],
)
def test_broken_variants_fail_verification(
    sandbox: Sandbox, fetch: Fetch, variant: Any, reason: str
) -> None:
    server = sandbox.https("bad.sandbox.test", variant)
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED") as caught:
        fetch(server)
    assert VERIFY_FAILED + reason in str(caught.value)
    assert server.requests == 0 and server.handshakes == 0
    # the server records the client's alert (e.g. TLSV1_ALERT_UNKNOWN_CA) a moment later
    assert eventually(lambda: server.handshake_errors)


def test_validity_windows(sandbox: Sandbox, insecure: ssl.SSLContext) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    expired = presented(sandbox.https("expired.sandbox.test", "expired"), insecure)
    future = presented(sandbox.https("future.sandbox.test", "not-yet-valid"), insecure)
    expiring = presented(sandbox.https("soon.sandbox.test", "expiring"), insecure)
    assert expired.not_valid_after_utc < now
    assert future.not_valid_before_utc > now
    assert expiring.not_valid_before_utc < now < expiring.not_valid_after_utc
    assert expiring.not_valid_after_utc - now < datetime.timedelta(days=3, minutes=1)
    assert expiring.not_valid_after_utc - now > datetime.timedelta(days=2, hours=23)


def test_expiring_is_trusted(sandbox: Sandbox, fetch: Fetch) -> None:
    assert fetch(sandbox.https("soon.sandbox.test", "expiring")).status_code == 200


def test_wrong_host_sans(sandbox: Sandbox, insecure: ssl.SSLContext) -> None:
    cert = presented(sandbox.https("api.sandbox.test", "wrong-host"), insecure)
    assert sans(cert) == ["other.api.sandbox.test", "wrong.sandbox.test"]


def test_self_signed_is_its_own_issuer(sandbox: Sandbox, insecure: ssl.SSLContext) -> None:
    cert = presented(sandbox.https("self.sandbox.test", "self-signed"), insecure)
    assert cert.issuer == cert.subject
    assert sans(cert) == ["self.sandbox.test", "127.0.0.1"]


def test_incomplete_chain_aia_url_completes_the_chain(
    sandbox: Sandbox, insecure: ssl.SSLContext, client: httpx.Client
) -> None:
    server = sandbox.https("partial.sandbox.test", "incomplete-chain")
    assert len(server.chain_pems) == 1
    leaf = presented(server, insecure)
    aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    (url,) = [
        d.access_location.value
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
    ]
    assert url.startswith("http://partial.sandbox.test:") and url.endswith("/intermediate.crt")
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    assert sandbox.dns.lookup(host) == ["127.0.0.1"]
    response = client.get(f"http://127.0.0.1:{port}/intermediate.crt", headers={"Host": host})
    assert response.headers["content-type"] == "application/pkix-cert"
    intermediate = x509.load_der_x509_certificate(response.content)
    store = verification.Store([x509.load_pem_x509_certificate(sandbox.ca_file.read_bytes())])
    verifier = (
        verification.PolicyBuilder()
        .store(store)
        .build_server_verifier(verification.DNSName("partial.sandbox.test"))
    )
    chain = verifier.verify(leaf, [intermediate])
    assert len(chain) == 3
    with pytest.raises(verification.VerificationError):
        verifier.verify(leaf, [])


def test_http_to_tls_port_is_a_protocol_error(sandbox: Sandbox, fetch: Fetch) -> None:
    server = sandbox.https("tls.sandbox.test")
    with pytest.raises(httpx.RemoteProtocolError, match="Server disconnected"):
        fetch(server, scheme="http")
    assert server.requests == 0


def test_https_to_plain_port_is_an_ssl_error(sandbox: Sandbox, fetch: Fetch) -> None:
    server = sandbox.http("plain.sandbox.test")
    assert server.url == f"http://plain.sandbox.test:{server.port}"
    assert fetch(server).status_code == 200
    with pytest.raises(httpx.ConnectError, match="WRONG_VERSION_NUMBER"):
        fetch(server, scheme="https")


def test_handler_sees_the_request_and_shapes_the_answer(sandbox: Sandbox, fetch: Fetch) -> None:
    seen = []

    def handler(request: Any) -> SandboxResponse:
        seen.append(request)
        if request.path == "/user":
            return SandboxResponse.json({"login": "ci"}, headers={"X-OAuth-Scopes": "repo"})
        return SandboxResponse(404, {"Content-Type": "text/plain"}, b"nope")

    server = sandbox.https("api.sandbox.test", handler=handler)
    user = fetch(server, "/user", headers={"Authorization": "token x"})
    assert (user.status_code, user.json(), user.headers["x-oauth-scopes"]) == (
        200,
        {"login": "ci"},
        "repo",
    )
    posted = fetch(server, "/other", method="POST", json={"a": 1})
    assert (posted.status_code, posted.text) == (404, "nope")
    assert [(r.method, r.path) for r in seen] == [("GET", "/user"), ("POST", "/other")]
    assert seen[0].headers["authorization"] == "token x" and seen[1].json() == {"a": 1}
    head = fetch(server, "/user", method="HEAD")
    assert head.status_code == 200 and head.content == b""
    assert server.requests == 3 and server.handshakes == 1  # keep-alive: one connection


def test_handler_exception_is_a_500_and_recorded(sandbox: Sandbox, fetch: Fetch) -> None:
    def handler(request: Any) -> SandboxResponse:
        raise RuntimeError("boom")

    server = sandbox.http("err.sandbox.test", handler=handler)
    assert fetch(server).status_code == 500
    assert server.errors == ["RuntimeError('boom')"]


def test_latency_before_first_byte(sandbox: Sandbox, fetch: Fetch) -> None:
    server = sandbox.https("slow.sandbox.test", latency=0.2)
    assert fetch(server).elapsed.total_seconds() >= 0.2
    server.latency = 0.0
    server.handshake_latency = 0.15
    fresh = httpx.Client(verify=sandbox.ssl_context(), trust_env=False)
    with fresh:
        started = time.perf_counter()
        fresh.get(
            f"https://127.0.0.1:{server.port}/",
            headers={"Host": server.name},
            extensions={"sni_hostname": server.name},
        )
        assert time.perf_counter() - started >= 0.15


def test_every_variant_is_known() -> None:
    assert VARIANTS == (
        "ok",
        "untrusted",
        "self-signed",
        "expired",
        "not-yet-valid",
        "expiring",
        "wrong-host",
        "incomplete-chain",
    )


def test_unknown_variant_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="unknown TLS variant 'bogus'"):
        sandbox.https("x.sandbox.test", "bogus")  # type: ignore[arg-type]
