"""Aws: static keys, the delegate's identity (InheritFromDelegate, Irsa) or OIDC; AssumeRole."""

from __future__ import annotations

import re

from ..model import AwsSpec, Credential, SecretKind
from ..refs import is_expression
from .inherit import read_credential_envelope
from .reader import SpecReader

_ROLE_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")


def _role_arn(reader: SpecReader, key: str) -> str | None:
    arn = reader.text(key, required=True)
    if arn and not is_expression(arn) and not _ROLE_ARN.match(arn):
        reader.error(
            key, f"'{arn}' is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)"
        )
    return arn


def build(reader: SpecReader) -> AwsSpec:
    envelope = read_credential_envelope(
        reader,
        ("ManualConfig", "InheritFromDelegate", "Irsa", "OidcAuthentication", "CredentialBroker"),
    )
    credential: Credential | None = None
    if envelope.type in ("InheritFromDelegate", "Irsa"):
        credential = Credential(envelope.type)
    elif envelope.spec is not None and envelope.type == "ManualConfig":
        credential = envelope.spec.credential(
            "ManualConfig",
            plain_or_ref=("accessKey",),
            refs=(("secretKeyRef", SecretKind.TEXT, True),),
        )
    elif envelope.spec is not None and envelope.type == "OidcAuthentication":
        arn = _role_arn(envelope.spec, "iamRoleArn")
        credential = Credential("OidcAuthentication", {"iamRoleArn": arn} if arn else {})
    elif envelope.spec is not None and envelope.type == "CredentialBroker":
        # Harness's 2026 connector schema (AwsCredentialBrokerSpec): a broker service hands out
        # the credentials; loaded, not checked live.
        broker = envelope.spec.credential(
            "CredentialBroker", refs=(("signedSecretRef", SecretKind.TEXT, False),)
        )
        url = envelope.spec.url("url", required=False)
        credential = Credential("CredentialBroker", {"url": url} if url else {}, broker.refs)
    region = role_arn = external_id = None
    if envelope.credential is not None:
        region = envelope.credential.text("region")
        if region and not is_expression(region) and not _REGION.match(region):
            envelope.credential.error(
                "region", f"'{region}' is not an AWS region name (e.g. us-east-1)"
            )
        cross = envelope.credential.sub("crossAccountAccess")
        if cross is not None:
            role_arn = _role_arn(cross, "crossAccountRoleArn")
            external_id = cross.text("externalId")
    return AwsSpec(envelope.type, credential, region, role_arn, external_id)
