"""End to end: connector items behave like any pytest test under pytest's own features.

Every test builds a small inventory in a ``pytester`` directory and runs pytest on it
in-process. The standard inventory has four connectors at the three scopes:

* ``account.gh_main`` (Github, token ``account.gh_pat`` that no source has): ``[secrets]`` fails;
* ``org.gh_docs`` (Github, anonymous), ``account.hub`` (DockerRegistry, anonymous) and
  ``k8s_web`` (project-level K8sCluster inheriting from the delegate): all healthy.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

GITHUB_YAML = """
connector:
  name: gh main
  identifier: gh_main
  type: Github
  spec:
    type: Account
    url: https://github.com/acme
    validationRepo: probe
    authentication:
      type: Http
      spec:
        type: UsernameToken
        spec:
          username: bot
          tokenRef: account.gh_pat
    delegateSelectors: [a]
---
connector:
  name: gh docs
  identifier: gh_docs
  orgIdentifier: eng
  type: Github
  spec:
    type: Repo
    url: https://github.com/acme/docs
    authentication:
      type: Http
      spec:
        type: Anonymous
    delegateSelectors: [a]
"""

DOCKER_YAML = """
connector:
  name: hub
  identifier: hub
  type: DockerRegistry
  spec:
    dockerRegistryUrl: https://registry.hub.docker.com/v2/
    providerType: DockerHub
    auth:
      type: Anonymous
    delegateSelectors: [a]
"""

K8S_YAML = """
connector:
  name: k8s web
  identifier: k8s_web
  orgIdentifier: eng
  projectIdentifier: web
  type: K8sCluster
  spec:
    credential:
      type: InheritFromDelegate
    delegateSelectors: [a]
"""

GH_MAIN = [
    f"connectors/github.yaml::account.gh_main[{check}]"
    for check in ("definition", "references", "expressions", "delegate", "secrets")
]
GH_DOCS = [
    f"connectors/github.yaml::org.gh_docs[{check}]"
    for check in ("definition", "expressions", "delegate")
]
HUB = [
    f"connectors/docker.yaml::account.hub[{c}]" for c in ("definition", "expressions", "delegate")
]
K8S = [f"connectors/k8s.yaml::k8s_web[{c}]" for c in ("definition", "expressions", "delegate")]
ALL_ITEMS = [*HUB, *GH_MAIN, *GH_DOCS, *K8S]  # collection order: files sorted, then documents
FAILING = "connectors/github.yaml::account.gh_main[secrets]"
CONNECTORS = "--connectors=connectors"


@pytest.fixture
def inventory(write_yaml: Callable[..., Path]) -> None:
    write_yaml("connectors/github.yaml", GITHUB_YAML)
    write_yaml("connectors/docker.yaml", DOCKER_YAML)
    write_yaml("connectors/k8s.yaml", K8S_YAML)


def _expected(failing: tuple[str, ...] = (FAILING,)) -> dict[str, str]:
    return {nodeid: "FAILED" if nodeid in failing else "PASSED" for nodeid in ALL_ITEMS}


# -- collection and selection -------------------------------------------------------------


@pytest.mark.usefixtures("inventory")
def test_collect_only_lists_exact_node_ids(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(CONNECTORS, "--collect-only", "-q")
    listed = [line for line in result.outlines if "::" in line]
    assert listed == ALL_ITEMS
    assert "connectors/github.yaml::account.gh_main[secrets]" in listed
    assert result.ret == pytest.ExitCode.OK


@pytest.mark.usefixtures("inventory")
def test_dash_k_selects_one_connector(
    pytester: pytest.Pytester, outcomes_of: Callable[..., dict[str, str]]
) -> None:
    result = pytester.runpytest(CONNECTORS, "-rA", "-k", "gh_main")
    assert set(outcomes_of(result)) == set(GH_MAIN)
    result.assert_outcomes(passed=4, failed=1, deselected=len(ALL_ITEMS) - 5)


@pytest.mark.usefixtures("inventory")
def test_dash_k_selects_one_check(
    pytester: pytest.Pytester, outcomes_of: Callable[..., dict[str, str]]
) -> None:
    result = pytester.runpytest(CONNECTORS, "-rA", "-k", "expressions")
    expected = {nodeid for nodeid in ALL_ITEMS if nodeid.endswith("[expressions]")}
    assert set(outcomes_of(result)) == expected
    assert len(expected) == 4

    result = pytester.runpytest(CONNECTORS, "-rA", "-k", "gh_main and secrets")
    assert outcomes_of(result) == {FAILING: "FAILED"}


NETWORK_CHECK_CONFTEST = """
from pytest_connectors import Check, Phase


def _ping(ctx):
    ctx.note(pinged=ctx.connector.ref)


