"""GitHub checks ``auth``, ``permissions`` and ``rate_limit`` against ``FakeGitHub``.

The fake (``sb.github()``) serves GitHub Enterprise's REST API under ``/api/v3`` on a sandbox
HTTPS server; the checks use ``https://<host>:<port>/api/v3`` as the API base for any host other
than github.com. The first tests exercise the fake itself (no plugin run).
"""

from __future__ import annotations

import base64
import http.client
import json
import textwrap
from typing import Any

import pytest

from pytest_connectors.sandbox import FakeGitHub, SandboxRequest, SandboxResponse

from .conftest import Run

TOKEN = "ghp_SandboxClassicToken0123456789abcdefAB"
FINE_GRAINED = "github_pat_11SANDBOX0fineGrainedToken_0123456789abcdef"
REF = "account.gh_pat"
REPO = "acme/app"
ALL_SCOPES = ["repo", "admin:repo_hook", "user"]
DEPENDENT = ("permissions", "rate_limit")


def github_repo(identifier: str, url: str, token_ref: str = REF) -> str:
    """A Github Repo connector (username + token over HTTP, token API access)."""
    return textwrap.dedent(
        f"""\
        connector:
          name: {identifier}
          identifier: {identifier}
          type: Github
          spec:
            type: Repo
            url: {url}
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
            delegateSelectors: [demo]
        """
    )


def _names(value: Any) -> set[str]:
    """Scope names from evidence given as ``"a, b"`` or as a list."""
    if isinstance(value, str):
        return {part.strip() for part in value.split(",") if part.strip()}
    return {str(part) for part in value}


def _never_leaks(run: Run, *tokens: str) -> None:
    report = json.dumps(run.report)
    for token in tokens:
        assert token not in run.text
        assert token not in report


# -- the fake on its own ----------------------------------------------------------------------


def _get(fake: FakeGitHub, path: str, token: str | None = None, scheme: str = "token") -> Any:
    headers = {} if token is None else {"authorization": f"{scheme} {token}"}
    return fake(SandboxRequest("GET", "/api/v3" + path, headers))


def _body(response: SandboxResponse) -> Any:
    return json.loads(response.body)


def test_fake_user_classic_and_fine_grained_tokens():
    fake = FakeGitHub()
    fake.add_token(TOKEN, login="octocat")
    fake.add_token(FINE_GRAINED, login="robot", scopes=None)

    classic = _get(fake, "/user", TOKEN)
    assert classic.status == 200
    assert _body(classic) == {"login": "octocat", "id": 1, "type": "User"}
    assert classic.headers["X-OAuth-Scopes"] == "repo, admin:repo_hook, user"
    assert classic.headers["X-RateLimit-Resource"] == "core"
    assert classic.headers["X-RateLimit-Limit"] == "5000"
    assert classic.headers["X-RateLimit-Remaining"] == "4999"
    assert classic.headers["X-RateLimit-Used"] == "1"
    assert int(classic.headers["X-RateLimit-Reset"]) > 1_600_000_000

    fine = _get(fake, "/user", FINE_GRAINED, scheme="Bearer")
    assert fine.status == 200 and _body(fine)["login"] == "robot"
    assert "X-OAuth-Scopes" not in fine.headers

    basic = base64.b64encode(f"bot:{TOKEN}".encode()).decode()
    assert _get(fake, "/user", basic, scheme="Basic").status == 200


def test_fake_bad_missing_and_revoked_credentials():
    fake = FakeGitHub()
    fake.add_token(TOKEN)

    missing = _get(fake, "/user")
    assert missing.status == 401 and _body(missing)["message"] == "Requires authentication"
    unknown = _get(fake, "/user", "ghp_unknown")
    assert unknown.status == 401
    assert _body(unknown) == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
    }
    fake.revoke(TOKEN)
    assert _body(_get(fake, "/user", TOKEN))["message"] == "Bad credentials"
    assert all(TOKEN not in repr(entry) for entry in fake.requests)
    assert fake.requests[0] == ("GET", "/api/v3/user", False)
    assert fake.requests[1] == ("GET", "/api/v3/user", True)


