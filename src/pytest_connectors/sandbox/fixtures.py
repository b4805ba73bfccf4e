"""pytest fixtures for the sandbox. Enable with ``-p pytest_connectors.sandbox.fixtures`` or
``pytest_plugins = ["pytest_connectors.sandbox.fixtures"]`` in a rootdir conftest.py.

* ``connectors_sandbox`` — one ``Sandbox`` per session (per xdist worker); share it and create
  servers with unique names.
* ``sandbox`` — a fresh ``Sandbox`` per test, closed after it.
* ``sandbox_proxy_available`` — skips the test when tinyproxy is not installed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .core import Sandbox
from .netutil import SandboxUnavailable
from .proxy import tinyproxy_binary


@pytest.fixture(scope="session")
def connectors_sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as fresh:
        yield fresh


@pytest.fixture
def sandbox_proxy_available() -> str:
    """The tinyproxy path; the test is skipped (with the install hint) when it is missing."""
    try:
        return tinyproxy_binary()
    except SandboxUnavailable as exc:
        pytest.skip(str(exc))
