"""End-to-end runs are static (``--connectors-offline``) unless a test is marked ``online``.

The connectors these tests write name real-looking hosts (github.com, ...); a network check
against them would try to leave loopback. Online tests point their connectors at the sandbox.

A static run with no secret source at all does not judge secrets (PR lint from a fork); these
runs have one (an unrelated ``CONNECTOR_SECRET_*`` variable), so a secret no source holds is
``secret-not-found``, unless a test is marked ``no_secret_source``.

``read_report`` reads a run's JSON report back (``ConnectorsReport``), ``run_connectors`` runs
pytest on ``connectors/`` with one, and ``project_connector`` writes a connector the way
Harness's YAML builder does.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "online: run the pytester sessions with network checks")
    config.addinivalue_line("markers", "no_secret_source: run without any secret source")


@pytest.fixture(autouse=True)
def _offline_unless_online(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if "pytester" not in request.fixturenames or request.node.get_closest_marker("online"):
        return
    request.getfixturevalue("pytester")  # it clears PYTEST_ADDOPTS when it starts
    monkeypatch.setenv("PYTEST_ADDOPTS", "--connectors-offline")
    if not request.node.get_closest_marker("no_secret_source"):
        monkeypatch.setenv("CONNECTOR_SECRET_ACCOUNT_e2e_unrelated", "not-used-by-any-connector")


class ConnectorsReport:
    """The JSON report (``--connectors-report``) of a run, read back: ``data`` is all of it."""

    def __init__(self, path: Path) -> None:
        self.data: dict[str, Any] = json.loads(path.read_text())

    def connector(self, ref: str) -> dict[str, Any]:
        """The record of the one connector with this reference."""
        (record,) = [c for c in self.data["connectors"] if c["ref"] == ref]
        return record

    def checks(self, ref: str) -> dict[str, dict[str, Any]]:
        """Check name -> check, of the one connector with this reference."""
        return {check["name"]: check for check in self.connector(ref)["checks"]}

    def failures(self) -> list[str]:
        """``<file>::<ref>[<check>] <mode>`` of every failed check, sorted."""
        return sorted(
            f"{subject['file']}::{subject['ref']}[{check['name']}] {check['failure_mode']}"
            for subject in (*self.data["connectors"], *self.data["pipelines"])
            for check in subject["checks"]
            if check["outcome"] == "failed"
        )

    def modes(self) -> set[str]:
        """Every failure mode a finding of the run named (errors and warnings)."""
        return {
            finding["failure_mode"]
            for subject in (*self.data["connectors"], *self.data["pipelines"])
            for check in subject["checks"]
            for finding in check["findings"]
        }


@pytest.fixture
def read_report(pytester: pytest.Pytester) -> Callable[[str], ConnectorsReport]:
    """``read_report("report.json")``: a report written under the pytester dir."""
    return lambda relative: ConnectorsReport(pytester.path / relative)


@pytest.fixture
def run_connectors(
    pytester: pytest.Pytester, read_report: Callable[[str], ConnectorsReport]
) -> Callable[..., tuple[pytest.RunResult, ConnectorsReport]]:
    """``run_connectors(*args)``: pytest on ``connectors/`` with ``-rA`` and a JSON report;
    returns the run and its report."""

    def run(*args: str) -> tuple[pytest.RunResult, ConnectorsReport]:
        result = pytester.runpytest(
            "--connectors=connectors", "-rA", "--connectors-report=report.json", *args
        )
        return result, read_report("report.json")

    return run


@pytest.fixture
def project_connector() -> Callable[[str, str, str], str]:
    """``project_connector(identifier, type, spec)``: a connector of project ``CD_Docs`` in the
    ``default`` org, as Harness's YAML builder writes one (developer-hub
    create-a-connector-using-yaml.md), around the given ``spec`` body."""

    def make(identifier: str, connector_type: str, spec: str) -> str:
        head = textwrap.dedent(
            f"""\
            connector:
              name: {identifier}
              identifier: {identifier}
              description: ""
              orgIdentifier: default
              projectIdentifier: CD_Docs
              type: {connector_type}
              spec:
            """
        )
        return head + textwrap.indent(textwrap.dedent(spec).strip("\n"), " " * 4) + "\n"

    return make
