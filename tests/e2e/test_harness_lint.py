"""End to end: issue 8's "Done means" for static runs: duplicate identifiers and PR lint.

* two connectors with one identifier in one file keep unique, deterministic node ids, so
  ``--lf`` and ``-n 2 --dist loadgroup`` keep both;
* PR lint without secrets: ``examples/connectors`` offline, with no secret source at all,
  fails only on what is wrong in the YAML, and a ``secret:`` document still gets a reference
  the right scope prefix suggested.

Every run is static (``--connectors-offline``, from ``tests/e2e/conftest.py``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CONNECTORS = "--connectors=connectors"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "connectors"


# -- duplicate identifiers ----------------------------------------------------------------------

#: The same identifier twice in one file: a copy-pasted Docker Hub connector (developer-hub
#: "CD artifact sources" shape) whose identifier was not changed.
DUPLICATE_YAML = """
connector:
  name: Docker Hub
  identifier: docker_hub
  description: ""
  orgIdentifier: default
  projectIdentifier: CD_Docs
  type: DockerRegistry
  spec:
    dockerRegistryUrl: https://index.docker.io/v2/
    providerType: DockerHub
    auth:
      type: Anonymous
    delegateSelectors:
      - docs-delegate
    executeOnDelegate: true
---
connector:
  name: Docker Hub mirror
  identifier: docker_hub
  description: ""
  orgIdentifier: default
  projectIdentifier: CD_Docs
  type: DockerRegistry
  spec:
    dockerRegistryUrl: https://mirror.gcr.io/v2/
    providerType: DockerHub
    auth:
      type: Anonymous
    delegateSelectors:
      - docs-delegate
    executeOnDelegate: true
