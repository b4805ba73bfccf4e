"""GitLab checks ``auth``, ``permissions`` and ``rate_limit`` against ``FakeGitLab``.

The fake (``sb.gitlab()``) serves GitLab's REST API under ``/api/v4`` on a sandbox HTTPS server;
the connector's ``apiAccess.spec.apiUrl`` points at it. The first tests exercise the fake itself
(no plugin run).
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import textwrap
import urllib.error
import urllib.request
from typing import Any

from pytest_connectors.sandbox import FakeGitLab, Sandbox, SandboxRequest, SandboxResponse

from .conftest import Run

TOKEN = "glpat-SandboxToken0123456789ab"
REF = "account.gl_pat"
PROJECT = "group/app"
PROJECT_PATH = "/api/v4/projects/group%2Fapp"


def gitlab_repo(identifier: str, server_url: str, token_ref: str = REF) -> str:
    """A Gitlab Repo connector (username + token over HTTP, token API access with apiUrl)."""
    return textwrap.dedent(
        f"""\
        connector:
          name: {identifier}
          identifier: {identifier}
          type: Gitlab
          spec:
            type: Repo
            url: {server_url}/{PROJECT}.git
            authentication:
              type: Http
              spec:
                type: UsernameToken
                spec:
                  username: bot
                  tokenRef: {token_ref}
            apiAccess:
              type: Token
              spec:
                tokenRef: {token_ref}
                apiUrl: {server_url}
            delegateSelectors: [demo]
        """
    )


def _never_leaks(run: Run, *values: str) -> None:
    report = json.dumps(run.report)
    for value in values:
        assert value not in run.text
        assert value not in report


def _day(offset: int) -> str:
    return (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=offset)).isoformat()


# -- the fake on its own ----------------------------------------------------------------------


def _get(fake: FakeGitLab, path: str, headers: dict[str, str] | None = None) -> SandboxResponse:
    return fake(SandboxRequest("GET", "/api/v4" + path, headers or {}))


def _tok(token: str = TOKEN) -> dict[str, str]:
    return {"private-token": token}


def _body(response: SandboxResponse) -> Any:
    return json.loads(response.body)


def test_fake_user_with_private_token_or_bearer():
    fake = FakeGitLab(limit=600)
    fake.add_token(TOKEN, username="bot")

    ok = _get(fake, "/user", _tok())
    assert ok.status == 200
    assert _body(ok)["id"] == 1 and _body(ok)["username"] == "bot"
    assert ok.headers["RateLimit-Limit"] == "600"
    assert ok.headers["RateLimit-Remaining"] == "599"
    assert ok.headers["RateLimit-Observed"] == "1"
    assert int(ok.headers["RateLimit-Reset"]) > 1_600_000_000
    assert ok.headers["RateLimit-ResetTime"].endswith("GMT")

    bearer = _get(fake, "/user", {"authorization": f"Bearer {TOKEN}"})
    assert bearer.status == 200 and _body(bearer)["username"] == "bot"


def test_fake_bad_expired_and_revoked_tokens():
    fake = FakeGitLab()
    fake.add_token(TOKEN)
    fake.add_token("glpat-old", expires_at=_day(-1))

    for headers in ({}, _tok("glpat-unknown"), {"authorization": "token x"}):
        answer = _get(fake, "/user", headers)
        assert (answer.status, _body(answer)) == (401, {"message": "401 Unauthorized"})
    expired = _get(fake, "/user", _tok("glpat-old"))
    assert expired.status == 401
    assert _body(expired) == {"error": "invalid_token", "error_description": "Token has expired."}
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    fake.revoke(TOKEN)
    revoked = _get(fake, "/user", _tok())
    assert revoked.status == 401 and "revoked" in _body(revoked)["error_description"]
    assert all(TOKEN not in repr(entry) for entry in fake.requests)
    assert fake.requests[0] == ("GET", "/api/v4/user", False)
    assert fake.requests[1] == ("GET", "/api/v4/user", True)


def test_fake_personal_access_token_self():
    fake = FakeGitLab()
    fake.add_token(TOKEN, scopes=["read_repository", "read_user"], expires_at="2030-12-01")
    answer = _get(fake, "/personal_access_tokens/self", _tok())
    assert answer.status == 200
    body = _body(answer)
    assert body["scopes"] == ["read_repository", "read_user"]
    assert (body["revoked"], body["active"], body["expires_at"]) == (False, True, "2030-12-01")
    assert {"id", "name", "user_id", "created_at", "last_used_at"} <= set(body)
    fake.add_token("glpat-forever", expires_at=None)
    assert (
        _body(_get(fake, "/personal_access_tokens/self", _tok("glpat-forever")))["expires_at"]
        is None
    )


def test_fake_projects_and_scopes():
    fake = FakeGitLab()
    fake.add_token(TOKEN, projects={PROJECT})
    fake.add_token("glpat-user-only", scopes=["read_user"])

    ok = fake(SandboxRequest("GET", PROJECT_PATH, _tok()))
    assert ok.status == 200
    body = _body(ok)
    assert body["path_with_namespace"] == PROJECT
    assert body["permissions"]["project_access"]["access_level"] == 30
    by_id = _get(fake, f"/projects/{body['id']}", _tok())
    assert _body(by_id)["path_with_namespace"] == PROJECT

    missing = _get(fake, "/projects/group%2Fother", _tok())
    assert (missing.status, _body(missing)) == (404, {"message": "404 Project Not Found"})
    assert _get(fake, "/projects/group/app", _tok()).status == 404  # must be URL-encoded
    assert _get(fake, "/projects/group%2Fapp").status == 404  # anonymous: private

    scoped = fake(SandboxRequest("GET", PROJECT_PATH, _tok("glpat-user-only")))
    assert scoped.status == 403 and _body(scoped)["error"] == "insufficient_scope"
    assert _get(fake, "/user", _tok("glpat-user-only")).status == 200


def test_fake_rate_limit_exhaustion_and_limited():
    fake = FakeGitLab()
    fake.add_token(TOKEN)
    fake.rate(limit=600, remaining=1, reset_in=30)
    last = _get(fake, "/user", _tok())
    assert (last.status, last.headers["RateLimit-Remaining"]) == (200, "0")
    blocked = _get(fake, "/user", _tok())
    assert blocked.status == 429 and blocked.body == b"Retry later\n"
    assert 0 < int(blocked.headers["Retry-After"]) <= 30
    assert blocked.headers["RateLimit-Remaining"] == "0"

    fake.rate(limit=600, remaining=600)
    fake.limited = True
    limited = _get(fake, "/user", _tok())
    assert (limited.status, limited.headers["Retry-After"]) == (429, "60")
    assert "RateLimit-Limit" in limited.headers

    quiet = FakeGitLab(rate_headers=False)
    quiet.add_token(TOKEN)
    assert not any(h.startswith("RateLimit") for h in _get(quiet, "/user", _tok()).headers)


def test_fake_over_https(sb: Sandbox):
    server, fake = sb.gitlab()
    fake.add_token(TOKEN)
    assert server.url.startswith("https://gitlab.sandbox.test:")
    url = f"https://{server.host}:{server.port}/api/v4/user"
    context = ssl.create_default_context(cafile=str(sb.ca_file))
    context.check_hostname = False
    request = urllib.request.Request(url, headers={"PRIVATE-TOKEN": TOKEN})
    with urllib.request.urlopen(request, context=context, timeout=5) as answer:
        assert json.load(answer)["username"] == "bot"
    try:
        urllib.request.urlopen(url, context=context, timeout=5)
    except urllib.error.HTTPError as exc:
        assert exc.code == 401
    else:  # pragma: no cover
        raise AssertionError("expected 401")


# -- the checks -------------------------------------------------------------------------------


def test_valid_token_passes_every_check(sb: Sandbox, run_connectors):
    server, fake = sb.gitlab()
    fake.add_token(TOKEN, username="bot", scopes=["api"], projects={PROJECT})
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    evidence = run.assert_passed("gl", "auth")
    assert evidence["username"] == "bot"
    run.assert_passed("gl", "permissions")
    run.assert_passed("gl", "rate_limit")
    assert fake.authorized_requests("/user") >= 1
    _never_leaks(run, TOKEN)


def test_invalid_token_fails_auth(sb: Sandbox, run_connectors):
    server, fake = sb.gitlab()
    fake.add_token("glpat-some-other-token")
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    evidence = run.assert_failed("gl", "auth", "invalid-credentials")
    assert evidence["reference"] == REF
    assert "401" in str(evidence["provider_error"])
    _never_leaks(run, TOKEN)


def test_revoked_token_fails_auth(sb: Sandbox, run_connectors):
    server, fake = sb.gitlab()
    fake.add_token(TOKEN)
    fake.revoke(TOKEN)
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    run.assert_failed("gl", "auth", "invalid-credentials")
    _never_leaks(run, TOKEN)


def test_expired_token_fails_auth_as_expired(sb: Sandbox, run_connectors):
    server, fake = sb.gitlab()
    fake.add_token(TOKEN, expires_at=_day(-3))
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    run.assert_failed("gl", "auth", "credentials-expired")
    _never_leaks(run, TOKEN)


def test_token_expiring_within_a_week_warns(sb: Sandbox, run_connectors):
    server, fake = sb.gitlab()
    fake.add_token(TOKEN, expires_at=_day(3), projects={PROJECT})
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    run.assert_warning("gl", "auth", "credentials-expiring")
    _never_leaks(run, TOKEN)


def test_token_expiring_later_passes(sb: Sandbox, run_connectors):
    server, fake = sb.gitlab()
    fake.add_token(TOKEN, expires_at=_day(60), projects={PROJECT})
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    run.assert_passed("gl", "auth")


def test_scopes_without_api_or_read_repository(sb: Sandbox, run_connectors):
    server, fake = sb.gitlab()
    fake.add_token(TOKEN, scopes=["read_user"], projects={PROJECT})
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    run.assert_passed("gl", "auth")
    evidence = run.assert_failed("gl", "permissions", "insufficient-permissions")
    assert "missing" in evidence
    assert {"api", "read_repository"} & set(_names(evidence["missing"]))
    _never_leaks(run, TOKEN)


def test_project_not_visible(sb: Sandbox, run_connectors):
    server, fake = sb.gitlab()
    fake.add_token(TOKEN, scopes=["api"], projects={"group/other"})
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    run.assert_passed("gl", "auth")
    run.assert_failed("gl", "permissions", "insufficient-permissions")
    assert PROJECT in json.dumps(run.check("gl", "permissions"))
    assert fake.authorized_requests("/projects/group%2Fapp") >= 1
    _never_leaks(run, TOKEN)


def test_rate_limited_429(sb: Sandbox, run_connectors):
    server, fake = sb.gitlab()
    fake.add_token(TOKEN, projects={PROJECT})
    fake.limited = True
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    # The first call (auth's GET /user) meets the 429: one root cause, reported once.
    run.assert_failed("gl", "auth", "rate-limited")
    run.assert_blocked("gl", "auth", "rate-limited", ["permissions", "rate_limit"])
    _never_leaks(run, TOKEN)


def test_rate_limit_exhausted(sb: Sandbox, run_connectors):
    server, fake = sb.gitlab()
    fake.add_token(TOKEN, projects={PROJECT})
    fake.rate(limit=600, remaining=1, reset_in=60)  # the next answer says Remaining: 0
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    run.assert_failed("gl", "rate_limit", "rate-limited")


def test_rate_limit_low_warns(sb: Sandbox, run_connectors):
    server, fake = sb.gitlab()
    fake.add_token(TOKEN, projects={PROJECT})
    fake.rate(limit=600, remaining=40, reset_in=60)  # < 10 % even before this run's requests
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    run.assert_warning("gl", "rate_limit", "rate-limit-low")
    run.assert_passed("gl", "auth")


def test_no_rate_limit_headers_skips(sb: Sandbox, run_connectors):
    server, fake = sb.gitlab(rate_headers=False)
    fake.add_token(TOKEN, projects={PROJECT})
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    assert run.check("gl", "rate_limit")["outcome"] == "skipped"
    run.assert_passed("gl", "auth")


def _names(value: Any) -> set[str]:
    if isinstance(value, str):
        return {part.strip() for part in value.replace(" or ", ",").split(",") if part.strip()}
    return {str(part) for part in value}


def test_oauth_api_access_uses_a_bearer_token(sb: Sandbox, run_connectors):
    server, fake = sb.gitlab()
    fake.add_token(TOKEN, projects={PROJECT})
    connector = gitlab_repo("gl", server.url).replace(
        "apiAccess:\n      type: Token", "apiAccess:\n      type: OAuth"
    )
    assert "type: OAuth" in connector

    run = run_connectors(connector, secrets={REF: TOKEN})

    run.assert_passed("gl", "auth")
    run.assert_passed("gl", "permissions")
    _never_leaks(run, TOKEN)


# -- credential safety -----------------------------------------------------------------------


def test_redirect_to_another_origin_never_carries_the_token(sb: Sandbox, run_connectors):
    server, fake = sb.gitlab()
    fake.add_token(TOKEN, username="bot", scopes=["api"], projects={PROJECT})
    elsewhere = sb.https("collector.sandbox.test")
    fake.redirect_to = f"{elsewhere.url}/api/v4/user"
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    evidence = run.assert_failed("gl", "auth", "incorrect-endpoint")
    assert evidence["problem"] == f"redirect 301 to {fake.redirect_to}"
    run.assert_blocked("gl", "auth", "incorrect-endpoint", ["permissions", "rate_limit"])
    assert fake.authorized_requests("/user") == 1  # asked once, not again elsewhere
    assert elsewhere.requests == 0  # the redirect was not followed
    for request in elsewhere.received:
        assert not request.headers.get("authorization")
        assert not request.headers.get("private-token")
    _never_leaks(run, TOKEN)


# -- read_repository tokens, instances under a path, SSH URLs, odd answers ------------------


def test_read_repository_token_is_accepted(sb: Sandbox, run_connectors):
    """GitLab answers ``403 insufficient_scope`` on ``/user`` to a token with only
    ``read_repository`` (enough to clone, what Harness documents): the token is valid, not
    ``invalid-credentials``; its record still gives the scopes and the expiry."""
    server, fake = sb.gitlab()
    fake.add_token(TOKEN, scopes=["read_repository"], projects={PROJECT}, expires_at=_day(3))
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    evidence = run.assert_warning("gl", "auth", "credentials-expiring")
    assert evidence["scopes"] == ["read_repository"]
    assert "read_user" in evidence["user_lookup"]
    evidence = run.assert_passed("gl", "permissions")
    assert "not readable through the API" in evidence["project_access"]
    _never_leaks(run, TOKEN)


def test_read_repository_token_still_fails_when_revoked(sb: Sandbox, run_connectors):
    server, fake = sb.gitlab()
    fake.add_token(TOKEN, scopes=["read_repository"], projects={PROJECT})
    fake.revoke(TOKEN)
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    run.assert_failed("gl", "auth", "invalid-credentials")


def _under_path(fake: FakeGitLab, prefix: str):
    def handler(request: SandboxRequest) -> SandboxResponse:
        if not request.path.startswith(prefix + "/"):
            return SandboxResponse.json({"error": "404 Not Found"}, status=404)
        inner = request.path[len(prefix) :]
        return fake(SandboxRequest(request.method, inner, request.headers, request.body))

    return handler


def test_instance_under_a_path(sb: Sandbox, run_connectors):
    """GitLab at ``https://host/gitlab`` (``apiUrl`` says so): the project of
    ``https://host/gitlab/group/app.git`` is ``group/app``, not ``gitlab/group/app``."""
    fake = FakeGitLab()
    fake.add_token(TOKEN, projects={PROJECT})
    server = sb.https("gitlab.sandbox.test", handler=_under_path(fake, "/gitlab"))
    run = run_connectors(gitlab_repo("gl", f"{server.url}/gitlab"), secrets={REF: TOKEN})
    run.assert_passed("gl", "auth")
    assert run.assert_passed("gl", "permissions")["project"] == PROJECT
    assert fake.authorized_requests("/projects/group%2Fapp") >= 1


