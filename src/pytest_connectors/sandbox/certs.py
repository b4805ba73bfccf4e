"""Certificates of the sandbox: one root CA, one intermediate, and a leaf per server variant.

trustme issues the leaves it can describe (validity windows, SANs); ``cryptography`` builds the
two it cannot: a self-signed leaf, and a leaf with an Authority Information Access (caIssuers)
extension, served without its intermediate ("incomplete-chain", the way public CAs' leaves
point at the missing certificate).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

Variant = Literal[
    "ok",
    "untrusted",
    "self-signed",
    "expired",
    "not-yet-valid",
    "expiring",
    "wrong-host",
    "incomplete-chain",
]
VARIANTS: tuple[Variant, ...] = (
    "ok",
    "untrusted",
    "self-signed",
    "expired",
    "not-yet-valid",
    "expiring",
    "wrong-host",
    "incomplete-chain",
)
ORGANIZATION = "pytest-connectors sandbox"
EXPIRING_IN = datetime.timedelta(days=3)


@dataclass(frozen=True)
class ServedCert:
    """What a TLS server presents: its key and the certificates it sends, leaf first (PEM)."""

    key_pem: bytes
    chain_pems: tuple[bytes, ...]

    @property
    def leaf(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.chain_pems[0])

    def write(self, path: Path) -> Path:
        """Write key + chain as one PEM file (what ``SSLContext.load_cert_chain`` reads)."""
        path.write_bytes(self.key_pem + b"".join(self.chain_pems))
        return path


class Pki:
    """The sandbox root CA (``ca``), its intermediate, and a lazily made untrusted CA."""

    def __init__(self) -> None:
        self.ca = trustme.CA(organization_name=ORGANIZATION)
        self.intermediate = self.ca.create_child_ca()
        self._untrusted: trustme.CA | None = None

    @property
    def intermediate_pem(self) -> bytes:
        return bytes(self.intermediate.cert_pem.bytes())

    def issue(self, variant: Variant, name: str, aia_url: str | None = None) -> ServedCert:
        """The certificate a server named ``name`` presents for ``variant``."""
        now = datetime.datetime.now(datetime.timezone.utc)
        day = datetime.timedelta(days=1)
        identities = (name, "127.0.0.1")
        if variant == "ok":
            return _served(self.intermediate.issue_cert(*identities))
        if variant == "untrusted":
            if self._untrusted is None:
                self._untrusted = trustme.CA(organization_name="Untrusted (not the sandbox CA)")
            return _served(self._untrusted.issue_cert(*identities))
        if variant == "expired":
            leaf = self.intermediate.issue_cert(
                *identities, not_before=now - 10 * day, not_after=now - day
            )
            return _served(leaf)
        if variant == "not-yet-valid":
            leaf = self.intermediate.issue_cert(
                *identities, not_before=now + day, not_after=now + 10 * day
            )
            return _served(leaf)
        if variant == "expiring":
            leaf = self.intermediate.issue_cert(
                *identities, not_before=now - day, not_after=now + EXPIRING_IN
            )
            return _served(leaf)
        if variant == "wrong-host":
            return _served(self.intermediate.issue_cert(f"other.{name}", "wrong.sandbox.test"))
        if variant == "self-signed":
            return _build_leaf(name, issuer=None, not_after=now + 30 * day)
        if variant == "incomplete-chain":
            if aia_url is None:
                raise ValueError("incomplete-chain needs the caIssuers URL")
            return _build_leaf(
                name, issuer=self.intermediate, not_after=now + 30 * day, aia_url=aia_url
            )
        raise ValueError(f"unknown TLS variant {variant!r}; one of: {', '.join(VARIANTS)}")


def _served(leaf: trustme.LeafCert) -> ServedCert:
    chain = tuple(bytes(blob.bytes()) for blob in leaf.cert_chain_pems)
    return ServedCert(bytes(leaf.private_key_pem.bytes()), chain)


def _build_leaf(
    name: str,
    *,
    issuer: trustme.CA | None,
    not_after: datetime.datetime,
    aia_url: str | None = None,
) -> ServedCert:
    """A leaf for ``name`` + 127.0.0.1 signed by ``issuer`` (self-signed when None); only the
    leaf is served. ``aia_url`` adds an AIA caIssuers access description."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    if issuer is None:
        issuer_name, signing_key = subject, key
    else:
        issuer_cert = x509.load_pem_x509_certificate(issuer.cert_pem.bytes())
        loaded = serialization.load_pem_private_key(issuer.private_key_pem.bytes(), None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):  # trustme's default key type
            raise TypeError("the sandbox intermediate CA must have an EC key")
        issuer_name, signing_key = issuer_cert.subject, loaded
    now = datetime.datetime.now(datetime.timezone.utc)
    san = x509.SubjectAlternativeName(
        [x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(san, critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key())
        builder = builder.add_extension(aki, critical=False)
    if aia_url is not None:
        access = x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(aia_url)
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    cert = builder.sign(signing_key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return ServedCert(key_pem, (cert.public_bytes(serialization.Encoding.PEM),))
