"""A custom check: every connector name must start with a team prefix.

Copy this file to the conftest.py of your rootdir (next to pytest.ini / pyproject.toml, the
directory you run pytest from). Not into the folder you pass to ``--connectors``: that conftest.py
is only loaded while the folder is collected, after the checks have been registered.

It registers one more check, ``naming``, through the same hook the built-in checks use, so each
connector gets a ``<ref>[naming]`` item next to ``[definition]``, ``[references]`` and the others.

A failing connector is reported with the ``definition-invalid`` failure mode, so the failure text
carries that mode's remediation, filled in from the evidence given to ``ctx.fail``.
"""

from __future__ import annotations

import re

from pytest_connectors import Check, CheckContext, CheckRegistry, Phase

#: The teams allowed to own connectors; a name must start with "<team>-" or "<team> ".
TEAMS = ("platform", "payments", "data")

_PREFIX = re.compile(rf"^({'|'.join(map(re.escape, TEAMS))})[- ]", re.IGNORECASE)


def check_naming(ctx: CheckContext) -> None:
    connector = ctx.connector
    name = connector.name
    if "<+" in name:  # a runtime expression: the 'expressions' check reports it
        return
    match = _PREFIX.match(name)
    if match:
        ctx.note(team=match.group(1).lower())
        return
    team = connector.tags.get("team", "").strip().lower()
    suggestion = f"{team}-{name}" if team in TEAMS else None
    ctx.fail(
        "definition-invalid",
        f"name (line {connector.line}): '{name}' does not start with a team prefix"
        f" ({', '.join(t + '-' for t in TEAMS)})",
        field_path="name",
        line=connector.line,
        problem=f"the connector name must start with one of {', '.join(TEAMS)}",
        suggestion=suggestion,
    )


NAMING = Check(
    name="naming",
    phase=Phase.DEFINITION,  # static: also runs with --connectors-offline
    run=check_naming,
    description="connector names start with the owning team's prefix",
)


def pytest_connectors_register_checks(registry: CheckRegistry) -> None:
    registry.register(NAMING)
