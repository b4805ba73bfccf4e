"""Secret values and where they come from.

A :class:`Secret` shows ``***`` in ``repr``/``str``; :meth:`Secret.reveal` hands the value to the
check that needs it. Every value is registered with the masker when its source yields it: the
values of the secrets file and of ``CONNECTOR_SECRET_*`` variables at start-up (their sources'
``register_values``), before any item runs; others as they are resolved.

:class:`SecretChain` asks its sources in order: the secrets file, the environment, secret managers
defined as connectors (added by the Vault support), then the ``pytest_connectors_resolve_secret``
hook. A reference no source can resolve raises :class:`SecretNotFound`, which lists what was asked.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .masking import MASKER
from .refs import Reference, Scope, ScopeId
from .yamlload import YamlMap, load_documents

ACCOUNT = ScopeId()


class Secret:
    """A secret value that never prints itself."""

    __slots__ = ("_value", "reference", "source")

    def __init__(self, value: str, reference: str, source: str) -> None:
        MASKER.add(value, reference)
        self._value = value
        self.reference = reference
        self.source = source

    def reveal(self) -> str:
        return self._value

    def mask_case_variants(self) -> None:
        """The product re-cases this value (a user name in a Bitbucket API path is
        lower-cased): its lower- and upper-cased forms are masked too."""
        MASKER.add(self._value, self.reference, case_variants=True)

    def __repr__(self) -> str:
        return f"Secret({self.reference!r}, value=***, source={self.source!r})"

    def __str__(self) -> str:
        return "***"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class SecretAddress:
    """A secret as located: the scope it lives in and its identifier."""

    scope: ScopeId
    identifier: str

    @property
    def ref(self) -> str:
        return self.scope.ref_to(self.identifier)

    def describe(self) -> str:
        return f"'{self.identifier}' at {self.scope.describe()}"


class SecretSourceError(Exception):
    """A source knows the secret but cannot produce it (e.g. a missing file).

    ``evidence`` holds facts for the report (no secret values): e.g. the secret manager and
    the path that was asked.
    """

    def __init__(self, message: str, **evidence: Any) -> None:
        super().__init__(message)
        self.evidence: dict[str, Any] = evidence


class SecretDeferred(SecretSourceError):
    """A source has the secret but does not read it in this run (``--connectors-offline``)."""


class SecretManagerDown(SecretSourceError):
    """The secret manager holding the secret is sealed, not initialised, a standby, or
    unreachable: ``evidence`` has ``manager``, ``vault_url`` and ``state``."""


class SecretSource(Protocol):
    """A place secret values come from. A source may say whether it is ``configured`` (holds
    anything at all); one that does not say is taken to be."""

    name: str

    def lookup(self, address: SecretAddress) -> str | None: ...

    def describe(self, address: SecretAddress) -> str:
        """What was asked, for the report; empty when this source has nothing to do with
        ``address`` (it is then left out of the list)."""
        ...


class SecretNotFound(Exception):
    def __init__(
        self,
        address: SecretAddress,
        asked: list[str],
        problems: list[SecretSourceError] | None = None,
    ) -> None:
        super().__init__(f"secret {address.describe()} not found; asked: {'; '.join(asked)}")
        self.address = address
        self.asked = asked
        self.problems = list(problems or [])

    @property
    def manager_down(self) -> SecretManagerDown | None:
        """The secret manager that holds the secret but is unhealthy, if that is the cause."""
        return next((p for p in self.problems if isinstance(p, SecretManagerDown)), None)

    @property
    def deferred(self) -> bool:
        """Only a source that does not read in this run has it (offline): not an error."""
        return bool(self.problems) and all(isinstance(p, SecretDeferred) for p in self.problems)


def _file_candidates(address: SecretAddress) -> list[str]:
    scope, ident = address.scope, address.identifier
    if scope.level is Scope.ACCOUNT:
        return [f"account.{ident}"]
    if scope.level is Scope.ORG:
        return [f"{scope.org}/{ident}", f"org.{ident}"]
    return [f"{scope.org}/{scope.project}/{ident}", ident]


class SecretsFileSource:
    """``--connectors-secrets FILE``: a YAML mapping from reference to value or ``{file: path}``."""

    name = "secrets file"

    def __init__(self, path: Path, values: Mapping[str, object]) -> None:
        self.path = path
        self.values = values

    @classmethod
    def load(cls, path: Path) -> SecretsFileSource:
        """Read the file; raises ``ValueError`` with a clear message when it is unusable."""
        documents = load_documents(path)
        values: dict[str, object] = {}
        for document in documents:
            if document.problem is not None:
                raise ValueError(f"{path}:{document.problem.line}: {document.problem.message}")
            if document.data is None:
                continue
            if not isinstance(document.data, YamlMap):
                raise ValueError(
                    f"{path}:{document.line}: the secrets file must map references to values"
                )
            values.update({str(k): v for k, v in document.data.items()})
        return cls(path, values)

    def lookup(self, address: SecretAddress) -> str | None:
        for key in _file_candidates(address):
            if key in self.values:
                return self._value_of(key, self.values[key])
        return None

    def register_values(self) -> None:
        """Hand every value of the file to the masker (at start-up: before any item runs)."""
        for key, value in self.values.items():
            try:
                MASKER.add(self._value_of(key, value), key)
            except SecretSourceError:
                continue  # reported when a connector asks for it

    def _value_of(self, key: str, value: object) -> str:
        if isinstance(value, dict):
            if set(value) != {"file"}:
                raise SecretSourceError(f"{self.path}: '{key}' must be a value or {{file: path}}")
            target = Path(str(value["file"]))
            if not target.is_absolute():
                target = self.path.parent / target
            try:
                return target.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SecretSourceError(f"{self.path}: '{key}' names {target}: {exc}") from exc
        if value is None or isinstance(value, list):
            raise SecretSourceError(f"{self.path}: '{key}' has no usable value")
        return str(value)

    def describe(self, address: SecretAddress) -> str:
        return f"secrets file {self.path} (keys {', '.join(_file_candidates(address))})"


ENV_PREFIX = "CONNECTOR_SECRET_"


def env_var_name(address: SecretAddress) -> str:
    return f"{ENV_PREFIX}{address.scope.level.value.upper()}_{address.identifier}"


def env_var_reference(name: str) -> str:
    """The reference a ``CONNECTOR_SECRET_<SCOPE>_<identifier>`` variable stands for
    (``account.x``, ``org.x``, ``x``), or the variable's name if it names no scope."""
    scope, _, identifier = name.removeprefix(ENV_PREFIX).partition("_")
    prefix = {"ACCOUNT": "account.", "ORG": "org.", "PROJECT": ""}.get(scope)
    return f"{prefix}{identifier}" if prefix is not None and identifier else name