def pytest_connectors_register_checks(registry):
    registry.register(Check(name="ping", phase=Phase.CONNECTIVITY, run=_ping, network=True))
"""


def _collected(result: pytest.RunResult) -> set[str]:
    return {line for line in result.outlines if "::" in line and "[" in line}


NETWORK_CHECKS = (
    "dns", "tcp", "tls", "latency", "health", "auth", "permissions", "rbac", "rate_limit", "ping",
)  # fmt: skip


@pytest.mark.online  # only --collect-only and -m definition runs: nothing leaves the host
@pytest.mark.usefixtures("inventory")
def test_dash_m_selects_by_phase(
    pytester: pytest.Pytester, outcomes_of: Callable[..., dict[str, str]]
) -> None:
    pytester.makeconftest(NETWORK_CHECK_CONFTEST)
    ping_items = {nodeid.rsplit("[", 1)[0] + "[ping]" for nodeid in ALL_ITEMS}
    assert len(ping_items) == 4

    everything = _collected(pytester.runpytest(CONNECTORS, "--collect-only", "-q"))
    assert set(ALL_ITEMS) | ping_items <= everything

    definition = pytester.runpytest(CONNECTORS, "-rA", "-m", "definition")
    assert outcomes_of(definition) == _expected()
    deselected = len(everything) - len(ALL_ITEMS)
    definition.assert_outcomes(passed=len(ALL_ITEMS) - 1, failed=1, deselected=deselected)

    network = _collected(pytester.runpytest(CONNECTORS, "--collect-only", "-q", "-m", "network"))
    assert network == everything - set(ALL_ITEMS)
    assert ping_items <= network
    assert all(item.rsplit("[", 1)[1].rstrip("]") in NETWORK_CHECKS for item in network)
    connectivity = pytester.runpytest(CONNECTORS, "--collect-only", "-q", "-m", "connectivity")
    connectivity_checks = ("dns", "tcp", "tls", "latency", "health", "ping")
    assert _collected(connectivity) == {
        item for item in network if item.rsplit("[", 1)[1].rstrip("]") in connectivity_checks
    }


@pytest.mark.usefixtures("inventory")
@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ("github", [*GH_MAIN, *GH_DOCS]),
        ("dockerregistry", HUB),
        ("k8scluster", K8S),
        ("github or k8scluster", [*GH_MAIN, *GH_DOCS, *K8S]),
    ],
)
def test_dash_m_selects_by_connector_type(
    pytester: pytest.Pytester,
    outcomes_of: Callable[..., dict[str, str]],
    marker: str,
    expected: list[str],
) -> None:
    result = pytester.runpytest(CONNECTORS, "-rA", "-m", marker)
    assert set(outcomes_of(result)) == set(expected)


@pytest.mark.usefixtures("inventory")
def test_last_failed_reruns_only_the_failures(
    pytester: pytest.Pytester, outcomes_of: Callable[..., dict[str, str]]
) -> None:
    first = pytester.runpytest(CONNECTORS, "-rA")
    assert outcomes_of(first) == _expected()

    second = pytester.runpytest(CONNECTORS, "-rA", "--lf")
    second.stdout.fnmatch_lines(["*run-last-failure: rerun previous 1 failure*"])
    assert outcomes_of(second) == {FAILING: "FAILED"}
    second.assert_outcomes(failed=1, passed=0)


def test_explicit_node_id_selects_one_item(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    write_yaml("connectors/github.yaml", GITHUB_YAML)
    result = pytester.runpytest("--connectors=connectors/github.yaml", "-rA", FAILING)
    assert outcomes_of(result) == {FAILING: "FAILED"}


@pytest.mark.usefixtures("inventory")
def test_exitfirst_stops_after_the_first_failure(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    # a second failing connector, in a file collected before github.yaml
    write_yaml(
        "connectors/ci.yaml",
        """
        connector:
          name: ci
          identifier: ci
          type: Jira
          spec: {passwordRef: account.jira_pw, delegateSelectors: [a]}
        """,
    )
    full = outcomes_of(pytester.runpytest(CONNECTORS, "-rA"))
    assert sorted(n for n, o in full.items() if o == "FAILED") == [
        "connectors/ci.yaml::account.ci[secrets]",
        FAILING,
    ]

    result = pytester.runpytest(CONNECTORS, "-rA", "-x")
    outcomes = outcomes_of(result)
    assert [n for n, o in outcomes.items() if o == "FAILED"] == [
        "connectors/ci.yaml::account.ci[secrets]"
    ]
    assert FAILING not in outcomes
    assert len(outcomes) < len(full)
    result.stdout.fnmatch_lines(["*stopping after 1 failures*"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


# -- JUnit, xdist, JSON report ------------------------------------------------------------


def _testcases(path: Path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    return {case.get("name", ""): case for case in root.iter("testcase")}


def _properties(case: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}


@pytest.mark.usefixtures("inventory")
def test_junitxml_carries_failure_mode_properties(pytester: pytest.Pytester) -> None:
    pytester.runpytest(CONNECTORS, "--junitxml=junit.xml")
    cases = _testcases(pytester.path / "junit.xml")
    assert len(cases) == len(ALL_ITEMS)

    failing = cases["account.gh_main[secrets]"]
    assert failing.find("failure") is not None
    assert _properties(failing) == {
        "connector": "account.gh_main",
        "connector_type": "Github",
        "check": "secrets",
        "failure_mode": "secret-not-found",
        "severity": "error",
    }
    failure_text = failing.find("failure")
    assert failure_text is not None
    assert "[secret-not-found]" in (failure_text.get("message", "") + (failure_text.text or ""))

    healthy = cases["k8s_web[definition]"]
    assert healthy.find("failure") is None
    assert _properties(healthy) == {
        "connector": "k8s_web",
        "connector_type": "K8sCluster",
        "check": "definition",
    }


CHECK_FIELDS = {
    "name",
    "outcome",
    "failure_mode",
    "severity",
    "message",
    "remediation",
    "evidence",
    "duration_s",
}
CONNECTOR_FIELDS = {"ref", "identifier", "scope", "type", "file", "line", "status", "checks"}


def _assert_report_contract(report: dict[str, object]) -> None:
    assert report["version"] == 1
    assert {"name", "tags"} <= set(report["delegate"])  # type: ignore[arg-type]
    assert report["summary"] == {
        "connectors": 4,
        "passed": 3,
        "failed": 1,
        "warnings": 0,
        "incomplete": 0,
        "skipped": 0,
        "fully_checked": 3,
    }
    assert report["pipelines"] == []
    connectors = {c["ref"]: c for c in report["connectors"]}  # type: ignore[attr-defined]
    assert set(connectors) == {"account.gh_main", "org.gh_docs", "account.hub", "k8s_web"}
    for connector in connectors.values():
        assert set(connector) >= CONNECTOR_FIELDS
        for check in connector["checks"]:
            assert set(check) >= CHECK_FIELDS
            assert isinstance(check["duration_s"], (int, float))
            assert isinstance(check["remediation"], list)
            assert isinstance(check["evidence"], dict)
    gh_main = connectors["account.gh_main"]
    assert (gh_main["identifier"], gh_main["scope"], gh_main["type"]) == (
        "gh_main",
        "account",
        "Github",
    )
    assert (gh_main["file"], gh_main["line"], gh_main["status"]) == (
        "connectors/github.yaml",
        2,
        "failed",
    )
    checks = {c["name"]: c for c in gh_main["checks"]}
    assert set(checks) == {"definition", "references", "expressions", "delegate", "secrets"}
    secrets = checks["secrets"]
    assert (secrets["outcome"], secrets["failure_mode"], secrets["severity"]) == (
        "failed",
        "secret-not-found",
        "error",
    )
    assert "account.gh_pat" in secrets["message"]
    assert secrets["remediation"] and secrets["evidence"]["env_var"] == (
        "CONNECTOR_SECRET_ACCOUNT_gh_pat"
    )
    assert checks["definition"]["failure_mode"] is None
    assert checks["definition"]["outcome"] == "passed"
    assert (connectors["org.gh_docs"]["scope"], connectors["k8s_web"]["scope"]) == (
        "org",
        "project",
    )


@pytest.mark.usefixtures("inventory")
def test_json_report_contract(pytester: pytest.Pytester) -> None:
    pytester.runpytest(CONNECTORS, "--connectors-report=out/report.json")
    _assert_report_contract(json.loads((pytester.path / "out/report.json").read_text()))


@pytest.mark.usefixtures("inventory")
def test_xdist_gives_serial_outcomes_and_one_report(
    pytester: pytest.Pytester, outcomes_of: Callable[..., dict[str, str]]
) -> None:
    serial = pytester.runpytest(CONNECTORS, "-rA", "-p", "no:xdist")
    parallel = pytester.runpytest(CONNECTORS, "-rA", "-n", "2", "--connectors-report=report.json")
    assert outcomes_of(serial) == _expected()
    assert outcomes_of(parallel) == outcomes_of(serial)
    parallel.stdout.fnmatch_lines(["*2 workers*"])

    reports = sorted(p.name for p in pytester.path.rglob("*.json"))
    assert reports == ["report.json"]
    report = json.loads((pytester.path / "report.json").read_text())
    _assert_report_contract(report)
    # every item's result reached the controller: each connector lists each of its checks once
    per_connector = {c["ref"]: sorted(x["name"] for x in c["checks"]) for c in report["connectors"]}
    assert per_connector == {
        "account.gh_main": sorted(
            ["definition", "references", "expressions", "delegate", "secrets"]
        ),
        "org.gh_docs": ["definition", "delegate", "expressions"],
        "account.hub": ["definition", "delegate", "expressions"],
        "k8s_web": ["definition", "delegate", "expressions"],
    }


# -- extension points: fixtures and hooks in conftest.py ------------------------------------

SELECTORS_YAML = """
connector:
  name: wants a
  identifier: wants_a
  type: Jira
  spec: {delegateSelectors: [a]}