def test_fake_repository_visibility_and_saml():
    fake = FakeGitHub()
    fake.add_token(TOKEN, repos={REPO})
    fake.add_token("ghp_noRepoScope", scopes=["user"])
    fake.add_token("ghp_sso", sso_required_orgs={"acme"})

    ok = _get(fake, f"/repos/{REPO}", TOKEN)
    assert ok.status == 200
    body = _body(ok)
    assert body["full_name"] == REPO and body["private"] is True
    assert body["permissions"] == {"admin": False, "push": True, "pull": True}

    hidden = _get(fake, "/repos/acme/other", TOKEN)
    assert (hidden.status, _body(hidden)["message"]) == (404, "Not Found")  # not 403
    assert _get(fake, f"/repos/{REPO}", "ghp_noRepoScope").status == 404  # private needs repo
    assert _get(fake, f"/repos/{REPO}").status == 404  # anonymous

    saml = _get(fake, f"/repos/{REPO}", "ghp_sso")
    assert saml.status == 403
    assert "SAML enforcement" in _body(saml)["message"]
    assert saml.headers["X-GitHub-SSO"].startswith(
        "required; url=https://github.com/orgs/acme/sso?authorization_request="
    )


def test_fake_rate_limits():
    fake = FakeGitHub()
    fake.add_token(TOKEN)
    fake.rate(limit=60, remaining=1, reset_in=600)

    assert _get(fake, "/user", TOKEN).status == 200  # the last counted request
    exhausted = _get(fake, "/user", TOKEN)
    assert exhausted.status == 403
    assert _body(exhausted)["message"].startswith("API rate limit exceeded for user ID 1.")
    assert exhausted.headers["X-RateLimit-Remaining"] == "0"

    status = _get(fake, "/rate_limit", TOKEN)  # answered, and not counted
    assert status.status == 200
    core = _body(status)["resources"]["core"]
    assert (core["limit"], core["remaining"], core["used"]) == (60, 0, 60)
    assert _body(status)["rate"] == core
    assert fake.remaining == 0

    fake.rate(remaining=5000)
    fake.secondary_limited = True
    secondary = _get(fake, "/user", TOKEN)
    assert secondary.status == 429
    assert secondary.headers["Retry-After"] == "60"
    assert _body(secondary)["message"].startswith("You have exceeded a secondary rate limit")


def test_fake_redirect_and_unknown_paths():
    fake = FakeGitHub()
    fake.add_token(TOKEN)
    assert _get(fake, "/nothing/here", TOKEN).status == 404
    notfound = fake(SandboxRequest("GET", "/user", {"authorization": f"token {TOKEN}"}))
    assert notfound.status == 404  # only under /api/v3

    fake.redirect_to = "https://elsewhere.sandbox.test/api/v3/user"
    moved = _get(fake, "/user", TOKEN)
    assert moved.status == 301
    assert moved.headers["Location"] == "https://elsewhere.sandbox.test/api/v3/user"


def test_fake_over_https(sb):
    server, fake = sb.github()
    fake.add_token(TOKEN)
    assert server.url.startswith("https://github.sandbox.test:")
    context = sb.ssl_context()
    context.check_hostname = False  # connect by address: no system resolver in tests
    connection = http.client.HTTPSConnection(server.host, server.port, context=context, timeout=5)
    try:
        connection.request("GET", "/api/v3/user", headers={"Authorization": f"Bearer {TOKEN}"})
        response = connection.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["login"] == "octocat"
        assert response.getheader("X-OAuth-Scopes") == "repo, admin:repo_hook, user"
    finally:
        connection.close()


# -- the checks -------------------------------------------------------------------------------


def _run(run_connectors, server, token: str = TOKEN) -> Run:
    run = run_connectors(github_repo("gh", f"{server.url}/{REPO}"), secrets={REF: token})
    _never_leaks(run, token)
    return run