"""
FIRST = [
    f"connectors/docker.yaml::docker_hub[{c}]" for c in ("definition", "expressions", "delegate")
]
SECOND = [
    f"connectors/docker.yaml::docker_hub-2[{c}]" for c in ("definition", "expressions", "delegate")
]
DUPLICATE = "connectors/docker.yaml::docker_hub-2[definition]"


@pytest.fixture
def duplicates(write_yaml: Callable[..., Path]) -> None:
    write_yaml("connectors/docker.yaml", DUPLICATE_YAML)


def _both_duplicates(report: Any) -> list[tuple[int, str, list[str]]]:
    """(line, status, checks) of each ``docker_hub`` in a report, in file order."""
    return [
        (c["line"], c["status"], sorted(check["name"] for check in c["checks"]))
        for c in report.data["connectors"]
        if c["ref"] == "docker_hub"
    ]


@pytest.mark.usefixtures("duplicates")
def test_duplicate_identifiers_get_unique_node_ids_and_the_second_names_the_first(
    pytester: pytest.Pytester,
    outcomes_of: Callable[..., dict[str, str]],
    read_report: Callable[[str], Any],
) -> None:
    """Done means: "Two connectors with the same identifier in one file: unique node ids"; rule
    7: "the second is `definition-invalid` naming the first (file:line)". Harness keeps one
    connector per identifier and scope (the identifier is the key: ConnectorResource
    ``create`` refuses a second one with "already exists")."""
    listed = pytester.runpytest(CONNECTORS, "--collect-only", "-q")
    assert [line for line in listed.outlines if "::" in line] == [*FIRST, *SECOND]

    result = pytester.runpytest(CONNECTORS, "-rA", "--connectors-report=report.json")
    assert outcomes_of(result) == {
        **dict.fromkeys([*FIRST, *SECOND], "PASSED"),
        DUPLICATE: "FAILED",
    }
    report = read_report("report.json")
    ((first_line, *_), (second_line, *_)) = _both_duplicates(report)
    (second,) = [c for c in report.data["connectors"] if c["line"] == second_line]
    (definition,) = [c for c in second["checks"] if c["name"] == "definition"]
    assert definition["failure_mode"] == "definition-invalid"
    assert f"is already defined at connectors/docker.yaml:{first_line};" in definition["message"]
    result.stdout.fnmatch_lines(
        [
            f"*already defined at connectors/docker.yaml:{first_line}*",
            f"At: connectors/docker.yaml:{second_line}",
        ]
    )


@pytest.mark.usefixtures("duplicates")
def test_last_failed_reruns_only_the_duplicate(
    pytester: pytest.Pytester, outcomes_of: Callable[..., dict[str, str]]
) -> None:
    """Done means: "`--lf` reruns only the failing one". ``--lf`` needs pytest's cache
    provider; CI runs the outer suite with ``-p no:cacheprovider``, which an in-process
    pytester run does not inherit, and ``-p cacheprovider`` says so explicitly."""
    first = pytester.runpytest(CONNECTORS, "-rA", "-p", "cacheprovider")
    assert outcomes_of(first)[DUPLICATE] == "FAILED"
    assert (pytester.path / ".pytest_cache").is_dir()

    second = pytester.runpytest(CONNECTORS, "-rA", "-p", "cacheprovider", "--lf")
    second.stdout.fnmatch_lines(["*run-last-failure: rerun previous 1 failure*"])
    assert outcomes_of(second) == {DUPLICATE: "FAILED"}


@pytest.mark.usefixtures("duplicates")
def test_loadgroup_reports_both_duplicates(
    pytester: pytest.Pytester,
    outcomes_of: Callable[..., dict[str, str]],
    read_report: Callable[[str], Any],
) -> None:
    """Done means: "`-n 2 --dist loadgroup` reports both" (rule 7: node ids identical on every
    worker, or xdist would refuse the collection)."""
    serial = pytester.runpytest(CONNECTORS, "-rA", "-p", "no:xdist", "--connectors-report=s.json")
    parallel = pytester.runpytest(
        CONNECTORS, "-rA", "-n", "2", "--dist", "loadgroup", "--connectors-report=p.json"
    )
    parallel.stdout.fnmatch_lines(["*2 workers*"])
    assert outcomes_of(parallel) == outcomes_of(serial)
    both = _both_duplicates(read_report("p.json"))
    assert both == _both_duplicates(read_report("s.json"))
    checks = ["definition", "delegate", "expressions"]
    assert [(status, names) for _, status, names in both] == [
        ("passed", checks),
        ("failed", checks),
    ]


# -- PR lint without secrets --------------------------------------------------------------------

#: Every failing item of examples/connectors in a PR-lint run, with its failure mode: each is a
#: defect of the YAML itself (the examples say so in a comment above each broken document).
#: Secrets judged only with their values (a rotated-away secret, a key in the wrong format, an
#: expired token) are not among them: without a secret source nobody can judge those.
EXAMPLES_PR_LINT_FAILURES = [
    "connectors/aws.yaml::account.aws_sandbox[references] scope-mismatch",
    "connectors/aws.yaml::org.aws_irsa_no_selectors[definition] definition-invalid",
    "connectors/azure.yaml::account.azure_dev[definition] definition-invalid",
    "connectors/azure.yaml::account.azure_dr[delegate] delegate-unavailable",
    "connectors/bitbucket.yaml::account.acme_bitbucket_no_url[definition] definition-invalid",
    "connectors/broken-documents.yaml::document-1[definition] definition-invalid",
    "connectors/broken-documents.yaml::document-2[definition] definition-invalid",
    "connectors/broken-documents.yaml::document-3[definition] definition-invalid",
    "connectors/broken-syntax.yaml::document-1[definition] definition-invalid",
    "connectors/docker.yaml::org.harbor_per_env[expressions] runtime-expression",
    "connectors/gcp.yaml::account.gcp_data_lake[definition] definition-invalid",
    "connectors/git.yaml::ledger_git_http[references] scope-mismatch",
    "connectors/git.yaml::pipeline_repo_git[expressions] runtime-expression",
    "connectors/github.yaml::account.acme-github-legacy[definition] definition-invalid",
    "connectors/github.yaml::account.acme_github_typo[definition] definition-invalid",
    "connectors/gitlab.yaml::org.acme_gitlab_enum_typo[definition] definition-invalid",
    "connectors/kubernetes.yaml::k8s_inherit_with_spec[definition] definition-invalid",
    "connectors/pipelines.yaml::payments_deploy[references] connector-not-found",
    "connectors/vault.yaml::account.legacy_vault[delegate] delegate-unavailable",
    "connectors/vault.yaml::account.vault_kv3[definition] definition-invalid",
]


@pytest.fixture
def no_secret_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not one ``CONNECTOR_SECRET_*`` variable: a PR from a fork has no secrets at all."""
    for name in list(os.environ):
        if name.startswith("CONNECTOR_SECRET_"):
            monkeypatch.delenv(name)