class EnvironmentSource:
    name = "environment"

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ

    def lookup(self, address: SecretAddress) -> str | None:
        return self.environ.get(env_var_name(address))

    def register_values(self) -> None:
        """Hand every ``CONNECTOR_SECRET_*`` value to the masker (at start-up)."""
        for name, value in self.environ.items():
            if name.startswith(ENV_PREFIX) and value:
                MASKER.add(value, env_var_reference(name))

    @property
    def configured(self) -> bool:
        # an empty variable is no source: CI on a fork expands `${{ secrets.X }}` to ""
        return any(key.startswith(ENV_PREFIX) and value for key, value in self.environ.items())

    def describe(self, address: SecretAddress) -> str:
        return f"environment variable {env_var_name(address)}"


class HookSource:
    """The ``pytest_connectors_resolve_secret(ref, scope, config)`` hook (first result wins)."""

    name = "hook"

    def __init__(self, call: Callable[[str, ScopeId], str | None], configured: bool = True) -> None:
        self.call = call
        self.configured = configured  # False when no plugin or conftest implements the hook

    def lookup(self, address: SecretAddress) -> str | None:
        try:
            return self.call(address.ref, address.scope)
        except Exception as exc:  # a failing backend is a named finding, not a crash
            raise SecretSourceError(f"the hook raised {type(exc).__name__}: {exc}") from exc

    def describe(self, address: SecretAddress) -> str:
        return "hook pytest_connectors_resolve_secret"


class SecretChain:
    """The secret sources, asked in order; resolved values are cached for the run."""

    def __init__(self, sources: list[SecretSource]) -> None:
        self.sources = list(sources)
        self._cache: dict[SecretAddress, Secret | SecretNotFound] = {}

    def add_source_before_hook(self, source: SecretSource) -> None:
        """Adds ``source`` before the hook source (the hook is asked last), else at the end."""
        hooks = [i for i, s in enumerate(self.sources) if isinstance(s, HookSource)]
        self.add_source(source, hooks[0] if hooks else None)

    def add_source(self, source: SecretSource, index: int | None = None) -> None:
        self.sources.insert(len(self.sources) if index is None else index, source)
        self._cache.clear()

    @property
    def has_source(self) -> bool:
        """Whether any source can give a value at all (PR lint from a fork has none)."""
        return any(getattr(source, "configured", True) for source in self.sources)

    def address(self, ref: str | Reference, holder: ScopeId = ACCOUNT) -> SecretAddress:
        reference = Reference.parse(ref) if isinstance(ref, str) else ref
        target = reference.target(holder)
        if target is None:
            raise ValueError(reference.problem or f"invalid reference {reference.raw!r}")
        return SecretAddress(target, reference.identifier)

    def resolve(self, ref: str | Reference, holder: ScopeId = ACCOUNT) -> Secret:
        """The secret ``ref`` names, seen from ``holder``; raises :class:`SecretNotFound`."""
        address = self.address(ref, holder)
        cached = self._cache.get(address)
        if cached is None:
            cached = self._lookup(address)
            self._cache[address] = cached
        if isinstance(cached, SecretNotFound):
            raise cached
        return cached

    def _lookup(self, address: SecretAddress) -> Secret | SecretNotFound:
        asked: list[str] = []
        problems: list[SecretSourceError] = []
        for source in self.sources:
            try:
                value = source.lookup(address)
            except SecretSourceError as exc:
                asked.append(f"{source.describe(address)}: {exc}")
                problems.append(exc)
                continue
            if value is None:
                described = source.describe(address)
                if described:  # a source with nothing to say about this secret stays silent
                    asked.append(described)
            elif value == "":
                asked.append(f"{source.describe(address)}: empty value")
            else:
                return Secret(value, address.ref, source.name)
        return SecretNotFound(address, asked, problems)
