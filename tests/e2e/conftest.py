"""End-to-end runs are static (``--connectors-offline``) unless a test is marked ``online``.

The connectors these tests write name real-looking hosts (github.com, ...); a network check
against them would try to leave loopback. Online tests point their connectors at the sandbox.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "online: run the pytester sessions with network checks")


@pytest.fixture(autouse=True)
def _offline_unless_online(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if "pytester" not in request.fixturenames or request.node.get_closest_marker("online"):
        return
    request.getfixturevalue("pytester")  # it clears PYTEST_ADDOPTS when it starts
    monkeypatch.setenv("PYTEST_ADDOPTS", "--connectors-offline")
