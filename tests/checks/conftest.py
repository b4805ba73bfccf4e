"""Network checks against real loopback peers (``pytest_connectors.sandbox``).

Each test gets a fresh ``Sandbox`` (``sb``) and a ``run_connectors`` helper that writes connector
YAML pointing at sandbox servers, runs the plugin with ``pytester`` (in-process by default) with
the sandbox DNS server as the delegate's resolver, and returns a :class:`Run`: the
``RunResult``, the JSON report (``--connectors-report``) and accessors per (connector, check).

Unlike ``tests/e2e``, nothing here forces ``--connectors-offline``: every connector points at
the sandbox, and the network guard of ``tests/conftest.py`` fails any non-loopback traffic of
in-process runs.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import textwrap
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_connectors.sandbox import Sandbox

SECRET_TOKEN = "t0ken-value-for-sandbox"
#: ``--connectors-timeout`` of runs that wait for no timeout: generous, so that a healthy
#: loopback endpoint on a loaded machine never comes near 80 % of it (``timeout-too-low``).
#: Tests that exercise a timeout pass 1 s or less.
DEFAULT_TIMEOUT = 2.0
DELEGATE = ("--delegate=d", "--delegate-tags=demo")
#: Environment a Harness delegate (or a developer's shell) may have that would change a run.
_DELEGATE_ENV = (
    "PROXY_HOST",
    "PROXY_PORT",
    "PROXY_SCHEME",
    "PROXY_USER",
    "PROXY_PASSWORD",
    "PROXY_MANAGER",
    "NO_PROXY",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "DELEGATE_NAME",
    "DELEGATE_TAGS",
    "PYTEST_ADDOPTS",
)

requires_tinyproxy = pytest.mark.skipif(
    shutil.which("tinyproxy") is None,
    reason="tinyproxy is not installed (apt-get install tinyproxy): proxy checks need a real proxy",
)


# -- connector YAML ---------------------------------------------------------------------------


#: Marks a connector that only plays an endpoint (see :func:`vault`).
ENDPOINT_ONLY = "# endpoint-only"
#: The checks that need a real Vault API behind the endpoint.
VAULT_API_CHECKS = ("health", "auth", "permissions")


def vault(identifier: str, url: str, selectors: Sequence[str] = ("demo",)) -> str:
    """A Vault connector (token auth) whose only endpoint is ``url``, used as *an endpoint*:
    ``run_connectors`` skips its Vault API checks (``VAULT_API_CHECKS``) through the settings,
    since the server behind ``url`` is a plain sandbox server, not Vault. The marker comment is
    the document's last line, so line numbers are unchanged."""
    return textwrap.dedent(
        f"""\
        connector:
          name: {identifier}
          identifier: {identifier}
          type: Vault
          spec:
            vaultUrl: {url}
            authToken: account.tok
            delegateSelectors: [{", ".join(selectors)}]
        {ENDPOINT_ONLY}
        """
    )


def _endpoint_only_settings(docs: Sequence[str]) -> str | None:
    refs = [
        f"account.{match.group(1)}"
        for doc in docs
        if ENDPOINT_ONLY in doc
        for match in [re.search(r"^  identifier: (\S+)$", doc, re.MULTILINE)]
        if match
    ]
    if not refs:
        return None
    skip = ", ".join(VAULT_API_CHECKS)
    lines = ["pytestConnectors:", "  connectors:"]
    lines += [f"    {ref}: {{skip: [{skip}]}}" for ref in refs]
    return "\n".join(lines) + "\n"


def git_http(identifier: str, url: str) -> str:
    """A generic Git connector over HTTP(S) with username + password."""
    return textwrap.dedent(
        f"""\
        connector:
          name: {identifier}
          identifier: {identifier}
          type: Git
          spec:
            connectionType: Account
            url: {url}
            validationRepo: probe.git
            type: Http
            spec:
              username: ci
              passwordRef: account.tok
            delegateSelectors: [demo]
        """
    )


