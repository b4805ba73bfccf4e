"""Vault: a flat spec; the auth method is derived from which fields are set, as Harness does."""

from __future__ import annotations

from ..model import Credential, SecretKind, VaultSpec
from .reader import SpecReader

#: The flags that pick an auth method; Harness lets at most one be true.
_METHOD_FLAGS = ("useVaultAgent", "useAwsIam", "useK8sAuth", "useJwtAuth")


def _read_jwt(reader: SpecReader) -> Credential:
    """JWT auth (``useJwtAuth``): the delegate logs in at ``auth/<jwtAuthPath>/login`` with a
    JWT Harness issues. ``jwtAuthRole`` and ``jwtAuthPath`` are optional, as in harness-go-sdk's
    VaultConnector and the Terraform provider: Vault falls back to the mount's ``default_role``,
    and the checks to the ``jwt`` mount."""
    values = {key: value for key in ("jwtAuthRole", "jwtAuthPath") if (value := reader.text(key))}
    return Credential("Jwt", values)


def _read_auth(reader: SpecReader) -> Credential:
    agent, aws_iam, k8s, jwt = (reader.boolean(flag) for flag in _METHOD_FLAGS)
    if sum((agent, aws_iam, k8s, jwt)) > 1:
        reader.error(
            None, "only one of useVaultAgent, useAwsIam, useK8sAuth and useJwtAuth may be true"
        )
    selectors = reader.strings("delegateSelectors")
    plain: tuple[str, ...]
    if agent:
        kind, plain = "VaultAgent", ("sinkPath",)
    elif aws_iam:
        kind, plain = "AwsIam", ("vaultAwsIamRole", "awsRegion")
    elif k8s:
        kind, plain = "K8sAuth", ("vaultK8sAuthRole", "serviceAccountTokenPath")
    elif jwt:
        return _read_jwt(reader)  # any delegate can present a Harness-issued JWT: no selectors
    elif reader.has("appRoleId"):
        return reader.credential(
            "AppRole", plain=("appRoleId",), refs=(("secretId", SecretKind.TEXT, True),)
        )
    else:
        return reader.credential("Token", refs=(("authToken", SecretKind.TEXT, True),))
    if not selectors:
        reader.error("delegateSelectors", f"Vault {kind} authentication needs delegate selectors")
    refs = (("xvaultAwsIamServerId", SecretKind.TEXT, False),) if aws_iam else ()
    credential = reader.credential(kind, plain=plain, refs=refs)
    endpoint = reader.text("k8sAuthEndpoint") if k8s else None
    if endpoint:  # the auth mount path (default "kubernetes")
        return Credential(kind, {**credential.values, "k8sAuthEndpoint": endpoint}, credential.refs)
    return credential


def build(reader: SpecReader) -> VaultSpec:
    vault_url = reader.url("vaultUrl")
    engine_version = reader.integer("secretEngineVersion", minimum=1)
    if engine_version is not None and engine_version > 2:
        reader.error("secretEngineVersion", f"KV version must be 1 or 2, not {engine_version}")
    return VaultSpec(
        vault_url=vault_url,
        base_path=reader.text("basePath") or "harness",
        namespace=reader.text("namespace"),
        engine_name=reader.text("secretEngineName"),
        engine_version=engine_version,
        renewal_interval_minutes=reader.integer("renewalIntervalMinutes", minimum=0),
        read_only=reader.boolean("readOnly"),
        auth=_read_auth(reader),
    )
