"""End to end: the verdicts of issue 8's "Done means", as a user sees them.

* an honest status: a connector whose checks could not all run is ``incomplete`` in the
  terminal, the JSON report, Markdown and JUnit, and ``--connectors-strict`` fails it;
* one job per delegate: three runs as three delegates of one inventory check each connector in
  its own delegate's run and fail none in another's.

Online runs talk to the sandbox only (loopback servers found through the sandbox DNS server);
every network operation gets 30 s, far above what a loaded host needs on loopback.
Duplicates and PR lint are in ``test_harness_lint.py``; what Harness accepts and rejects in
``test_harness_accepts.py`` and ``test_harness_rejects.py``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_connectors.checks.vault import EXTRA_HINT
from pytest_connectors.sandbox import Sandbox

CONNECTORS = "--connectors=connectors"
#: Generous limits: loopback answers in milliseconds, a loaded CI host in far less than this.
#: Generous budgets: latency and this host's load are not what these tests are about (another
#: suite may share the two cores).
SETTINGS = """
pytestConnectors:
  defaults: {timeout: 30, latencyBudget: 30, loadPerCoreWarning: 1000, memoryAvailableWarning: 0}
"""
STATIC_CHECKS = ("definition", "references", "expressions", "delegate", "secrets")
NETWORK_CHECKS = ("dns", "tcp", "tls", "latency")
VAULT_API_CHECKS = ("health", "auth", "permissions")


def checks_of(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Check name -> check, of one connector record of a report."""
    return {check["name"]: check for check in record["checks"]}


def section(lines: list[str], title: str) -> list[str]:
    """The lines of the terminal section whose separator line holds ``title``."""
    start = next(i for i, line in enumerate(lines) if title in line and line.startswith("="))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("=" * 5))
    return lines[start:end]


# -- an honest status ---------------------------------------------------------------------------

#: A Vault connector shaped like Harness's published ones (developer-hub
#: "add-hashicorp-vault.md" / create-a-connector-using-yaml.md: project scope in the default
#: org, the VaultConnectorDTO fields as the YAML builder writes them).
VAULT_YAML = """
connector:
  name: Docs Vault
  identifier: docs_vault
  description: ""
  orgIdentifier: default
  projectIdentifier: CD_Docs
  type: Vault
  spec:
    authToken: vaulttoken
    basePath: harness
    vaultUrl: {url}
    renewalIntervalMinutes: 10
    secretEngineManuallyConfigured: false
    secretEngineName: secret
    secretEngineVersion: 2
    useAwsIam: false
    useK8sAuth: false
    useVaultAgent: false
    delegateSelectors:
      - docs-delegate
    default: false
    readOnly: false
"""

#: Makes the ``hvac`` extra missing for real inside the run: ``None`` in ``sys.modules`` is
#: Python's own way to make ``import hvac`` raise ImportError. The header line proves it did.
HVAC_MISSING_CONFTEST = """
import sys

sys.modules["hvac"] = None
try:
    import hvac  # noqa: F401
except ImportError:
    IMPORTABLE = False
else:
    IMPORTABLE = True


def pytest_report_header(config):
    return f"hvac importable: {IMPORTABLE}"
"""