def k8s_service_account(identifier: str, master_url: str, ca_ref: str | None = "account.ca") -> str:
    """A K8sCluster connector (ManualConfig, ServiceAccount token, optional caCertRef)."""
    ca_line = f"\n{' ' * 20}caCertRef: {ca_ref}" if ca_ref else ""  # under auth.spec
    return textwrap.dedent(
        f"""\
        connector:
          name: {identifier}
          identifier: {identifier}
          type: K8sCluster
          spec:
            credential:
              type: ManualConfig
              spec:
                masterUrl: {master_url}
                auth:
                  type: ServiceAccount
                  spec:
                    serviceAccountTokenRef: account.k8s_token{ca_line}
            delegateSelectors: [demo]
        """
    )


def jwt_without_exp(subject: str) -> str:
    """A service-account token shaped like a JWT, with no ``exp`` claim (never expires)."""

    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part({'sub': subject})}.c2lnbmF0dXJl"


def settings_doc(**defaults: Any) -> str:
    lines = ["pytestConnectors:", "  defaults:"]
    lines += [f"    {key}: {value}" for key, value in defaults.items()]
    return "\n".join(lines) + "\n"


# -- the result of one run --------------------------------------------------------------------


@dataclass
class Run:
    result: pytest.RunResult
    report: dict[str, Any]
    elapsed: float

    @property
    def text(self) -> str:
        return "\n".join(self.result.outlines + self.result.errlines)

    @property
    def counts(self) -> dict[str, int]:
        """pytest's own outcome counts (passed, failed, skipped, ...)."""
        return self.result.parseoutcomes()

    def connector(self, identifier: str) -> dict[str, Any]:
        for record in self.report["connectors"]:
            if record["identifier"] == identifier:
                return dict(record)
        known = [c["identifier"] for c in self.report["connectors"]]
        raise LookupError(f"no connector {identifier!r} in the report (has {known})")

    def checks(self, identifier: str) -> dict[str, dict[str, Any]]:
        return {c["name"]: c for c in self.connector(identifier)["checks"]}

    def check(self, identifier: str, name: str) -> dict[str, Any]:
        checks = self.checks(identifier)
        assert name in checks, f"{identifier} has no {name!r} item (has {sorted(checks)})"
        return checks[name]

    def outcomes(self) -> dict[tuple[str, str], tuple[str, str | None, str | None]]:
        """(identifier, check) -> (outcome, failure mode, skip reason) for every item.

        A ``latency`` warning that is only about this host's load (see ``HOST_PRESSURE``) counts
        as passed: it depends on what else the machine runs at that moment.
        """
        return {
            (record["identifier"], check["name"]): (
                *_without_host_pressure(check),
                check["message"] if check["outcome"] == "skipped" else None,
            )
            for record in self.report["connectors"]
            for check in record["checks"]
        }

    def assert_failed(self, identifier: str, name: str, mode: str) -> dict[str, Any]:
        """The check failed naming ``mode``; returns its evidence."""
        check = self.check(identifier, name)
        assert (check["outcome"], check["failure_mode"]) == ("failed", mode), check
        assert f"[{mode}]" in self.text  # the failure is rendered with its id
        return dict(check["evidence"])

    def assert_passed(self, identifier: str, name: str) -> dict[str, Any]:
        """The check passed (for ``latency``: at most a host-pressure warning)."""
        check = self.check(identifier, name)
        assert _without_host_pressure(check) == ("passed", None), check
        return dict(check["evidence"])

    def assert_warning(self, identifier: str, name: str, mode: str) -> dict[str, Any]:
        check = self.check(identifier, name)
        assert (check["outcome"], check["failure_mode"]) == ("warning", mode), check
        assert check["severity"] == "warning"
        return dict(check["evidence"])

    def assert_blocked(
        self, identifier: str, by: str, mode: str, checks: Iterable[str] = ()
    ) -> None:
        """Every check in ``checks`` (default: every later network check) is skipped with
        ``blocked by <by> (<mode>)``."""
        expected = f"blocked by {by} ({mode})"
        names = list(checks) or _after(by, self.checks(identifier))
        assert names, f"{identifier}: nothing after {by} to be blocked"
        for name in names:
            check = self.check(identifier, name)
            assert (check["outcome"], check["message"]) == ("skipped", expected), (name, check)
        assert expected in self.text  # -rs shows the layered skip reason


