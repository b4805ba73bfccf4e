"""Connectors every Harness account has without a document (they are never in anyone's YAML).

* ``account.harnessImage``: the Docker registry connector of Harness's own images (the
  "Connect to the Harness container image registry" docs page), used by CI stages.
* ``harnessSecretManager``: the built-in secret manager, at account, org and project scope
  (``secretManagerIdentifier: harnessSecretManager`` in Harness's own secret snippets).
"""

from __future__ import annotations

from .refs import Reference, Scope, ScopeId

HARNESS_IMAGE = "harnessImage"
HARNESS_SECRET_MANAGER = "harnessSecretManager"

#: identifier -> (the scopes it exists at, what it is)
BUILTIN_CONNECTORS: dict[str, tuple[frozenset[Scope], str]] = {
    HARNESS_IMAGE: (frozenset({Scope.ACCOUNT}), "Harness's built-in image registry connector"),
    HARNESS_SECRET_MANAGER: (frozenset(Scope), "Harness's built-in secret manager"),
}


def builtin_at(scope: ScopeId, identifier: str) -> str | None:
    """What the built-in connector ``identifier`` at ``scope`` is, or None if there is none."""
    found = BUILTIN_CONNECTORS.get(identifier)
    if found is None or scope.level not in found[0]:
        return None
    return found[1]


def builtin_reference(reference: str, holder: ScopeId) -> str | None:
    """What a reference written from ``holder`` names, when it names a built-in connector."""
    parsed = Reference.parse(reference.strip())
    target = parsed.target(holder)
    return builtin_at(target, parsed.identifier) if target is not None else None


def is_builtin_secret_manager(reference: str | None) -> bool:
    """``harnessSecretManager`` with any scope prefix (or none): Harness's own manager."""
    if not reference:
        return True  # a secret without a manager is kept in the built-in one
    return Reference.parse(reference.strip()).identifier == HARNESS_SECRET_MANAGER
