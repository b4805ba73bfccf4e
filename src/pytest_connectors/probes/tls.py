"""TLS trust, certificate facts and the classification of handshake failures.

Facts (subject, issuer, SANs, validity, the chain as presented) are collected even when
verification fails, by a second handshake that does not verify: that is what a user needs to
fix a certificate problem, and what most tools drop exactly when it matters.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

# OpenSSL X509_V_ERR_* codes, as ssl.SSLCertVerificationError.verify_code reports them.
_EXPIRED, _NOT_YET_VALID = 10, 9
_SELF_SIGNED, _SELF_SIGNED_IN_CHAIN = 18, 19
_NO_ISSUER_LOCALLY, _NO_ISSUER, _LEAF_SIGNATURE = 20, 2, 21
_HOSTNAME_MISMATCH, _IP_MISMATCH = 62, 64


@dataclass(frozen=True)
class Trust:
    """What verifies a server: the connector's CA (alone, as a kubeconfig would), or the
    delegate's extra CA bundle on top of the system store, or the system store."""

    source: str
    cadata: str | None = None
    cafile: str | None = None

    @property
    def usable(self) -> bool:
        """Whether the CA material loads (a secret may hold anything)."""
        try:
            self.context()
        except (ssl.SSLError, OSError, ValueError):
            return False
        return True

    def context(self) -> ssl.SSLContext:
        if self.cadata is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.load_verify_locations(cadata=self.cadata)
            return context
        context = ssl.create_default_context()
        if self.cafile:
            context.load_verify_locations(cafile=self.cafile)
        return context


@dataclass(frozen=True)
class CertFacts:
    subject: str
    issuer: str
    sans: tuple[str, ...]
    not_before: str
    not_after: str
    chain: tuple[str, ...]  # subjects, leaf first, as the server presented them
    self_signed: bool
    ca_issuers_url: bool  # the leaf says where its issuer can be fetched (AIA)

    @property
    def looks_incomplete(self) -> bool:
        """A leaf sent alone, issued by someone else, that points at its issuer: a server that
        forgot its intermediate (a leaf from an unknown CA rarely carries AIA)."""
        return len(self.chain) == 1 and not self.self_signed and self.ca_issuers_url

    def days_left(self, now: datetime | None = None) -> float:
        moment = now or datetime.now(timezone.utc)
        return (datetime.fromisoformat(self.not_after) - moment).total_seconds() / 86400

    def as_evidence(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "sans": list(self.sans),
            "not_before": self.not_before,
            "not_after": self.not_after,
            "chain": list(self.chain),
        }


def _parse(ders: list[bytes]) -> CertFacts | None:
    from cryptography import x509
    from cryptography.x509.oid import AuthorityInformationAccessOID

    if not ders:
        return None
    certs = [x509.load_der_x509_certificate(der) for der in ders]
    leaf = certs[0]
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = tuple(
            [str(v) for v in san.get_values_for_type(x509.DNSName)]
            + [str(v) for v in san.get_values_for_type(x509.IPAddress)]
        )
    except x509.ExtensionNotFound:
        sans = ()
    try:
        aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess)
        ca_issuers = any(
            d.access_method == AuthorityInformationAccessOID.CA_ISSUERS for d in aia.value
        )
    except x509.ExtensionNotFound:
        ca_issuers = False
    return CertFacts(
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        sans=sans,
        not_before=leaf.not_valid_before_utc.isoformat(),
        not_after=leaf.not_valid_after_utc.isoformat(),
        chain=tuple(c.subject.rfc4514_string() for c in certs),
        self_signed=leaf.issuer == leaf.subject,
        ca_issuers_url=ca_issuers,
    )


def facts_from_socket(sock: ssl.SSLSocket) -> CertFacts | None:
    sslobj = getattr(sock, "_sslobj", None)
    chain = getattr(sslobj, "get_unverified_chain", None)  # public from Python 3.13 on
    ders: list[bytes] = []
    if chain is not None:
        ders = [cert.public_bytes(ssl._ssl.ENCODING_DER) for cert in chain() or []]  # type: ignore[attr-defined]
    if not ders:
        leaf = sock.getpeercert(binary_form=True)
        ders = [leaf] if leaf else []
    return _parse(ders)


def collect_facts(sock: socket.socket, server_name: str, timeout: float) -> CertFacts | None:
    """Handshake without verification, only to read what the server presents."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        sock.settimeout(timeout)
        with context.wrap_socket(sock, server_hostname=server_name) as wrapped:
            return facts_from_socket(wrapped)
    except (OSError, ValueError):
        sock.close()
        return None


def classify_tls_error(exc: BaseException) -> tuple[str, str]:
    """(kind, detail): untrusted, self-signed, hostname-mismatch, expired, not-yet-valid,
    not-tls, timeout or handshake-failed."""
    detail = str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        detail = exc.verify_message or detail
        if code == _EXPIRED:
            return "expired", detail
        if code == _NOT_YET_VALID:
            return "not-yet-valid", detail
        if code in (_SELF_SIGNED, _SELF_SIGNED_IN_CHAIN):
            return "self-signed", detail
        if code in (_HOSTNAME_MISMATCH, _IP_MISMATCH):
            return "hostname-mismatch", detail
        return "untrusted", detail
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout", detail
    lowered = detail.lower()
    if any(s in lowered for s in ("wrong version number", "record layer", "packet length", "http")):
        return "not-tls", detail
    return "handshake-failed", detail
