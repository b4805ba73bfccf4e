"""Planted canary secrets never reach any artefact a user or CI can read.

Canaries come from every secret source (secrets file value and file, environment, hook, proxy
URL, PROXY_PASSWORD, credentials written into connector and settings URLs) in awkward shapes (a
Bitbucket user name in mixed case, a value with ``\\`` and ``'``, a multi-line value of short
lines, a GCP key file) and are pushed at every output path on purpose by checks of a conftest:
they print, log (with tracebacks), warn with and fail with revealed values, and crash with them
in local variables (so ``-l`` shows them). Each run greps the terminal, JUnit, the JSON report,
Markdown, the bundles, ``--log-file`` and ``--debug``'s log; the runs cover the verbosities and
``--tb`` styles, with and without xdist.

Two secrets cannot be grepped for: ``pass`` (every report says ``passed``), which must leave
the JSON report valid (SPEC §4), and a three-character one, too short to mask, which is named
once in a warning and which no built-in message quotes.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from pytest_connectors.catalogue import CATALOGUE, Severity
from pytest_connectors.results import Outcome, SkipKind

CANARIES = {
    "file_value": "canary-file-value-7f3a9c1e",
    "file_content": "canary-file-content-b27d40aa",
    "env": "canary-env-value-5e8b1d77",
    "hook": "canary-hook-value-c04f92e3",
    "proxy_url": "canary-proxy-url-pw-3d9e",
    "proxy_env": "canary-proxy-env-pw-a1b2",
    "bb_user": "CanaryBbUser-Mixed42",
    "bb_password": "canary-bb-password-61d0",
    "escaped": "canary\\back'slash-quote-51ce",
    "multiline": "mlA-5c1d\nmlB-93ef\nmlC-0a7b\n",
    "url_password": "canary-url-pw-8b3c",
    "bad_url_password": "canary-url-pw-2e9f",
    "settings_proxy": "canary-settings-proxy-pw-44c1",
    "gcp_key_id": "canarygcpkeyid0123456789abcdef0123456789",
}
PIECE = 8  # a piece of a canary this long in an artefact is a leak too
SHORT, PASS = "Zq7", "pass"  # too short to mask; a password that is also a word of the report

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
---
connector:
  name: bb mixed case user
  identifier: bb_mixed
  type: Bitbucket
  spec:
    type: Repo
    url: https://bitbucket.example.com/scm/proj/app.git
    authentication:
      type: Http
      spec:
        type: UsernamePassword
        spec: {usernameRef: account.bb_user, passwordRef: account.bb_password}
    delegateSelectors: [demo]
---
connector:
  name: git escaped
  identifier: git_escaped
  type: Git
  spec:
    connectionType: Repo
    url: https://git.example.com/acme/app.git
    type: Http
    spec: {username: bot, passwordRef: account.escaped}
    delegateSelectors: [demo]
---
connector:
  name: git multiline
  identifier: git_multiline
  type: Git
  spec:
    connectionType: Repo
    url: https://git.example.com/acme/app.git
    type: Http
    spec: {username: bot, passwordRef: account.multiline}
    delegateSelectors: [demo]
---
connector:
  name: gcp key
  identifier: gcp_key
  type: Gcp
  spec:
    credential:
      type: ManualConfig
      spec: {secretKeyRef: account.gcp_key}
    delegateSelectors: [demo]
---
connector:
  name: git pass
  identifier: git_pass
  type: Git
  spec:
    connectionType: Repo
    url: https://git.example.com/acme/app.git
    type: Http
    spec: {username: bot, passwordRef: account.pass_pw}
    delegateSelectors: [demo]
---
connector:
  name: git short
  identifier: git_short
  type: Git
  spec:
    connectionType: Repo
    url: https://git.example.com/acme/app.git
    type: Http
    spec: {usernameRef: account.short_pw, passwordRef: account.pass_pw}
    delegateSelectors: [demo]
---
connector:
  name: gh url credentials
  identifier: gh_url
  type: Github
  spec:
    type: Repo
    url: https://bot:{url_password}@github.com/acme/app
    authentication:
      type: Http
      spec: {type: UsernameToken, spec: {username: bot, tokenRef: account.gh_env}}
    delegateSelectors: [demo]
---
connector:
  name: vault bad url
  identifier: vault_bad_url
  type: Vault
  spec:
    vaultUrl: https://bot:{bad_url_password}@vault.example.com:notaport
    authToken: account.gh_env
    delegateSelectors: [demo]
"""

SETTINGS = """
pytestConnectors:
  delegates:
    - name: elsewhere
      proxy: {url: "http://svc:{settings_proxy}@"}
"""

