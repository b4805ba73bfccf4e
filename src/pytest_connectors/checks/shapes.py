"""Shape checks for secret contents: is this value what the field needs?

Each function returns ``None`` when the value fits, or a short problem statement that never
quotes the value. Parsing uses ``cryptography``; its messages carry no key material.

The value, and every form parsed out of it (a decoded PEM, the fields of a GCP key), is a
:class:`Secret` here, revealed only in the call that parses it: the locals of a traceback
(``-l``) show ``***``, and each parsed form is masked in every output on its own.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..masking import PUBLIC_JSON_KEYS
from ..model import SecretKind
from ..secrets import Secret


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


def _parsed(secret: Secret, value: str, what: str) -> Secret:
    """A form parsed out of ``secret``: a secret of its own (masked, ``***`` in ``repr``)."""
    return Secret(value, f"{secret.reference} ({what})", "parsed")


def _pem(secret: Secret) -> Secret:
    """PEM or base64 of PEM, as PEM (see :func:`pem_or_base64`)."""
    return _parsed(secret, pem_or_base64(secret.reveal()).decode("utf-8", "replace"), "PEM")


def _certificates(pem: Secret) -> Shape:
    if "-----BEGIN CERTIFICATE-----" not in pem.reveal():
        return Shape("no '-----BEGIN CERTIFICATE-----' block: not a PEM certificate")
    from cryptography import x509  # imported on first use: most runs never need it
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        certs = x509.load_pem_x509_certificates(pem.reveal().strip().encode())
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


def _private_key(pem: Secret, passphrase: Secret | None) -> Shape:
    if "OPENSSH PRIVATE KEY" in pem.reveal():
        return _ssh_key(pem, None)
    if "PRIVATE KEY-----" not in pem.reveal():
        return Shape("no '-----BEGIN ... PRIVATE KEY-----' block: not a PEM private key")
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        load_pem_private_key(pem.reveal().strip().encode(), _bytes(passphrase))
    except UnsupportedAlgorithm as exc:  # an unknown curve, cipher or key type
        return Shape(f"the PEM private key uses what cannot be read here ({_first_line(exc)})")
    except TypeError as exc:
        if "not encrypted" in str(exc):
            return Shape("a passphrase was given, but the private key is not encrypted")
        return Shape("the private key is encrypted and no passphrase was given")
    except ValueError as exc:
        return Shape(f"the PEM private key cannot be read ({_first_line(exc)})")
    return Shape()


def _bytes(passphrase: Secret | None) -> bytes | None:
    return passphrase.reveal().encode() if passphrase and passphrase.reveal() else None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _ssh_key(key: Secret, passphrase: Secret | None) -> Shape:
    if "OPENSSH PRIVATE KEY" in key.reveal():
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.serialization import load_ssh_private_key

        try:
            load_ssh_private_key(key.reveal().strip().encode(), _bytes(passphrase))
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            return Shape(f"the OpenSSH private key cannot be read ({_first_line(exc)})")
        return Shape(
            "the key is in OpenSSH format; Harness needs a PEM key"
            " (convert with: ssh-keygen -p -m PEM -f <keyfile>)"
        )
    return _private_key(key, passphrase)


def _key_document(secret: Secret) -> dict[str, Any] | None:
    """A JSON key file's fields; the values that are not public (``private_key``,
    ``private_key_id`` ..., not ``type`` or ``client_email``) as secrets of their own. None
    when it is no JSON object."""
    try:
        data = json.loads(secret.reveal())
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return {
        str(k): _parsed(secret, v, str(k)) if _secret_field(str(k), v) else v
        for k, v in data.items()
    }


def _secret_field(key: str, value: object) -> bool:
    return isinstance(value, str) and key not in PUBLIC_JSON_KEYS and "://" not in value[:12]


def _filled(value: object) -> bool:
    return bool(value.reveal() if isinstance(value, Secret) else value)


def _gcp_key(secret: Secret) -> Shape:
    data = _key_document(secret)
    if data is None:
        try:
            json.loads(secret.reveal())
        except ValueError:
            return Shape("not JSON: a GCP service-account key file is a JSON document")
        return Shape("the JSON is not an object: not a GCP service-account key")
    missing = [k for k in ("type", "private_key", "client_email") if not _filled(data.get(k))]
    if missing:
        return Shape(f"the key JSON lacks {', '.join(missing)}")
    if data.get("type") != "service_account":
        return Shape(f"the key JSON has type {data.get('type')!r}, not 'service_account'")
    private_key = data["private_key"]
    if not isinstance(private_key, Secret):  # a number or a list where the key belongs
        return Shape("private_key: not a PEM private key")
    key = _private_key(private_key, None)
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


def _base64_decoded(secret: Secret) -> Secret | None:
    try:
        text = base64.b64decode("".join(secret.reveal().split()), validate=True).decode()
    except (binascii.Error, ValueError):
        return None
    return _parsed(secret, text, "decoded") if text else None


def _sa_token(token: Secret) -> Shape:
    claims = decode_jwt_claims(token.reveal())
    if claims is None:
        decoded = _base64_decoded(token)
        if decoded is not None and decode_jwt_claims(decoded.reveal()) is not None:
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


def _cert_and_key(value: Secret) -> Shape:
    certs = _certificates(value)
    if certs.problem:
        return certs
    key = _private_key(value, None)
    if key.problem:
        return Shape(f"the certificate file needs its private key too: {key.problem}")
    return certs


CHECKERS: dict[SecretKind, Callable[[Secret, Secret | None], Shape]] = {
    SecretKind.GCP_KEY_JSON: lambda v, _: _gcp_key(v),
    SecretKind.PEM_CERTIFICATE: lambda v, _: _certificates(v),
    SecretKind.PEM_PRIVATE_KEY: _private_key,
    SecretKind.K8S_CERTIFICATE: lambda v, _: _certificates(_pem(v)),
    SecretKind.K8S_PRIVATE_KEY: lambda v, p: _private_key(_pem(v), p),
    SecretKind.K8S_SA_TOKEN: lambda v, _: _sa_token(v),
    SecretKind.SSH_PRIVATE_KEY: _ssh_key,
    SecretKind.CERTIFICATE_AND_KEY: lambda v, _: _cert_and_key(v),
}


def check_shape(
    kind: SecretKind, value: Secret | str, passphrase: Secret | str | None = None
) -> Shape:
    """Whether ``value`` is what a ``kind`` field needs (a plain text is taken as a secret)."""
    checker = CHECKERS.get(kind)
    if checker is None:
        return Shape()
    if not isinstance(value, Secret):
        value = Secret(value, "(value)", "shape check")
    if passphrase is not None and not isinstance(passphrase, Secret):
        passphrase = Secret(passphrase, "(passphrase)", "shape check")
    return checker(value, passphrase)
