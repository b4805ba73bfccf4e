"""Shape checks of secret contents, with keys and certificates generated in the test."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from pytest_connectors.checks.context import CheckContext, RunOptions
from pytest_connectors.checks.secrets import check_secrets
from pytest_connectors.checks.shapes import check_shape, decode_jwt_claims
from pytest_connectors.delegate import DelegateContext
from pytest_connectors.inventory import Inventory
from pytest_connectors.model import Connector, SecretKind
from pytest_connectors.secrets import EnvironmentSource, SecretChain
from pytest_connectors.settings import Settings

K = SecretKind
NOW = dt.datetime.now(dt.timezone.utc)


# -- material --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: Any, password: bytes | None = None, fmt: Any = None) -> str:
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, fmt or serialization.PrivateFormat.PKCS8, encryption
    ).decode()


def _certificate(key: Any, common_name: str, days: int = 30) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def key_pem(ec_key: ec.EllipticCurvePrivateKey) -> str:
    return _pem_key(ec_key)


@pytest.fixture(scope="module")
def cert_pem(ec_key: ec.EllipticCurvePrivateKey) -> str:
    return _certificate(ec_key, "cluster.example.com")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'kid': 'k'})}.{part(claims)}.c2lnbmF0dXJl"


# -- GCP service-account key ------------------------------------------------------------------


def _gcp_key(private_key: str, **overrides: Any) -> str:
    data = {
        "type": "service_account",
        "project_id": "acme-prod",
        "private_key_id": "abc",
        "private_key": private_key,
        "client_email": "deployer@acme-prod.iam.gserviceaccount.com",
    }
    data.update(overrides)
    return json.dumps({k: v for k, v in data.items() if v is not None})


def test_gcp_key_json(key_pem: str) -> None:
    shape = check_shape(K.GCP_KEY_JSON, _gcp_key(key_pem))
    assert shape.problem is None
    assert shape.facts == {
        "client_email": "deployer@acme-prod.iam.gserviceaccount.com",
        "key_project": "acme-prod",
    }


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not json at all", "not JSON: a GCP service-account key file is a JSON document"),
        ("[1, 2]", "the JSON is not an object: not a GCP service-account key"),
        ('{"type": "service_account"}', "the key JSON lacks private_key, client_email"),
    ],
)
def test_gcp_key_json_problems(value: str, problem: str) -> None:
    assert check_shape(K.GCP_KEY_JSON, value).problem == problem


def test_gcp_key_of_the_wrong_type(key_pem: str) -> None:
    shape = check_shape(K.GCP_KEY_JSON, _gcp_key(key_pem, type="authorized_user"))
    assert shape.problem == "the key JSON has type 'authorized_user', not 'service_account'"


def test_gcp_key_with_a_broken_private_key() -> None:
    shape = check_shape(K.GCP_KEY_JSON, _gcp_key("MIIEvQ-no-armour"))
    assert shape.problem == (
        "private_key: no '-----BEGIN ... PRIVATE KEY-----' block: not a PEM private key"
    )


# -- PEM certificates and keys ----------------------------------------------------------------


def test_pem_certificate(cert_pem: str) -> None:
    shape = check_shape(K.PEM_CERTIFICATE, cert_pem)
    assert shape.problem is None
    assert shape.facts is not None
    assert shape.facts["certificates"] == 1
    assert shape.facts["subject"] == "CN=cluster.example.com"
    assert dt.datetime.fromisoformat(shape.facts["not_after"]) > NOW


def test_pem_certificate_chain(cert_pem: str, ec_key: ec.EllipticCurvePrivateKey) -> None:
    chain = cert_pem + _certificate(ec_key, "intermediate")
    shape = check_shape(K.PEM_CERTIFICATE, chain)
    assert shape.facts is not None and shape.facts["certificates"] == 2
    assert shape.facts["subject"] == "CN=cluster.example.com"  # the leaf comes first


def test_not_a_certificate(key_pem: str) -> None:
    assert check_shape(K.PEM_CERTIFICATE, key_pem).problem == (
        "no '-----BEGIN CERTIFICATE-----' block: not a PEM certificate"
    )
    broken = "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n"
    problem = check_shape(K.PEM_CERTIFICATE, broken).problem
    assert problem is not None and problem.startswith("the PEM certificate cannot be parsed")


def test_pem_private_key(key_pem: str, ec_key: ec.EllipticCurvePrivateKey) -> None:
    assert check_shape(K.PEM_PRIVATE_KEY, key_pem).problem is None
    traditional = _pem_key(ec_key, fmt=serialization.PrivateFormat.TraditionalOpenSSL)
    assert "BEGIN EC PRIVATE KEY" in traditional
    assert check_shape(K.PEM_PRIVATE_KEY, traditional).problem is None


def test_not_a_private_key(cert_pem: str) -> None:
    assert check_shape(K.PEM_PRIVATE_KEY, cert_pem).problem == (
        "no '-----BEGIN ... PRIVATE KEY-----' block: not a PEM private key"
    )
    broken = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    problem = check_shape(K.PEM_PRIVATE_KEY, broken).problem
    assert problem is not None and problem.startswith("the PEM private key cannot be read")


def test_encrypted_private_key(ec_key: ec.EllipticCurvePrivateKey) -> None:
    encrypted = _pem_key(ec_key, password=b"open-sesame")
    assert check_shape(K.PEM_PRIVATE_KEY, encrypted).problem == (
        "the private key is encrypted and no passphrase was given"
    )
    assert check_shape(K.PEM_PRIVATE_KEY, encrypted, "open-sesame").problem is None
    wrong = check_shape(K.PEM_PRIVATE_KEY, encrypted, "wrong").problem
    assert wrong is not None and wrong.startswith("the PEM private key cannot be read")


def test_passphrase_for_an_unencrypted_key_is_described_correctly(key_pem: str) -> None:
    problem = check_shape(K.K8S_PRIVATE_KEY, key_pem, "a-passphrase")
    assert problem.problem is None or "is encrypted and no passphrase" not in problem.problem


def test_certificate_with_its_key(cert_pem: str, key_pem: str) -> None:
    assert check_shape(K.CERTIFICATE_AND_KEY, cert_pem + key_pem).problem is None
    alone = check_shape(K.CERTIFICATE_AND_KEY, cert_pem).problem
    assert alone is not None
    assert alone.startswith("the certificate file needs its private key too: ")
    assert check_shape(K.CERTIFICATE_AND_KEY, key_pem).problem == (
        "no '-----BEGIN CERTIFICATE-----' block: not a PEM certificate"
    )


# -- Kubernetes: PEM or base64 of PEM ---------------------------------------------------------


def test_kubernetes_certificate_as_pem_or_base64(cert_pem: str) -> None:
    for value in (
        cert_pem,
        _b64(cert_pem),
        "\n".join(_b64(cert_pem)[i : i + 64] for i in range(0, len(_b64(cert_pem)), 64)),
    ):
        shape = check_shape(K.K8S_CERTIFICATE, value)
        assert shape.problem is None
        assert shape.facts is not None and shape.facts["subject"] == "CN=cluster.example.com"


def test_kubernetes_key_as_pem_or_base64(key_pem: str) -> None:
    assert check_shape(K.K8S_PRIVATE_KEY, key_pem).problem is None
    assert check_shape(K.K8S_PRIVATE_KEY, _b64(key_pem)).problem is None


def test_kubernetes_base64_of_something_else() -> None:
    value = _b64("just some text, not a certificate")
    assert check_shape(K.K8S_CERTIFICATE, value).problem == (
        "no '-----BEGIN CERTIFICATE-----' block: not a PEM certificate"
    )
    assert check_shape(K.K8S_PRIVATE_KEY, value).problem == (
        "no '-----BEGIN ... PRIVATE KEY-----' block: not a PEM private key"
    )


# -- SSH keys ---------------------------------------------------------------------------------


def test_ssh_key_in_openssh_format_is_refused() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    openssh = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    assert "BEGIN OPENSSH PRIVATE KEY" in openssh
    problem = check_shape(K.SSH_PRIVATE_KEY, openssh).problem
    assert problem == (
        "the key is in OpenSSH format; Harness needs a PEM key"
        " (convert with: ssh-keygen -p -m PEM -f <keyfile>)"
    )


def test_ssh_key_in_pem_format(ec_key: ec.EllipticCurvePrivateKey) -> None:
    pem = _pem_key(ec_key, fmt=serialization.PrivateFormat.TraditionalOpenSSL)
    assert check_shape(K.SSH_PRIVATE_KEY, pem).problem is None


def test_broken_openssh_key() -> None:
    broken = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    problem = check_shape(K.SSH_PRIVATE_KEY, broken).problem
    assert problem is not None
    assert problem.startswith("the OpenSSH private key cannot be read")


def test_ssh_key_that_is_a_password() -> None:
    assert check_shape(K.SSH_PRIVATE_KEY, "hunter2-password").problem == (
        "no '-----BEGIN ... PRIVATE KEY-----' block: not a PEM private key"
    )


# -- service-account tokens (JWT) ------------------------------------------------------------


def test_jwt_claims_are_decoded() -> None:
    token = _jwt({"sub": "system:serviceaccount:ci:deployer", "exp": 4102444800})
    assert decode_jwt_claims(token) == {
        "sub": "system:serviceaccount:ci:deployer",
        "exp": 4102444800,
    }
    assert decode_jwt_claims("a.b") is None
    assert decode_jwt_claims("a.!!!.c") is None
    assert decode_jwt_claims(f"x.{_b64('[1]')}.y") is None


def test_jwt_with_expiry() -> None:
    token = _jwt({"sub": "system:serviceaccount:ci:deployer", "exp": 4102444800})
    shape = check_shape(K.K8S_SA_TOKEN, token)
    assert shape.problem is None
    assert shape.facts == {
        "jwt": True,
        "expires_at": "2100-01-01T00:00:00+00:00",
        "subject": "system:serviceaccount:ci:deployer",
    }


def test_jwt_without_expiry() -> None:
    claims = {"kubernetes.io/serviceaccount/service-account.name": "deployer"}
    shape = check_shape(K.K8S_SA_TOKEN, _jwt(claims))
    assert shape.facts == {"jwt": True, "subject": "deployer"}


def test_opaque_token_is_accepted_without_expiry() -> None:
    shape = check_shape(K.K8S_SA_TOKEN, "opaque-token-value")
    assert shape.problem is None
    assert shape.facts == {"jwt": False, "note": "not a JWT: expiry cannot be read locally"}


def test_base64_encoded_jwt_is_detected() -> None:
    token = _jwt({"sub": "x", "exp": 4102444800})
    problem = check_shape(K.K8S_SA_TOKEN, _b64(token)).problem
    assert problem == (
        "the secret holds the token base64-encoded (as in a Kubernetes Secret's data);"
        " Harness needs the decoded token"
    )


def test_jwt_with_an_out_of_range_expiry_does_not_raise() -> None:
    shape = check_shape(K.K8S_SA_TOKEN, _jwt({"exp": 10**20}))
    assert shape.problem is not None or shape.facts is not None


def test_text_secrets_have_no_shape() -> None:
    shape = check_shape(K.TEXT, "anything")
    assert (shape.problem, shape.facts) == (None, None)


# -- the secrets check judges what the shapes found ------------------------------------------

K8S_SA = """
connector:
  name: cluster
  identifier: cluster
  type: K8sCluster
  spec:
    credential:
      type: ManualConfig
      spec:
        masterUrl: https://10.0.0.1:6443
        auth:
          type: ServiceAccount
          spec:
            serviceAccountTokenRef: account.sa_token
    delegateSelectors: [x]
