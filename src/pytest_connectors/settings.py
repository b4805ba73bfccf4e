"""Our own settings document (``pytestConnectors:``): defaults, delegate inventory, expectations.

Validated like a connector: an unknown key is a definition error naming the key (with a
did-you-mean), never a crash. Several documents merge in load order; command-line options win.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .model import DefinitionError
from .refs import Reference
from .schema.reader import Findings, SpecReader, did_you_mean
from .yamlload import YamlMap, YamlSeq

#: Check names a connector's expectations may skip (the registry may add more at run time).
PROVIDER_KEYS = (
    "github",
    "gitlab",
    "bitbucket",
    "kubernetes",
    "aws",
    "gcp",
    "azure",
    "vault",
    "docker",
)


@dataclass(frozen=True)
class Defaults:
    timeout: float = 10.0
    latencyBudget: float = 1.0
    certExpiryWarningDays: int = 14
    credentialExpiryWarningDays: int = 7
    rateLimitHeadroom: float = 0.10
    #: delegate-resource-constraints above this load average per core ...
    loadPerCoreWarning: float = 2.0
    #: ... or below this share of the memory available
    memoryAvailableWarning: float = 0.10


@dataclass(frozen=True)
class ProxySettings:
    url: str
    no_proxy: tuple[str, ...] = ()
    user_ref: Reference | None = None
    password_ref: Reference | None = None


@dataclass(frozen=True)
class DelegateEntry:
    name: str
    tags: tuple[str, ...] = ()
    connected: bool = True
    healthy: bool = True
    proxy: ProxySettings | None = None
    resolvers: tuple[str, ...] = ()
    ca_bundle: str | None = None
    region: str | None = None

    @property
    def selectors(self) -> frozenset[str]:
        """What Harness matches selectors against: its tags plus its own name, lower-cased."""
        return frozenset(t.lower() for t in (*self.tags, self.name))


@dataclass(frozen=True)
class Expectations:
    skip: tuple[str, ...] = ()
    provider: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    defaults: Defaults = field(default_factory=Defaults)
    delegates: tuple[DelegateEntry, ...] = ()
    connectors: Mapping[str, Expectations] = field(default_factory=dict)

    def expectations_for(self, ref: str) -> Expectations:
        return self.connectors.get(ref, Expectations())


_DEFAULT_TYPES = {f.name: f.type for f in fields(Defaults)}


def _unknown_keys(reader: SpecReader, allowed: tuple[str, ...]) -> None:
    for key in reader.data:
        if key not in allowed:
            reader.error(key, f"unknown key '{key}'", did_you_mean(key, allowed))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _number(reader: SpecReader, key: str, as_int: bool) -> float | int | None:
    value = reader.data.get(key)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        reader.error(key, f"'{key}' must be a non-negative number, not {value!r}")
        return None
    return int(value) if as_int else float(value)


def _read_defaults(reader: SpecReader) -> dict[str, Any]:
    _unknown_keys(reader, tuple(_DEFAULT_TYPES))
    values: dict[str, Any] = {}
    for key in _DEFAULT_TYPES:
        if key in reader.data:
            number = _number(reader, key, as_int=key.endswith("Days"))
            if number == 0 and key in ("timeout", "latencyBudget"):
                reader.error(key, f"'{key}' must be more than 0 seconds")
            elif number is not None:
                values[key] = number
    return values


def _read_proxy(reader: SpecReader) -> ProxySettings | None:
    _unknown_keys(reader, ("url", "noProxy", "userRef", "passwordRef"))
    url = reader.url("url")
    if url is None:
        return None
    user, password = reader.text("userRef"), reader.text("passwordRef")
    return ProxySettings(
        url=url,
        no_proxy=reader.strings("noProxy"),
        user_ref=Reference.parse(user) if user else None,
        password_ref=Reference.parse(password) if password else None,
    )


def _read_delegate(reader: SpecReader) -> DelegateEntry | None:
    allowed = ("name", "tags", "connected", "healthy", "proxy", "resolvers", "caBundle", "region")
    _unknown_keys(reader, allowed)
    name = reader.text("name", required=True)
    if name is None:
        return None
    proxy_reader = reader.sub("proxy")
    return DelegateEntry(
        name=name,
        tags=reader.strings("tags"),
        connected=reader.boolean("connected", default=True),
        healthy=reader.boolean("healthy", default=True),
        proxy=_read_proxy(proxy_reader) if proxy_reader else None,
        resolvers=reader.strings("resolvers"),
        ca_bundle=reader.text("caBundle"),
        region=reader.text("region"),
    )


def _read_expectations(reader: SpecReader) -> Expectations:
    _unknown_keys(reader, ("skip", *PROVIDER_KEYS))
    provider: dict[str, Mapping[str, Any]] = {}
    for key in PROVIDER_KEYS:
        sub = reader.sub(key)
        if sub is not None:
            provider[key] = _plain(sub.data)
    return Expectations(reader.strings("skip"), provider)


@dataclass(frozen=True)
class SettingsDocument:
    settings: Settings
    explicit_defaults: Mapping[str, Any]
    errors: tuple[DefinitionError, ...]


def read_settings(body: Any, path: str = "pytestConnectors") -> SettingsDocument:
    """Validate one ``pytestConnectors:`` mapping; errors name the key and line."""
    findings = Findings()
    if not isinstance(body, YamlMap):
        error = DefinitionError(path, getattr(body, "line", 1), f"'{path}' must be a mapping")
        return SettingsDocument(Settings(), {}, (error,))
    reader = SpecReader(body, path, findings)
    _unknown_keys(reader, ("defaults", "delegates", "connectors"))
    defaults_reader = reader.sub("defaults")
    explicit = _read_defaults(defaults_reader) if defaults_reader else {}
    delegates: list[DelegateEntry] = []
    raw_delegates = body.get("delegates")
    if isinstance(raw_delegates, YamlSeq):
        for index, item in enumerate(raw_delegates):
            if isinstance(item, YamlMap):
                entry = _read_delegate(SpecReader(item, f"{path}.delegates[{index}]", findings))
                if entry:
                    delegates.append(entry)
            else:
                reader.error("delegates", f"delegate #{index + 1} must be a mapping")
    elif raw_delegates is not None:
        reader.error("delegates", "'delegates' must be a list of delegates")
    connectors: dict[str, Expectations] = {}
    connectors_reader = reader.sub("connectors")
    if connectors_reader is not None:
        for ref in connectors_reader.data:
            sub = connectors_reader.sub(ref)
            if sub is not None:
                connectors[ref] = _read_expectations(sub)
    settings = Settings(replace(Defaults(), **explicit), tuple(delegates), connectors)
    return SettingsDocument(settings, explicit, tuple(findings.errors))


def merge_settings(documents: Iterable[SettingsDocument]) -> Settings:
    """Documents in load order: later defaults and expectations win; delegates add up."""
    explicit: dict[str, Any] = {}
    delegates: list[DelegateEntry] = []
    connectors: dict[str, Expectations] = {}
    for document in documents:
        explicit.update(document.explicit_defaults)
        delegates.extend(document.settings.delegates)
        connectors.update(document.settings.connectors)
    return Settings(replace(Defaults(), **explicit), tuple(delegates), connectors)
