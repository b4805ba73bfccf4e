"""Generic Git check ``auth`` (ls-remote over smart HTTP) against ``FakeGitHttp``.

The fake (``sb.git_http()``) answers ``/<repo>/info/refs?service=git-upload-pack`` behind Basic
auth on a sandbox HTTPS server. The first tests exercise the fake itself, also with a real
``git ls-remote`` when git is installed.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import textwrap

import pytest

from pytest_connectors.sandbox import FakeGitHttp, Sandbox, SandboxRequest, SandboxResponse

from .conftest import Run

PASSWORD = "git-Passw0rd-sandbox-value"
REF = "account.git_pw"
REPO = "org/app.git"


def git_repo(identifier: str, url: str) -> str:
    """A Git connector (Repo, HTTP, username + password)."""
    return textwrap.dedent(
        f"""\
        connector:
          name: {identifier}
          identifier: {identifier}
          type: Git
          spec:
            connectionType: Repo
            url: {url}
            type: Http
            spec:
              username: ci
              passwordRef: {REF}
            delegateSelectors: [demo]
        """
    )


def _never_leaks(run: Run, *values: str) -> None:
    report = json.dumps(run.report)
    for value in values:
        assert value not in run.text
        assert value not in report


# -- the fake on its own ----------------------------------------------------------------------


def _refs(
    fake: FakeGitHttp, repo: str, user: str | None, password: str = PASSWORD
) -> SandboxResponse:
    headers = {}
    if user is not None:
        credential = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["authorization"] = f"Basic {credential}"
    return fake(SandboxRequest("GET", f"/{repo}/info/refs?service=git-upload-pack", headers))


def test_fake_advertisement():
    fake = FakeGitHttp()
    fake.add_user("ci", PASSWORD, repos={REPO})
    answer = _refs(fake, REPO, "ci")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/x-git-upload-pack-advertisement"
    assert "no-cache" in answer.headers["Cache-Control"]
    assert answer.body.startswith(b"001e# service=git-upload-pack\n0000")
    rest = answer.body[len(b"001e# service=git-upload-pack\n0000") :]
    length = int(rest[:4], 16)
    first = rest[4:length]
    assert first[40:46] == b" HEAD\x00" and b"symref=HEAD:refs/heads/main" in first
    assert b"refs/heads/main\n" in rest and rest.endswith(b"0000")
    assert _refs(fake, "org/app", "ci").status == 200  # without .git


def test_fake_auth_and_access():
    fake = FakeGitHttp()
    fake.add_user("ci", PASSWORD, repos={REPO})
    fake.add_user("other", PASSWORD, repos={"org/other.git"})
    fake.add_user("admin", PASSWORD, repos="*")

    for answer in (_refs(fake, REPO, None), _refs(fake, REPO, "ci", "nope")):
        assert answer.status == 401
        assert answer.headers["WWW-Authenticate"] == 'Basic realm="Git"'
    assert _refs(fake, "org/missing.git", "ci").status == 404
    assert _refs(fake, REPO, "other").status == 403
    assert _refs(fake, REPO, "admin").status == 200
    assert _refs(fake, "org/missing.git", "admin").status == 404
    dumb = fake(SandboxRequest("GET", f"/{REPO}/info/refs", {}))
    assert dumb.status == 403
    assert all(PASSWORD not in repr(entry) for entry in fake.requests)
    assert fake.requests[0] == ("GET", f"/{REPO}/info/refs", False)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_fake_with_real_git_ls_remote(sb: Sandbox, tmp_path):
    server, fake = sb.git_http()
    fake.add_user("ci", PASSWORD, repos={REPO})
    url = f"https://ci:{PASSWORD}@{server.name}:{server.port}/{REPO}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_SSL_CAINFO": str(sb.ca_file),
    }
    resolve = f"http.curloptResolve={server.name}:{server.port}:127.0.0.1"
    done = subprocess.run(
        ["git", "-c", resolve, "ls-remote", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "refs/heads/main" in done.stdout and "HEAD" in done.stdout
    bad = url.replace(PASSWORD, "nope")
    refused = subprocess.run(
        ["git", "-c", resolve, "ls-remote", bad],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode != 0


# -- the checks -------------------------------------------------------------------------------


def test_valid_credentials_pass(sb: Sandbox, run_connectors):
    server, fake = sb.git_http()
    fake.add_user("ci", PASSWORD, repos={REPO})
    run = run_connectors(git_repo("git", f"{server.url}/{REPO}"), secrets={REF: PASSWORD})
    run.assert_passed("git", "auth")
    assert ("GET", f"/{REPO}/info/refs", True) in fake.requests
    _never_leaks(run, PASSWORD)


def test_bad_password(sb: Sandbox, run_connectors):
    server, fake = sb.git_http()
    fake.add_user("ci", "another-password", repos={REPO})
    run = run_connectors(git_repo("git", f"{server.url}/{REPO}"), secrets={REF: PASSWORD})
    run.assert_failed("git", "auth", "invalid-credentials")
    _never_leaks(run, PASSWORD)


def test_user_without_access(sb: Sandbox, run_connectors):
    server, fake = sb.git_http()
    fake.add_repo(REPO)
    fake.add_user("ci", PASSWORD, repos={"org/other.git"})
    run = run_connectors(git_repo("git", f"{server.url}/{REPO}"), secrets={REF: PASSWORD})
    evidence = run.assert_failed("git", "auth", "insufficient-permissions")
    assert "missing" in evidence
    _never_leaks(run, PASSWORD)


def test_unknown_repository(sb: Sandbox, run_connectors):
    server, fake = sb.git_http()
    fake.add_user("ci", PASSWORD, repos="*")
    fake.add_repo("org/other.git")
    url = f"{server.url}/org/missing.git"
    run = run_connectors(git_repo("git", url), secrets={REF: PASSWORD})
    evidence = run.assert_failed("git", "auth", "insufficient-permissions")
    assert "missing" in evidence
    _never_leaks(run, PASSWORD)


def test_web_page_instead_of_a_repository_is_incorrect_endpoint(sb: Sandbox, run_connectors):
    """A URL that answers every path with an HTML page (a single-sign-on portal, a web UI that
    serves its app for unknown paths) is not a Git server, whatever the credential."""

    def portal(request: SandboxRequest) -> SandboxResponse:
        page = b"<!doctype html><html><body>Sign in</body></html>"
        return SandboxResponse(200, {"Content-Type": "text/html; charset=utf-8"}, page)

    server = sb.https("portal.sandbox.test", handler=portal)
    run = run_connectors(git_repo("git", f"{server.url}/{REPO}"), secrets={REF: PASSWORD})
    evidence = run.assert_failed("git", "auth", "incorrect-endpoint")
    assert "text/html" in evidence["problem"]
    _never_leaks(run, PASSWORD)