---
connector:
  name: wants b
  identifier: wants_b
  type: Jira
  spec: {delegateSelectors: [b]}
"""


def test_conftest_overrides_the_delegate_fixture(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    write_yaml("connectors/jira.yaml", SELECTORS_YAML)
    delegate_a = "connectors/jira.yaml::account.wants_a[delegate]"
    delegate_b = "connectors/jira.yaml::account.wants_b[delegate]"

    # without knowing which delegate this is, the host is not judged
    before = outcomes_of(pytester.runpytest(CONNECTORS, "-rA"))
    assert (before[delegate_a], before[delegate_b]) == ("PASSED", "PASSED")

    pytester.makeconftest(
        """
        import pytest
        import pytest_connectors


        @pytest.fixture(scope="session")
        def connectors_delegate():
            return pytest_connectors.DelegateContext(name="x", tags=("a",))
        """
    )
    result = pytester.runpytest(CONNECTORS, "-rA", "--connectors-report=report.json")
    after = outcomes_of(result)
    # wants_b belongs to another delegate: not failed here, judged as this delegate's job
    assert (after[delegate_a], after[delegate_b]) == ("PASSED", "PASSED")
    evidence = _delegate_evidence(pytester.path / "report.json")
    assert evidence["account.wants_a"]["this_delegate"] == "x"
    assert "this_host" not in evidence["account.wants_a"]
    assert evidence["account.wants_b"]["this_host"] == "lacks the selectors b"


def test_delegate_identity_from_the_command_line(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    write_yaml("connectors/jira.yaml", SELECTORS_YAML)
    result = pytester.runpytest(
        CONNECTORS, "-rA", "--delegate=B", "--delegate-tags=other", "--connectors-report=r.json"
    )
    outcomes = outcomes_of(result)
    assert outcomes["connectors/jira.yaml::account.wants_b[delegate]"] == "PASSED"
    assert outcomes["connectors/jira.yaml::account.wants_a[delegate]"] == "PASSED"
    evidence = _delegate_evidence(pytester.path / "r.json")
    # the delegate's name is one of its selectors, compared case-insensitively
    assert "this_host" not in evidence["account.wants_b"]
    assert evidence["account.wants_a"]["this_host"] == "lacks the selectors a"


def _delegate_evidence(report: Path) -> dict[str, dict[str, object]]:
    data = json.loads(report.read_text())
    return {
        c["ref"]: next(k["evidence"] for k in c["checks"] if k["name"] == "delegate")
        for c in data["connectors"]
    }


def test_custom_check_registered_from_conftest(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    write_yaml("connectors/jira.yaml", SELECTORS_YAML)
    pytester.makeconftest(
        """
        from pytest_connectors import Check, Failure, Phase


        def _naming(ctx):
            if not ctx.connector.identifier.endswith("_a"):
                raise Failure(
                    "definition-invalid",
                    f"identifier {ctx.connector.identifier!r} breaks the team naming rule",
                    field_path="identifier",
                    problem="must end in _a",
                )


        def pytest_connectors_register_checks(registry):
            registry.register(Check(name="naming", phase=Phase.DEFINITION, run=_naming))
        """
    )
    result = pytester.runpytest(CONNECTORS, "-rA", "--junitxml=junit.xml")
    outcomes = outcomes_of(result)
    assert outcomes["connectors/jira.yaml::account.wants_a[naming]"] == "PASSED"
    assert outcomes["connectors/jira.yaml::account.wants_b[naming]"] == "FAILED"
    result.stdout.fnmatch_lines(
        [
            "[[]definition-invalid[]] Connector definition is invalid",
            "account.wants_b (Jira): identifier 'wants_b' breaks the team naming rule",
        ]
    )
    case = _testcases(pytester.path / "junit.xml")["account.wants_b[naming]"]
    assert _properties(case)["failure_mode"] == "definition-invalid"
    assert _properties(case)["check"] == "naming"


# -- secret sources -------------------------------------------------------------------------

SECRETS_ITEM = "connectors/github.yaml::account.gh_main[secrets]"


def test_secret_from_the_resolve_secret_hook(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    write_yaml("connectors/github.yaml", GITHUB_YAML)
    without = outcomes_of(pytester.runpytest(CONNECTORS, "-rA"))
    assert without[SECRETS_ITEM] == "FAILED"

    pytester.makeconftest(
        """
        def pytest_connectors_resolve_secret(ref, scope, config):
            return "hook-value-5b1e9c" if ref == "account.gh_pat" else None
        """
    )
    result = pytester.runpytest(CONNECTORS, "-rA", "--connectors-report=report.json")
    assert outcomes_of(result)[SECRETS_ITEM] == "PASSED"
    assert result.ret == pytest.ExitCode.OK
    report = json.loads((pytester.path / "report.json").read_text())
    (gh_main,) = [c for c in report["connectors"] if c["ref"] == "account.gh_main"]
    (secrets,) = [c for c in gh_main["checks"] if c["name"] == "secrets"]
    assert secrets["evidence"]["resolved_from"] == {"account.gh_pat": "hook"}
    assert "hook-value-5b1e9c" not in (pytester.path / "report.json").read_text()


def test_secret_from_the_secrets_file(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    write_yaml("connectors/github.yaml", GITHUB_YAML)
    write_yaml("secrets/values.yaml", "account.gh_pat: {file: token.txt}\n")
    write_yaml("secrets/token.txt", "file-token-0c4d7a\n")
    result = pytester.runpytest(
        CONNECTORS, "-rA", "--connectors-secrets=secrets/values.yaml", "--connectors-report=r.json"
    )
    assert outcomes_of(result)[SECRETS_ITEM] == "PASSED"
    report = (pytester.path / "r.json").read_text()
    assert '"account.gh_pat": "secrets file"' in report
    assert "file-token-0c4d7a" not in report


def test_secret_from_the_environment(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_yaml("connectors/github.yaml", GITHUB_YAML)
    monkeypatch.setenv("CONNECTOR_SECRET_ACCOUNT_gh_pat", "env-token-93ad11")
    result = pytester.runpytest(CONNECTORS, "-rA")
    assert outcomes_of(result)[SECRETS_ITEM] == "PASSED"
    assert result.ret == pytest.ExitCode.OK


def test_secret_not_found_names_every_source_asked(
    pytester: pytest.Pytester, write_yaml: Callable[..., Path]
) -> None:
    write_yaml("connectors/github.yaml", GITHUB_YAML)
    write_yaml("secrets.yaml", "account.other: x-value-31f\n")
    result = pytester.runpytest(CONNECTORS, "--connectors-secrets=secrets.yaml")
    result.stdout.fnmatch_lines(
        [
            "[[]secret-not-found[]] Secret reference cannot be resolved",
            "account.gh_main (Github): spec.authentication.spec.spec.tokenRef (line 15):*",
            "*sources: secrets file *secrets.yaml (keys account.gh_pat);"
            " environment variable CONNECTOR_SECRET_ACCOUNT_gh_pat;"
            " hook pytest_connectors_resolve_secret",
            "Remediation:",
            "  1. *",
            "Docs: docs/failure-modes.md#secret-not-found",
            "At: connectors/github.yaml:2",
        ]
    )


# -- run modes --------------------------------------------------------------------------


@pytest.mark.usefixtures("inventory")
@pytest.mark.online  # the online run only collects
def test_offline_runs_only_definition_phase_items(
    pytester: pytest.Pytester,
    outcomes_of: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONNECTOR_SECRET_ACCOUNT_unrelated", "x")  # a secret source exists
    pytester.makeconftest(NETWORK_CHECK_CONFTEST)
    online = pytester.runpytest(CONNECTORS, "--collect-only", "-q")
    assert any(line.endswith("[ping]") for line in online.outlines)

    result = pytester.runpytest(CONNECTORS, "-rA", "--connectors-offline")
    assert outcomes_of(result) == _expected()
    assert "[ping]" not in result.stdout.str()


NO_SELECTORS_YAML = """
connector:
  name: anywhere
  identifier: anywhere
  type: Jira
  spec: {}
