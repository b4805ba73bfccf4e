"""The failure-mode catalogue keeps the contract, and its docs page is up to date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_connectors.catalogue import (
    AUTH_KINDS,
    CATALOGUE,
    CONNECTOR_TYPES,
    DERIVED_KEYS,
    DOCS_PAGE,
    EVIDENCE_KEYS,
    GROUPS,
    PLACEHOLDERS,
    FailureMode,
    Severity,
    Step,
    _validate,
    get,
    render_template,
)
from pytest_connectors.docs import main, render_failure_modes_markdown

REPO_ROOT = Path(__file__).resolve().parents[2]

CONTRACT_IDS = {
    "definition-invalid",
    "runtime-expression",
    "unknown-field",
    "scope-mismatch",
    "connector-not-found",
    "secret-not-found",
    "secret-format-invalid",
    "delegate-selector-missing",
    "delegate-unavailable",
    "dns-resolution-failed",
    "port-unreachable",
    "connection-timeout",
    "proxy-misconfigured",
    "incorrect-endpoint",
    "timeout-too-low",
    "high-latency",
    "delegate-resource-constraints",
    "tls-untrusted-certificate",
    "tls-incomplete-chain",
    "tls-hostname-mismatch",
    "tls-certificate-expired",
    "tls-certificate-expiring",
    "invalid-credentials",
    "credentials-expired",
    "credentials-expiring",
    "insecure-transport",
    "insufficient-permissions",
    "k8s-rbac-denied",
    "rate-limited",
    "rate-limit-low",
    "concurrent-connection-limit",
    "aws-trust-policy",
    "aws-sts-regional-endpoint",
    "gcp-key-invalid",
    "gcp-project-mismatch",
    "gcp-missing-iam-roles",
    "azure-tenant-subscription",
    "azure-service-principal",
    "secret-manager-unhealthy",
}

WARNING_IDS = {
    "unknown-field",
    "delegate-selector-missing",
    "timeout-too-low",
    "high-latency",
    "delegate-resource-constraints",
    "tls-certificate-expiring",
    "credentials-expiring",
    "insecure-transport",
    "rate-limit-low",
}

CONNECTOR = {
    "ref": "account.gh_org",
    "identifier": "gh_org",
    "type": "Github",
    "file": "connectors/github.yaml",
    "line": 3,
    "scope": "account",
    "selectors": "dmz",
    "secret_refs": "account.gh_pat",
    "rerun": "pytest --connectors=connectors connectors/github.yaml::account.gh_org",
    "rerun_offline": "pytest --connectors=connectors --connectors-offline "
    "connectors/github.yaml::account.gh_org",
    "rerun_any_delegate": "pytest --connectors=connectors --connectors-any-delegate "
    "connectors/github.yaml::account.gh_org",
}

ALL_STEPS = [
    pytest.param(mode, step, id=f"{mode.id}-{index}")
    for mode in CATALOGUE.values()
    for index, step in enumerate(mode.steps, 1)
]
TYPED_STEPS = [
    pytest.param(mode, step, id=f"{mode.id}-{index}")
    for mode in CATALOGUE.values()
    for index, step in enumerate(mode.steps, 1)
    if step.types
]


def full_context(
    mode: FailureMode, connector_type: str, step: Step | None = None
) -> dict[str, object]:
    """Every evidence key and derived detail (except those ``step`` must lack), and a
    credential kind ``step`` is shown for."""
    evidence = {key: f"E:{key}" for key in mode.evidence}
    derived = {key: f"D:{key}" for key in DERIVED_KEYS if not step or key not in step.unless}
    auth = sorted(step.auths)[0] if step and step.auths else None
    return {**CONNECTOR, **derived, **evidence, "type": connector_type, "auth": auth}


def test_ids_are_the_contract() -> None:
    assert set(CATALOGUE) == CONTRACT_IDS
    assert all(mode_id == mode.id for mode_id, mode in CATALOGUE.items())


def test_severities() -> None:
    warnings = {mode.id for mode in CATALOGUE.values() if mode.severity is Severity.WARNING}
    assert warnings == WARNING_IDS
    assert all(
        CATALOGUE[mode_id].severity is Severity.ERROR for mode_id in CONTRACT_IDS - WARNING_IDS
    )


def test_every_mode_is_filled_in() -> None:
    for mode in CATALOGUE.values():
        assert mode.title and mode.summary and mode.seed_section, mode.id
        assert mode.group in GROUPS, mode.id
        assert len(mode.steps) >= 3, mode.id
        assert mode.anchor == f"{DOCS_PAGE}#{mode.id}"
        assert set(mode.evidence) <= set(EVIDENCE_KEYS), mode.id


@pytest.mark.parametrize(("mode", "step"), ALL_STEPS)
def test_step_uses_only_declared_placeholders(mode: FailureMode, step: Step) -> None:
    for name in step.placeholders:
        assert name in PLACEHOLDERS or name in step.requires, f"{{{name}}} in {step.text!r}"
    assert set(step.requires) <= set(mode.evidence) | set(DERIVED_KEYS)
    assert step.auths <= set(AUTH_KINDS)
    declared = {**CONNECTOR, **{key: f"E:{key}" for key in step.requires}}
    rendered = render_template(step.text, declared)
    assert not any(f"<{name}>" in rendered for name in step.placeholders), rendered


@pytest.mark.parametrize("mode", CATALOGUE.values(), ids=lambda mode: mode.id)
def test_remediation_renders_for_every_type(mode: FailureMode) -> None:
    for connector_type in CONNECTOR_TYPES:
        steps = mode.remediation(full_context(mode, connector_type))
        assert 2 <= len(steps) <= 6, (connector_type, steps)
        assert all(text.strip() for text in steps)


def test_steps_need_their_evidence() -> None:
    mode = get("dns-resolution-failed")
    with_evidence = mode.remediation(full_context(mode, "Github"))
    without = mode.remediation({**CONNECTOR})
    assert len(without) < len(with_evidence)
    assert any(
        "dig @D:resolver_address -p D:resolver_port E:host" in text for text in with_evidence
    )
    assert not any("dig @" in text for text in without)


AUTH_STEPS = [
    pytest.param(mode, step, id=f"{mode.id}-{index}")
    for mode in CATALOGUE.values()
    for index, step in enumerate(mode.steps, 1)
    if step.auths
]


@pytest.mark.parametrize(("mode", "step"), AUTH_STEPS)
def test_credential_limited_steps_render_only_for_their_kinds(
    mode: FailureMode, step: Step
) -> None:
    connector_type = sorted(step.types)[0] if step.types else "Github"
    for auth in (None, *AUTH_KINDS):
        context = {**full_context(mode, connector_type, step), "auth": auth}
        shown = render_template(step.text, context) in mode.remediation(context)
        assert shown == (auth in step.auths), auth


def test_unless_is_the_other_branch_of_requires() -> None:
    step = Step("`getent ahosts {host}`", requires=("host",), unless=("resolver_address",))
    assert step.applies({"host": "github.com"})
    assert not step.applies({"host": "github.com", "resolver_address": "10.0.0.2"})
    mode = get("dns-resolution-failed")
    system = mode.remediation({**CONNECTOR, "host": "github.com", "resolver": "system"})
    asked = mode.remediation({**CONNECTOR, "host": "github.com", "resolver_address": "10.0.0.2"})
    assert any("getent ahosts github.com" in text for text in system)
    assert not any("getent" in text for text in asked)


def test_steps_print_no_placeholder_for_the_reader() -> None:
    with pytest.raises(ValueError, match="placeholder"):
        _validate(
            FailureMode(
                id="x",
                title="x",
                severity=Severity.ERROR,
                seed_section="-",
                summary="x",
                steps=(Step("run `dig @<resolver> github.com`"),),
                group=GROUPS[0],
            )
        )
    # Every pytest command line is a re-run line of this run, never a hand-written one.
    commands = [
        command
        for mode in CATALOGUE.values()
        for step in mode.steps
        for command in re.findall(r"`([^`]*)`", step.text)
        if command.startswith("pytest ") or command.startswith("{rerun")
    ]
    assert commands and all(command.startswith("{rerun") for command in commands), commands


def test_zero_is_evidence_but_false_is_not() -> None:
    assert Step("{remaining} left", requires=("remaining",)).applies({"remaining": 0})
    assert not Step("via {via_proxy}", requires=("via_proxy",)).applies({"via_proxy": False})
    assert not Step("{missing}", requires=("missing",)).applies({"missing": []})


@pytest.mark.parametrize(("mode", "step"), TYPED_STEPS)
def test_type_limited_steps_render_only_for_their_types(mode: FailureMode, step: Step) -> None:
    for connector_type in CONNECTOR_TYPES:
        context = full_context(mode, connector_type, step)
        shown = render_template(step.text, context) in mode.remediation(context)
        assert shown == (connector_type in step.types), connector_type


def test_github_rate_limit_remediation_is_specific() -> None:
    steps = " ".join(get("rate-limited").remediation(full_context(get("rate-limited"), "Github")))
    assert "GitHub App" in steps
    assert "webhook" in steps
    assert "D:api_url/rate_limit" in steps  # the connector's own API base (GHE: /api/v3)
    k8s = " ".join(get("rate-limited").remediation(full_context(get("rate-limited"), "K8sCluster")))
    assert "GitHub" not in k8s


def test_get_unknown_raises_key_error() -> None:
    with pytest.raises(KeyError, match="nope"):
        get("nope")


def test_unknown_placeholder_renders_as_name() -> None:
    assert render_template("fix {field_path} in {file}", {"file": "a.yaml"}) == (
        "fix <field_path> in a.yaml"
    )


def test_docs_page_is_current() -> None:
    committed = (REPO_ROOT / DOCS_PAGE).read_text(encoding="utf-8")
    assert committed == render_failure_modes_markdown(), (
        "docs/failure-modes.md is stale: run python -m pytest_connectors.docs"
    )


def test_docs_page_anchors_every_mode() -> None:
    page = render_failure_modes_markdown()
    for mode_id, mode in CATALOGUE.items():
        assert f'<a id="{mode_id}"></a>' in page
        assert f"](#{mode_id})" in page
        assert mode.title in page
    assert "*(Github only)*" in page
    assert "\\<file>" in page  # placeholders outside code spans are escaped, not HTML


def test_docs_main_writes_the_given_path(tmp_path: Path) -> None:
    target = tmp_path / "modes.md"
    assert main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_failure_modes_markdown()
