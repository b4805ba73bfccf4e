"""A secret source: read connector secrets from a JSON file named by an environment variable.

Copy this file to the conftest.py of your rootdir (next to pytest.ini / pyproject.toml), or
into the folder you pass to ``--connectors``, then::

    export CONNECTOR_SECRETS_JSON=/run/secrets/connectors.json
    pytest --connectors=connectors

The JSON file maps secret references to values, with the same keys as a ``--connectors-secrets``
file::

    {"account.gh_pat": "...", "org.gitlab_token": "...", "platform/payments/deploy_key": "..."}

pytest-connectors asks its sources in order: the ``--connectors-secrets`` file, the environment
(``CONNECTOR_SECRET_<SCOPE>_<id>``), then this hook. Returning ``None`` means "not mine": the
secret is then reported as ``secret-not-found``, naming every source that was asked.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_connectors import ScopeId

ENV_VAR = "CONNECTOR_SECRETS_JSON"

_VALUES = pytest.StashKey[dict[str, str]]()


def pytest_configure(config: pytest.Config) -> None:
    """Read the JSON file once, at start-up, so a bad file stops the run with a clear message."""
    path = os.environ.get(ENV_VAR)
    values: dict[str, str] = {}
    if path:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            # The message names the file and the parse error only: never the content.
            raise pytest.UsageError(f"{ENV_VAR}={path}: cannot read it as JSON ({exc})") from None
        if not isinstance(data, dict):
            raise pytest.UsageError(f"{ENV_VAR}={path}: expected a JSON object")
        values = {str(key): str(value) for key, value in data.items() if value is not None}
    config.stash[_VALUES] = values


def _keys(ref: str, scope: ScopeId) -> list[str]:
    """Keys to try, most specific first: '<org>/<project>/x' or '<org>/x', then the ref itself."""
    identifier = ref.partition(".")[2] if ref.startswith(("account.", "org.")) else ref
    if scope.project:
        return [f"{scope.org}/{scope.project}/{identifier}", ref]
    if scope.org:
        return [f"{scope.org}/{identifier}", ref]
    return [ref]


def pytest_connectors_resolve_secret(ref: str, scope: ScopeId, config: pytest.Config) -> str | None:
    """``ref`` as written from the secret's own scope (account.x, org.x or x); ``scope`` is
    where the secret lives. Return its value, or None to let the next source try."""
    values = config.stash.get(_VALUES, {})
    for key in _keys(ref, scope):
        if key in values:
            return values[key]
    return None
