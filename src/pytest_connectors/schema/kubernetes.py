"""K8sCluster: ManualConfig (master URL and one of four auth variants) or InheritFromDelegate."""

from __future__ import annotations

from ..model import Credential, KubernetesSpec, SecretKind
from .inherit import read_credential_envelope
from .reader import SpecReader

_CERT, _KEY, _T = SecretKind.K8S_CERTIFICATE, SecretKind.K8S_PRIVATE_KEY, SecretKind.TEXT


def _read_auth(reader: SpecReader) -> Credential | None:
    auth = reader.sub("auth", required=True)
    if auth is None:
        return None
    kind = auth.enum(
        "type", ("UsernamePassword", "ServiceAccount", "OpenIdConnect", "ClientKeyCert")
    )
    spec = auth.sub("spec", required=kind is not None)
    if kind is None or spec is None:
        return None
    if kind == "UsernamePassword":
        return spec.credential(
            kind,
            plain_or_ref=("username",),
            refs=(("passwordRef", _T, True), ("caCertRef", _CERT, False)),
        )
    if kind == "ServiceAccount":
        return spec.credential(
            kind,
            refs=(
                ("serviceAccountTokenRef", SecretKind.K8S_SA_TOKEN, True),
                ("caCertRef", _CERT, False),
            ),
        )
    if kind == "OpenIdConnect":
        credential = spec.credential(
            kind,
            optional_plain_or_ref=("oidcUsername",),
            refs=(
                ("oidcClientIdRef", _T, True),
                ("oidcPasswordRef", _T, True),
                ("oidcSecretRef", _T, False),
                ("caCertRef", _CERT, False),
            ),
        )
        issuer = spec.url("oidcIssuerUrl")
        scopes = spec.text("oidcScopes")
        values = dict(credential.values)
        if issuer:
            values["oidcIssuerUrl"] = issuer
        if scopes:
            values["oidcScopes"] = scopes
        return Credential(kind, values, credential.refs)
    credential = spec.credential(
        kind,
        refs=(
            ("clientCertRef", _CERT, True),
            ("clientKeyRef", _KEY, True),
            ("clientKeyPassphraseRef", _T, False),
            ("caCertRef", _CERT, False),
        ),
    )
    algo = spec.text("clientKeyAlgo")
    if algo:
        return Credential(kind, {**credential.values, "clientKeyAlgo": algo}, credential.refs)
    return credential


def build(reader: SpecReader) -> KubernetesSpec:
    envelope = read_credential_envelope(reader, ("ManualConfig", "InheritFromDelegate"))
    if envelope.spec is None:
        return KubernetesSpec(envelope.type, None, None)
    master_url = envelope.spec.url("masterUrl")
    return KubernetesSpec(envelope.type, master_url, _read_auth(envelope.spec))
