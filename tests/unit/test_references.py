"""Reference resolution: pipeline ``connectorRef`` values and connector secret references."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_connectors.checks.context import CheckContext, CollectContext, RunOptions
from pytest_connectors.checks.documents import pipeline_result
from pytest_connectors.checks.references import REFERENCES, check_references
from pytest_connectors.delegate import DelegateContext
from pytest_connectors.inventory import Inventory, load_inventory
from pytest_connectors.pipelines import pipeline_uses_by_connector, resolve_pipeline
from pytest_connectors.results import Outcome
from pytest_connectors.secrets import SecretChain

# connectors at every scope: account gh_main, org eng/k8s_eng, projects eng/web and eng/api
CONNECTORS = """
connector: {name: a, identifier: gh_main, type: Jira, spec: {}}
---
connector: {name: a, identifier: k8s_eng, orgIdentifier: eng, type: Jira, spec: {}}
---
connector:
  {name: a, identifier: web_repo, orgIdentifier: eng, projectIdentifier: web, type: Jira, spec: {}}
---
connector:
  {name: a, identifier: api_repo, orgIdentifier: eng, projectIdentifier: api, type: Jira, spec: {}}
"""


def _pipeline(ref: str, scope: str = "orgIdentifier: eng\n  projectIdentifier: web") -> str:
    return (
        "pipeline:\n"
        "  identifier: deploy\n"
        f"  {scope}\n"
        "  stages:\n"
        "    - stage:\n"
        "        spec:\n"
        f'          connectorRef: "{ref}"\n'
    )


@pytest.fixture
def inventory_of(tmp_path: Path) -> Callable[..., Inventory]:
    def load(*documents: str) -> Inventory:
        (tmp_path / "connectors.yaml").write_text(CONNECTORS)
        for index, text in enumerate(documents):
            (tmp_path / f"doc{index}.yaml").write_text(text)
        return load_inventory([tmp_path], tmp_path)

    return load


def _resolve(inventory: Inventory) -> list[tuple[str | None, str | None, dict[str, object]]]:
    (pipeline,) = inventory.pipelines
    return [
        (
            r.connector.ref if r.connector else None,
            r.finding.mode if r.finding else None,
            dict(r.finding.evidence) if r.finding else {},
        )
        for r in resolve_pipeline(inventory, pipeline)
    ]


@pytest.mark.parametrize(
    ("ref", "resolved"),
    [
        ("account.gh_main", "account.gh_main"),
        ("ACCOUNT.gh_main", "account.gh_main"),
        ("org.k8s_eng", "org.k8s_eng"),
        ("web_repo", "web_repo"),
    ],
)
def test_right_prefix_resolves(
    inventory_of: Callable[..., Inventory], ref: str, resolved: str
) -> None:
    assert _resolve(inventory_of(_pipeline(ref))) == [(resolved, None, {})]


def test_missing_account_prefix_is_a_scope_mismatch_with_the_fix(
    inventory_of: Callable[..., Inventory],
) -> None:
    inventory = inventory_of(_pipeline("gh_main"))
    ((connector, mode, evidence),) = _resolve(inventory)
    assert (connector, mode) == ("account.gh_main", "scope-mismatch")
    assert evidence["suggestion"] == "account.gh_main"
    assert evidence["owner_scope"] == "account"
    (pipeline,) = inventory.pipelines
    ((finding),) = [r.finding for r in resolve_pipeline(inventory, pipeline)]
    assert finding is not None
    assert "write 'account.gh_main'" in finding.cause
    assert finding.cause.startswith("pipeline.stages[0].stage.spec.connectorRef (line 8): ")


def test_missing_org_prefix_is_a_scope_mismatch(inventory_of: Callable[..., Inventory]) -> None:
    ((_, mode, evidence),) = _resolve(inventory_of(_pipeline("k8s_eng")))
    assert (mode, evidence["suggestion"]) == ("scope-mismatch", "org.k8s_eng")


def test_wrong_prefix_for_a_project_connector(inventory_of: Callable[..., Inventory]) -> None:
    ((_, mode, evidence),) = _resolve(inventory_of(_pipeline("account.web_repo")))
    assert (mode, evidence["suggestion"]) == ("scope-mismatch", "web_repo")


def test_project_prefix_is_invalid_syntax_with_a_fix(
    inventory_of: Callable[..., Inventory],
) -> None:
    ((connector, mode, evidence),) = _resolve(inventory_of(_pipeline("project.web_repo")))
    assert (connector, mode) == (None, "scope-mismatch")
    assert evidence["suggestion"] == "web_repo"


def test_typo_is_not_found_with_did_you_mean(inventory_of: Callable[..., Inventory]) -> None:
    inventory = inventory_of(_pipeline("account.gh_mian"))
    ((connector, mode, evidence),) = _resolve(inventory)
    assert (connector, mode) == (None, "connector-not-found")
    assert evidence["suggestion"] == "account.gh_main"
    assert "account.gh_main" in str(evidence["candidates"])
    (pipeline,) = inventory.pipelines
    (resolution,) = resolve_pipeline(inventory, pipeline)
    assert resolution.finding is not None
    assert "did you mean 'account.gh_main'?" in resolution.finding.cause
    assert (
        "no connector 'account.gh_mian' resolves from project eng/web" in resolution.finding.cause
    )


def test_nothing_close_is_not_found_without_suggestion(
    inventory_of: Callable[..., Inventory],
) -> None:
    ((_, mode, evidence),) = _resolve(inventory_of(_pipeline("zzzzzz")))
    assert mode == "connector-not-found"
    assert evidence["suggestion"] is None


def test_connector_in_another_project_is_not_found_with_a_note(
    inventory_of: Callable[..., Inventory],
) -> None:
    inventory = inventory_of(_pipeline("api_repo"))
    ((connector, mode, evidence),) = _resolve(inventory)
    assert (connector, mode) == (None, "connector-not-found")
    assert "(not reachable from here: api_repo at project eng/api)" in str(evidence["candidates"])


def test_org_connector_of_another_org_is_not_reachable(
    inventory_of: Callable[..., Inventory],
) -> None:
    pipeline = _pipeline("org.k8s_eng", scope="orgIdentifier: ops\n  projectIdentifier: web")
    ((_, mode, evidence),) = _resolve(inventory_of(pipeline))
    assert mode == "connector-not-found"
    assert "not reachable from here: k8s_eng at org eng" in str(evidence["candidates"])


def test_runtime_inputs_are_skipped(inventory_of: Callable[..., Inventory]) -> None:
    inventory = inventory_of(_pipeline("<+input>"))
    assert _resolve(inventory) == []
    (pipeline,) = inventory.pipelines
    result = pipeline_result(inventory, pipeline)
    assert result.outcome is Outcome.PASSED
    assert result.evidence["runtime_inputs"] == ["pipeline.stages[0].stage.spec.connectorRef"]


def test_pipeline_result_collects_every_finding(inventory_of: Callable[..., Inventory]) -> None:
    text = textwrap.dedent(
        """\
        template:
          identifier: tpl
          orgIdentifier: eng
          projectIdentifier: web
          spec:
            a: {connectorRef: account.gh_main}
            b: {connectorRef: gh_main}
            c: {connectorRef: nope_nope}
        """
    )
    inventory = inventory_of(text)
    (pipeline,) = inventory.pipelines
    result = pipeline_result(inventory, pipeline)
    assert result.outcome is Outcome.FAILED
    assert [f.mode for f in result.findings] == ["scope-mismatch", "connector-not-found"]
    assert list(result.evidence["resolved"]) == ["account.gh_main"]


def test_account_level_pipeline_sees_only_account_connectors(
    inventory_of: Callable[..., Inventory],
) -> None:
    pipeline = _pipeline("org.k8s_eng", scope="tags: {}")
    ((_, mode, _),) = _resolve(inventory_of(pipeline))
    assert mode == "connector-not-found"


def test_pipeline_uses_are_indexed_by_connector(inventory_of: Callable[..., Inventory]) -> None:
    inventory = inventory_of(_pipeline("account.gh_main"))
    uses = pipeline_uses_by_connector(inventory)
    (connector,) = inventory.by_ref("account.gh_main")
    (use,) = uses[connector.key]
    assert use.startswith("pipeline deploy (")
    collect = CollectContext(inventory, inventory.settings, RunOptions())
    assert collect.referenced_by_pipelines(connector)
    assert REFERENCES.applies_to(connector, collect)  # no secret refs, but used by a pipeline
    (unused,) = inventory.by_ref("org.k8s_eng")
    assert not REFERENCES.applies_to(unused, collect)


# -- secret references held by connectors ----------------------------------------------------


def _check(inventory: Inventory, ref: str) -> list[tuple[str, dict[str, object]]]:
    (connector,) = inventory.by_ref(ref)
    ctx = CheckContext(
        connector=connector,
        inventory=inventory,
        settings=inventory.settings,
        delegate=DelegateContext(),
        secrets=SecretChain([]),
        options=RunOptions(),
        result_of=lambda name: pytest.fail(name),
    )
    check_references(ctx)
    return [(f.mode, dict(f.evidence)) for f in ctx.findings]


def _jira(identifier: str, scope: str, password_ref: str) -> str:
    return (
        f"connector: {{name: x, identifier: {identifier}, {scope} type: Jira,"
        f" spec: {{passwordRef: '{password_ref}'}}}}\n"
    )


@pytest.mark.parametrize(
    ("scope", "ref", "password_ref"),
    [
        ("", "account.acc", "account.pw"),
        ("orgIdentifier: eng,", "org.acc", "org.pw"),
        ("orgIdentifier: eng,", "org.acc", "account.pw"),
        ("orgIdentifier: eng, projectIdentifier: web,", "acc", "pw"),
        ("orgIdentifier: eng, projectIdentifier: web,", "acc", "org.pw"),
    ],
)
def test_allowed_secret_references(
    inventory_of: Callable[..., Inventory], scope: str, ref: str, password_ref: str
) -> None:
    assert _check(inventory_of(_jira("acc", scope, password_ref)), ref) == []


def test_account_connector_with_a_bare_secret_ref(
    inventory_of: Callable[..., Inventory],
) -> None:
    ((mode, evidence),) = _check(inventory_of(_jira("acc", "", "pw")), "account.acc")
    assert mode == "scope-mismatch"
    assert evidence["reference"] == "pw"
    assert evidence["field_path"] == "spec.passwordRef"
    assert evidence["suggestion"] == "account.pw"


def test_org_connector_with_a_project_secret(inventory_of: Callable[..., Inventory]) -> None:
    ((mode, evidence),) = _check(inventory_of(_jira("acc", "orgIdentifier: eng,", "pw")), "org.acc")
    assert mode == "scope-mismatch"
    assert evidence["reference"] == "pw"


def test_invalid_prefix_in_a_secret_ref(inventory_of: Callable[..., Inventory]) -> None:
    ((mode, evidence),) = _check(
        inventory_of(_jira("acc", "orgIdentifier: eng, projectIdentifier: web,", "project.pw")),
        "acc",
    )
    assert mode == "scope-mismatch"
    assert evidence["suggestion"] == "pw"  # project. from inside a project means the bare id


def test_secret_documents_point_at_the_right_scope(
    inventory_of: Callable[..., Inventory],
) -> None:
    secret = "secret: {identifier: pw, type: SecretText, name: pw}\n"  # lives at account
    connector = _jira("acc", "orgIdentifier: eng, projectIdentifier: web,", "org.pw")
    ((mode, evidence),) = _check(inventory_of(connector, secret), "acc")
    assert mode == "scope-mismatch"
    assert evidence["suggestion"] == "account.pw"
    assert evidence["owner_scope"] == "account"


def test_references_check_notes_the_pipelines_using_a_connector(
    inventory_of: Callable[..., Inventory],
) -> None:
    inventory = inventory_of(_pipeline("account.gh_main"))
    (connector,) = inventory.by_ref("account.gh_main")
    ctx = CheckContext(
        connector=connector,
        inventory=inventory,
        settings=inventory.settings,
        delegate=DelegateContext(),
        secrets=SecretChain([]),
        options=RunOptions(),
        result_of=lambda name: pytest.fail(name),
    )
    check_references(ctx)
    assert ctx.findings == []
    (used_by,) = ctx.evidence["referenced_by"]
    assert used_by.startswith("pipeline deploy (")
