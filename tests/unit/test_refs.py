"""Harness references and scopes: parsing, the scope rules, and how to write a reference."""

from __future__ import annotations

import pytest

from pytest_connectors.refs import Reference, Scope, ScopeId, is_expression

ACCOUNT = ScopeId()
ORG = ScopeId("eng")
OTHER_ORG = ScopeId("ops")
PROJECT = ScopeId("eng", "web")
SIBLING = ScopeId("eng", "api")
FOREIGN_PROJECT = ScopeId("ops", "web")


@pytest.mark.parametrize(
    ("raw", "scope", "identifier"),
    [
        ("x", Scope.PROJECT, "x"),
        ("account.x", Scope.ACCOUNT, "x"),
        ("org.x", Scope.ORG, "x"),
        ("ACCOUNT.x", Scope.ACCOUNT, "x"),
        ("Org.x", Scope.ORG, "x"),
        ("account.a.b", Scope.ACCOUNT, "a.b"),  # split on the first dot only
        ("project.x", None, "x"),
        ("foo.x", None, "x"),
        ("account.", Scope.ACCOUNT, ""),
    ],
)
def test_parse(raw: str, scope: Scope | None, identifier: str) -> None:
    reference = Reference.parse(raw)
    assert (reference.raw, reference.scope, reference.identifier) == (raw, scope, identifier)


def test_valid_references_have_no_problem() -> None:
    for raw in ("x", "account.x", "org.x", "ORG.x"):
        assert Reference.parse(raw).problem is None


def test_project_prefix_is_rejected_with_an_explanation() -> None:
    problem = Reference.parse("project.x").problem
    assert problem is not None
    assert "'project.x' uses the prefix 'project.', which Harness does not accept" in problem
    assert "bare identifier" in problem


def test_unknown_prefix_is_rejected() -> None:
    assert Reference.parse("acount.x").problem == (
        "'acount.x' has the prefix 'acount.'; only 'account.' and 'org.' exist"
    )


def test_empty_identifier_is_rejected() -> None:
    assert Reference.parse("org.").problem == "'org.' names no identifier after the prefix"


@pytest.mark.parametrize(
    ("holder", "raw", "allowed"),
    [
        (PROJECT, "x", True),
        (PROJECT, "org.x", True),
        (PROJECT, "account.x", True),
        (ORG, "x", False),
        (ORG, "org.x", True),
        (ORG, "account.x", True),
        (ACCOUNT, "x", False),
        (ACCOUNT, "org.x", False),
        (ACCOUNT, "account.x", True),
    ],
)
def test_scope_rule_no_narrower_references(holder: ScopeId, raw: str, allowed: bool) -> None:
    problem = Reference.parse(raw).scope_problem(holder)
    assert (problem is None) is allowed
    if problem:
        assert f"{holder.level.value}-level entity cannot use the" in problem
        assert f"reference '{raw}'" in problem


def test_scope_problem_ignores_invalid_prefixes() -> None:
    assert Reference.parse("project.x").scope_problem(ACCOUNT) is None


@pytest.mark.parametrize(
    ("holder", "raw", "target"),
    [
        (PROJECT, "x", PROJECT),
        (PROJECT, "org.x", ORG),
        (PROJECT, "account.x", ACCOUNT),
        (ORG, "org.x", ORG),
        (ORG, "account.x", ACCOUNT),
        (ACCOUNT, "account.x", ACCOUNT),
        (PROJECT, "project.x", None),
    ],
)
def test_target_scope_seen_from_the_holder(
    holder: ScopeId, raw: str, target: ScopeId | None
) -> None:
    assert Reference.parse(raw).target(holder) == target


@pytest.mark.parametrize(
    ("scope", "level", "describe", "ref"),
    [
        (ACCOUNT, Scope.ACCOUNT, "account", "account.x"),
        (ORG, Scope.ORG, "org eng", "org.x"),
        (PROJECT, Scope.PROJECT, "project eng/web", "x"),
    ],
)
def test_scope_levels(scope: ScopeId, level: Scope, describe: str, ref: str) -> None:
    assert scope.level is level
    assert scope.describe() == describe
    assert scope.ref_to("x") == ref


def test_narrowed_to() -> None:
    assert PROJECT.narrowed_to(Scope.ACCOUNT) == ACCOUNT
    assert PROJECT.narrowed_to(Scope.ORG) == ORG
    assert PROJECT.narrowed_to(Scope.PROJECT) == PROJECT
    assert ORG.narrowed_to(Scope.ACCOUNT) == ACCOUNT


def test_scope_rank_orders_account_org_project() -> None:
    assert [s.rank for s in (Scope.ACCOUNT, Scope.ORG, Scope.PROJECT)] == [0, 1, 2]


@pytest.mark.parametrize(
    ("lives", "holder", "expected"),
    [
        # account entities are reachable from everywhere with the account. prefix
        (ACCOUNT, ACCOUNT, "account.x"),
        (ACCOUNT, ORG, "account.x"),
        (ACCOUNT, FOREIGN_PROJECT, "account.x"),
        # org entities: from the org itself and its projects only
        (ORG, ORG, "org.x"),
        (ORG, PROJECT, "org.x"),
        (ORG, SIBLING, "org.x"),
        (ORG, OTHER_ORG, None),
        (ORG, FOREIGN_PROJECT, None),
        (ORG, ACCOUNT, None),
        # project entities: from the same project only, bare
        (PROJECT, PROJECT, "x"),
        (PROJECT, SIBLING, None),
        (PROJECT, FOREIGN_PROJECT, None),
        (PROJECT, ORG, None),
        (PROJECT, ACCOUNT, None),
    ],
)
def test_ref_from(lives: ScopeId, holder: ScopeId, expected: str | None) -> None:
    assert lives.ref_from(holder, "x") == expected


def test_ref_from_round_trips_through_parse_and_target() -> None:
    for lives in (ACCOUNT, ORG, PROJECT):
        for holder in (ACCOUNT, ORG, PROJECT, SIBLING, OTHER_ORG):
            written = lives.ref_from(holder, "x")
            if written is not None:
                reference = Reference.parse(written)
                assert reference.target(holder) == lives
                assert reference.identifier == "x"


def test_scope_ids_are_values() -> None:
    assert ScopeId("eng", "web") == PROJECT
    assert ScopeId("eng") != PROJECT
    assert len({ScopeId("eng"), ScopeId("eng"), ScopeId()}) == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<+input>", True),
        ("https://<+pipeline.variables.host>/api", True),
        ("plain", False),
        ("<not an expression>", False),
        (None, False),
        (5, False),
    ],
)
def test_is_expression(value: object, expected: bool) -> None:
    assert is_expression(value) is expected
