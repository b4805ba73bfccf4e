"""DockerRegistry: registry URL, provider and Basic credentials or anonymous access."""

from __future__ import annotations

from ..model import Credential, DockerRegistrySpec, SecretKind
from .reader import SpecReader


def build(reader: SpecReader) -> DockerRegistrySpec:
    url = reader.url("dockerRegistryUrl")
    provider = reader.enum("providerType", ("DockerHub", "Harbor", "Quay", "Other"))
    auth_reader = reader.sub("auth", required=True)
    auth: Credential | None = None
    if auth_reader is not None:
        kind = auth_reader.enum("type", ("UsernamePassword", "Anonymous"))
        if kind == "Anonymous":
            # DockerAuthenticationDTODeserializer refuses any spec that is not null
            if auth_reader.data.get("spec") is not None:
                auth_reader.error("spec", "Anonymous authentication takes no 'spec'")
            auth = Credential(kind)
        elif kind == "UsernamePassword":
            spec = auth_reader.sub("spec", required=True)
            if spec is not None:
                auth = spec.credential(
                    kind,
                    plain_or_ref=("username",),
                    refs=(("passwordRef", SecretKind.TEXT, True),),
                )
    return DockerRegistrySpec(url, provider, auth)