@pytest.fixture
def vault_without_hvac(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[list[str]]:
    """A Vault connector whose URL answers plain HTTP on loopback (so ``dns``, ``tcp``,
    ``tls`` and ``latency`` pass and ``health`` gets as far as importing hvac), in a run where
    hvac cannot be imported; yields the run's options."""
    server = sandbox.http("vault.sandbox.test")
    write_yaml("connectors/vault.yaml", VAULT_YAML.format(url=server.url))
    write_yaml("connectors/settings.yaml", SETTINGS)
    pytester.makeconftest(HVAC_MISSING_CONFTEST)
    monkeypatch.setenv("CONNECTOR_SECRET_PROJECT_vaulttoken", "s.vault-token-for-docs")
    yield [CONNECTORS, "-rA", f"--connectors-dns={sandbox.dns.hostport}"]
    assert server.errors == []
    # the Vault checks sent nothing: without hvac, no request reached the Vault API
    assert [r.path for r in server.received if r.path.startswith("/v1/")] == []


@pytest.mark.online
def test_a_vault_connector_without_the_hvac_extra_is_incomplete_everywhere(
    pytester: pytest.Pytester,
    vault_without_hvac: list[str],
    outcomes_of: Callable[..., dict[str, str]],
    read_report: Callable[[str], Any],
) -> None:
    """Done means: "A connector with a skipped `auth` (extra missing) is `incomplete` in the
    terminal summary, the JSON report and Markdown" (rule 4: also JUnit properties, its own
    count and section, and the closing "N of M fully checked" line)."""
    result = pytester.runpytest(
        *vault_without_hvac,
        "--connectors-report=out/report.json",
        "--connectors-markdown=out/summary.md",
        "--junitxml=out/junit.xml",
    )
    result.stdout.fnmatch_lines(["hvac importable: False"])
    assert result.ret == pytest.ExitCode.OK  # incomplete is not failed (without --strict)
    # -rA lists passes and failures one by one (skips folded): all but the Vault API checks
    # passed, and those were skipped (the report below says why)
    ran = (*STATIC_CHECKS, *NETWORK_CHECKS)
    assert outcomes_of(result) == {f"connectors/vault.yaml::docs_vault[{c}]": "PASSED" for c in ran}

    summary = section(result.outlines, "connector summary")
    print("\n".join(summary))  # the summary the closing note of issue 8 quotes
    hint = f"the Vault checks need the hvac package: {EXTRA_HINT}"
    result.stdout.fnmatch_lines(
        [
            "*connector summary*",
            "docs_vault *Vault *incomplete *connectors/vault.yaml:*",
            "*connectors not fully checked (failing: --connectors-strict)*",
            *(f"docs_vault[{c}] not checked: {hint}" for c in VAULT_API_CHECKS),
            "*1 connector: 0 passed, 0 with warnings, 0 failed, 1 incomplete;"
            " 0 of 1 fully checked*",
        ]
    )

    report = read_report("out/report.json")
    assert report.data["summary"] == {
        "connectors": 1,
        "passed": 0,
        "failed": 0,
        "warnings": 0,
        "incomplete": 1,
        "skipped": 0,
        "fully_checked": 0,
    }
    vault = report.connector("docs_vault")
    assert vault["status"] == "incomplete"
    assert vault["not_checked"] == [{"check": c, "reason": hint} for c in VAULT_API_CHECKS]
    checks = checks_of(vault)
    for name in VAULT_API_CHECKS:
        assert checks[name]["outcome"] == "skipped"
        assert (checks[name]["skip_kind"], checks[name]["skip_reason"]) == ("not-checked", hint)
    assert {checks[n]["outcome"] for n in NETWORK_CHECKS} == {"passed"}

    markdown = (pytester.path / "out/summary.md").read_text()
    assert "1 connector: 0 passed, 0 with warnings, 0 failed, 1 incomplete;" in markdown
    assert "| `docs_vault` | Vault | incomplete |" in markdown
    assert "### Not fully checked" in markdown
    for name in VAULT_API_CHECKS:
        assert f"- `docs_vault` **{name}**: {hint}" in markdown

    junit = ET.parse(pytester.path / "out/junit.xml").getroot()
    for name in VAULT_API_CHECKS:
        (case,) = [c for c in junit.iter("testcase") if c.get("name") == f"docs_vault[{name}]"]
        assert case.find("skipped") is not None
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert properties["skip_kind"] == "not-checked"
        assert properties["skip_reason"] == hint
        assert properties["connector"] == "docs_vault"


@pytest.mark.online
def test_strict_fails_a_connector_that_is_not_fully_checked(
    pytester: pytest.Pytester,
    vault_without_hvac: list[str],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    """Rule 4: "`--connectors-strict` fails on `incomplete` as it does on warnings"."""
    result = pytester.runpytest(*vault_without_hvac, "--connectors-strict")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    outcomes = outcomes_of(result)
    failed = sorted(node for node, outcome in outcomes.items() if outcome == "FAILED")
    assert failed == sorted(f"connectors/vault.yaml::docs_vault[{c}]" for c in VAULT_API_CHECKS)
    result.stdout.fnmatch_lines(
        [
            "[[]not checked[]] docs_vault (Vault): the health check did not run",
            f"Reason: the Vault checks need the hvac package: {EXTRA_HINT}",
        ]
    )
    # strict reports what it failed as failed, and the closing line still counts it unchecked
    result.stdout.fnmatch_lines(
        ["docs_vault *Vault *FAILED *connectors/vault.yaml:*", "*0 of 1 fully checked*"]
    )


#: A Jira connector (a type without live checks yet), as Harness's Jira connector reference
#: writes it (developer-hub connect-to-jira.md: `jiraUrl`, `auth: UsernamePassword`).
JIRA_YAML = """
connector:
  name: Docs Jira
  identifier: docs_jira
  orgIdentifier: default
  projectIdentifier: CD_Docs
  type: Jira
  spec:
    jiraUrl: https://jira.example.com/
    auth:
      type: UsernamePassword
      spec:
        username: johndoe
        passwordRef: jirapwd
    delegateSelectors:
      - docs-delegate
"""


@pytest.mark.online
def test_a_type_without_live_checks_is_incomplete_online_and_passed_offline(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    read_report: Callable[[str], Any],
) -> None:
    """Rule 4: "no live checks for the type yet" leaves a gap in an online run (and
    ``--connectors-strict`` fails it); a static run (``--connectors-offline``) checks what it
    is asked to, so there the connector passes."""
    write_yaml("connectors/jira.yaml", JIRA_YAML)
    monkeypatch.setenv("CONNECTOR_SECRET_PROJECT_jirapwd", "jira-password-for-docs")
    online = pytester.runpytest(CONNECTORS, "--connectors-report=online.json")
    jira = read_report("online.json").connector("docs_jira")
    assert jira["status"] == "incomplete"
    assert [gap["check"] for gap in jira["not_checked"]] == ["live checks"]
    assert "none yet for type Jira" in jira["not_checked"][0]["reason"]
    assert {c["outcome"] for c in jira["checks"]} == {"passed"}  # what ran, passed
    online.stdout.fnmatch_lines(
        [
            "docs_jira *Jira *incomplete *connectors/jira.yaml:*",
            "docs_jira[[]live checks[]] not checked: none yet for type Jira*",
            "*0 of 1 fully checked*",
        ]
    )

    # the gap has no item of its own, yet --connectors-strict fails the run on it
    assert pytester.runpytest(CONNECTORS, "--connectors-strict").ret == pytest.ExitCode.TESTS_FAILED

    offline = pytester.runpytest(CONNECTORS, "--connectors-offline", "--connectors-report=off.json")
    jira = read_report("off.json").connector("docs_jira")
    assert (jira["status"], jira["not_checked"]) == ("passed", [])
    offline.stdout.fnmatch_lines(["docs_jira *Jira *ok *", "*1 of 1 fully checked*"])
    assert "connectors not fully checked" not in offline.stdout.str()


# -- one job per delegate -----------------------------------------------------------------------

#: Three connected delegates and one that is registered but disconnected.
DELEGATES_YAML = """
pytestConnectors:
  defaults: {timeout: 30, latencyBudget: 30, loadPerCoreWarning: 1000, memoryAvailableWarning: 0}
  delegates:
    - {name: dmz-1, tags: [dmz]}
    - {name: aws-1, tags: [aws]}
    - {name: k8s-1, tags: [k8s]}
    - {name: gcp-1, tags: [gcp], connected: false}
"""
#: A Docker registry connector as in developer-hub's "CD artifact sources" page, pinned to the
#: delegates that carry ``selector``.
REGISTRY_YAML = """
connector:
  name: {identifier}
  identifier: {identifier}
  description: ""
  orgIdentifier: default
  projectIdentifier: CD_Docs
  type: DockerRegistry
  spec:
    dockerRegistryUrl: {url}/v2/
    providerType: Other
    auth:
      type: Anonymous
    delegateSelectors:
      - {selector}
    executeOnDelegate: true
"""
#: connector -> the delegate whose job it is; UNAVAILABLE's selector only a disconnected one has
OWNERS = {"dmz_registry": "dmz-1", "aws_registry": "aws-1", "k8s_registry": "k8s-1"}
UNAVAILABLE = "gcp_registry"
REGISTRY_NETWORK_CHECKS = (*NETWORK_CHECKS, "auth")


@pytest.fixture
def pinned_registries(write_yaml: Callable[..., Path], sandbox: Sandbox) -> list[str]:
    """One registry connector pinned to each delegate of the inventory, each at its own
    sandbox registry that answers (anonymous pulls allowed): in its own delegate's run every
    check of a connector runs and passes, so any failure elsewhere can only be the delegate
    logic's doing. Returns the options every run shares."""
    for selector in ("dmz", "aws", "k8s", "gcp"):
        server, _ = sandbox.registry(f"{selector}-registry.sandbox.test", anonymous=True)
        identifier = f"{selector}_registry"
        text = REGISTRY_YAML.format(identifier=identifier, url=server.url, selector=selector)
        write_yaml(f"connectors/{identifier}.yaml", text)
    write_yaml("connectors/settings.yaml", DELEGATES_YAML)
    return [
        CONNECTORS,
        "-rA",
        f"--connectors-dns={sandbox.dns.hostport}",
        f"--connectors-ca-bundle={sandbox.ca_file}",
    ]


def _run_as(
    pytester: pytest.Pytester, options: list[str], delegate: str
) -> tuple[pytest.RunResult, dict[str, dict[str, Any]]]:
    report = f"{delegate}.json"
    result = pytester.runpytest(*options, f"--delegate={delegate}", f"--connectors-report={report}")
    data = json.loads((pytester.path / report).read_text())
    records = {c["ref"]: c for c in data["connectors"]}
    return result, records


@pytest.mark.online
def test_one_run_per_delegate_checks_every_connector_once_and_fails_none_of_another(
    pytester: pytest.Pytester,
    pinned_registries: list[str],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    """Done means: "Three runs as three delegates of one inventory (each `--delegate`), over
    connectors pinned to each of them: every connector is checked by its own delegate's run
    and is never failed by another's; a connector whose selectors no connected delegate
    carries fails `delegate-unavailable` in every run". Harness runs a connector's tasks only
    on a delegate that carries all of its ``delegateSelectors`` (developer-hub
    "Use delegate selectors"; ``DelegateSelectable``), so another delegate's job is never
    this one's failure."""
    checked_by: dict[str, list[str]] = {ref: [] for ref in OWNERS}
    for delegate in ("dmz-1", "aws-1", "k8s-1"):
        result, records = _run_as(pytester, pinned_registries, delegate)
        outcomes = outcomes_of(result)
        for ref, owner in OWNERS.items():
            record = records[ref]
            checks = checks_of(record)
            node = f"connectors/{ref}.yaml::{ref}[{{}}]".format
            assert "FAILED" not in {outcomes.get(node(c)) for c in checks}, (delegate, ref)
            assert outcomes[node("delegate")] == "PASSED"
            ran = {c for c in REGISTRY_NETWORK_CHECKS if checks[c]["outcome"] != "skipped"}
            if owner == delegate:
                assert ran == set(REGISTRY_NETWORK_CHECKS), (delegate, ref)
                assert record["status"] in ("passed", "warning")  # fully checked
                checked_by[ref].append(delegate)
                continue
            assert ran == set(), (delegate, ref)
            assert record["status"] == "incomplete"
            reason = f"runs on {owner}; this run is {delegate}"
            for name in REGISTRY_NETWORK_CHECKS:
                assert node(name) not in outcomes  # neither passed nor failed: skipped
                assert (checks[name]["skip_kind"], checks[name]["skip_reason"]) == (
                    "not-checked",
                    reason,
                )
            assert checks["delegate"]["evidence"]["runs_on"] == [owner]

        unavailable = records[UNAVAILABLE]
        checks = checks_of(unavailable)
        assert unavailable["status"] == "failed"
        assert checks["delegate"]["failure_mode"] == "delegate-unavailable"
        assert "gcp-1 (disconnected)" in checks["delegate"]["message"]
        for name in REGISTRY_NETWORK_CHECKS:
            assert checks[name]["skip_reason"] == "blocked by delegate (delegate-unavailable)"
        failed = {node for node, outcome in outcomes.items() if outcome == "FAILED"}
        assert failed == {f"connectors/{UNAVAILABLE}.yaml::{UNAVAILABLE}[delegate]"}
        result.stdout.fnmatch_lines(
            ["*4 connectors: * 1 failed, 2 incomplete; 1 of 4 fully checked*"]
        )
    assert checked_by == {ref: [owner] for ref, owner in OWNERS.items()}


@pytest.mark.online
def test_any_delegate_checks_every_connector_from_this_host(
    pytester: pytest.Pytester,
    pinned_registries: list[str],
) -> None:
    """Rule 6: "`--connectors-any-delegate` still runs everything": one run as dmz-1 checks
    the connectors of aws-1 and k8s-1 too, and the network checks of the unavailable one, whose
    ``delegate`` check still says ``delegate-unavailable`` (the inventory, not this host, says
    no delegate can run it) without blocking them."""
    _, records = _run_as(pytester, [*pinned_registries, "--connectors-any-delegate"], "dmz-1")
    for ref in (*OWNERS, UNAVAILABLE):
        checks = checks_of(records[ref])
        outcomes = {checks[c]["outcome"] for c in REGISTRY_NETWORK_CHECKS}
        assert outcomes <= {"passed", "warning"}, ref
    assert all(records[ref]["status"] in ("passed", "warning") for ref in OWNERS)
    delegate = checks_of(records[UNAVAILABLE])["delegate"]
    assert delegate["failure_mode"] == "delegate-unavailable"
    assert records[UNAVAILABLE]["status"] == "failed"
