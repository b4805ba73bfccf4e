"""Secrets kept in Vault: source 3 of the secret chain (SPEC §2.3).

A ``secret:`` document with ``valueType: Reference`` and ``secretManagerIdentifier`` naming a
Vault connector of the inventory says where the value lives: ``value: path#key``, read relative
to that connector's engine (``<secretEngineName>/<path>``; KV v2 through ``data/``), as Harness
reads it. The Vault connector's own checks decide whether it can be asked at all:

* its ``health`` check failed, or was blocked (unreachable) → :class:`SecretManagerDown`, which
  the ``secrets`` check of every connector using such a secret reports as
  ``secret-manager-unhealthy``;
* its own credential is resolved through this same chain and checked by its ``auth`` check; a
  refused credential, a missing path or key, or a denied read → the secret is not found, with
  the manager, the path and Vault's answer as evidence;
* ``--connectors-offline``: nothing is read (:class:`SecretDeferred`), and the ``secrets``
  check says so instead of failing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..masking import redact_url
from ..model import Connector, SecretDefinition, VaultSpec
from ..refs import Reference
from ..results import Failure, Outcome, Skip, SkipKind
from ..secrets import SecretAddress, SecretDeferred, SecretManagerDown, SecretSourceError
from .engine import SKIPPED_BY_SETTINGS, CheckCycle

if TYPE_CHECKING:
    from .engine import CheckEngine


class VaultSecretSource:
    name = "Vault"

    def __init__(self, engine: CheckEngine) -> None:
        self.engine = engine
        self._definitions: dict[tuple[Any, str], SecretDefinition] | None = None

    @property
    def configured(self) -> bool:
        """Offline, no secret manager is read."""
        return not self.engine.options.offline

    # -- which secrets are ours ----------------------------------------------------------------

    def _definition(self, address: SecretAddress) -> SecretDefinition | None:
        if self._definitions is None:
            self._definitions = {d.key: d for d in self.engine.inventory.secrets}
        found = self._definitions.get((address.scope, address.identifier))
        if found is None or (found.value_type or "").lower() != "reference" or not found.manager:
            return None
        return found

    def _manager(self, definition: SecretDefinition) -> Connector | None:
        assert definition.manager is not None
        reference = Reference.parse(definition.manager)
        scope = reference.target(definition.scope)
        if scope is None:
            return None
        manager = self.engine.inventory.connector(scope, reference.identifier)
        if manager is None or not isinstance(manager.spec, VaultSpec):
            return None
        return manager

    def describe(self, address: SecretAddress) -> str:
        definition = self._definition(address)
        if definition is None:
            return ""  # not a secret kept in a secret manager: nothing was asked
        manager = self._manager(definition)
        if manager is not None:
            return f"Vault connector {manager.ref} (secret {definition.file}:{definition.line})"
        return (
            f"secret manager '{definition.manager}' (not a Vault connector loaded in this run;"
            f" {definition.file}:{definition.line})"
        )

    # -- reading -----------------------------------------------------------------------------

    def lookup(self, address: SecretAddress) -> str | None:
        definition = self._definition(address)
        if definition is None:
            return None
        manager = self._manager(definition)
        if manager is None:
            return None
        where = f"Vault connector {manager.ref}"
        if self.engine.options.offline:
            raise SecretDeferred(
                f"{where}: not read with --connectors-offline", manager=manager.ref
            )
        own = {
            (r.reference.target(manager.scope), r.reference.identifier) for r in manager.secret_refs
        }
        if (address.scope, address.identifier) in own:
            raise SecretSourceError(
                f"{where}: its own credential is kept in itself, so it can never be read",
                manager=manager.ref,
            )
        # Longer cycles (A's token kept in B, B's in A) pass through the engine, which names
        # them (CheckCycle, see _require).
        return self._read(manager, definition)

    def _require(self, manager: Connector, check: str) -> None:
        """Raises when ``manager``'s own ``check`` did not pass."""
        try:
            result = self.engine.result(manager, check)
        except CheckCycle:
            raise SecretSourceError(
                f"Vault connector {manager.ref}: its own credential depends on a secret it"
                " holds, so it can never be read",
                manager=manager.ref, vault_problem="circular secret reference",
            ) from None  # fmt: skip
        url = _vault_url(manager)
        if result.not_checked and check == "auth" and result.skip_reason != SKIPPED_BY_SETTINGS:
            # its own login could not be checked here (AWS IAM, JWT, the extra missing):
            # the secret is not read from this host, which is not the same as missing
            raise SecretDeferred(
                f"Vault connector {manager.ref}: not read here: {result.skip_reason}",
                manager=manager.ref,
            )
        if result.defer_dependents:
            # The manager is another delegate's connector: only that delegate reaches it.
            raise SecretDeferred(
                f"Vault connector {manager.ref} is not read from this delegate:"
                f" {result.defer_dependents}",
                manager=manager.ref,
            )
        if check == "health" and (result.blocking is not None or _blocked(result)):
            mode = result.blocking.mode if result.blocking is not None else None
            if mode == "secret-manager-unhealthy" and result.blocking is not None:
                state = str(result.blocking.evidence.get("state") or "unhealthy")
            else:
                state = f"unreachable ({mode or result.skip_reason})"
            raise SecretManagerDown(
                f"Vault connector {manager.ref} is {state}",
                manager=manager.ref, vault_url=url, state=state,
            )  # fmt: skip
        if result.blocking is not None or _blocked(result):
            why = result.blocking.mode if result.blocking is not None else result.skip_reason
            raise SecretSourceError(
                f"Vault connector {manager.ref}: its {check} check did not pass ({why})",
                manager=manager.ref, vault_problem=f"{check}: {why}",
            )  # fmt: skip

    def _read(self, manager: Connector, definition: SecretDefinition) -> str | None:
        path, _, key = (definition.value_path or "").partition("#")
        path = path.strip().strip("/")
        key = key.strip()
        where = f"Vault connector {manager.ref}"
        if not path or not key:
            raise SecretSourceError(
                f"{where}: the secret's value '{definition.value_path}' is not 'path#key'",
                manager=manager.ref, vault_path=definition.value_path or "",
                vault_problem="the reference is not path#key",
            )  # fmt: skip
        self._require(manager, "health")
        self._require(manager, "auth")
        ctx = self.engine.context(manager)
        spec = manager.spec
        assert isinstance(spec, VaultSpec)
        engine_name = (spec.engine_name or "secret").strip("/")
        version = spec.engine_version or 2
        full = f"{engine_name}/data/{path}" if version == 2 else f"{engine_name}/{path}"
        evidence = {"manager": manager.ref, "vault_path": f"{full}#{key}"}
        from . import vault  # the Vault client stack, only when a Vault secret is read

        try:
            hvac = vault._hvac()
        except Skip as exc:  # the [vault] extra is missing: not read here, not missing
            raise SecretDeferred(f"{where}: not read here: {exc}", manager=manager.ref) from None
        try:
            client = vault.client(ctx, token=vault.login(ctx).token)
            with vault.translated(ctx, f"reading {full}"):
                if version == 2:
                    answer = client.secrets.kv.v2.read_secret_version(
                        path=path, mount_point=engine_name, raise_on_deleted_version=True
                    )
                    data = ((answer or {}).get("data") or {}).get("data") or {}
                else:
                    answer = client.secrets.kv.v1.read_secret(path=path, mount_point=engine_name)
                    data = (answer or {}).get("data") or {}
        except hvac.exceptions.InvalidPath:
            raise SecretSourceError(
                f"{where}: nothing at {full}", vault_problem="no secret at this path", **evidence
            ) from None
        except hvac.exceptions.Forbidden:
            raise SecretSourceError(
                f"{where}: its token may not read {full}",
                vault_problem="permission denied (the token's policies do not allow read)",
                **evidence,
            ) from None
        except hvac.exceptions.VaultError as exc:
            raise SecretSourceError(
                f"{where}: reading {full} failed: {vault._vault_errors(exc)}",
                vault_problem=vault._vault_errors(exc), **evidence,
            ) from None  # fmt: skip
        except Failure as exc:
            finding = exc.finding
            if finding.mode == "secret-manager-unhealthy":
                raise SecretManagerDown(
                    f"{where} is {finding.evidence.get('state')}",
                    manager=manager.ref, vault_url=_vault_url(manager),
                    state=str(finding.evidence.get("state")),
                ) from None  # fmt: skip
            raise SecretSourceError(
                f"{where}: {finding.cause}", vault_problem=finding.cause, **evidence
            ) from None
        except Skip as exc:  # a login this host cannot make (AWS IAM, JWT without a JWT)
            raise SecretDeferred(f"{where}: not read here: {exc}", **evidence) from None
        found, value = _value_at(data, key)
        if not found:
            keys = ", ".join(sorted(map(str, data))) if isinstance(data, dict) else "none"
            raise SecretSourceError(
                f"{where}: {full} has no key '{key}' (keys: {keys or 'none'})",
                vault_problem=f"the secret exists but has no key '{key}'", **evidence,
            )  # fmt: skip
        if value is None or isinstance(value, str):
            return value
        # A map, list, number or boolean is handed over as JSON text, as Harness does.
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _value_at(data: Any, key: str) -> tuple[bool, Any]:
    """``key`` in the secret's data; else ``a.b.c`` walks into nested maps (JSON secrets)."""
    if not isinstance(data, dict):
        return False, None
    if key in data:
        return True, data[key]
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _blocked(result: Any) -> bool:
    return bool(result.outcome is Outcome.SKIPPED and result.skip_kind is SkipKind.BLOCKED)


def _vault_url(connector: Connector) -> str:
    spec = connector.spec
    return redact_url(spec.vault_url or "") if isinstance(spec, VaultSpec) else ""


__all__ = ["VaultSecretSource"]
