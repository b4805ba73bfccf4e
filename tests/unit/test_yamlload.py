"""The safe YAML loader: line numbers everywhere, and a problem instead of an exception."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_connectors.yamlload import (
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_NODES,
    MAX_DEPTH,
    LoadedDocument,
    YamlMap,
    YamlSeq,
    decode_yaml_bytes,
    load_documents,
)

Load = Callable[[str], list[LoadedDocument]]


def test_mappings_and_sequences_remember_their_lines(load_yaml: Load) -> None:
    (document,) = load_yaml(
        """
        # a comment
        connector:
          name: gh
          spec:
            delegateSelectors:
              - a
              - b
        """
    )
    assert (document.index, document.line, document.problem) == (1, 2, None)
    data = document.data
    assert isinstance(data, YamlMap)
    assert data.line == 2
    assert data.line_of("connector") == 2
    connector = data["connector"]
    assert isinstance(connector, YamlMap)
    assert (connector.line, connector.line_of("name"), connector.line_of("spec")) == (3, 3, 4)
    assert connector.line_of("missing") == connector.line
    selectors = connector["spec"]["delegateSelectors"]
    assert isinstance(selectors, YamlSeq)
    assert selectors == ["a", "b"]
    assert (selectors.line, selectors.line_of(0), selectors.line_of(1)) == (6, 6, 7)
    assert selectors.line_of(5) == selectors.line


def test_flow_style_collections_are_line_aware(load_yaml: Load) -> None:
    (document,) = load_yaml("a: {b: [1, 2]}\n")
    inner = document.data["a"]
    assert isinstance(inner, YamlMap)
    assert isinstance(inner["b"], YamlSeq)
    assert inner["b"] == [1, 2]


def test_duplicate_keys_are_recorded_with_their_line(load_yaml: Load) -> None:
    (document,) = load_yaml("a: 1\nb: 2\na: 3\n")
    data = document.data
    assert data["a"] == 3  # the last one wins, as in YAML loaders generally
    assert data.duplicate_keys == [("a", 3)]
    assert data.line_of("a") == 3


def test_timestamps_stay_strings_and_keys_become_strings(load_yaml: Load) -> None:
    (document,) = load_yaml("created: 2024-01-02\nat: 2024-01-02T03:04:05Z\n1: one\nnull: x\n")
    data = document.data
    assert data["created"] == "2024-01-02"
    assert data["at"] == "2024-01-02T03:04:05Z"
    assert data["1"] == "one"
    assert set(data) == {"created", "at", "1", "None"}


def test_merge_keys_are_flattened(load_yaml: Load) -> None:
    (document,) = load_yaml("base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n")
    assert dict(document.data["derived"]) == {"x": 1, "y": 3}


def test_several_documents_keep_their_index_and_line(load_yaml: Load) -> None:
    documents = load_yaml("a: 1\n---\nb: 2\n---\n---\nc: 3\n")
    assert [(d.index, d.line) for d in documents] == [(1, 1), (2, 3), (3, 5), (4, 6)]
    assert [d.data for d in documents] == [{"a": 1}, {"b": 2}, None, {"c": 3}]
    assert all(d.problem is None for d in documents)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "\n\n"])
def test_empty_files_have_no_documents(load_yaml: Load, text: str) -> None:
    assert load_yaml(text) == []


def test_syntax_error_keeps_earlier_documents_and_stops_the_file(load_yaml: Load) -> None:
    documents = load_yaml("a: 1\n---\nb: [unclosed\nc: 2\n---\nd: 4\n")
    assert [d.index for d in documents] == [1, 2]
    assert documents[0].data == {"a": 1}
    broken = documents[1]
    assert broken.data is None
    assert broken.problem is not None
    assert broken.problem.message.startswith("YAML syntax error: ")
    assert "documents after this point in the file were not read" in broken.problem.message
    assert broken.problem.line == 4
    assert broken.line == broken.problem.line


def test_tab_indentation_is_a_syntax_error_with_a_line(load_yaml: Load) -> None:
    (document,) = load_yaml("a:\n  b: 1\n\tc: 2\n")
    assert document.problem is not None
    assert document.problem.line == 3


def test_unsupported_tags_are_a_problem_of_that_document_only(load_yaml: Load) -> None:
    documents = load_yaml("a: !!python/object:os.system x\n---\nb: !Ref other\n---\nc: 3\n")
    assert [d.problem is not None for d in documents] == [True, True, False]
    assert documents[0].problem.message.startswith("unsupported YAML: ")
    assert documents[1].problem.message.startswith("unsupported YAML: ")
    assert documents[1].problem.line == 3
    assert documents[2].data == {"c": 3}


def _bomb(levels: int = 9) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_without_being_expanded(load_yaml: Load) -> None:
    (document,) = load_yaml(_bomb())
    assert document.data is None
    assert document.problem is not None
    assert document.problem.message == (
        f"document expands to more than {DEFAULT_MAX_NODES} nodes (alias expansion cap)"
    )


def test_node_cap_is_configurable_and_counts_aliases(tmp_path: Path) -> None:
    path = tmp_path / "small.yaml"
    path.write_text(_bomb(levels=2))  # 10 + 100 + 1000 leaves after expansion
    (fine,) = load_documents(path)
    assert fine.problem is None
    (capped,) = load_documents(path, max_nodes=500)
    assert capped.problem is not None
    assert "more than 500 nodes" in capped.problem.message


def test_an_alias_cycle_is_over_the_cap(load_yaml: Load) -> None:
    (document,) = load_yaml("a: &a [*a]\n")
    assert document.problem is not None
    assert "alias expansion cap" in document.problem.message


def test_nesting_beyond_the_depth_cap(load_yaml: Load) -> None:
    depth = MAX_DEPTH + 5
    (document,) = load_yaml("a: " + "[" * depth + "]" * depth + "\n")
    assert document.problem is not None
    assert f"nesting deeper than {MAX_DEPTH} levels" in document.problem.message


def test_extreme_nesting_is_a_problem_not_a_crash(load_yaml: Load) -> None:
    (document,) = load_yaml("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert document.data is None
    assert document.problem is not None


def test_file_over_the_size_cap_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: 1\n" * 30)
    (document,) = load_documents(path, max_bytes=100)
    assert document.problem is not None
    assert document.problem.message == (
        "file is 150 bytes, over the 100-byte cap (--connectors-max-file-size)"
    )
    assert document.problem.line == 1
    assert load_documents(path, max_bytes=150)[0].data == {"a": 1}
    assert DEFAULT_MAX_FILE_BYTES == 5 * 1024 * 1024


def test_unreadable_path_is_a_problem(tmp_path: Path) -> None:
    directory = tmp_path / "dir.yaml"
    directory.mkdir()
    (document,) = load_documents(directory)
    assert document.problem is not None
    assert document.problem.message.startswith("cannot read file: ")


def test_non_utf8_bytes_name_their_line_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"a: 1\nb: caf\xe9\n")
    (document,) = load_documents(path)
    assert document.problem is not None
    assert document.problem.line == 2
    assert document.problem.message == (
        "not UTF-8 text: byte 0xe9 at offset 11 cannot be decoded; save the file as UTF-8"
    )


@pytest.mark.parametrize(
    ("bom", "encoding"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
)
def test_byte_order_marks_select_the_encoding(tmp_path: Path, bom: bytes, encoding: str) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(bom + "name: café\n".encode(encoding))
    (document,) = load_documents(path)
    assert document.problem is None
    assert document.data == {"name": "café"}


def test_broken_utf16_is_a_problem() -> None:
    text, problem = decode_yaml_bytes(codecs.BOM_UTF16_LE + b"a\x00b")  # odd length
    assert text is None
    assert problem is not None
    assert problem.message.startswith("not valid utf-16: ")


def test_plain_utf8_decodes() -> None:
    assert decode_yaml_bytes("x: ü\n".encode()) == ("x: ü\n", None)


def test_loading_never_executes_python(tmp_path: Path, load_yaml: Load) -> None:
    marker = tmp_path / "pwned"
    documents: list[Any] = load_yaml(f"!!python/object/apply:os.system ['touch {marker}']\n")
    assert documents[0].problem is not None
    assert not marker.exists()