_NETWORK_ORDER = ("dns", "proxy", "tcp", "tls", "latency")
#: The latency check also warns when this host is loaded (load per core > 2): true on a busy CI
#: machine whatever the connector, so tests about endpoints disregard it.
HOST_PRESSURE = "delegate-resource-constraints"


def _without_host_pressure(check: dict[str, Any]) -> tuple[str, str | None]:
    findings = check.get("findings") or []
    if check["outcome"] == "warning" and all(f["failure_mode"] == HOST_PRESSURE for f in findings):
        return "passed", None
    return check["outcome"], check["failure_mode"]


def _after(name: str, checks: dict[str, Any]) -> list[str]:
    later = _NETWORK_ORDER[_NETWORK_ORDER.index(name) + 1 :]
    return [c for c in later if c in checks]


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:
    """A fresh sandbox per test (closed after it)."""
    return sandbox


@pytest.fixture(autouse=True)
def _clean_delegate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs must not pick up a proxy or delegate identity from the environment."""
    for name in _DELEGATE_ENV:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("CONNECTOR_SECRET_"):
            monkeypatch.delenv(name, raising=False)


RunConnectors = Callable[..., Run]


@pytest.fixture
def run_connectors(pytester: pytest.Pytester, sb: Sandbox) -> RunConnectors:
    """``run_connectors(*docs, timeout=DEFAULT_TIMEOUT, ...)`` → :class:`Run`.

    ``docs`` are connector YAML documents (see ``vault`` ...); ``settings`` a settings document;
    ``secrets`` extra secret values (``account.tok`` is always there); ``ca_bundle`` passes the
    sandbox CA as ``--connectors-ca-bundle``; ``dns`` passes the sandbox DNS server as
    ``--connectors-dns``; ``proxy`` a ``--connectors-proxy`` URL; ``args`` anything else;
    ``subprocess`` runs pytest in a child process; ``require_report=False`` accepts a run
    that wrote no report (e.g. a usage error).
    """
    counter = iter(range(1000))

    def run(
        *docs: str,
        timeout: float | None = DEFAULT_TIMEOUT,
        settings: str | None = None,
        secrets: dict[str, str] | None = None,
        ca_bundle: bool = True,
        dns: bool = True,
        proxy: str | None = None,
        strict: bool = False,
        args: Sequence[str] = (),
        subprocess: bool = False,
        require_report: bool = True,
    ) -> Run:
        n = next(counter)
        folder = pytester.path / f"connectors{n}"
        folder.mkdir()
        (folder / "c.yaml").write_text("---\n".join(docs), encoding="utf-8")
        if settings is not None:
            (folder / "settings.yaml").write_text(settings, encoding="utf-8")
        endpoint_only = _endpoint_only_settings(docs)
        if endpoint_only is not None:
            (folder / "endpoint-only.yaml").write_text(endpoint_only, encoding="utf-8")
        values = {"account.tok": SECRET_TOKEN, **(secrets or {})}
        secrets_file = pytester.path / f"secrets{n}.yaml"
        secrets_file.write_text(json.dumps(values), encoding="utf-8")  # JSON is YAML
        report = pytester.path / f"report{n}.json"
        argv = [
            "-p",
            "no:cacheprovider",
            "-rA",
            f"--connectors={folder.name}",
            f"--connectors-secrets={secrets_file.name}",
            f"--connectors-report={report.name}",
            *DELEGATE,
        ]
        if dns:
            argv.append(f"--connectors-dns={sb.dns.hostport}")
        if ca_bundle:
            argv.append(f"--connectors-ca-bundle={sb.ca_file}")
        if timeout is not None:
            argv.append(f"--connectors-timeout={timeout:g}")
        if proxy is not None:
            argv.append(f"--connectors-proxy={proxy}")
        if strict:
            argv.append("--connectors-strict")
        argv += list(args)
        started = time.monotonic()
        runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest
        result = runner(*argv)
        elapsed = time.monotonic() - started
        if not report.exists():
            assert not require_report, "\n".join(result.outlines + result.errlines)
            return Run(result, {"connectors": []}, elapsed)
        return Run(result, json.loads(report.read_text(encoding="utf-8")), elapsed)

    return run
