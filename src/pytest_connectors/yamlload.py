"""Safe YAML loading that keeps line numbers and refuses hostile input.

Mappings load as :class:`YamlMap` and sequences as :class:`YamlSeq`; both remember the line of
every key and item, so any later error can point at ``file:line``. Only the YAML safe schema is
accepted, timestamps stay strings (as Harness reads them), and two caps protect the run: a file
size cap and a cap on the number of nodes after alias expansion (the "billion laughs" document).

Nothing here raises for bad input: every problem becomes a :class:`LoadProblem`.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

DEFAULT_MAX_FILE_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_NODES = 200_000
MAX_DEPTH = 64


class YamlMap(dict[str, Any]):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]
    duplicate_keys: list[tuple[str, int]]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class YamlSeq(list[Any]):
    """A sequence that knows its own line and the line of each item (1-based)."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


@dataclass(frozen=True)
class LoadProblem:
    message: str
    line: int = 1


@dataclass(frozen=True)
class LoadedDocument:
    """One YAML document of a file: its data, or the problem that stopped it from loading."""

    index: int  # 1-based position in the file
    line: int
    data: Any = None
    problem: LoadProblem | None = None


class _LineLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    depth = 0

    def enter(self, node: yaml.Node) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _TooLarge(f"nesting deeper than {MAX_DEPTH} levels", node.start_mark.line + 1)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A value whose construction fails for any reason (``!!int 08``, ``!!bool maybe``, a
        4,301-digit integer ...) becomes a problem of its document, with the value's line."""
        try:
            return super().construct_object(node, deep=deep)
        except (yaml.YAMLError, _TooLarge, _BadValue, RecursionError):
            raise
        except Exception as exc:  # whatever the constructors raise: never past the document
            raise _BadValue(node, exc) from None

    def reset(self) -> None:
        """Forget a document whose construction failed, so the next one starts clean."""
        self.depth = 0
        self.constructed_objects: dict[Any, Any] = {}
        self.recursive_objects: dict[Any, Any] = {}
        self.state_generators: list[Any] = []


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> Iterator[YamlMap]:
    result = YamlMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    result.duplicate_keys = []
    yield result
    loader.enter(node)
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            key = str(key)
        line = key_node.start_mark.line + 1
        if key in result.key_lines:
            result.duplicate_keys.append((key, line))
        result.key_lines[key] = line
        result[key] = loader.construct_object(value_node, deep=True)
    loader.depth -= 1


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> Iterator[YamlSeq]:
    result = YamlSeq()
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    yield result
    loader.enter(node)
    result.extend(loader.construct_object(child, deep=True) for child in node.value)
    loader.depth -= 1


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


#: Python refuses to turn longer integers into text (its int-string limit).
_MAX_INT_DIGITS = 4300


def _construct_int(loader: _LineLoader, node: yaml.ScalarNode) -> int:
    """YAML 1.1 integers, refused before they cost anything when they are absurdly long: a
    4,301-digit literal, or a sexagesimal ``1:0:0:...`` that grows past what can be printed."""
    text = str(loader.construct_scalar(node))
    if len(text) > _MAX_INT_DIGITS:
        raise ValueError(f"an integer written with {len(text)} characters is too long")
    value = int(yaml.constructor.SafeConstructor.construct_yaml_int(loader, node))
    if value.bit_length() > _MAX_INT_DIGITS * 3:  # about 900 digits short of the limit
        raise ValueError("the integer is too large to be printed")
    return value


_LineLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


class _BadValue(Exception):
    def __init__(self, node: yaml.Node, exc: Exception) -> None:
        tag = str(node.tag or "").rsplit(":", 1)[-1]
        shown = node.value if isinstance(node, yaml.ScalarNode) else f"a {type(node).__name__}"
        if isinstance(shown, str) and len(shown) > 40:
            shown = f"{shown[:20]}...({len(shown)} characters)"
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        super().__init__(
            f"the value {shown!r} cannot be read as {tag or 'a value'} ({reason}); put it in"
            " quotes if it is meant as text"
        )
        self.line = node.start_mark.line + 1