"""


def test_strict_turns_a_warning_into_a_failure(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    write_yaml("connectors/jira.yaml", NO_SELECTORS_YAML)
    item = "connectors/jira.yaml::account.anywhere[delegate]"

    lenient = pytester.runpytest(CONNECTORS, "-rA")
    assert outcomes_of(lenient)[item] == "PASSED"
    assert lenient.ret == pytest.ExitCode.OK
    text = lenient.stdout.str()
    assert "connector warnings (failing: --connectors-strict)" in text
    assert "account.anywhere[delegate] [delegate-selector-missing] no delegateSelectors" in text

    strict = pytester.runpytest(CONNECTORS, "-rA", "--connectors-strict")
    assert outcomes_of(strict)[item] == "FAILED"
    assert strict.ret == pytest.ExitCode.TESTS_FAILED
    strict.stdout.fnmatch_lines(["[[]delegate-selector-missing[]] *", "At: connectors/jira.yaml:2"])


def test_strict_reports_the_failing_warning_as_failed(
    pytester: pytest.Pytester, write_yaml: Callable[..., Path]
) -> None:
    write_yaml("connectors/jira.yaml", NO_SELECTORS_YAML)
    pytester.runpytest(CONNECTORS, "--connectors-strict", "--connectors-report=report.json")
    report = json.loads((pytester.path / "report.json").read_text())
    (connector,) = report["connectors"]
    delegate = next(c for c in connector["checks"] if c["name"] == "delegate")
    assert delegate["outcome"] == "failed"
    assert delegate["failure_mode"] == "delegate-selector-missing"
    assert connector["status"] == "failed"
    assert report["summary"]["failed"] == 1


def test_explicit_node_id_inside_the_connectors_folder_runs_alone(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    write_yaml("connectors/github.yaml", GITHUB_YAML)
    write_yaml("connectors/jira.yaml", NO_SELECTORS_YAML)
    result = pytester.runpytest(CONNECTORS, "-rA", FAILING)
    assert outcomes_of(result) == {FAILING: "FAILED"}


def test_settings_skip_turns_an_item_into_a_skip(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    write_yaml("connectors/github.yaml", GITHUB_YAML)
    write_yaml(
        "connectors/settings.yaml",
        """
        pytestConnectors:
          connectors:
            account.gh_main:
              skip: [secrets]
        """,
    )
    result = pytester.runpytest(CONNECTORS, "-rs", "--junitxml=junit.xml")
    case = _testcases(pytester.path / "junit.xml")["account.gh_main[secrets]"]
    skipped = case.find("skipped")
    assert skipped is not None
    assert "skipped by the connector's pytestConnectors settings" in skipped.get("message", "")
    result.assert_outcomes(passed=len(GH_MAIN) - 1 + len(GH_DOCS), skipped=1)
    assert result.ret == pytest.ExitCode.OK


def test_skip_summary_points_at_the_connector(
    pytester: pytest.Pytester, write_yaml: Callable[..., Path]
) -> None:
    write_yaml("connectors/github.yaml", GITHUB_YAML)
    write_yaml(
        "connectors/settings.yaml",
        "pytestConnectors:\n  connectors:\n    account.gh_main: {skip: [secrets]}\n",
    )
    result = pytester.runpytest(CONNECTORS, "-rs")
    result.stdout.fnmatch_lines(
        ["SKIPPED [[]1[]] connectors/github.yaml:2: skipped by the connector's pytestConnectors*"]
    )


# -- outputs ------------------------------------------------------------------------------


@pytest.mark.usefixtures("inventory")
def test_terminal_connector_summary_has_one_line_per_connector(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(CONNECTORS)
    lines = result.outlines
    start = next(i for i, line in enumerate(lines) if "connector summary" in line)
    section = []
    for line in lines[start + 1 :]:
        if line.startswith(("=", "-")):
            break
        section.append(line.split())
    # ref, type and status first; the failure modes last (the location may sit in between)
    assert [words[:3] for words in section] == [
        ["account.hub", "DockerRegistry", "ok"],
        ["account.gh_main", "Github", "FAILED"],
        ["org.gh_docs", "Github", "ok"],
        ["k8s_web", "K8sCluster", "ok"],
    ]
    assert section[1][-1] == "secret-not-found"
    assert all("secret-not-found" not in words for i, words in enumerate(section) if i != 1)


@pytest.mark.usefixtures("inventory")
def test_markdown_summary(pytester: pytest.Pytester) -> None:
    pytester.runpytest(CONNECTORS, "--connectors-markdown=out/summary.md")
    text = (pytester.path / "out/summary.md").read_text()
    assert text.startswith("## Connector health\n")
    assert (
        "4 connectors: 3 passed, 0 with warnings, 1 failed, 0 incomplete; 3 of 4 fully checked."
        in text
    )
    assert (
        "| `account.gh_main` | Github | failed | `secret-not-found` | connectors/github.yaml:2 |"
        in text
    )
    assert "| `k8s_web` | K8sCluster | passed |  | connectors/k8s.yaml:2 |" in text
    assert "### `account.gh_main` (Github)" in text
    assert "### `account.hub`" not in text
    assert "[`secret-not-found`](docs/failure-modes.md#secret-not-found)" in text
    assert "  1. Make sure `account.gh_pat` exists" in text


def test_markdown_auto_appends_to_the_github_step_summary(
    pytester: pytest.Pytester, write_yaml: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_yaml("connectors/github.yaml", GITHUB_YAML)
    step_summary = pytester.path / "step_summary.md"
    step_summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    pytester.runpytest(CONNECTORS, "--connectors-markdown=auto")
    text = step_summary.read_text()
    assert text.startswith("earlier step\n## Connector health\n")
    assert "2 connectors: 1 passed, 0 with warnings, 1 failed, 0 incomplete;" in text


def test_bundle_per_failed_connector(
    pytester: pytest.Pytester, write_yaml: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_yaml("connectors/github.yaml", GITHUB_YAML)
    write_yaml("connectors/docker.yaml", DOCKER_YAML)
    write_yaml(
        "connectors/jira.yaml",
        """
        connector:
          name: ci
          identifier: ci
          orgIdentifier: eng
          type: Jira
          spec: {passwordRef: org.jira_pw, delegateSelectors: [a]}
        """,
    )
    monkeypatch.setenv("HARNESS_EXECUTION_ID", "exec-42")
    pytester.runpytest(
        CONNECTORS, "--connectors-bundle=bundle/", "--delegate=dlg", "--delegate-tags=a"
    )
    bundle = pytester.path / "bundle"
    files = sorted(p.name for p in bundle.iterdir())
    assert len([f for f in files if f.endswith(".json")]) == 2
    assert len([f for f in files if f.endswith(".md")]) == 2

    bundles = [json.loads(p.read_text()) for p in sorted(bundle.glob("*.json"))]
    assert sorted(b["connector"]["ref"] for b in bundles) == ["account.gh_main", "org.ci"]
    for data in bundles:
        assert data["status"] == "failed"
        assert data["delegate"]["name"] == "dlg"
        assert data["pipeline_execution_id"] == "exec-42"
        assert [e["failure_mode"] for e in data["errors"]] == ["secret-not-found"]
        assert {c["name"] for c in data["checks"]} >= {"definition", "secrets"}
    assert not any(name.startswith("connectors_docker") for name in files)
    markdown = "\n".join(p.read_text() for p in bundle.glob("*.md"))
    assert "# Escalation: account.gh_main (Github)" in markdown
    assert "# Escalation: org.ci (Jira)" in markdown
    assert "- `secret-not-found` on `secrets`:" in markdown


def test_bundles_of_two_failed_connectors_in_one_file_do_not_collide(
    pytester: pytest.Pytester, write_yaml: Callable[..., Path]
) -> None:
    write_yaml(
        "connectors/jira.yaml",
        """
        connector:
          name: one
          identifier: one
          type: Jira
          spec: {passwordRef: account.pw_one, delegateSelectors: [a]}
        ---
        connector:
          name: two
          identifier: two
          type: Jira
          spec: {passwordRef: account.pw_two, delegateSelectors: [a]}
        """,
    )
    pytester.runpytest(CONNECTORS, "--connectors-bundle=bundle")
    bundles = [json.loads(p.read_text()) for p in (pytester.path / "bundle").glob("*.json")]
    assert sorted(b["connector"]["ref"] for b in bundles) == ["account.one", "account.two"]


def test_report_delegate_block_matches_the_delegate_the_checks_used(
    pytester: pytest.Pytester, write_yaml: Callable[..., Path]
) -> None:
    write_yaml("connectors/jira.yaml", SELECTORS_YAML)
    write_yaml(
        "connectors/settings.yaml",
        """
        pytestConnectors:
          delegates:
            - name: d1
              tags: [a, zz]
        """,
    )
    pytester.runpytest(CONNECTORS, "--delegate=d1", "--connectors-report=report.json")
    report = json.loads((pytester.path / "report.json").read_text())
    (wants_a,) = [c for c in report["connectors"] if c["ref"] == "account.wants_a"]
    (delegate,) = [c for c in wants_a["checks"] if c["name"] == "delegate"]
    assert delegate["outcome"] == "passed"  # the check did use the inventory tags
    assert report["delegate"] == {"name": "d1", "tags": ["a", "zz"]}


@pytest.mark.usefixtures("inventory")
def test_verbose_output_shows_the_real_node_ids(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(CONNECTORS, "-v")
    result.stdout.re_match_lines([re.escape(FAILING) + r" FAILED\b.*"])


@pytest.mark.usefixtures("inventory")
def test_exit_code_is_one_with_failures(pytester: pytest.Pytester) -> None:
    assert pytester.runpytest(CONNECTORS).ret == pytest.ExitCode.TESTS_FAILED == 1


def test_exit_code_is_zero_when_all_healthy(
    pytester: pytest.Pytester, write_yaml: Callable[..., Path]
) -> None:
    write_yaml("connectors/docker.yaml", DOCKER_YAML)
    write_yaml("connectors/k8s.yaml", K8S_YAML)
    result = pytester.runpytest(CONNECTORS)
    assert result.ret == pytest.ExitCode.OK == 0
    result.assert_outcomes(passed=6)


def test_connector_fixture_in_an_ordinary_test(
    pytester: pytest.Pytester, write_yaml: Callable[..., Path]
) -> None:
    write_yaml("connectors/github.yaml", GITHUB_YAML)
    pytester.makepyfile(
        test_mine="""
        def test_lookup(connector):
            gh = connector("account.gh_main")
            assert gh.type == "Github"
            assert [r.raw for r in gh.secret_refs] == ["account.gh_pat"]
            result = connector.result("account.gh_main", "secrets")
            assert result.outcome.value == "failed"
            assert result.primary.mode == "secret-not-found"


        def test_unknown(connector):
            import pytest

            with pytest.raises(LookupError, match="account.gh_main"):
                connector("account.nope")
        """
    )
    result = pytester.runpytest("test_mine.py", CONNECTORS, "-rA")
    result.stdout.fnmatch_lines(
        ["PASSED test_mine.py::test_lookup", "PASSED test_mine.py::test_unknown"]
    )
    result.assert_outcomes(passed=len(GH_MAIN) + len(GH_DOCS) - 1 + 2, failed=1)


def test_ini_option_enables_the_plugin(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    write_yaml("connectors/docker.yaml", DOCKER_YAML)
    pytester.makeini("[pytest]\nconnectors = connectors\n")
    result = pytester.runpytest("-rA")
    assert outcomes_of(result) == dict.fromkeys(HUB, "PASSED")


def test_without_connector_paths_nothing_is_collected(
    pytester: pytest.Pytester, write_yaml: Callable[..., Path]
) -> None:
    write_yaml("connectors/docker.yaml", DOCKER_YAML)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert "connector summary" not in result.stdout.str()


def test_runtime_expression_passes_definition_and_fails_expressions(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    write_yaml(
        "connectors/hub.yaml",
        """
        connector:
          name: hub
          identifier: hub
          type: DockerRegistry
          spec:
            dockerRegistryUrl: <+pipeline.variables.registry>
            providerType: Other
            auth: {type: Anonymous}
            delegateSelectors: [a]
        """,
    )
    result = pytester.runpytest(CONNECTORS, "-rA")
    assert outcomes_of(result) == {
        "connectors/hub.yaml::account.hub[definition]": "PASSED",
        "connectors/hub.yaml::account.hub[expressions]": "FAILED",
        "connectors/hub.yaml::account.hub[delegate]": "PASSED",
    }
    result.stdout.fnmatch_lines(
        [
            "[[]runtime-expression[]] Runtime expression in the connector",
            "account.hub (DockerRegistry): spec.dockerRegistryUrl (line 6) holds the runtime"
            " expression '<+pipeline.variables.registry>'",
        ]
    )


def test_pipeline_references_are_items_and_reported(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    write_yaml("connectors/github.yaml", GITHUB_YAML)
    write_yaml(
        "connectors/pipelines.yaml",
        """
        pipeline:
          identifier: deploy
          orgIdentifier: eng
          projectIdentifier: web
          stages:
            - stage:
                spec:
                  connectorRef: account.gh_main
                  steps:
                    - step: {spec: {connectorRef: org.gh_docs}}
                    - step: {spec: {connectorRef: org.gh_doc}}
                    - step: {spec: {connectorRef: <+input>}}
        """,
    )
    result = pytester.runpytest(CONNECTORS, "-rA", "--connectors-report=report.json")
    outcomes = outcomes_of(result)
    assert outcomes["connectors/pipelines.yaml::deploy[references]"] == "FAILED"
    # used by a pipeline: gh_docs now has a references item, and it passes
    assert outcomes["connectors/github.yaml::org.gh_docs[references]"] == "PASSED"
    result.stdout.fnmatch_lines(
        [
            "[[]connector-not-found[]] Referenced connector does not exist",
            "*no connector 'org.gh_doc' resolves from project eng/web; did you mean 'org.gh_docs'?",
        ]
    )
    report = json.loads((pytester.path / "report.json").read_text())
    (pipeline,) = report["pipelines"]
    assert (pipeline["ref"], pipeline["type"], pipeline["status"]) == (
        "deploy",
        "pipeline",
        "failed",
    )
    (check,) = pipeline["checks"]
    assert (check["name"], check["failure_mode"]) == ("references", "connector-not-found")
    assert report["summary"]["connectors"] == 2  # pipelines are not counted as connectors