def test_valid_classic_token_passes_every_check(sb, run_connectors):
    server, fake = sb.github()
    fake.add_token(TOKEN, login="ci-bot", repos={REPO})

    run = _run(run_connectors, server)

    assert run.assert_passed("gh", "auth")["login"] == "ci-bot"
    run.assert_passed("gh", "permissions")
    evidence = run.assert_passed("gh", "rate_limit")
    assert int(evidence["limit"]) == 5000
    assert 4000 < int(evidence["remaining"]) <= 5000
    assert fake.authorized_requests("/user") >= 1
    assert fake.authorized_requests(f"/repos/{REPO}") >= 1
    assert TOKEN not in repr(fake.requests)


@pytest.mark.parametrize("revoked", [False, True], ids=["unknown", "revoked"])
def test_rejected_token_is_invalid_credentials_and_blocks_the_rest(sb, run_connectors, revoked):
    server, fake = sb.github()
    if revoked:  # an expired or revoked token: GitHub answers 401 Bad credentials
        fake.add_token(TOKEN, repos={REPO})
        fake.revoke(TOKEN)

    run = _run(run_connectors, server)

    evidence = run.assert_failed("gh", "auth", "invalid-credentials")
    assert evidence["provider_error"] == "Bad credentials"
    assert evidence["reference"] == REF
    run.assert_blocked("gh", "auth", "invalid-credentials", DEPENDENT)


def test_auth_needs_tls(sb, run_connectors):
    server, fake = sb.github(variant="untrusted")
    fake.add_token(TOKEN, repos={REPO})

    run = _run(run_connectors, server)

    run.assert_failed("gh", "tls", "tls-untrusted-certificate")
    run.assert_blocked("gh", "tls", "tls-untrusted-certificate", ["auth"])
    assert fake.requests == []  # the token never went to an untrusted server


def test_classic_token_missing_scopes(sb, run_connectors):
    server, fake = sb.github()
    fake.add_token(TOKEN, scopes=["repo"], repos={REPO})

    run = _run(run_connectors, server)

    run.assert_passed("gh", "auth")
    evidence = run.assert_failed("gh", "permissions", "insufficient-permissions")
    assert _names(evidence["missing"]) == {"admin:repo_hook", "user"}
    assert _names(evidence["granted"]) == {"repo"}


def test_fine_grained_token_is_judged_by_repository_access(sb, run_connectors):
    server, fake = sb.github()
    fake.add_token(FINE_GRAINED, scopes=None, repos={REPO})

    run = _run(run_connectors, server, FINE_GRAINED)

    run.assert_passed("gh", "auth")
    evidence = run.assert_passed("gh", "permissions")  # no X-OAuth-Scopes: scopes not judged
    assert not evidence.get("missing")
    assert fake.authorized_requests(f"/repos/{REPO}") >= 1


@pytest.mark.parametrize("fine_grained", [False, True], ids=["classic", "fine-grained"])
def test_repository_not_visible(sb, run_connectors, fine_grained):
    server, fake = sb.github()
    token = FINE_GRAINED if fine_grained else TOKEN
    fake.add_token(token, scopes=None if fine_grained else ALL_SCOPES, repos={"acme/other"})

    run = _run(run_connectors, server, token)

    run.assert_passed("gh", "auth")
    run.assert_failed("gh", "permissions", "insufficient-permissions")
    assert REPO in run.check("gh", "permissions")["message"]


def test_saml_sso_not_authorised(sb, run_connectors):
    server, fake = sb.github()
    fake.add_token(TOKEN, repos={REPO}, sso_required_orgs={"acme"})

    run = _run(run_connectors, server)

    run.assert_failed("gh", "permissions", "insufficient-permissions")
    message = run.check("gh", "permissions")["message"]
    assert "SAML" in message and "SSO" in message


