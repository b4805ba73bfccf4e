"""The ``credential: {type, spec}`` envelope shared by K8sCluster, Aws, Gcp and Azure.

Harness rejects a ``spec`` on credentials inherited from the delegate, and requires delegate
selectors for them: the delegate's own identity is the credential.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..refs import is_expression
from .reader import SpecReader

#: Credential types whose identity is the delegate's (no spec, selectors required).
DELEGATE_IDENTITY = ("InheritFromDelegate", "Irsa")


@dataclass
class Envelope:
    credential: SpecReader | None
    type: str | None
    spec: SpecReader | None


def read_credential_envelope(
    reader: SpecReader, types: tuple[str, ...], *, inherit_has_spec: bool = False
) -> Envelope:
    credential = reader.sub("credential", required=True)
    if credential is None:
        return Envelope(None, None, None)
    kind = credential.enum("type", types)
    inherits = kind in DELEGATE_IDENTITY
    if inherits and not reader.strings("delegateSelectors"):
        reader.error(
            "delegateSelectors",
            f"credential type {kind} needs at least one delegate selector: the delegate's own"
            " identity is the credential",
        )
    if kind in ("InheritFromDelegate", "Irsa") and _is_false(reader.data.get("executeOnDelegate")):
        reader.error(
            "executeOnDelegate",
            f"credential type {kind} is the delegate's own identity, so the connector cannot"
            " connect through Harness Platform (executeOnDelegate: false); Harness refuses to"
            " validate it that way",
        )
    if inherits and not inherit_has_spec:
        # Harness's credential deserializers reject any spec that is not null: `spec: {}` too.
        if credential.data.get("spec") is not None:
            credential.error(
                "spec", f"credential type {kind} takes no 'spec' (not even an empty one)"
            )
        return Envelope(credential, kind, None)
    # A credential type given as a runtime input cannot tell whether a spec is needed.
    needs_spec = kind is not None and kind not in DELEGATE_IDENTITY and not is_expression(kind)
    spec = credential.sub("spec", required=needs_spec)
    return Envelope(credential, kind, spec)


def _is_false(value: object) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")