def test_scp_like_ssh_url_names_the_project(sb: Sandbox, run_connectors):
    """``git@host:group/app.git`` names the project after the colon: ``permissions`` must read
    it (it used to find no project and pass without reading one)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    server, fake = sb.gitlab()
    fake.add_token(TOKEN, projects={"group/other"})  # not the connector's project
    connector = textwrap.dedent(
        f"""\
        connector:
          name: gl
          identifier: gl
          type: Gitlab
          spec:
            type: Repo
            url: git@{server.name}:{PROJECT}.git
            authentication:
              type: Ssh
              spec: {{sshKeyRef: account.gl_key}}
            apiAccess:
              type: Token
              spec: {{tokenRef: {REF}, apiUrl: "{server.url}"}}
            delegateSelectors: [demo]
        """
    )
    # nothing listens on port 22 of the sandbox: the SSH endpoint's own checks are not the point
    settings = "pytestConnectors:\n  connectors:\n    account.gl: {skip: [tcp, latency]}\n"
    run = run_connectors(
        connector, settings=settings, secrets={REF: TOKEN, "account.gl_key": key.decode()}
    )
    run.assert_passed("gl", "auth")
    evidence = run.assert_failed("gl", "permissions", "insufficient-permissions")
    assert evidence["missing"] == f"read access to {PROJECT}"
    assert fake.authorized_requests("/projects/group%2Fapp") >= 1
    _never_leaks(run, TOKEN)


def test_odd_answers_are_judged_not_tracebacks(sb: Sandbox, run_connectors):
    """A token record that is a JSON list and a RateLimit header that is not a number end
    each check with a named outcome, not an internal error."""
    fake = FakeGitLab()
    fake.add_token(TOKEN, projects={PROJECT})

    def handler(request: SandboxRequest) -> SandboxResponse:
        if request.path == "/api/v4/personal_access_tokens/self":
            return SandboxResponse.json(["not", "a", "record"])
        answer = fake(request)
        if request.path == "/api/v4/user":
            answer.headers["RateLimit-Remaining"] = "n/a"
        return answer

    server = sb.https("gitlab.sandbox.test", handler=handler)
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    crashed = [
        n for n, c in run.checks("gl").items() if c["outcome"] == "failed" and not c["failure_mode"]
    ]
    assert crashed == []
    run.assert_passed("gl", "auth")
    run.assert_passed("gl", "permissions")
    assert run.check("gl", "rate_limit")["outcome"] == "skipped"


def test_refusal_with_a_list_body_is_invalid_credentials(sb: Sandbox, run_connectors):
    fake = FakeGitLab()

    def handler(request: SandboxRequest) -> SandboxResponse:
        if request.path == "/api/v4/user":
            return SandboxResponse.json(["denied"], status=401)
        return fake(request)

    server = sb.https("gitlab.sandbox.test", handler=handler)
    run = run_connectors(gitlab_repo("gl", server.url), secrets={REF: TOKEN})
    run.assert_failed("gl", "auth", "invalid-credentials")


def test_a_failing_server_is_not_blamed_on_the_token(sb, run_connectors):
    down = sb.https(
        "gitlab-down.sandbox.test",
        handler=lambda request: SandboxResponse.json({"message": "502 Bad Gateway"}, status=502),
    )
    run = run_connectors(gitlab_repo("gl", down.url), secrets={REF: "glpat-never-judged"})
    evidence = run.assert_failed("gl", "auth", "incorrect-endpoint")
    assert evidence["problem"] == "server error 502"
