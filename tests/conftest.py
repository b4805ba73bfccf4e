"""Shared helpers for the pytest-connectors test suite.

End-to-end tests build their connector YAML inside ``pytester`` directories (never from
``examples/`` or ``/work/shared``); unit tests load YAML from ``tmp_path``. Helpers are exposed
as fixtures so every test module can use them without importing this file.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpcore  # noqa: F401  (see below)
import pytest

from pytest_connectors.masking import MASKER
from pytest_connectors.model import BrokenDocument, Connector
from pytest_connectors.schema import build_connector
from pytest_connectors.yamlload import load_documents

pytest_plugins = ["pytest_connectors.sandbox.fixtures", "network_guard"]
# httpx imports httpcore lazily. If that first happened inside an in-process pytester run, the
# run's sys.modules snapshot would drop httpcore afterwards, and httpx's exception mapping
# would keep classes no later httpcore error matches. Importing it here keeps one copy.

# A line of ``-rA`` output: "PASSED connectors/a.yaml::ref[check]" (failures add " - why").
_SUMMARY_LINE = re.compile(r"^(PASSED|FAILED|SKIPPED|ERROR|XFAIL|XPASS) (\S+::\S+)")
# Traceback markers that must never appear when our own code handles bad input.
OUR_CODE_MARKERS = ("Traceback", "src/pytest_connectors", "pytest_connectors/")


def item_outcomes(lines: list[str]) -> dict[str, str]:
    """Map node id -> outcome word from the short test summary of a ``-rA`` run."""
    outcomes: dict[str, str] = {}
    for line in lines:
        match = _SUMMARY_LINE.match(line)
        if match:
            outcome, nodeid = match.groups()
            assert nodeid not in outcomes, f"node id reported twice: {nodeid}"
            outcomes[nodeid] = outcome
    return outcomes


@pytest.fixture(autouse=True)
def _isolated_masker() -> Iterator[None]:
    """Secrets of one test's in-process runs do not mask the output of the next test's."""
    with MASKER.isolated():
        yield


@pytest.fixture
def outcomes_of() -> Callable[[pytest.RunResult], dict[str, str]]:
    """``outcomes_of(result)``: node id -> PASSED/FAILED/SKIPPED from a ``-rA`` run."""

    def parse(result: pytest.RunResult) -> dict[str, str]:
        return item_outcomes(result.outlines)

    return parse


@pytest.fixture
def write_yaml(pytester: pytest.Pytester) -> Callable[..., Path]:
    """``write_yaml("connectors/x.yaml", text)``: write dedented text under the pytester dir."""

    def write(relative: str, text: str | bytes) -> Path:
        path = pytester.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def assert_no_traceback() -> Callable[[pytest.RunResult], None]:
    """Fail when a run's output shows a traceback or a path into the plugin's own code."""

    def check(result: pytest.RunResult) -> None:
        text = "\n".join(result.outlines + result.errlines)
        for marker in OUR_CODE_MARKERS:
            assert marker not in text, f"{marker!r} in the output:\n{text}"

    return check


@pytest.fixture
def load_yaml(tmp_path: Path) -> Callable[[str], list[Any]]:
    """``load_yaml(text)``: the LoadedDocuments of ``text`` written to a temporary file."""
    counter = iter(range(10_000))

    def load(text: str) -> list[Any]:
        path = tmp_path / f"doc{next(counter)}.yaml"
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return load_documents(path)

    return load


@pytest.fixture
def build(load_yaml: Callable[[str], list[Any]]) -> Callable[[str], Connector | BrokenDocument]:
    """``build(text)``: the connector built from a one-document ``connector:`` YAML text."""

    def make(text: str) -> Connector | BrokenDocument:
        (document,) = load_yaml(text)
        assert document.problem is None, document.problem
        data = document.data
        return build_connector(data["connector"], "c.yaml", 1, data.line_of("connector"))

    return make
