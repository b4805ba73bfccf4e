"""GitHub's classic-token scope hierarchy, as the scopes documentation lists it: a parent scope
grants its children (and their children)."""

from __future__ import annotations

import pytest

from pytest_connectors.checks.github import _missing_scopes


@pytest.mark.parametrize(
    ("granted", "required", "missing"),
    [
        (["repo"], ["public_repo", "repo:status", "security_events"], []),
        (["admin:repo_hook"], ["read:repo_hook", "write:repo_hook"], []),
        (["write:repo_hook"], ["admin:repo_hook"], ["admin:repo_hook"]),
        (["project"], ["read:project"], []),
        (["write:discussion"], ["read:discussion"], []),
        (["admin:ssh_signing_key"], ["read:ssh_signing_key"], []),
        (["admin:enterprise"], ["read:enterprise", "manage_runners:enterprise"], []),
        (["user"], ["read:user", "user:email", "repo"], ["repo"]),
        ([], ["repo", "user"], ["repo", "user"]),
    ],
)
def test_implied_scopes(granted: list[str], required: list[str], missing: list[str]) -> None:
    assert _missing_scopes(granted, required) == missing
