"""Everything loaded from the connector paths: connectors, secrets, pipelines, settings, problems.

Loading never stops at a bad file: each unreadable document becomes a :class:`BrokenDocument`.
The inventory is built once per process and is identical on every xdist worker (files and
documents are visited in sorted, deterministic order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar, cast

from .model import (
    BrokenDocument,
    Connector,
    DefinitionError,
    PipelineDocument,
    SecretDefinition,
)
from .refs import ScopeId
from .schema import build_connector, build_pipeline, build_secret
from .settings import Settings, SettingsDocument, merge_settings, read_settings
from .yamlload import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_NODES, YamlMap, load_documents

T = TypeVar("T")

YAML_SUFFIXES = (".yaml", ".yml")
PIPELINE_KINDS = ("pipeline", "template", "inputSet")


@dataclass(frozen=True)
class SettingsEntry:
    """A ``pytestConnectors:`` document; only its errors become an item."""

    file: str
    line: int
    document: SettingsDocument


Entry = Connector | BrokenDocument | PipelineDocument | SettingsEntry


@dataclass(frozen=True)
class IgnoredDocument:
    file: str
    line: int
    key: str


@dataclass
class Inventory:
    entries: dict[Path, list[Entry]] = field(default_factory=dict)
    secrets: list[SecretDefinition] = field(default_factory=list)
    ignored: list[IgnoredDocument] = field(default_factory=list)
    settings: Settings = field(default_factory=Settings)
    display: dict[Path, str] = field(default_factory=dict)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def memo(self, name: str, compute: Callable[[Inventory], T]) -> T:
        """Derived data computed once per inventory (indexes, pipeline resolution)."""
        if name not in self._memo:
            self._memo[name] = compute(self)
        return cast(T, self._memo[name])

    @property
    def connectors(self) -> list[Connector]:
        return self.memo(
            "connectors",
            lambda inv: [e for es in inv.entries.values() for e in es if isinstance(e, Connector)],
        )

    def with_identifier(self, identifier: str) -> list[Connector]:
        """Connectors with this identifier at any scope."""

        def build(inventory: Inventory) -> dict[str, list[Connector]]:
            index: dict[str, list[Connector]] = {}
            for connector in inventory.connectors:
                index.setdefault(connector.identifier, []).append(connector)
            return index

        return self.memo("identifier-index", build).get(identifier, [])

    @property
    def pipelines(self) -> list[PipelineDocument]:
        return [
            e
            for entries in self.entries.values()
            for e in entries
            if isinstance(e, PipelineDocument)
        ]

    def connector(self, scope: ScopeId, identifier: str) -> Connector | None:
        return self._index().get((scope, identifier))

    def by_ref(self, ref: str) -> list[Connector]:
        return [c for c in self.connectors if c.ref == ref]

    def _index(self) -> dict[tuple[ScopeId, str], Connector]:
        def build(inventory: Inventory) -> dict[tuple[ScopeId, str], Connector]:
            index: dict[tuple[ScopeId, str], Connector] = {}
            for connector in inventory.connectors:
                index.setdefault(connector.key, connector)
            return index

        return self.memo("connector-index", build)


def find_yaml_files(paths: Iterable[Path]) -> list[Path]:
    """YAML files under ``paths`` (files as given, directories recursively), sorted and unique."""
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found.update(
                p
                for p in path.rglob("*")
                if p.suffix in YAML_SUFFIXES and p.is_file() and not _hidden(p, path)
            )
        elif path.exists():
            found.add(path)
    return sorted(p.resolve() for p in found)


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def display_path(path: Path, rootdir: Path) -> str:
    try:
        return path.relative_to(rootdir).as_posix()
    except ValueError:
        return path.as_posix()


def _classify(data: Any, file: str, index: int, line: int) -> Iterator[Entry | IgnoredDocument]:
    if data is None:
        return
    if not isinstance(data, YamlMap):
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        yield BrokenDocument(
            file,
            index,
            line,
            f"the document is {kind}; expected a mapping with one top-level key such as"
            " 'connector:', 'secret:', 'pipeline:' or 'pytestConnectors:'",
        )
        return
    for key, body in data.items():
        key_line = data.line_of(key)
        if key == "connector":
            yield build_connector(body, file, index, key_line)
        elif key == "secret":
            secret = build_secret(body, file, index, key_line)
            yield secret  # type: ignore[misc]
        elif key in PIPELINE_KINDS:
            yield build_pipeline(key, body, file, index, key_line)
        elif key == "pytestConnectors":
            yield SettingsEntry(file, key_line, read_settings(body))
        else:
            yield IgnoredDocument(file, key_line, key)


def load_inventory(
    paths: Iterable[Path],
    rootdir: Path,
    *,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> Inventory:
    inventory = Inventory()
    for path in find_yaml_files(paths):
        shown = display_path(path, rootdir)
        inventory.display[path] = shown
        entries: list[Entry] = []
        for document in load_documents(path, max_bytes=max_bytes, max_nodes=max_nodes):
            if document.problem is not None:
                entries.append(
                    BrokenDocument(
                        shown, document.index, document.problem.line, document.problem.message
                    )
                )
                continue
            for item in _classify(document.data, shown, document.index, document.line):
                if isinstance(item, SecretDefinition):
                    inventory.secrets.append(item)
                elif isinstance(item, IgnoredDocument):
                    inventory.ignored.append(item)
                else:
                    entries.append(item)
        inventory.entries[path] = entries
    _mark_duplicates(inventory)
    inventory.settings = merge_settings(
        e.document
        for entries in inventory.entries.values()
        for e in entries
        if isinstance(e, SettingsEntry)
    )
    return inventory


def _mark_duplicates(inventory: Inventory) -> None:
    seen: dict[tuple[ScopeId, str], Connector] = {}
    for entries in inventory.entries.values():
        for index, entry in enumerate(entries):
            if not isinstance(entry, Connector):
                continue
            first = seen.setdefault(entry.key, entry)
            if first is entry:
                continue
            error = DefinitionError(
                "identifier",
                entry.identifier_line or entry.line,
                f"connector '{entry.ref}' ({entry.scope.describe()}) is already defined at"
                f" {first.location}; identifiers are unique within a scope",
            )
            entries[index] = replace(entry, errors=(*entry.errors, error))