class _TooLarge(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _expanded_size(node: yaml.Node, max_nodes: int) -> int:
    """Count nodes as if every alias were copied out; memoised, so a bomb costs linear time."""
    sizes: dict[int, int] = {}

    def size(n: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise _TooLarge(f"nesting deeper than {MAX_DEPTH} levels", n.start_mark.line + 1)
        cached = sizes.get(id(n))
        if cached is not None:
            return cached
        sizes[id(n)] = max_nodes + 1  # a cycle counts as over the cap
        if isinstance(n, yaml.MappingNode):
            total = 1 + sum(size(k, depth + 1) + size(v, depth + 1) for k, v in n.value)
        elif isinstance(n, yaml.SequenceNode):
            total = 1 + sum(size(c, depth + 1) for c in n.value)
        else:
            total = 1
        sizes[id(n)] = total
        if total > max_nodes:
            raise _TooLarge(
                f"expands to more than {max_nodes} nodes (alias expansion cap)",
                n.start_mark.line + 1,
            )
        return total

    return size(node, 0)


def decode_yaml_bytes(raw: bytes) -> tuple[str | None, LoadProblem | None]:
    """Decode as YAML allows (UTF-8, or UTF-16/32 with a BOM); report the line of a bad byte."""
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
        (codecs.BOM_UTF8, "utf-8-sig"),
    ):
        if raw.startswith(bom):
            try:
                return raw.decode(encoding), None
            except UnicodeDecodeError as exc:
                return None, LoadProblem(f"not valid {encoding}: {exc.reason}", 1)
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return None, LoadProblem(
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} cannot be decoded;"
            " save the file as UTF-8",
            line,
        )


def _mark_line(exc: yaml.YAMLError) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else 1


def load_documents(
    path: Path,
    *,
    max_bytes: int = DEFAULT_MAX_FILE_BYTES,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> list[LoadedDocument]:
    """Load every document of ``path``; a problem ends that document (and, for syntax, the file)."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return [
                LoadedDocument(
                    1,
                    1,
                    problem=LoadProblem(
                        f"file is {size} bytes, over the {max_bytes}-byte cap"
                        " (--connectors-max-file-size)"
                    ),
                )
            ]
        raw = path.read_bytes()
    except OSError as exc:
        return [LoadedDocument(1, 1, problem=LoadProblem(f"cannot read file: {exc.strerror}"))]
    text, problem = decode_yaml_bytes(raw)
    if text is None:
        return [LoadedDocument(1, problem.line if problem else 1, problem=problem)]
    return list(_documents(text, max_nodes))


def _documents(text: str, max_nodes: int) -> Iterator[LoadedDocument]:
    loader = _LineLoader(text)
    # Only aliases can make a document expand beyond its text, and they need an anchor ('&').
    may_expand = "&" in text
    index = 0
    try:
        while True:
            index += 1
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
            except yaml.YAMLError as exc:
                line = _mark_line(exc)
                detail = str(getattr(exc, "problem", None) or exc).strip()
                yield LoadedDocument(
                    index,
                    line,
                    problem=LoadProblem(
                        f"YAML syntax error: {detail} (documents after this point in the file"
                        " were not read)",
                        line,
                    ),
                )
                return
            line = node.start_mark.line + 1
            try:
                if may_expand:
                    _expanded_size(node, max_nodes)
                data = loader.construct_document(node)
            except _TooLarge as exc:
                loader.reset()
                yield LoadedDocument(index, line, problem=LoadProblem(f"document {exc}", exc.line))
                continue
            except _BadValue as exc:
                loader.reset()
                yield LoadedDocument(index, line, problem=LoadProblem(str(exc), exc.line))
                continue
            except yaml.YAMLError as exc:
                loader.reset()
                detail = str(getattr(exc, "problem", None) or exc).strip()
                yield LoadedDocument(
                    index, line, problem=LoadProblem(f"unsupported YAML: {detail}", _mark_line(exc))
                )
                continue
            except RecursionError:
                loader.reset()
                yield LoadedDocument(
                    index, line, problem=LoadProblem("document is nested too deeply", line)
                )
                continue
            yield LoadedDocument(index, line, data=data)
    finally:
        loader.dispose()
