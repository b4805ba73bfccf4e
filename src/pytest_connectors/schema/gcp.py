"""Gcp: a service-account key (file secret), the delegate's identity, or OIDC workload identity."""

from __future__ import annotations

from ..model import Credential, GcpSpec, SecretKind
from .inherit import read_credential_envelope
from .reader import SpecReader


def build(reader: SpecReader) -> GcpSpec:
    envelope = read_credential_envelope(
        reader, ("ManualConfig", "InheritFromDelegate", "OidcAuthentication")
    )
    credential: Credential | None = None
    if envelope.type == "InheritFromDelegate":
        credential = Credential("InheritFromDelegate")
    elif envelope.spec is not None and envelope.type == "ManualConfig":
        credential = envelope.spec.credential(
            "ManualConfig", refs=(("secretKeyRef", SecretKind.GCP_KEY_JSON, True),)
        )
    elif envelope.spec is not None and envelope.type == "OidcAuthentication":
        credential = envelope.spec.credential(
            "OidcAuthentication",
            plain=("workloadPoolId", "providerId", "gcpProjectId", "serviceAccountEmail"),
        )
    return GcpSpec(envelope.type, credential)