CONFTEST = """
import base64
import json
import logging
import warnings
from urllib.parse import quote

from pytest_connectors import Check, Phase
from pytest_connectors.secrets import SecretNotFound

log = logging.getLogger("leaky")
NOT_REVEALED = {"account.short_pw", "account.pass_pw"}  # grepping for these proves nothing


def pytest_connectors_resolve_secret(ref, scope, config):
    return "{hook}" if ref == "account.gh_hook" else None


def _reveal_all(ctx):
    values = []
    for secret_ref in ctx.connector.secret_refs:
        if secret_ref.raw in NOT_REVEALED:
            continue
        try:
            values.append(ctx.secrets.resolve(secret_ref.reference, ctx.connector.scope).reveal())
        except SecretNotFound:
            pass
    return values


def leaky_log(ctx):
    url = getattr(ctx.connector.spec, "url", None) or getattr(ctx.connector.spec, "vault_url", None)
    print("url is", url)  # credentials written into the URL, before any other check ran
    log.info("connecting to %s", url)
    for value in _reveal_all(ctx):
        log.warning("token is %s", value)
        print("stdout token", value, repr(value), json.dumps(value), quote(value, safe=""))
        print("encoded", base64.b64encode(value.encode()).decode())
        for line in value.splitlines():
            print("line", line)
            log.debug("line %r", line)
        warnings.warn("leaky warning " + value)
        try:
            raise ValueError("inner " + value)
        except ValueError:
            log.exception("it failed with %s", value)
    ctx.fail("invalid-credentials", "the provider said no to " + ", ".join(_reveal_all(ctx)))


def leaky_crash(ctx):
    token = _reveal_all(ctx)
    shown = repr(token)
    raise RuntimeError("boom with " + ", ".join(token))


def gcp_crash(ctx):
    if ctx.connector.type != "Gcp":
        return
    (value,) = _reveal_all(ctx)
    key = json.loads(value)  # the parsed key in a local: -l shows it
    raise RuntimeError("cannot use key " + key["private_key_id"])


def pytest_connectors_register_checks(registry):
    registry.register(Check("leaky_log", Phase.DEFINITION, leaky_log))
    registry.register(Check("leaky_crash", Phase.DEFINITION, leaky_crash))
    registry.register(Check("gcp_crash", Phase.DEFINITION, gcp_crash))
"""


@pytest.fixture(scope="module")
def gcp_key() -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "acme-prod",
        "private_key_id": CANARIES["gcp_key_id"],
        "private_key": pem,
        "client_email": "ci@acme-prod.iam.gserviceaccount.com",
        "client_id": "104857600000000000000",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


def _canary_texts(gcp_key: dict[str, str]) -> dict[str, str]:
    """Every text that must not appear: each canary as written and in the forms a leaky check
    prints it (repr, JSON, URL-quoted), each line of the multi-line ones, the GCP key's body."""
    texts: dict[str, str] = {}
    for name, value in CANARIES.items():
        forms = {value, repr(value)[1:-1], json.dumps(value)[1:-1], quote(value, safe="")}
        forms.add(base64.b64encode(value.encode()).decode())
        forms.update(line for line in value.splitlines() if line)
        for n, form in enumerate(sorted(forms)):
            texts[f"{name}#{n}"] = form
    for n, line in enumerate(gcp_key["private_key"].splitlines()):
        if not line.startswith("-----"):
            texts[f"gcp_private_key_line#{n}"] = line
    texts["bb_user_lower"] = CANARIES["bb_user"].lower()
    texts["short"] = SHORT
    return texts


@pytest.fixture
def leaky_project(pytester: pytest.Pytester, gcp_key: dict[str, str]) -> Path:
    (pytester.path / "connectors").mkdir()
    (pytester.path / "out").mkdir()  # pytest does not make --debug's folder
    (pytester.path / "connectors" / "canaries.yaml").write_text(
        CONNECTORS.replace("{url_password}", CANARIES["url_password"]).replace(
            "{bad_url_password}", CANARIES["bad_url_password"]
        )
    )
    (pytester.path / "connectors" / "settings.yaml").write_text(
        SETTINGS.replace("{settings_proxy}", CANARIES["settings_proxy"])
    )
    (pytester.path / "token.txt").write_text(CANARIES["file_content"] + "\n")
    secrets = {
        "account.gh_file": CANARIES["file_value"],
        "account.gh_file_content": {"file": "token.txt"},
        "account.bb_user": CANARIES["bb_user"],
        "account.bb_password": CANARIES["bb_password"],
        "account.escaped": CANARIES["escaped"],
        "account.multiline": CANARIES["multiline"],
        "account.gcp_key": json.dumps(gcp_key, indent=2),
        "account.pass_pw": PASS,
        "account.short_pw": SHORT,
    }
    (pytester.path / "secrets.yaml").write_text(json.dumps(secrets))  # JSON is YAML
    pytester.makeconftest(CONFTEST.replace("{hook}", CANARIES["hook"]))
    return pytester.path


