"""``--tb=short`` and ``--tb=line`` shorten a connector failure (issue 9 item 8): short keeps the
title, the cause, the first remediation step, the docs link and the place; line keeps one line.
The default (``auto``/``long``) keeps every remediation step."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

GITHUB = """\
connector:
  name: gh
  identifier: gh
  type: Github
  spec:
    type: Repo
    url: https://github.com/acme/app
    authentication:
      type: Http
      spec: {type: UsernameToken, spec: {username: bot, tokenRef: account.gh_pat}}
    delegateSelectors: [dmz]
"""
TITLE = "[[]secret-not-found[]] Secret reference cannot be resolved"


@pytest.fixture
def failing(write_yaml: Callable[..., Path]) -> None:
    write_yaml("connectors/github.yaml", GITHUB)


@pytest.mark.usefixtures("failing")
def test_long_keeps_every_step(pytester: pytest.Pytester) -> None:
    text = pytester.runpytest("--connectors=connectors", "--tb=long").stdout.str()
    assert "Remediation:" in text and "  2. " in text and "Evidence:" in text


@pytest.mark.usefixtures("failing")
def test_short_keeps_title_cause_first_step_docs_and_place(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--connectors=connectors", "--tb=short")
    result.stdout.fnmatch_lines(
        [
            TITLE,
            "account.gh (Github): spec.authentication.spec.spec.tokenRef (line 10): *",
            "1. * (and * more: --tb=long)",
            "Docs: docs/failure-modes.md#secret-not-found",
            "At: connectors/github.yaml:*",
        ]
    )
    text = result.stdout.str()
    assert "Evidence:" not in text and "  2. " not in text
    assert result.ret == pytest.ExitCode.TESTS_FAILED


@pytest.mark.usefixtures("failing")
def test_line_is_one_line(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--connectors=connectors", "--tb=line")
    lines = [line for line in result.outlines if "secret-not-found" in line]
    assert lines[0].startswith("connectors/github.yaml:"), lines
    assert ": [secret-not-found] account.gh [secrets]: spec.authentication" in lines[0]
    text = result.stdout.str()
    assert "Remediation" not in text and "Docs:" not in text
    section = text.split("= FAILURES =")[1].split("= connector summary =")[0]
    assert len([line for line in section.splitlines() if line.strip("= ")]) == 1
