"""Canaries of the checks that re-shape a credential on the wire (issue 9, item 4).

A Bitbucket user name held by a secret goes into an API path lower-cased (the user slug), and
the server echoes it: no form of it — as written, lower- or upper-cased — reaches the terminal
(``-vv -l``, debug logs), JUnit or the JSON report, whether the server takes the credential or
not. A user name too short to mask is never quoted by a message, and is named once in the
summary's warning.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from pytest_connectors.sandbox import Sandbox

from .conftest import RunConnectors

USER_REF, PASSWORD_REF = "account.bb_user", "account.bb_password"
PASSWORD = "Bb-Canary-Passw0rd-91c2"


def bitbucket(url: str) -> str:
    return textwrap.dedent(
        f"""\
        connector:
          name: bb
          identifier: bb
          type: Bitbucket
          spec:
            type: Repo
            url: {url}/scm/proj/app.git
            authentication:
              type: Http
              spec:
                type: UsernamePassword
                spec: {{usernameRef: {USER_REF}, passwordRef: {PASSWORD_REF}}}
            delegateSelectors: [demo]
        """
    )


def _artefacts(pytester: pytest.Pytester, text: str, report: object) -> dict[str, str]:
    junit = Path(pytester.path, "junit.xml")
    return {"terminal": text, "report": json.dumps(report), "junit": junit.read_text()}


@pytest.mark.parametrize("password", [PASSWORD, "a-wrong-password"], ids=["accepted", "refused"])
def test_a_mixed_case_user_name_never_shows_in_any_case(
    sb: Sandbox, run_connectors: RunConnectors, pytester: pytest.Pytester, password: str
) -> None:
    user = "CanaryBbUser-Mixed42"
    server, fake = sb.bitbucket()
    fake.add_user(user, password=PASSWORD, repositories="*")
    run = run_connectors(
        bitbucket(server.url),
        secrets={USER_REF: user, PASSWORD_REF: password},
        args=["-vv", "-l", "--log-level=DEBUG", "--junitxml=junit.xml"],
    )
    assert f"/rest/api/1.0/users/{user.lower()}" in [p for _, p, _ in fake.requests]  # the slug
    auth = run.check("bb", "auth")
    if password == PASSWORD:
        assert auth["outcome"] == "passed"
        assert auth["evidence"]["username"] == f"the username in {USER_REF}"
    else:
        assert auth["failure_mode"] == "invalid-credentials"
        assert f"for the username in {USER_REF}" in auth["message"]
    for where, text in _artefacts(pytester, run.text, run.report).items():
        for form in (user, user.lower(), user.upper(), password):
            assert form not in text, f"{form} in {where}"


def test_a_user_name_too_short_to_mask_is_never_quoted(
    sb: Sandbox, run_connectors: RunConnectors, pytester: pytest.Pytester
) -> None:
    user = "Qx7"
    server, fake = sb.bitbucket()
    fake.add_user(user, password=PASSWORD, repositories="*")
    run = run_connectors(
        bitbucket(server.url),
        secrets={USER_REF: user, PASSWORD_REF: "a-wrong-password"},
        args=["-v", "--junitxml=junit.xml"],
    )
    auth = run.check("bb", "auth")
    assert auth["failure_mode"] == "invalid-credentials"
    assert run.text.count(f"`{USER_REF}` is too short to be masked in output") == 1
    for where, text in _artefacts(pytester, run.text, run.report).items():
        for form in (user, user.lower()):
            assert form not in text, f"{form} in {where}"