"""


@pytest.fixture
def run_secrets_check(
    build: Callable[[str], Any],
) -> Callable[[str], list[tuple[str, str]]]:
    def run(token: str) -> list[tuple[str, str]]:
        connector = build(K8S_SA)
        assert isinstance(connector, Connector)
        ctx = CheckContext(
            connector=connector,
            inventory=Inventory(),
            settings=Settings(),
            delegate=DelegateContext(),
            secrets=SecretChain([EnvironmentSource({"CONNECTOR_SECRET_ACCOUNT_sa_token": token})]),
            options=RunOptions(),
            result_of=lambda name: pytest.fail(f"unexpected dependency {name}"),
        )
        check_secrets(ctx)
        return [(f.mode, f.cause) for f in ctx.findings]

    return run


def _exp(days: float) -> int:
    return int((NOW + dt.timedelta(days=days)).timestamp())


def test_expired_token_fails(run_secrets_check: Callable[[str], list[tuple[str, str]]]) -> None:
    ((mode, cause),) = run_secrets_check(_jwt({"exp": _exp(-2)}))
    assert mode == "credentials-expired"
    assert "the service-account token in 'account.sa_token' expired at" in cause


def test_token_expiring_soon_warns(
    run_secrets_check: Callable[[str], list[tuple[str, str]]],
) -> None:
    ((mode, cause),) = run_secrets_check(_jwt({"exp": _exp(3)}))
    assert mode == "credentials-expiring"
    assert "days left" in cause


def test_token_far_from_expiry_or_without_expiry_passes(
    run_secrets_check: Callable[[str], list[tuple[str, str]]],
) -> None:
    assert run_secrets_check(_jwt({"exp": _exp(90)})) == []
    assert run_secrets_check(_jwt({"sub": "no-expiry"})) == []
    assert run_secrets_check("opaque-token-not-jwt") == []


def test_base64_token_is_a_format_finding(
    run_secrets_check: Callable[[str], list[tuple[str, str]]],
) -> None:
    ((mode, cause),) = run_secrets_check(_b64(_jwt({"exp": _exp(90)})))
    assert mode == "secret-format-invalid"
    assert cause.startswith(
        "spec.credential.spec.auth.spec.serviceAccountTokenRef (line 13): 'account.sa_token'"
        " should hold a service-account token (JWT): the secret holds the token base64-encoded"
    )


def test_missing_token_is_secret_not_found(build: Callable[[str], Any]) -> None:
    connector = build(K8S_SA)
    ctx = CheckContext(
        connector=connector,
        inventory=Inventory(),
        settings=Settings(),
        delegate=DelegateContext(),
        secrets=SecretChain([EnvironmentSource({})]),
        options=RunOptions(),
        result_of=lambda name: pytest.fail(name),
    )
    check_secrets(ctx)
    ((finding),) = ctx.findings
    assert finding.mode == "secret-not-found"
    assert finding.evidence["env_var"] == "CONNECTOR_SECRET_ACCOUNT_sa_token"
    assert finding.evidence["sources"] == "environment variable CONNECTOR_SECRET_ACCOUNT_sa_token"


#: Keys ``cryptography`` refuses with UnsupportedAlgorithm (not ValueError): an OpenSSH key
#: encrypted with chacha20-poly1305 (``ssh-keygen -Z chacha20-poly1305@openssh.com``) and an EC
#: key on a curve it does not support (secp112r1). Throwaway test keys.
CHACHA_OPENSSH = """\
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAAHWNoYWNoYTIwLXBvbHkxMzA1QG9wZW5zc2guY29tAAAABm
JjcnlwdAAAABgAAAAQ+ofxGtcReSoH9WrmSaIaswAAABAAAAABAAAAMwAAAAtzc2gtZWQy
NTUxOQAAACBmiWhj8UYEad+NDQhW3jEd5/DAP1aaFg0SQb1E/nlvgAAAAJDZxT6qVGM1Ku
CLQJRYCq1xbUtCGh4d17kOd6dwpG/yS2LUZfI7IfMCCduRV/Sq7YPsnvBBMPSH+2RDGh8Q
ekCYowHuPa9yXi7y8G/vavAOl+GZVLSjlzHgHIoleQV8NS0/UAGjIER731+01+sPWDJVUD
/Y1HhrBLWQxazuqsVSrOsqh1Vtbijv1VcInfDoEpnZPpzMZGqdz+aNNooYJfiK
-----END OPENSSH PRIVATE KEY-----
"""
UNKNOWN_CURVE = """\
-----BEGIN EC PRIVATE KEY-----
MD4CAQEEDoUzjsTeKN005SX4spzYoAcGBSuBBAAGoSADHgAElJtqNcQwDxn2JFbS
8GLWVRM7WvqZp2Q3wB+/Gw==
-----END EC PRIVATE KEY-----
"""


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        (SecretKind.SSH_PRIVATE_KEY, CHACHA_OPENSSH, "the OpenSSH private key cannot be read"),
        (SecretKind.PEM_PRIVATE_KEY, UNKNOWN_CURVE, "cannot be read here (Curve"),
        (SecretKind.K8S_PRIVATE_KEY, UNKNOWN_CURVE, "cannot be read here (Curve"),
        (SecretKind.PEM_PRIVATE_KEY, CHACHA_OPENSSH, "the OpenSSH private key cannot be read"),
    ],
)
def test_a_key_cryptography_cannot_read_is_a_format_problem(
    kind: SecretKind, value: str, problem: str
) -> None:
    """Issue 9 item 5: UnsupportedAlgorithm is secret-format-invalid like any unreadable key."""
    shape = check_shape(kind, value)
    assert shape.problem is not None and problem in shape.problem, shape.problem


def test_a_github_app_key_on_an_unknown_curve_is_not_a_crash() -> None:
    from pytest_connectors.checks.github import app_jwt

    with pytest.raises(ValueError, match="cannot be read here"):
        app_jwt(UNKNOWN_CURVE, "12")
