"""``tls``: each HTTPS endpoint completes a verified handshake; facts are reported either way.

A plain-HTTP endpoint that answers with TLS (or an HTTPS one that does not speak TLS) is an
``incorrect-endpoint``: the URL's scheme does not match the port.
"""

from __future__ import annotations

from typing import Any

from ..probes.connection import TlsResult
from ..results import Phase
from . import Check
from .context import CheckContext
from .network import applies_to_network, connection, endpoints

TLS_MODES = {
    "untrusted": "tls-untrusted-certificate",
    "self-signed": "tls-untrusted-certificate",
    "incomplete-chain": "tls-incomplete-chain",
    "hostname-mismatch": "tls-hostname-mismatch",
    "expired": "tls-certificate-expired",
    "not-yet-valid": "tls-certificate-expired",
    "not-tls": "incorrect-endpoint",
    "timeout": "connection-timeout",
    "handshake-failed": "incorrect-endpoint",
}

_CAUSES = {
    "untrusted": "the certificate's issuer is not trusted by {ca}",
    "self-signed": "the certificate is self-signed and not trusted by {ca}",
    "incomplete-chain": "the server sends its leaf certificate without the intermediate that"
    " issued it, so {ca} cannot build the chain",
    "hostname-mismatch": "the certificate does not cover {host}",
    "expired": "the certificate expired",
    "not-yet-valid": "the certificate is not valid yet",
    "not-tls": "the port does not speak TLS: the URL should probably start with http://, or"
    " name another port",
    "timeout": "the TLS handshake did not finish within the timeout",
    "handshake-failed": "the TLS handshake failed",
}


def _evidence(endpoint_host: str, port: int, tls: TlsResult) -> dict[str, Any]:
    evidence: dict[str, Any] = {"host": endpoint_host, "port": port, "ca_source": tls.ca_source}
    if tls.facts is not None:
        evidence.update(tls.facts.as_evidence())
        evidence["days_left"] = round(tls.facts.days_left(), 1)
    return evidence


def check_tls(ctx: CheckContext) -> None:
    warning_days = ctx.settings.defaults.certExpiryWarningDays
    for endpoint in endpoints(ctx):
        if endpoint.scheme == "ssh":
            continue
        probe = connection(ctx, endpoint)
        if endpoint.scheme == "http":
            byte = probe.first_byte
            if byte is not None and byte.error == "speaks-tls":
                ctx.fail(
                    "incorrect-endpoint",
                    f"{endpoint.url} is plain HTTP, but {endpoint.address} answers with TLS:"
                    " the URL should start with https://",
                    url=endpoint.url,
                    problem="plain HTTP sent to a TLS port",
                )
            continue
        tls = probe.tls
        if tls is None:
            continue  # never connected (the tcp and proxy checks own that)
        evidence = _evidence(endpoint.host, endpoint.port, tls)
        ctx.note(**{endpoint.address: evidence})
        if tls.error is not None:
            cause = _CAUSES[tls.error].format(ca=tls.ca_source, host=endpoint.host)
            if tls.error == "hostname-mismatch" and tls.facts is not None:
                cause += f" (it names {', '.join(tls.facts.sans) or 'no DNS names'})"
            mode = TLS_MODES[tls.error]
            if mode == "incorrect-endpoint":
                evidence.update(url=endpoint.url, problem=cause)
            message = f"{endpoint.address}: {cause}" + (f" ({tls.detail})" if tls.detail else "")
            ctx.fail(mode, message, **evidence)
            continue
        days = tls.facts.days_left() if tls.facts else None
        if days is not None and days <= warning_days:
            ctx.warn(
                "tls-certificate-expiring",
                f"{endpoint.address}: the certificate expires in {days:.1f} days"
                f" ({tls.facts.not_after if tls.facts else ''})",
                **evidence,
            )


TLS = Check(
    "tls",
    Phase.CONNECTIVITY,
    check_tls,
    applies_to_network,
    ("definition", "expressions", "delegate", "secrets", "dns", "proxy", "tcp"),
    network=True,
    description="verified TLS handshake; subject, issuer, SANs, expiry and chain reported",
)