OUTPUTS = [
    "--junitxml=out/junit.xml",
    "--connectors-report=out/report.json",
    "--connectors-markdown=out/summary.md",
    "--connectors-bundle=out/bundle",
]
RUNS = {
    "vv-showlocals-live-logs-debug": [
        "-vv",
        "-l",
        "--tb=long",
        "-rA",
        "--log-level=DEBUG",
        "--log-cli-level=DEBUG",
        "--log-file=out/run.log",
        "--log-file-level=DEBUG",
        "--debug=out/pytestdebug.log",
        "-W",
        "always::UserWarning",
    ],
    "showlocals-cut-short": ["-l", "--tb=long", "--log-level=DEBUG"],
    "quiet-tb-short": ["-q", "--tb=short", "-l"],
    "tb-line": ["--tb=line", "-rA"],
    "tb-native": ["-v", "--tb=native"],
    "xdist": ["-n", "2", "-v", "-l", "--log-level=DEBUG", "--log-file=out/run.log"],
}


@pytest.mark.parametrize("options", RUNS.values(), ids=RUNS.keys())
def test_no_canary_in_any_artefact(
    pytester: pytest.Pytester,
    leaky_project: Path,
    gcp_key: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
) -> None:
    monkeypatch.setenv("CONNECTOR_SECRET_ACCOUNT_gh_env", CANARIES["env"])
    monkeypatch.setenv("PROXY_HOST", "127.0.0.1")
    monkeypatch.setenv("PROXY_PASSWORD", CANARIES["proxy_env"])
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    result = pytester.runpytest_subprocess(
        "--connectors=connectors",
        "--connectors-secrets=secrets.yaml",
        f"--connectors-proxy=http://svc-proxy:{CANARIES['proxy_url']}@127.0.0.1:3128",
        "--delegate=demo",
        "--delegate-tags=demo",
        "-p",
        "no:cacheprovider",
        *OUTPUTS,
        *options,
    )
    output = result.stdout.str() + result.stderr.str()

    # The run really exercised the leaky paths (otherwise this test proves nothing).
    assert "RuntimeError" in output and "boom with" in output
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    bundles = sorted((leaky_project / "out/bundle").iterdir())
    assert bundles
    if "--tb=long" in options:
        assert "token is ***" in output and "[invalid-credentials]" in output
        assert "cannot use key ***" in output  # the GCP crash, under -l
    if "--log-cli-level=DEBUG" in options:
        assert "it failed with ***" in output and "ValueError: inner ***" in output
    if "always::UserWarning" in options:
        assert "leaky warning ***" in output

    # A secret too short to mask is named once, by reference; no built-in message quotes it.
    assert output.count("`account.short_pw` is too short to be masked in output") == 1

    artefacts = {"terminal": output}
    for path in [leaky_project / "out" / name for name in sorted(_files(leaky_project / "out"))]:
        artefacts[str(path.relative_to(leaky_project))] = path.read_text(errors="replace")
    assert "out/report.json" in artefacts and "out/junit.xml" in artefacts
    if "--debug=out/pytestdebug.log" in options:
        assert "connectors-proxy=http://***:***@127.0.0.1:3128" in artefacts["out/pytestdebug.log"]
    canaries = _canary_texts(gcp_key)
    leaks = [
        f"{name} in {where}"
        for where, text in artefacts.items()
        for name, canary in canaries.items()
        if canary in text
    ]
    assert leaks == []
    # nor a piece of one (-l cuts a long local short, anywhere); pieces with a digit, so not
    # a word such as "password" that the reports use themselves
    pieces = {
        c[n : n + PIECE]: name
        for name, c in canaries.items()
        for n in range(len(c) - PIECE + 1)
        if any(ch.isdigit() for ch in c[n : n + PIECE])
    }
    found = {
        f"{pieces[text[n : n + PIECE]]} ({text[n : n + PIECE]!r}) in {where}"
        for where, text in artefacts.items()
        for n in range(len(text) - PIECE + 1)
        if text[n : n + PIECE] in pieces
    }
    assert sorted(found) == []

    report = json.loads(artefacts["out/report.json"])
    assert_spec_report(report)
    statuses = {c["identifier"]: c["status"] for c in report["connectors"]}
    assert statuses["gh_env"] == "failed"
    # the password "pass" rewrote no field: outcomes, statuses and references are whole
    outcomes = {check["outcome"] for c in report["connectors"] for check in c["checks"]}
    assert "passed" in outcomes
    assert {c["ref"] for c in report["connectors"]} >= {"account.git_pass", "account.git_short"}


def _files(folder: Path) -> list[str]:
    return [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]


# -- the report still is what SPEC §4 says --------------------------------------------------