@pytest.mark.no_secret_source
@pytest.mark.usefixtures("no_secret_variables")
def test_pr_lint_of_the_examples_fails_only_on_yaml_defects(
    pytester: pytest.Pytester,
    outcomes_of: Callable[..., dict[str, str]],
    read_report: Callable[[str], Any],
) -> None:
    """Done means: "`--connectors-offline` on `examples/connectors` with no secrets file and no
    secret variables: only YAML defects fail"; rule 5: "`secrets` is skipped 'not checked: no
    secret source' — not `secret-not-found`"."""
    shutil.copytree(EXAMPLES, pytester.path / "connectors")
    result = pytester.runpytest(CONNECTORS, "-rA", "--connectors-report=report.json")
    report = read_report("report.json")
    failures = report.failures()
    print("PR lint of examples/connectors fails on:", *failures, sep="\n  ")
    assert failures == EXAMPLES_PR_LINT_FAILURES
    # the failed items are exactly these, and no item failed without a report entry
    failed_items = sorted(
        node for node, outcome in outcomes_of(result).items() if outcome == "FAILED"
    )
    assert failed_items == sorted(f.rsplit(" ", 1)[0] for f in EXAMPLES_PR_LINT_FAILURES)
    text = result.stdout.str()
    assert "secret-not-found" not in text
    assert "secret-not-found" not in (pytester.path / "report.json").read_text()
    skipped_secrets = [
        check
        for connector in report.data["connectors"]
        for check in connector["checks"]
        if check["name"] == "secrets"
    ]
    assert skipped_secrets, "the examples reference secrets"
    for check in skipped_secrets:
        assert check["outcome"] == "skipped"
        assert check["skip_reason"].startswith("not checked: no secret source")
    assert "not checked: not checked" not in text  # the reason reads once


#: A project connector whose token a ``secret:`` document declares at org scope: the reference
#: must be ``org.githubpat``. Shapes from developer-hub create-a-connector-using-yaml.md (the
#: secret) and git-hub-connector-settings-reference.md (the connector).
SCOPED_SECRET_YAML = """
secret:
  type: SecretText
  name: githubpat
  identifier: githubpat
  orgIdentifier: default
  tags: {}
  spec:
    secretManagerIdentifier: org.harnessSecretManager
    valueType: Inline
---
connector:
  name: GitHub Docs
  identifier: github_docs
  orgIdentifier: default
  projectIdentifier: CD_Docs
  type: Github
  spec:
    url: https://github.com/johndoe/myapp.git
    authentication:
      type: Http
      spec:
        type: UsernameToken
        spec:
          username: johndoe
          tokenRef: githubpat
    delegateSelectors:
      - docs-delegate
    executeOnDelegate: true
    type: Repo
"""


@pytest.mark.no_secret_source
@pytest.mark.usefixtures("no_secret_variables")
def test_pr_lint_still_suggests_the_scope_of_a_declared_secret(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[..., dict[str, str]],
    read_report: Callable[[str], Any],
) -> None:
    """Rule 5: "When `secret:` documents are loaded, a reference to a secret that they declare
    at another scope still gets the right prefix suggested". Harness resolves a bare reference
    in the connector's own project and an ``org.`` one in its org (developer-hub
    "Reference existing secrets": ``org.`` and ``account.`` prefixes)."""
    write_yaml("connectors/github.yaml", SCOPED_SECRET_YAML)
    result = pytester.runpytest(CONNECTORS, "-rA", "--connectors-report=report.json")
    failed = [node for node, outcome in outcomes_of(result).items() if outcome == "FAILED"]
    assert failed == ["connectors/github.yaml::github_docs[references]"]
    checks = read_report("report.json").checks("github_docs")
    assert checks["secrets"]["skip_reason"].startswith("not checked: no secret source")
    references = checks["references"]
    assert references["failure_mode"] == "scope-mismatch"
    assert references["message"].endswith("write 'org.githubpat'")
    assert references["evidence"]["suggestion"] == "org.githubpat"
    assert "secret-not-found" not in result.stdout.str()