def test_rate_limit_exhausted(sb, run_connectors):
    server, fake = sb.github()
    fake.add_token(TOKEN, repos={REPO})
    fake.rate(limit=5000, remaining=0, reset_in=1800)

    run = _run(run_connectors, server)

    # GitHub refuses even GET /user with 403 once the window is empty: auth reports the limit
    # (not invalid-credentials) and the checks after it are blocked by that
    evidence = run.assert_failed("gh", "auth", "rate-limited")
    assert int(evidence["remaining"]) == 0
    assert int(evidence["limit"]) == 5000
    assert evidence["reset_at"]
    run.assert_blocked("gh", "auth", "rate-limited", DEPENDENT)


def test_rate_limit_runs_out_during_the_run(sb, run_connectors):
    server, fake = sb.github()
    fake.add_token(TOKEN, repos={REPO})
    fake.rate(limit=5000, remaining=1, reset_in=1800)  # auth's GET /user spends the last call

    run = _run(run_connectors, server)

    run.assert_passed("gh", "auth")
    evidence = run.assert_failed("gh", "rate_limit", "rate-limited")  # /rate_limit is free
    assert (int(evidence["remaining"]), int(evidence["limit"])) == (0, 5000)
    assert evidence["reset_at"]
    # the repository call got GitHub's rate-limit 403: that says nothing about permissions
    assert run.check("gh", "permissions")["failure_mode"] != "insufficient-permissions"


def test_rate_limit_low_warns(sb, run_connectors):
    server, fake = sb.github()
    fake.add_token(TOKEN, repos={REPO})
    fake.rate(limit=5000, remaining=300)  # 6 %: under the 10 % threshold

    run = _run(run_connectors, server)

    evidence = run.assert_warning("gh", "rate_limit", "rate-limit-low")
    assert 0 < int(evidence["remaining"]) <= 300
    assert int(evidence["limit"]) == 5000


# -- credential safety ---------------------------------------------------------------------


def test_redirect_to_another_origin_never_carries_the_token(sb, run_connectors):
    server, fake = sb.github()
    fake.add_token(TOKEN, repos={REPO})
    elsewhere = sb.https("collector.sandbox.test")
    fake.redirect_to = f"{elsewhere.url}/api/v3/user"

    run = _run(run_connectors, server)

    evidence = run.assert_failed("gh", "auth", "incorrect-endpoint")
    assert "redirect 301" in evidence["problem"]
    assert elsewhere.requests == 0  # the redirect was not followed
    assert all(not r.headers.get("authorization") for r in elsewhere.received)
    run.assert_blocked("gh", "auth", "incorrect-endpoint", list(DEPENDENT))
    _never_leaks(run, TOKEN)


def test_plain_http_api_to_a_named_host_is_insecure_transport(sb, run_connectors):
    _, fake = sb.github()
    fake.add_token(TOKEN, repos={REPO})
    plain = sb.http("plain-github.sandbox.test", handler=fake)

    run = _run(run_connectors, plain)

    check = run.check("gh", "auth")
    assert check["outcome"] == "warning"
    assert check["failure_mode"] == "insecure-transport"
    assert fake.authorized_requests("/user") == 0  # the token was never sent
    _never_leaks(run, TOKEN)


def test_username_password_with_a_token_as_password(sb, run_connectors):
    server, fake = sb.github()
    fake.add_token(TOKEN, login="ci-bot", repos={REPO})
    connector = textwrap.dedent(
        f"""\
        connector:
          name: gh
          identifier: gh
          type: Github
          spec:
            type: Repo
            url: {server.url}/{REPO}
            authentication:
              type: Http
              spec:
                type: UsernamePassword
                spec: {{username: ci-bot, passwordRef: account.gh_password}}
            delegateSelectors: [demo]
        """
    )

    run = run_connectors(connector, secrets={"account.gh_password": TOKEN})

    assert run.assert_passed("gh", "auth")["login"] == "ci-bot"
    run.assert_passed("gh", "permissions")
    _never_leaks(run, TOKEN)