STATUSES = {"passed", "failed", "warning", "incomplete"}
SCOPES = {"account", "org", "project"}


def assert_spec_report(report: dict[str, Any]) -> None:
    """The SPEC §4 fields of a JSON report, with their types and enum values."""
    assert report["version"] == 1
    delegate = report["delegate"]
    assert isinstance(delegate["name"], (str, type(None)))
    assert isinstance(delegate["tags"], list) and all(isinstance(t, str) for t in delegate["tags"])
    summary = report["summary"]
    counted = ("connectors", "passed", "failed", "warnings", "skipped", "incomplete")
    assert set(summary) >= set(counted), sorted(summary)
    for key in counted:
        assert isinstance(summary[key], int) and summary[key] >= 0, key
    connectors = report["connectors"]
    assert summary["connectors"] == len(connectors)
    counts = {status: 0 for status in STATUSES}
    for connector in connectors:
        _assert_connector(connector)
        counts[connector["status"]] += 1
    assert (summary["passed"], summary["failed"]) == (counts["passed"], counts["failed"])
    assert (summary["warnings"], summary["incomplete"]) == (counts["warning"], counts["incomplete"])


def _assert_connector(connector: dict[str, Any]) -> None:
    assert isinstance(connector["identifier"], str) and isinstance(connector["ref"], str)
    if connector["scope"] is not None:
        assert connector["scope"] in SCOPES
    if connector["scope"] == "account":
        assert connector["ref"] in (f"account.{connector['identifier']}", "pytestConnectors")
    assert isinstance(connector["type"], (str, type(None)))
    assert isinstance(connector["file"], str) and isinstance(connector["line"], int)
    assert connector["status"] in STATUSES
    assert connector["checks"]
    for check in connector["checks"]:
        _assert_check(check)


def _assert_check(check: dict[str, Any]) -> None:
    assert re.fullmatch(r"[a-z_]+", check["name"]), check["name"]
    assert check["outcome"] in {o.value for o in Outcome}
    mode, severity = check["failure_mode"], check["severity"]
    assert mode is None or mode in CATALOGUE, mode
    assert severity is None or severity in {s.value for s in Severity}
    if mode is not None:
        assert severity == CATALOGUE[mode].severity.value
    assert isinstance(check["message"], str)
    remediation = check["remediation"]
    assert isinstance(remediation, list) and all(isinstance(s, str) for s in remediation)
    assert isinstance(check["evidence"], dict)
    assert isinstance(check["duration_s"], (int, float)) and check["duration_s"] >= 0
    if check["outcome"] == Outcome.SKIPPED.value:
        assert isinstance(check["skip_reason"], str)
        assert check["skip_kind"] in {k.value for k in SkipKind}
    for finding in check.get("findings", []):
        assert finding["failure_mode"] in CATALOGUE
        assert finding["severity"] in {s.value for s in Severity}


# -- a proxy URL without a host ----------------------------------------------------------------


def test_a_proxy_url_without_a_host_is_refused_without_its_password(
    pytester: pytest.Pytester, leaky_project: Path
) -> None:
    canary = "canary-nohost-pw-7d1e"
    result = pytester.runpytest_subprocess(
        "--connectors=connectors",
        "--connectors-secrets=secrets.yaml",
        f"--connectors-proxy=http://user:{canary}@",
        "--debug=pytestdebug.log",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str() + result.stderr.str()
    assert "--connectors-proxy" in output and "names no host" in output
    debug_log = (leaky_project / "pytestdebug.log").read_text()
    assert "connectors-proxy=http://***:***@" in debug_log  # the user is a secret too
    for where, text in {"terminal": output, "pytestdebug.log": debug_log}.items():
        assert canary not in text, where


# -- the helpers above, on a report of their own ------------------------------------------------


def test_the_spec_check_refuses_a_rewritten_report() -> None:
    good = {
        "version": 1,
        "delegate": {"name": "d", "tags": []},
        "summary": {
            "connectors": 1,
            "passed": 1,
            "failed": 0,
            "warnings": 0,
            "skipped": 0,
            "incomplete": 0,
        },
        "connectors": [
            {
                "ref": "account.x",
                "identifier": "x",
                "scope": "account",
                "type": "Github",
                "file": "c.yaml",
                "line": 1,
                "status": "passed",
                "checks": [
                    {
                        "name": "definition",
                        "outcome": "passed",
                        "failure_mode": None,
                        "severity": None,
                        "message": "",
                        "remediation": [],
                        "evidence": {},
                        "duration_s": 0.0,
                    }
                ],
            }
        ],
    }
    assert_spec_report(good)
    masked = json.loads(json.dumps(good).replace("passed", "***ed"))
    with pytest.raises(AssertionError):
        assert_spec_report(masked)
