"""Azure: a service principal (secret or certificate), a managed identity, or OIDC."""

from __future__ import annotations

import re

from ..model import AzureSpec, Credential, SecretKind
from ..refs import is_expression
from .inherit import read_credential_envelope
from .reader import SpecReader

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
#: Entra ID also takes a tenant by one of its domain names (contoso.onmicrosoft.com).
_TENANT_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$")


def _guid(reader: SpecReader, key: str, *, required: bool = True) -> str | None:
    value = reader.text(key, required=required)
    if value and not is_expression(value) and not _GUID.match(value):
        reader.error(key, f"'{value}' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
    return value


def _read_secret_auth(reader: SpecReader) -> Credential | None:
    auth = reader.sub("auth", required=True)
    if auth is None:
        return None
    kind = auth.enum("type", ("Secret", "Certificate"))
    spec = auth.sub("spec", required=kind is not None)
    if kind is None or spec is None:
        return None
    if kind == "Secret":
        return spec.credential(kind, refs=(("secretRef", SecretKind.TEXT, True),))
    return spec.credential(kind, refs=(("certificateRef", SecretKind.CERTIFICATE_AND_KEY, True),))


def _read_managed_identity(reader: SpecReader) -> Credential | None:
    auth = reader.sub("auth", required=True)
    if auth is None:
        return None
    kind = auth.enum("type", ("UserAssignedManagedIdentity", "SystemAssignedManagedIdentity"))
    if kind != "UserAssignedManagedIdentity":
        return Credential(kind) if kind else None
    spec = auth.sub("spec", required=True)
    client_id = _guid(spec, "clientId") if spec else None
    return Credential(kind, {"clientId": client_id} if client_id else {})


def build(reader: SpecReader) -> AzureSpec:
    environment = reader.enum(
        "azureEnvironmentType", ("AZURE", "AZURE_US_GOVERNMENT"), required=False
    )
    envelope = read_credential_envelope(
        reader,
        ("ManualConfig", "InheritFromDelegate", "OidcAuthentication"),
        inherit_has_spec=True,
    )
    spec = envelope.spec
    if spec is None:
        return AzureSpec(envelope.type, None, None, None, environment)
    if envelope.type == "InheritFromDelegate":
        return AzureSpec(envelope.type, None, None, _read_managed_identity(spec), environment)
    application_id = _guid(spec, "applicationId")
    tenant_id = spec.text("tenantId", required=True)
    known_form = bool(tenant_id and (_GUID.match(tenant_id) or _TENANT_DOMAIN.match(tenant_id)))
    if tenant_id and not is_expression(tenant_id) and not known_form:
        spec.error(
            "tenantId",
            f"'{tenant_id}' is neither a tenant id (a GUID) nor one of the tenant's domain"
            " names (e.g. contoso.onmicrosoft.com)",
        )
    if envelope.type == "OidcAuthentication":
        audience = spec.text("audience") or "api://AzureADTokenExchange"
        auth: Credential | None = Credential("OidcAuthentication", {"audience": audience})
    else:
        auth = _read_secret_auth(spec)
    return AzureSpec(envelope.type, application_id, tenant_id, auth, environment)