def _anonymous_repo(url: str) -> str:
    return textwrap.dedent(
        f"""\
        connector:
          name: gh
          identifier: gh
          type: Github
          spec:
            type: Repo
            url: {url}
            authentication:
              type: Http
              spec: {{type: Anonymous}}
            delegateSelectors: [demo]
        """
    )


def test_anonymous_connector_to_a_public_repository(sb, run_connectors):
    server, fake = sb.github()
    fake.public_repos.add(REPO)

    run = run_connectors(_anonymous_repo(f"{server.url}/{REPO}"))

    assert run.check("gh", "auth")["outcome"] == "skipped"
    run.assert_passed("gh", "permissions")
    assert run.assert_passed("gh", "rate_limit")["remaining"] >= 0
    assert all(not present for _, _, present in fake.requests)  # nothing carried a credential


def test_anonymous_connector_to_a_private_repository(sb, run_connectors):
    server, _ = sb.github()

    run = run_connectors(_anonymous_repo(f"{server.url}/{REPO}"))

    evidence = run.assert_failed("gh", "permissions", "insufficient-permissions")
    assert evidence["missing"] == f"read access to {REPO}"


def test_oauth_credential_is_checked_like_a_token(sb, run_connectors):
    server, fake = sb.github()
    fake.add_token(TOKEN, login="oauth-user", repos={REPO})
    connector = textwrap.dedent(
        f"""\
        connector:
          name: gh
          identifier: gh
          type: Github
          spec:
            type: Repo
            url: {server.url}/{REPO}
            authentication:
              type: Http
              spec: {{type: OAuth, spec: {{tokenRef: {REF}}}}}
            apiAccess: {{type: OAuth, spec: {{tokenRef: {REF}}}}}
            delegateSelectors: [demo]
        """
    )

    run = run_connectors(connector, secrets={REF: TOKEN})

    assert run.assert_passed("gh", "auth")["login"] == "oauth-user"
    run.assert_passed("gh", "permissions")
    run.assert_passed("gh", "rate_limit")
    _never_leaks(run, TOKEN)


# -- answers of an unexpected shape ------------------------------------------------------


def _internal_errors(run: Run) -> list[str]:
    return [
        f"{name}: {check['message']}"
        for name, check in run.checks("gh").items()
        if check["outcome"] == "failed" and check["failure_mode"] is None
    ]


def test_odd_answers_are_judged_not_tracebacks(sb, run_connectors):
    """A proxy or an appliance in front of GitHub Enterprise may answer a JSON list, or a
    /rate_limit whose numbers are not numbers: each check still ends with a named outcome."""
    fake = FakeGitHub()
    fake.add_token(TOKEN, login="ci-bot", repos={REPO})

    def handler(request: SandboxRequest) -> SandboxResponse:
        scopes = {"X-OAuth-Scopes": ", ".join(ALL_SCOPES)}
        if request.path == "/api/v3/user":
            return SandboxResponse.json(["not", "a", "user"], headers=scopes)
        if request.path == "/api/v3/rate_limit":
            core = {"limit": 5000, "remaining": "lots", "reset": "soon"}
            return SandboxResponse.json({"resources": {"core": core}, "rate": core})
        return fake(request)

    server = sb.https("github.sandbox.test", handler=handler)

    run = _run(run_connectors, server)

    assert _internal_errors(run) == []
    run.assert_passed("gh", "auth")
    run.assert_passed("gh", "permissions")
    assert run.check("gh", "rate_limit")["outcome"] == "skipped"


def test_a_failing_server_is_not_blamed_on_the_token(sb, run_connectors):
    """A 5xx (maintenance window, broken proxy in front of GHE) says nothing about the token."""
    down = sb.https(
        "ghe-down.sandbox.test",
        handler=lambda request: SandboxResponse.json({"message": "Server Error"}, status=503),
    )
    run = _run(run_connectors, down)
    evidence = run.assert_failed("gh", "auth", "incorrect-endpoint")
    assert evidence["problem"] == "server error 503"
    assert "says nothing about the credential" in run.check("gh", "auth")["message"]
