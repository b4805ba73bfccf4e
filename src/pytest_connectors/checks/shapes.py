"""Shape checks for secret contents: is this value what the field needs?

Each function returns ``None`` when the value fits, or a short problem statement that never
quotes the value. Parsing uses ``cryptography``; its messages carry no key material.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..model import SecretKind


@dataclass(frozen=True)
class Shape:
    problem: str | None = None
    facts: dict[str, Any] | None = None


def pem_or_base64(value: str) -> bytes:
    """PEM, or base64 of PEM (how Harness stores certificates and keys), as PEM bytes."""
    text = value.strip()
    if text.startswith("-----BEGIN"):
        return text.encode()
    try:
        decoded = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return text.encode()
    return decoded.strip() if decoded.strip().startswith(b"-----BEGIN") else text.encode()


def _certificates(data: bytes) -> Shape:
    if b"-----BEGIN CERTIFICATE-----" not in data:
        return Shape("no '-----BEGIN CERTIFICATE-----' block: not a PEM certificate")
    from cryptography import x509  # imported on first use: most runs never need it
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        certs = x509.load_pem_x509_certificates(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        return Shape(f"the PEM certificate cannot be parsed ({_first_line(exc)})")
    leaf = certs[0]
    return Shape(
        facts={
            "certificates": len(certs),
            "subject": leaf.subject.rfc4514_string(),
            "not_after": leaf.not_valid_after_utc.isoformat(),
        }
    )


def _private_key(data: bytes, passphrase: str | None) -> Shape:
    if b"OPENSSH PRIVATE KEY" in data:
        return _ssh_key(data.decode(errors="replace"), None)
    if b"PRIVATE KEY-----" not in data:
        return Shape("no '-----BEGIN ... PRIVATE KEY-----' block: not a PEM private key")
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        load_pem_private_key(data, passphrase.encode() if passphrase else None)
    except UnsupportedAlgorithm as exc:  # an unknown curve, cipher or key type
        return Shape(f"the PEM private key uses what cannot be read here ({_first_line(exc)})")
    except TypeError as exc:
        if "not encrypted" in str(exc):
            return Shape("a passphrase was given, but the private key is not encrypted")
        return Shape("the private key is encrypted and no passphrase was given")
    except ValueError as exc:
        return Shape(f"the PEM private key cannot be read ({_first_line(exc)})")
    return Shape()


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _ssh_key(value: str, passphrase: str | None) -> Shape:
    data = value.strip().encode()
    if b"OPENSSH PRIVATE KEY" in data:
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.serialization import load_ssh_private_key

        try:
            load_ssh_private_key(data, passphrase.encode() if passphrase else None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            return Shape(f"the OpenSSH private key cannot be read ({_first_line(exc)})")
        return Shape(
            "the key is in OpenSSH format; Harness needs a PEM key"
            " (convert with: ssh-keygen -p -m PEM -f <keyfile>)"
        )
    return _private_key(data, passphrase)


def _gcp_key(value: str) -> Shape:
    try:
        data = json.loads(value)
    except ValueError:
        return Shape("not JSON: a GCP service-account key file is a JSON document")
    if not isinstance(data, dict):
        return Shape("the JSON is not an object: not a GCP service-account key")
    missing = [k for k in ("type", "private_key", "client_email") if not data.get(k)]
    if missing:
        return Shape(f"the key JSON lacks {', '.join(missing)}")
    if data.get("type") != "service_account":
        return Shape(f"the key JSON has type {data.get('type')!r}, not 'service_account'")
    key = _private_key(str(data["private_key"]).encode(), None)
    if key.problem:
        return Shape(f"private_key: {key.problem}")
    return Shape(
        facts={"client_email": data["client_email"], "key_project": data.get("project_id")}
    )


def decode_jwt_claims(token: str) -> dict[str, Any] | None:
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def _sa_token(value: str) -> Shape:
    claims = decode_jwt_claims(value)
    if claims is None:
        try:
            decoded = base64.b64decode("".join(value.split()), validate=True).decode()
        except (binascii.Error, ValueError):
            decoded = ""
        if decoded and decode_jwt_claims(decoded) is not None:
            return Shape(
                "the secret holds the token base64-encoded (as in a Kubernetes Secret's data);"
                " Harness needs the decoded token"
            )
        return Shape(facts={"jwt": False, "note": "not a JWT: expiry cannot be read locally"})
    facts: dict[str, Any] = {"jwt": True}
    if isinstance(claims.get("exp"), (int, float)):
        try:
            expiry = datetime.fromtimestamp(claims["exp"], timezone.utc)
        except (OverflowError, OSError, ValueError):
            return Shape(f"the token's exp claim ({claims['exp']}) is not a valid time")
        facts["expires_at"] = expiry.isoformat()
    subject = claims.get("sub") or claims.get("kubernetes.io/serviceaccount/service-account.name")
    if subject:
        facts["subject"] = str(subject)
    return Shape(facts=facts)


def _cert_and_key(value: str) -> Shape:
    data = value.strip().encode()
    certs = _certificates(data)
    if certs.problem:
        return certs
    key = _private_key(data, None)
    if key.problem:
        return Shape(f"the certificate file needs its private key too: {key.problem}")
    return certs


CHECKERS: dict[SecretKind, Callable[[str, str | None], Shape]] = {
    SecretKind.GCP_KEY_JSON: lambda v, _: _gcp_key(v),
    SecretKind.PEM_CERTIFICATE: lambda v, _: _certificates(v.strip().encode()),
    SecretKind.PEM_PRIVATE_KEY: lambda v, p: _private_key(v.strip().encode(), p),
    SecretKind.K8S_CERTIFICATE: lambda v, _: _certificates(pem_or_base64(v)),
    SecretKind.K8S_PRIVATE_KEY: lambda v, p: _private_key(pem_or_base64(v), p),
    SecretKind.K8S_SA_TOKEN: lambda v, _: _sa_token(v),
    SecretKind.SSH_PRIVATE_KEY: _ssh_key,
    SecretKind.CERTIFICATE_AND_KEY: lambda v, _: _cert_and_key(v),
}


def check_shape(kind: SecretKind, value: str, passphrase: str | None = None) -> Shape:
    checker = CHECKERS.get(kind)
    return checker(value, passphrase) if checker else Shape()
