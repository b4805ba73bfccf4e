"""End-to-end runs are static (``--connectors-offline``) unless a test is marked ``online``.

The connectors these tests write name real-looking hosts (github.com, ...); a network check
against them would try to leave loopback. Online tests point their connectors at the sandbox.

A static run with no secret source at all does not judge secrets (PR lint from a fork); these
runs have one (an unrelated ``CONNECTOR_SECRET_*`` variable), so a secret no source holds is
``secret-not-found``, unless a test is marked ``no_secret_source``.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "online: run the pytester sessions with network checks")
    config.addinivalue_line("markers", "no_secret_source: run without any secret source")


@pytest.fixture(autouse=True)
def _offline_unless_online(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if "pytester" not in request.fixturenames or request.node.get_closest_marker("online"):
        return
    request.getfixturevalue("pytester")  # it clears PYTEST_ADDOPTS when it starts
    monkeypatch.setenv("PYTEST_ADDOPTS", "--connectors-offline")
    if not request.node.get_closest_marker("no_secret_source"):
        monkeypatch.setenv("CONNECTOR_SECRET_ACCOUNT_e2e_unrelated", "not-used-by-any-connector")
