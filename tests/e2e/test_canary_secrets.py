"""Planted canary secrets never reach any artefact a user or CI can read.

Canaries come from every secret source (secrets file value and file, environment, hook, proxy
URL, PROXY_PASSWORD) and are pushed at every output path on purpose: a check that logs and
prints a revealed value, and a check that crashes with the value in a local variable and in its
exception message (so ``-l`` shows it in the traceback).
"""

from __future__ import annotations

from pathlib import Path

import pytest

CANARIES = {
    "file_value": "canary-file-value-7f3a9c1e",
    "file_content": "canary-file-content-b27d40aa",
    "env": "canary-env-value-5e8b1d77",
    "hook": "canary-hook-value-c04f92e3",
    "proxy_url": "canary-proxy-url-pw-3d9e",
    "proxy_env": "canary-proxy-env-pw-a1b2",
}

CONNECTORS = """
connector:
  name: gh file
  identifier: gh_file
  type: Github
  spec:
    type: Repo
    url: https://github.com/acme/app
    authentication:
      type: Http
      spec: {type: UsernameToken, spec: {username: bot, tokenRef: account.gh_file}}
    apiAccess: {type: Token, spec: {tokenRef: account.gh_file_content}}
    delegateSelectors: [demo]
---
connector:
  name: gh env
  identifier: gh_env
  type: Github
  spec:
    type: Repo
    url: https://github.com/acme/app
    authentication:
      type: Http
      spec: {type: UsernameToken, spec: {username: bot, tokenRef: account.gh_env}}
    delegateSelectors: [demo]
---
connector:
  name: gh hook
  identifier: gh_hook
  type: Github
  spec:
    type: Repo
    url: https://github.com/acme/app
    authentication:
      type: Http
      spec: {type: UsernameToken, spec: {username: bot, tokenRef: account.gh_hook}}
    delegateSelectors: [missing-selector]
"""

CONFTEST = """
import logging

from pytest_connectors import Check, Phase
from pytest_connectors.secrets import SecretNotFound

log = logging.getLogger("leaky")


def pytest_connectors_resolve_secret(ref, scope, config):
    return "{hook}" if ref == "account.gh_hook" else None


def _reveal_all(ctx):
    values = []
    for secret_ref in ctx.connector.secret_refs:
        try:
            values.append(ctx.secrets.resolve(secret_ref.reference, ctx.connector.scope).reveal())
        except SecretNotFound:
            pass
    return values


def leaky_log(ctx):
    for value in _reveal_all(ctx):
        log.warning("token is %s", value)
        print("stdout token", value)
    ctx.fail("invalid-credentials", "the provider said no to " + ", ".join(_reveal_all(ctx)))


def leaky_crash(ctx):
    token = _reveal_all(ctx)
    raise RuntimeError("boom with " + ", ".join(token))


def pytest_connectors_register_checks(registry):
    registry.register(Check("leaky_log", Phase.DEFINITION, leaky_log))
    registry.register(Check("leaky_crash", Phase.DEFINITION, leaky_crash))
"""


@pytest.fixture
def leaky_project(pytester: pytest.Pytester) -> Path:
    (pytester.path / "connectors").mkdir()
    (pytester.path / "connectors" / "github.yaml").write_text(CONNECTORS)
    (pytester.path / "token.txt").write_text(CANARIES["file_content"] + "\n")
    (pytester.path / "secrets.yaml").write_text(
        f"account.gh_file: {CANARIES['file_value']}\naccount.gh_file_content: {{file: token.txt}}\n"
    )
    pytester.makeconftest(CONFTEST.replace("{hook}", CANARIES["hook"]))
    return pytester.path


@pytest.mark.parametrize("workers", [None, "2"], ids=["serial", "xdist"])
def test_no_canary_in_any_artefact(
    pytester: pytest.Pytester,
    leaky_project: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: str | None,
) -> None:
    monkeypatch.setenv("CONNECTOR_SECRET_ACCOUNT_gh_env", CANARIES["env"])
    monkeypatch.setenv("PROXY_HOST", "127.0.0.1")
    monkeypatch.setenv("PROXY_PASSWORD", CANARIES["proxy_env"])
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    args = [
        "--connectors=connectors",
        "--connectors-secrets=secrets.yaml",
        f"--connectors-proxy=http://user:{CANARIES['proxy_url']}@127.0.0.1:3128",
        "--delegate=demo",
        "--delegate-tags=demo",
        "-vv",
        "-l",
        "-rA",
        "--log-level=DEBUG",
        "--junitxml=junit.xml",
        "--connectors-report=report.json",
        "--connectors-markdown=summary.md",
        "--connectors-bundle=bundle",
        "-p",
        "no:cacheprovider",
    ]
    if workers:
        args += ["-n", workers]
    result = pytester.runpytest_subprocess(*args)
    output = result.stdout.str() + result.stderr.str()

    # The run really exercised the leaky paths (otherwise this test proves nothing).
    assert "[leaky_crash]" in output and "RuntimeError" in output
    assert "token is ***" in output
    assert "[invalid-credentials]" in output
    assert (leaky_project / "bundle").is_dir() and any((leaky_project / "bundle").iterdir())

    artefacts = {"terminal": output}
    for path in [
        leaky_project / "junit.xml",
        leaky_project / "report.json",
        leaky_project / "summary.md",
        *sorted((leaky_project / "bundle").iterdir()),
    ]:
        artefacts[str(path.relative_to(leaky_project))] = path.read_text()
    for name, text in artefacts.items():
        for source, canary in CANARIES.items():
            assert canary not in text, f"{source} canary leaked into {name}"
