"""Unusable option values are usage errors before collection (issue 9 item 6): exit code 4,
the option and the value named (a proxy password masked), no traceback, no run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

CONNECTOR = "connector: {name: a, identifier: a, type: Jira, spec: {delegateSelectors: [x]}}\n"

CASES = {
    "timeout-zero": (["--connectors-timeout=0"], "--connectors-timeout: 0 is not a positive"),
    "timeout-negative": (["--connectors-timeout=-2"], "--connectors-timeout: -2 is not"),
    "concurrency-zero": (["--connectors-concurrency=0"], "--connectors-concurrency: 0 is not"),
    "max-file-size-zero": (["--connectors-max-file-size=0"], "--connectors-max-file-size: 0"),
    "dns-port": (["--connectors-dns=10.0.0.2:70000"], "--connectors-dns: '10.0.0.2:70000' is"),
    "dns-port-zero": (["--connectors-dns=10.0.0.2:0"], "--connectors-dns: '10.0.0.2:0' is not"),
    "dns-name": (["--connectors-dns=resolver"], "--connectors-dns: 'resolver' is not ADDRESS"),
    "dns-second": (["--connectors-dns=10.0.0.2,x:1"], "--connectors-dns: 'x:1' is not"),
    "proxy-no-host": (
        ["--connectors-proxy=http://svc:hunter2-pw@:3128"],
        "--connectors-proxy: 'http://svc:***@:3128' names no host",
    ),
    "proxy-port": (["--connectors-proxy=http://proxy.corp:99999"], "has a port that is not"),
    "proxy-scheme": (["--connectors-proxy=socks5://proxy.corp:1080"], "must start with http"),
    "report-folder": (["--connectors-report=out"], "--connectors-report: "),
    "markdown-folder": (["--connectors-markdown=out"], "--connectors-markdown: "),
    "bundle-file": (["--connectors-bundle=file.txt"], "--connectors-bundle: "),
    "report-under-a-file": (["--connectors-report=file.txt/r.json"], "cannot be created"),
}


@pytest.mark.parametrize(("args", "message"), CASES.values(), ids=list(CASES))
def test_unusable_option_is_a_usage_error(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    args: list[str],
    message: str,
) -> None:
    write_yaml("connectors/a.yaml", CONNECTOR)
    Path(pytester.path, "out").mkdir()
    Path(pytester.path, "file.txt").write_text("not a folder\n")
    result = pytester.runpytest("--connectors=connectors", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = "\n".join(result.errlines)
    assert message in errors, errors
    assert "hunter2-pw" not in errors + result.stdout.str()
    assert "Traceback" not in errors + result.stdout.str()
    assert "collected" not in result.stdout.str()


def test_a_zero_timeout_in_the_settings_is_refused(
    pytester: pytest.Pytester, write_yaml: Callable[..., Path]
) -> None:
    write_yaml("connectors/a.yaml", CONNECTOR)
    write_yaml("config.yaml", "pytestConnectors:\n  defaults:\n    timeout: 0\n")
    result = pytester.runpytest("--connectors=connectors", "--connectors-config=config.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "'timeout' must be more than 0 seconds" in "\n".join(result.errlines)


def test_good_values_are_accepted(
    pytester: pytest.Pytester, write_yaml: Callable[..., Path]
) -> None:
    write_yaml("connectors/a.yaml", CONNECTOR)
    result = pytester.runpytest(
        "--connectors=connectors",
        "--connectors-timeout=2.5",
        "--connectors-concurrency=3",
        "--connectors-dns=10.0.0.2,[::1]:5353,127.0.0.1:53",
        "--connectors-proxy=proxy.corp:3128",
        "--connectors-report=reports/new/r.json",
        "--connectors-bundle=bundles",
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
