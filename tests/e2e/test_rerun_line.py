"""End to end: the re-run line a failure prints can be pasted, and does what it says.

A first run (with ``-n 2``) checks three connectors in two connectors folders against a port
on loopback that refuses connections, with secrets, settings, a delegate identity, resolvers,
a CA bundle and a timeout. The re-run line is copied from the failure text of one connector,
run as printed, and must select exactly that connector's items, with the same options (the
plugin's own reading of them is compared), and fail the same way again.
"""

from __future__ import annotations

import re
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_connectors.options import ConnectorOptions
from pytest_connectors.sandbox import Sandbox
from pytest_connectors.stash import OPTIONS_KEY


class OptionsRecorder:
    """A plugin (of the pytester run's process) that keeps how pytest-connectors read the
    options of each run."""

    def __init__(self) -> None:
        self.seen: list[ConnectorOptions] = []

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.seen.append(session.config.stash[OPTIONS_KEY])


def git_connector(identifier: str, url: str) -> str:
    return f"""
connector:
  name: {identifier}
  identifier: {identifier}
  type: Git
  spec:
    connectionType: Account
    url: {url}
    validationRepo: app.git
    type: Http
    spec:
      username: ci
      passwordRef: account.git_password
    delegateSelectors: [dmz]
"""


def registry_connector(identifier: str, url: str) -> str:
    return f"""
connector:
  name: {identifier}
  identifier: {identifier}
  type: DockerRegistry
  spec:
    dockerRegistryUrl: {url}
    providerType: Other
    auth:
      type: UsernamePassword
      spec:
        username: ci
        passwordRef: account.git_password
    delegateSelectors: [dmz]
"""


def _by_item(outcomes: dict[str, str]) -> dict[str, str]:
    """Outcomes by ``<ref>[<check>]``: the file part of a node id depends on the rootdir, which
    pytest derives from the paths given (a run started in a subfolder has none of its own)."""
    items = {nodeid.split("::", 1)[1]: outcome for nodeid, outcome in outcomes.items()}
    assert len(items) == len(outcomes), "one connector reference in two files"
    return items


def _rerun_lines(result: pytest.RunResult, ref: str) -> set[str]:
    """The re-run lines printed for connector ``ref``."""
    text = "\n".join(result.outlines)
    lines = re.findall(r"`(pytest [^`]*)`", text)
    return {line for line in lines if shlex.split(line)[-1].endswith(f"::{ref}")}


@pytest.mark.online  # every connector points at the sandbox on loopback
@pytest.mark.parametrize("start_in", [".", "ci"], ids=["from-rootdir", "from-subfolder"])
def test_pasted_rerun_line_checks_that_connector_again_with_the_same_options(
    pytester: pytest.Pytester,
    sandbox: Sandbox,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[[pytest.RunResult], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    start_in: str,
) -> None:
    refusing = sandbox.refusing("refused.sandbox.test")
    base = f"https://refused.sandbox.test:{refusing.port}"
    write_yaml(
        "connectors/git.yaml",
        git_connector("git_app", f"{base}/acme") + "---" + git_connector("git_web", f"{base}/web"),
    )
    write_yaml("connectors/registry.yaml", registry_connector("registry", f"{base}/v2/"))
    write_yaml("more/git.yaml", git_connector("git_more", f"{base}/more"))
    write_yaml("secrets.yaml", "account.git_password: s3cret-rerun-value\n")
    write_yaml("settings.yaml", "pytestConnectors:\n  defaults:\n    latencyBudget: 2.0\n")
    (pytester.path / "certs").mkdir()
    shutil.copy(sandbox.ca_file, pytester.path / "certs" / "ca.pem")
    recorder = OptionsRecorder()
    start = pytester.path / start_in
    start.mkdir(exist_ok=True)
    monkeypatch.chdir(start)
    up = "" if start_in == "." else "../"

    first = pytester.runpytest(
        f"--connectors={up}connectors",
        f"--connectors={up}more",
        f"--connectors-secrets={up}secrets.yaml",
        f"--connectors-config={up}settings.yaml",
        "--delegate=dmz-1",
        "--delegate-tags=dmz,linux",
        f"--connectors-dns=127.0.0.1:{sandbox.dns.port}",
        f"--connectors-ca-bundle={up}certs/ca.pem",
        "--connectors-timeout=2",
        "-n",
        "2",
        "-rA",
        plugins=[recorder],
    )

    before = _by_item(outcomes_of(first))
    mine = {
        item: outcome for item, outcome in before.items() if item.startswith("account.git_app[")
    }
    assert len(mine) >= 5  # definition, secrets, delegate, dns, tcp, ... of that connector
    assert mine["account.git_app[tcp]"] == "FAILED"
    (line,) = _rerun_lines(first, "account.git_app")
    node = shlex.split(line)[-1]
    assert node == f"{up}connectors/git.yaml::account.git_app" if not up else node.startswith("/")
    assert "s3cret-rerun-value" not in line and "***" not in line

    again = pytester.runpytest(*shlex.split(line)[1:], "-rA", plugins=[recorder])

    after = _by_item(outcomes_of(again))
    assert after == mine  # exactly its items, each with the same outcome
    first_options, rerun_options = recorder.seen
    assert rerun_options == first_options  # the plugin read the same options
    assert _rerun_lines(again, "account.git_app") == {line}  # and prints the same line
