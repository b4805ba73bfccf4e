"""Bitbucket checks ``auth`` and ``permissions``: Server / Data Center against ``FakeBitbucket``,
Bitbucket Cloud against ``FakeBitbucketCloud``.

``sb.bitbucket()`` serves Bitbucket Server's REST API under ``/rest/api/1.0`` on a sandbox HTTPS
server; the connector's URL points at it (a name that is not bitbucket.org, so the Server API is
used). ``sb.bitbucket_cloud()`` serves the Cloud API under ``/2.0``; the per-connector setting
``bitbucket: {apiUrl: "<server>/2.0"}`` makes the checks use it, as for api.bitbucket.org. The
first tests of each exercise the fake itself (no plugin run).
"""

from __future__ import annotations

import base64
import json
import ssl
import textwrap
import urllib.error
import urllib.request
from typing import Any

import pytest

from pytest_connectors.checks.bitbucket import cloud_repository, repository_key
from pytest_connectors.endpoints import api_endpoint, endpoints_for
from pytest_connectors.model import Connector, ScmSpec
from pytest_connectors.refs import ScopeId
from pytest_connectors.sandbox import (
    FakeBitbucket,
    FakeBitbucketCloud,
    Sandbox,
    SandboxRequest,
    SandboxResponse,
)
from pytest_connectors.sandbox.bitbucketcloud import (
    BAD_BASIC,
    CHALLENGE,
    LACKS_SCOPES,
    TOKEN_INVALID,
)

from .conftest import Run

PASSWORD = "Bb-Sandbox-Passw0rd-xyz"
TOKEN = "BBDC-SandboxHttpAccessToken0123456789"
REF = "account.bb_secret"
EMAIL = "bot@acme.example"
PROJECT, REPO = "PROJ", "app"
REPO_PATH = "/rest/api/1.0/projects/proj/repos/app"


def _auth(password_ref: str) -> str:
    return textwrap.dedent(
        f"""\
        authentication:
          type: Http
          spec:
            type: UsernamePassword
            spec:
              username: bot
              passwordRef: {password_ref}"""
    )


def _api(kind: str | None, ref: str = REF, email: str = EMAIL) -> str:
    if kind == "token":
        return textwrap.dedent(
            f"""\
            apiAccess:
              type: UsernameToken
              spec:
                username: bot
                tokenRef: {ref}"""
        )
    if kind in ("oauth", "access"):
        return textwrap.dedent(
            f"""\
            apiAccess:
              type: {"OAuth" if kind == "oauth" else "AccessToken"}
              spec:
                tokenRef: {ref}"""
        )
    if kind == "email":
        return textwrap.dedent(
            f"""\
            apiAccess:
              type: EmailAndApiToken
              spec:
                email: {email}
                tokenRef: {ref}"""
        )
    return ""


def bitbucket(
    identifier: str,
    url: str,
    *,
    password_ref: str = REF,
    api: str | None = None,
    api_ref: str = REF,
    email: str = EMAIL,
    validation_repo: str | None = None,
) -> str:
    """A Bitbucket connector: Repo (or Account with ``validation_repo``) over HTTP(S)."""
    kind = "Account" if validation_repo else "Repo"
    lines = [
        "connector:",
        f"  name: {identifier}",
        f"  identifier: {identifier}",
        "  type: Bitbucket",
        "  spec:",
        f"    type: {kind}",
        f"    url: {url}",
    ]
    if validation_repo:
        lines.append(f"    validationRepo: {validation_repo}")
    lines += [textwrap.indent(_auth(password_ref), "    ")]
    if api:
        lines += [textwrap.indent(_api(api, api_ref, email), "    ")]
    lines.append("    delegateSelectors: [demo]")
    return "\n".join(lines) + "\n"


def _repo_url(server_url: str) -> str:
    return f"{server_url}/scm/proj/{REPO}.git"


def _never_leaks(run: Run, *values: str) -> None:
    report = json.dumps(run.report)
    users = ("bot", EMAIL)
    encoded = [base64.b64encode(f"{u}:{v}".encode()).decode() for u in users for v in values]
    for value in (*values, *encoded):
        assert value not in run.text
        assert value not in report


# -- the fake on its own ----------------------------------------------------------------------


def _basic(user: str = "bot", secret: str = PASSWORD) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def _get(fake: FakeBitbucket, path: str, headers: dict[str, str] | None = None) -> SandboxResponse:
    return fake(SandboxRequest("GET", "/rest/api/1.0" + path, headers or {}))


def _body(response: SandboxResponse) -> Any:
    return json.loads(response.body)


def _message(response: SandboxResponse) -> str:
    return str(_body(response)["errors"][0]["message"])


def test_fake_users_and_application_properties():
    fake = FakeBitbucket()
    fake.add_user("bot", password=PASSWORD, tokens=[TOKEN])

    ok = _get(fake, "/users/bot", _basic())
    assert ok.status == 200
    assert _body(ok)["name"] == "bot" and _body(ok)["slug"] == "bot"
    assert _get(fake, "/users/bot", _basic(secret=TOKEN)).status == 200  # token as password
    bearer = _get(fake, "/users/bot", {"authorization": f"Bearer {TOKEN}"})
    assert bearer.status == 200

    props = _get(fake, "/application-properties")  # anonymous: allowed
    assert props.status == 200 and _body(props)["displayName"] == "Bitbucket"
    assert _get(fake, "/users/bot").status == 401  # anonymous: not permitted
    missing = _get(fake, "/users/nobody", _basic())
    assert missing.status == 404 and "does not exist" in _message(missing)


def test_fake_rejects_bad_credentials_on_every_path():
    fake = FakeBitbucket()
    fake.add_user("bot", password=PASSWORD)
    for path in ("/users/bot", "/application-properties", "/projects/PROJ/repos/app"):
        for headers in (
            _basic(secret="wrong"),
            _basic(user="eve"),
            {"authorization": "Bearer nope"},
            {"authorization": "Basic !!!"},
        ):
            answer = _get(fake, path, headers)
            assert answer.status == 401, (path, headers)
            assert _message(answer).startswith("Authentication failed")
            assert _body(answer)["errors"][0]["exceptionName"].endswith("AuthenticationException")
    assert all(PASSWORD not in repr(entry) for entry in fake.requests)
    assert fake.requests[0] == ("GET", "/rest/api/1.0/users/bot", True)


def test_fake_repositories():
    fake = FakeBitbucket()
    fake.add_user("bot", password=PASSWORD, repositories={"PROJ/app"})
    fake.add_repository_token(TOKEN, {"PROJ/app"})

    ok = fake(SandboxRequest("GET", REPO_PATH, _basic()))
    assert ok.status == 200
    assert _body(ok)["slug"] == "app" and _body(ok)["project"]["key"] == "PROJ"
    hidden = _get(fake, "/projects/PROJ/repos/other", _basic())
    assert hidden.status == 404
    assert _message(hidden) == "Repository PROJ/other does not exist."
    assert _get(fake, "/projects/PROJ/repos/app").status == 404  # anonymous sees nothing
    bearer = {"authorization": f"Bearer {TOKEN}"}
    assert _get(fake, "/projects/PROJ/repos/app", bearer).status == 200
    assert _get(fake, "/projects/PROJ/repos/other", bearer).status == 404


def test_fake_rate_limiting():
    fake = FakeBitbucket(bucket=2, rate_headers=True)
    fake.add_user("bot", password=PASSWORD)
    first = _get(fake, "/users/bot", _basic())
    assert (first.status, first.headers["X-RateLimit-Remaining"]) == (200, "1")
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert _get(fake, "/users/bot", _basic()).status == 200
    blocked = _get(fake, "/users/bot", _basic())
    assert blocked.status == 429 and blocked.headers["Retry-After"] == "5"
    assert "rate limited" in _message(blocked)
    assert _get(fake, "/application-properties").status == 200  # anonymous: not limited

    quiet = FakeBitbucket()
    quiet.add_user("bot", password=PASSWORD)
    quiet.limited = True
    answer = _get(quiet, "/users/bot", _basic())
    assert answer.status == 429 and "X-RateLimit-Limit" not in answer.headers


def test_fake_over_https(sb: Sandbox):
    server, fake = sb.bitbucket()
    fake.add_user("bot", password=PASSWORD)
    assert server.url.startswith("https://bitbucket.sandbox.test:")
    url = f"https://{server.host}:{server.port}/rest/api/1.0/users/bot"
    context = ssl.create_default_context(cafile=str(sb.ca_file))
    context.check_hostname = False
    request = urllib.request.Request(url, headers={"Authorization": _basic()["authorization"]})
    with urllib.request.urlopen(request, context=context, timeout=5) as answer:
        assert json.load(answer)["name"] == "bot"
    bad = urllib.request.Request(url, headers=_basic(secret="wrong"))
    try:
        urllib.request.urlopen(bad, context=context, timeout=5)
    except urllib.error.HTTPError as exc:
        assert exc.code == 401
    else:  # pragma: no cover
        raise AssertionError("expected 401")


# -- repository from the URL ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind", "validation", "expected"),
    [
        ("https://bb.example.com/scm/proj/app.git", "Repo", None, ("proj", "app")),
        ("https://bb.example.com:8443/bitbucket/scm/proj/app.git", "Repo", None, ("proj", "app")),
        ("https://bb.example.com/projects/PROJ/repos/app/browse", "Repo", None, ("PROJ", "app")),
        ("https://bb.example.com/scm/~jdoe/app.git", "Repo", None, ("~jdoe", "app")),
        ("ssh://git@bb.example.com:7999/proj/app.git", "Repo", None, ("proj", "app")),
        ("git@bb.example.com:proj/app.git", "Repo", None, ("proj", "app")),
        ("https://bb.example.com/scm/proj", "Account", "app.git", ("proj", "app")),
        ("https://bb.example.com/scm", "Account", "proj/app", ("proj", "app")),
        ("https://bb.example.com/scm/proj", "Account", None, None),
        ("https://bb.example.com/scm/proj", "Repo", None, None),
    ],
)
def test_repository_key(url: str, kind: str, validation: str | None, expected: Any):
    spec = ScmSpec(url, kind, validation, "Http", None)
    connector = Connector("bb", "bb", "Bitbucket", ScopeId(), "c.yaml", 1, spec)
    assert repository_key(connector) == expected


# -- the checks -------------------------------------------------------------------------------


def test_healthy_basic_passes_auth_and_permissions(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket()
    fake.add_user("bot", password=PASSWORD, repositories={f"{PROJECT}/{REPO}"})
    run = run_connectors(bitbucket("bb", _repo_url(server.url)), secrets={REF: PASSWORD})
    evidence = run.assert_passed("bb", "auth")
    assert evidence["username"] == "bot"
    assert evidence["server_version"] == fake.version
    permissions = run.assert_passed("bb", "permissions")
    assert permissions["repository"] == "proj/app"
    assert fake.authorized_requests("/users/bot") >= 1
    assert fake.authorized_requests("/projects/proj/repos/app") >= 1
    assert "rate_limit" not in run.checks("bb")
    _never_leaks(run, PASSWORD)


def test_wrong_password_fails_auth_and_blocks_permissions(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket()
    fake.add_user("bot", password="the-real-password")
    run = run_connectors(bitbucket("bb", _repo_url(server.url)), secrets={REF: PASSWORD})
    evidence = run.assert_failed("bb", "auth", "invalid-credentials")
    assert evidence["reference"] == REF
    assert evidence["provider_error"].startswith("Authentication failed")
    run.assert_blocked("bb", "auth", "invalid-credentials", ["permissions"])
    _never_leaks(run, PASSWORD, "the-real-password")


def test_unknown_repository_is_insufficient_permissions(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket()
    fake.add_user("bot", password=PASSWORD, repositories={"PROJ/other"})
    run = run_connectors(bitbucket("bb", _repo_url(server.url)), secrets={REF: PASSWORD})
    run.assert_passed("bb", "auth")
    evidence = run.assert_failed("bb", "permissions", "insufficient-permissions")
    assert evidence["missing"] == "read access to proj/app"
    assert "does not exist" in evidence["provider_error"]
    _never_leaks(run, PASSWORD)


def test_rate_limited_429(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket(bucket=100, rate_headers=True)
    fake.add_user("bot", password=PASSWORD)
    fake.limited = True
    run = run_connectors(bitbucket("bb", _repo_url(server.url)), secrets={REF: PASSWORD})
    evidence = run.assert_failed("bb", "auth", "rate-limited")
    assert evidence["retry_after"] == "5"
    assert (evidence["limit"], evidence["remaining"]) == ("100", "0")
    run.assert_blocked("bb", "auth", "rate-limited", ["permissions"])
    _never_leaks(run, PASSWORD)


def test_rate_limited_without_headers(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket(bucket=0)  # rate limiting on, bucket empty, no X-RateLimit-*
    fake.add_user("bot", password=PASSWORD)
    run = run_connectors(bitbucket("bb", _repo_url(server.url)), secrets={REF: PASSWORD})
    evidence = run.assert_failed("bb", "auth", "rate-limited")
    assert evidence["retry_after"] == "5" and "remaining" not in evidence


def test_api_access_username_token_is_preferred(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket()
    fake.add_user("bot", password=PASSWORD, tokens=[TOKEN])
    # The HTTP password is wrong: only the apiAccess token can make the API calls pass.
    doc = bitbucket("bb", _repo_url(server.url), password_ref="account.bb_pw", api="token")
    run = run_connectors(doc, secrets={REF: TOKEN, "account.bb_pw": "wrong-password"})
    assert run.assert_passed("bb", "auth")["username"] == "bot"
    run.assert_passed("bb", "permissions")
    _never_leaks(run, TOKEN, "wrong-password")


def test_api_access_oauth_uses_bearer(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket()
    fake.add_repository_token(TOKEN, {f"{PROJECT}/{REPO}"})
    doc = bitbucket("bb", _repo_url(server.url), api="oauth")
    run = run_connectors(doc, secrets={REF: TOKEN})
    evidence = run.assert_passed("bb", "auth")
    assert evidence["server_version"] == fake.version and "username" not in evidence
    run.assert_passed("bb", "permissions")
    assert fake.authorized_requests("/application-properties") >= 1
    _never_leaks(run, TOKEN)


def test_invalid_bearer_token(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket()
    fake.add_repository_token("some-other-token", {f"{PROJECT}/{REPO}"})
    doc = bitbucket("bb", _repo_url(server.url), api="oauth")
    run = run_connectors(doc, secrets={REF: TOKEN})
    run.assert_failed("bb", "auth", "invalid-credentials")
    _never_leaks(run, TOKEN)


def test_access_token_is_sent_as_bearer(sb: Sandbox, run_connectors):
    """apiAccess ``AccessToken`` on Data Center is an HTTP access token sent as ``Authorization:
    Bearer`` (the only way a project or repository token works; a user's token works so too).
    A token for the connector's repository passes both checks; one for another repository is
    accepted but cannot read it; a token the server never issued is refused on every path."""
    server, fake = sb.bitbucket()
    fake.add_repository_token(TOKEN, {f"{PROJECT}/{REPO}"})
    fake.add_repository_token("BBDC-OtherRepositoryToken0123", {f"{PROJECT}/other"})
    fake.add_user("carol", tokens=["BBDC-CarolsPersonalToken0123"], repositories={"PROJ/app"})
    url = _repo_url(server.url)
    run = run_connectors(
        bitbucket("repo_token", url, api="access"),
        bitbucket("other_repo", url, api="access", api_ref="account.bb_other"),
        bitbucket("personal", url, api="access", api_ref="account.bb_personal"),
        bitbucket("unknown", url, api="access", api_ref="account.bb_unknown"),
        secrets={
            REF: TOKEN,
            "account.bb_other": "BBDC-OtherRepositoryToken0123",
            "account.bb_personal": "BBDC-CarolsPersonalToken0123",
            "account.bb_unknown": "BBDC-NeverIssuedToken0123",
        },
    )
    for name in ("repo_token", "personal"):
        evidence = run.assert_passed(name, "auth")
        assert evidence["server_version"] == fake.version and "username" not in evidence
        assert run.assert_passed(name, "permissions")["repository"] == "proj/app"
    run.assert_passed("other_repo", "auth")
    evidence = run.assert_failed("other_repo", "permissions", "insufficient-permissions")
    assert evidence["missing"] == "read access to proj/app"
    assert evidence["reference"] == "account.bb_other"
    evidence = run.assert_failed("unknown", "auth", "invalid-credentials")
    assert evidence["provider_error"].startswith("Authentication failed")
    run.assert_blocked("unknown", "auth", "invalid-credentials", ["permissions"])
    assert fake.authorized_requests("/application-properties") >= 3
    _never_leaks(run, TOKEN, "BBDC-CarolsPersonalToken0123", "BBDC-NeverIssuedToken0123")


def test_email_and_api_token_is_not_sent_to_a_server(sb: Sandbox, run_connectors):
    """``EmailAndApiToken`` holds an Atlassian API token, which only Bitbucket Cloud issues: on
    a Server / Data Center API both checks skip and say why, and no credential is sent."""
    server, fake = sb.bitbucket()
    fake.add_user("bot", password=PASSWORD, tokens=[TOKEN])
    doc = bitbucket("bb", _repo_url(server.url), password_ref="account.bb_pw", api="email")
    run = run_connectors(doc, secrets={REF: TOKEN, "account.bb_pw": PASSWORD})
    for name in ("auth", "permissions"):
        check = run.check("bb", name)
        assert check["outcome"] == "skipped", check
        assert "only Bitbucket Cloud accepts" in check["message"]
        assert (
            f"{server.url}/rest/api/1.0 is a Bitbucket Server / Data Center API" in check["message"]
        )
        assert "AccessToken" in check["message"]
    assert not any(authorized for _, _, authorized in fake.requests)
    _never_leaks(run, TOKEN, PASSWORD)


def test_account_connector_with_validation_repo(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket()
    fake.add_user("bot", password=PASSWORD, repositories={"PROJ/app"})
    doc = bitbucket("bb", f"{server.url}/scm/proj", validation_repo="app.git")
    run = run_connectors(doc, secrets={REF: PASSWORD})
    run.assert_passed("bb", "auth")
    assert run.assert_passed("bb", "permissions")["repository"] == "proj/app"
    _never_leaks(run, PASSWORD)


# -- Bitbucket Cloud --------------------------------------------------------------------------

APP_PASSWORD = "ATBB-SandboxAppPassw0rd-0123456789abcdef"
ACCESS_TOKEN = "ATCTT3xFfGN0-SandboxRepositoryAccessToken-0123456789"
API_TOKEN = "ATATT3xFfGF0-SandboxAtlassianApiToken-0123456789"
CLOUD_REPO = "acme/app"


def bitbucket_cloud(identifier: str, server_url: str, **kwargs: Any) -> str:
    """A Bitbucket Cloud-shaped connector: ``<server>/acme/app.git`` (the sandbox stands in
    for bitbucket.org; the settings point the API base at the fake, see ``cloud_settings``)."""
    return bitbucket(identifier, f"{server_url}/{CLOUD_REPO}.git", **kwargs)


def cloud_settings(server_url: str, *identifiers: str) -> str:
    lines = ["pytestConnectors:", "  connectors:"]
    for identifier in identifiers or ("bbc",):
        lines += [f"    account.{identifier}:", f'      bitbucket: {{apiUrl: "{server_url}/2.0"}}']
    return "\n".join(lines) + "\n"


def _cloud(fake: FakeBitbucketCloud, path: str, headers: dict[str, str] | None = None) -> Any:
    return fake(SandboxRequest("GET", "/2.0" + path, headers or {}))


def _cloud_message(response: SandboxResponse) -> str:
    return str(_body(response)["error"]["message"])


def _bearer(token: str = ACCESS_TOKEN) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_cloud_fake_user_and_credentials():
    fake = FakeBitbucketCloud()
    fake.add_user("bot", APP_PASSWORD)
    fake.add_access_token(ACCESS_TOKEN, {CLOUD_REPO})

    ok = _cloud(fake, "/user", _basic(secret=APP_PASSWORD))
    assert ok.status == 200
    assert (_body(ok)["type"], _body(ok)["username"]) == ("user", "bot")
    assert _body(ok)["uuid"].startswith("{") and _body(ok)["account_id"]

    for path in ("/user", f"/repositories/{CLOUD_REPO}"):
        wrong = _cloud(fake, path, _basic(secret="wrong"))
        assert wrong.status == 401 and wrong.headers["WWW-Authenticate"] == CHALLENGE
        assert _body(wrong)["type"] == "error"
        bad_token = _cloud(fake, path, _bearer("nope"))
        assert bad_token.status == 401
        assert _cloud_message(bad_token).startswith("Token is invalid, expired")
    assert _cloud(fake, "/user").status == 401  # anonymous

    token_user = _cloud(fake, "/user", _bearer())  # access tokens have no account scope
    assert token_user.status == 403
    assert _cloud_message(token_user) == LACKS_SCOPES
    assert _body(token_user)["error"]["detail"] == {
        "required": ["account"],
        "granted": ["repository"],
    }
    fake.token_user_status = 401
    assert _cloud(fake, "/user", _bearer()).status == 401
    assert all(APP_PASSWORD not in repr(entry) for entry in fake.requests)


def test_cloud_fake_repositories():
    fake = FakeBitbucketCloud()
    fake.add_user("bot", APP_PASSWORD, repositories={CLOUD_REPO})
    fake.add_user("eve", "eve-password", repositories={"acme/other"})
    fake.add_user("narrow", "narrow-password", repositories="*", scopes=["account"])
    fake.add_repository("acme/public", private=False)

    ok = _cloud(fake, f"/repositories/{CLOUD_REPO}", _basic(secret=APP_PASSWORD))
    assert ok.status == 200
    assert _body(ok)["full_name"] == CLOUD_REPO and _body(ok)["is_private"] is True
    assert _cloud(fake, "/repositories/ACME/App", _basic(secret=APP_PASSWORD)).status == 200
    denied = _cloud(fake, f"/repositories/{CLOUD_REPO}", _basic("eve", "eve-password"))
    assert denied.status == 403
    assert _cloud(fake, "/repositories/acme/missing", _basic(secret=APP_PASSWORD)).status == 404
    assert _cloud(fake, f"/repositories/{CLOUD_REPO}").status == 403  # anonymous, private
    assert _cloud(fake, "/repositories/acme/public").status == 200
    scopes = _cloud(fake, f"/repositories/{CLOUD_REPO}", _basic("narrow", "narrow-password"))
    assert scopes.status == 403
    assert _body(scopes)["error"]["detail"]["required"] == ["repository"]


def test_cloud_fake_api_tokens():
    """Atlassian API tokens: Basic with the account e-mail; not with the username, not as
    Bearer; scopes under their granular names."""
    fake = FakeBitbucketCloud()
    fake.add_api_token(EMAIL, API_TOKEN, {CLOUD_REPO})
    fake.add_api_token(
        "ci@acme.example", "ATATT-ci", {CLOUD_REPO}, scopes=["read:repository:bitbucket"]
    )

    ok = _cloud(fake, "/user", _basic(EMAIL, API_TOKEN))
    assert (ok.status, _body(ok)["username"]) == (200, "bot")
    assert _cloud(fake, f"/repositories/{CLOUD_REPO}", _basic(EMAIL, API_TOKEN)).status == 200
    by_name = _cloud(fake, "/user", _basic("bot", API_TOKEN))
    assert (by_name.status, _cloud_message(by_name)) == (401, BAD_BASIC)
    bearer = _cloud(fake, "/user", _bearer(API_TOKEN))
    assert (bearer.status, _cloud_message(bearer)) == (401, TOKEN_INVALID)
    lacks = _cloud(fake, "/user", _basic("ci@acme.example", "ATATT-ci"))
    assert lacks.status == 403
    assert _body(lacks)["error"]["detail"]["required"] == ["read:user:bitbucket"]


def test_cloud_fake_rate_limit_and_redirect():
    fake = FakeBitbucketCloud(rate_headers=True)
    fake.add_access_token(ACCESS_TOKEN, {CLOUD_REPO})
    ok = _cloud(fake, f"/repositories/{CLOUD_REPO}", _bearer())
    assert ok.status == 200
    assert (ok.headers["X-RateLimit-Limit"], ok.headers["X-RateLimit-Resource"]) == ("1000", "api")
    assert ok.headers["X-RateLimit-NearLimit"] == "false"
    fake.limited = True
    blocked = _cloud(fake, f"/repositories/{CLOUD_REPO}", _bearer())
    assert blocked.status == 429 and "Retry-After" not in blocked.headers
    assert _cloud_message(blocked) == "Rate limit for this resource has been exceeded"
    assert blocked.headers["X-RateLimit-NearLimit"] == "true"
    fake.limited, fake.budget = False, 1
    assert _cloud(fake, f"/repositories/{CLOUD_REPO}", _bearer()).status == 200
    assert _cloud(fake, f"/repositories/{CLOUD_REPO}", _bearer()).status == 429
    fake.redirect_to = "https://elsewhere.sandbox.test/2.0/user"
    moved = _cloud(fake, "/user", _bearer())
    assert (moved.status, moved.headers["Location"]) == (301, fake.redirect_to)


@pytest.mark.parametrize(
    ("url", "kind", "validation", "expected"),
    [
        ("https://bitbucket.org/acme/app.git", "Repo", None, ("acme", "app")),
        ("https://bot@bitbucket.org/acme/app.git", "Repo", None, ("acme", "app")),
        ("https://bitbucket.org/acme/app/src/main/", "Repo", None, ("acme", "app")),
        ("git@bitbucket.org:acme/app.git", "Repo", None, ("acme", "app")),
        ("https://bitbucket.org/acme", "Account", "app", ("acme", "app")),
        ("https://bitbucket.org/acme", "Account", "acme/app.git", ("acme", "app")),
        ("https://bitbucket.org", "Account", "acme/app", ("acme", "app")),
        ("https://bitbucket.org/acme", "Account", None, None),
        ("https://bitbucket.org/acme", "Repo", None, None),
    ],
)
def test_cloud_repository(url: str, kind: str, validation: str | None, expected: Any):
    spec = ScmSpec(url, kind, validation, "Http", None)
    connector = Connector("bb", "bb", "Bitbucket", ScopeId(), "c.yaml", 1, spec)
    assert cloud_repository(connector) == expected


def test_cloud_api_base_and_the_api_url_override():
    spec = ScmSpec("https://bitbucket.org/acme/app.git", "Repo", None, "Http", None)
    connector = Connector("bb", "bb", "Bitbucket", ScopeId(), "c.yaml", 1, spec)
    base = api_endpoint(connector)
    assert base is not None and base.url == "https://api.bitbucket.org/2.0"
    override = {"bitbucket": {"apiUrl": "https://bb-api.sandbox.test:8443/2.0"}}
    moved = api_endpoint(connector, override)
    assert moved is not None and (moved.host, moved.port, moved.path) == (
        "bb-api.sandbox.test",
        8443,
        "/2.0",
    )
    # the override is also where the network checks go
    hosts = {e.host for e in endpoints_for(connector, override)}
    assert hosts == {"bitbucket.org", "bb-api.sandbox.test"}


def test_cloud_app_password_passes_auth_and_permissions(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket_cloud()
    fake.add_user("bot", APP_PASSWORD, repositories={CLOUD_REPO})
    run = run_connectors(
        bitbucket_cloud("bbc", server.url),
        settings=cloud_settings(server.url),
        secrets={REF: APP_PASSWORD},
    )
    evidence = run.assert_passed("bbc", "auth")
    assert evidence["flavour"] == "Bitbucket Cloud"
    assert evidence["username"] == "bot" and evidence["account_id"]
    assert evidence["api"].endswith("/2.0/user")
    assert run.assert_passed("bbc", "permissions")["repository"] == CLOUD_REPO
    assert fake.authorized_requests("/user") >= 1
    assert fake.authorized_requests(f"/repositories/{CLOUD_REPO}") >= 1
    _never_leaks(run, APP_PASSWORD)


def test_cloud_access_token_passes_auth_and_permissions(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket_cloud()
    fake.add_access_token(ACCESS_TOKEN, {CLOUD_REPO})
    doc = bitbucket_cloud("bbc", server.url, password_ref="account.bb_pw", api="oauth")
    run = run_connectors(
        doc,
        settings=cloud_settings(server.url),
        secrets={REF: ACCESS_TOKEN, "account.bb_pw": "unused-http-password"},
    )
    evidence = run.assert_passed("bbc", "auth")
    assert evidence["credential"] == "access token (Bearer)"
    # /user wants the account scope an access token lacks: accepted, with the reason noted
    assert evidence["status"] == 403 and "accepted" in evidence["user_lookup"]
    assert evidence["user_required_scopes"] == ["account"]
    run.assert_passed("bbc", "permissions")
    assert fake.authorized_requests(f"/repositories/{CLOUD_REPO}") >= 1
    _never_leaks(run, ACCESS_TOKEN)


def test_cloud_access_token_refused_on_user_is_judged_by_the_repository(
    sb: Sandbox, run_connectors
):
    server, fake = sb.bitbucket_cloud()
    fake.add_access_token(ACCESS_TOKEN, {CLOUD_REPO})
    fake.token_user_status = 401  # "not supported for this endpoint"
    doc = bitbucket_cloud("bbc", server.url, api="oauth")
    run = run_connectors(doc, settings=cloud_settings(server.url), secrets={REF: ACCESS_TOKEN})
    evidence = run.assert_passed("bbc", "auth")
    assert f"{CLOUD_REPO} accepted it (200)" in evidence["user_lookup"]
    run.assert_passed("bbc", "permissions")
    _never_leaks(run, ACCESS_TOKEN)


def test_cloud_wrong_app_password_is_invalid_credentials(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket_cloud()
    fake.add_user("bot", "the-real-app-password", repositories={CLOUD_REPO})
    run = run_connectors(
        bitbucket_cloud("bbc", server.url),
        settings=cloud_settings(server.url),
        secrets={REF: APP_PASSWORD},
    )
    evidence = run.assert_failed("bbc", "auth", "invalid-credentials")
    assert evidence["reference"] == REF
    assert evidence["provider_error"] == BAD_BASIC
    message = run.check("bbc", "auth")["message"]
    assert "Bitbucket Cloud rejected account.bb_secret for bot: 401" in message
    assert "not the e-mail address" in message
    run.assert_blocked("bbc", "auth", "invalid-credentials", ["permissions"])
    assert fake.authorized_requests(f"/repositories/{CLOUD_REPO}") == 0
    _never_leaks(run, APP_PASSWORD, "the-real-app-password")


def test_cloud_email_and_api_token(sb: Sandbox, run_connectors):
    """apiAccess ``EmailAndApiToken`` on Bitbucket Cloud: Basic with the Atlassian account
    e-mail and an API token. The token of an account that reads the repository passes; a
    token Bitbucket does not know is refused with the e-mail hint; an account without access
    to the repository, or a token without its read scope, lacks permissions."""
    server, fake = sb.bitbucket_cloud()
    fake.add_api_token(EMAIL, API_TOKEN, {CLOUD_REPO})
    fake.add_api_token("carol@acme.example", "ATATT-carol-0123", {"acme/other"})
    fake.add_api_token("dave@acme.example", "ATATT-dave-0123", {CLOUD_REPO},
                       scopes=["read:user:bitbucket"])  # fmt: skip
    run = run_connectors(
        bitbucket_cloud("ok", server.url, api="email", api_ref="account.api_ok"),
        bitbucket_cloud("wrong", server.url, api="email", api_ref="account.api_wrong"),
        bitbucket_cloud("carol", server.url, api="email", api_ref="account.api_carol",
                        email="carol@acme.example"),
        bitbucket_cloud("dave", server.url, api="email", api_ref="account.api_dave",
                        email="dave@acme.example"),
        settings=cloud_settings(server.url, "ok", "wrong", "carol", "dave"),
        secrets={
            REF: "unused-http-password",
            "account.api_ok": API_TOKEN,
            "account.api_wrong": "ATATT-never-issued-0123",
            "account.api_carol": "ATATT-carol-0123",
            "account.api_dave": "ATATT-dave-0123",
        },
    )  # fmt: skip
    evidence = run.assert_passed("ok", "auth")
    assert evidence["credential"] == "Atlassian account e-mail + API token (Basic)"
    assert evidence["username"] == "bot" and evidence["status"] == 200
    assert run.assert_passed("ok", "permissions")["repository"] == CLOUD_REPO
    evidence = run.assert_failed("wrong", "auth", "invalid-credentials")
    assert evidence["provider_error"] == BAD_BASIC
    assert "e-mail of the Atlassian account" in run.check("wrong", "auth")["message"]
    run.assert_blocked("wrong", "auth", "invalid-credentials", ["permissions"])
    run.assert_passed("carol", "auth")
    evidence = run.assert_failed("carol", "permissions", "insufficient-permissions")
    assert (evidence["missing"], evidence["repository_status"]) == (
        f"read access to {CLOUD_REPO}", 403,
    )  # fmt: skip
    run.assert_passed("dave", "auth")
    evidence = run.assert_failed("dave", "permissions", "insufficient-permissions")
    assert evidence["missing"] == f"read access to {CLOUD_REPO} (scope read:repository:bitbucket)"
    _never_leaks(run, API_TOKEN, "ATATT-never-issued-0123", "ATATT-carol-0123")


def test_cloud_access_token_type(sb: Sandbox, run_connectors):
    """apiAccess ``AccessToken`` on Bitbucket Cloud: a repository, project or workspace access
    token as ``Authorization: Bearer``. One for the connector's repository passes; one for
    another repository is accepted but cannot read it; an unknown one is refused."""
    server, fake = sb.bitbucket_cloud()
    fake.add_access_token(ACCESS_TOKEN, {CLOUD_REPO})
    fake.add_access_token("ATCTT-other-repository-0123", {"acme/other"})
    run = run_connectors(
        bitbucket_cloud("ok", server.url, api="access", api_ref="account.at_ok"),
        bitbucket_cloud("other", server.url, api="access", api_ref="account.at_other"),
        bitbucket_cloud("unknown", server.url, api="access", api_ref="account.at_unknown"),
        settings=cloud_settings(server.url, "ok", "other", "unknown"),
        secrets={
            REF: "unused-http-password",
            "account.at_ok": ACCESS_TOKEN,
            "account.at_other": "ATCTT-other-repository-0123",
            "account.at_unknown": "ATCTT-never-issued-0123",
        },
    )
    evidence = run.assert_passed("ok", "auth")
    assert evidence["credential"] == "access token (Bearer)" and evidence["status"] == 403
    run.assert_passed("ok", "permissions")
    run.assert_passed("other", "auth")
    evidence = run.assert_failed("other", "permissions", "insufficient-permissions")
    assert evidence["missing"] == f"read access to {CLOUD_REPO}"
    evidence = run.assert_failed("unknown", "auth", "invalid-credentials")
    assert evidence["provider_error"] == TOKEN_INVALID
    _never_leaks(run, ACCESS_TOKEN, "ATCTT-other-repository-0123", "ATCTT-never-issued-0123")


def test_cloud_unknown_access_token_is_invalid_credentials(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket_cloud()
    fake.add_access_token("another-token", {CLOUD_REPO})
    doc = bitbucket_cloud("bbc", server.url, api="oauth")
    run = run_connectors(doc, settings=cloud_settings(server.url), secrets={REF: ACCESS_TOKEN})
    evidence = run.assert_failed("bbc", "auth", "invalid-credentials")
    assert evidence["provider_error"] == TOKEN_INVALID
    _never_leaks(run, ACCESS_TOKEN)


@pytest.mark.parametrize(
    ("readable", "status", "provider_error"),
    [
        ({"acme/other"}, 403, "You do not have access to this repository."),
        ({"acme/other"}, 404, f"Repository {CLOUD_REPO} not found"),
    ],
)
def test_cloud_repository_not_readable_is_insufficient_permissions(
    sb: Sandbox, run_connectors, readable: set[str], status: int, provider_error: str
):
    server, fake = sb.bitbucket_cloud()
    fake.add_user("bot", APP_PASSWORD, repositories=readable)
    if status == 403:
        fake.add_repository(CLOUD_REPO)  # exists, private, not readable by bot
    run = run_connectors(
        bitbucket_cloud("bbc", server.url),
        settings=cloud_settings(server.url),
        secrets={REF: APP_PASSWORD},
    )
    run.assert_passed("bbc", "auth")
    evidence = run.assert_failed("bbc", "permissions", "insufficient-permissions")
    assert evidence["missing"] == f"read access to {CLOUD_REPO}"
    assert evidence["provider_error"] == provider_error
    assert evidence["repository_status"] == status
    assert CLOUD_REPO in run.check("bbc", "permissions")["message"]
    _never_leaks(run, APP_PASSWORD)


def test_cloud_credential_without_the_repository_scope(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket_cloud()
    fake.add_user("bot", APP_PASSWORD, repositories={CLOUD_REPO}, scopes=["account"])
    run = run_connectors(
        bitbucket_cloud("bbc", server.url),
        settings=cloud_settings(server.url),
        secrets={REF: APP_PASSWORD},
    )
    evidence = run.assert_failed("bbc", "permissions", "insufficient-permissions")
    assert evidence["missing"] == f"read access to {CLOUD_REPO} (scope repository)"
    assert evidence["granted"] == "account"
    assert evidence["provider_error"] == LACKS_SCOPES


def test_cloud_rate_limited_429(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket_cloud(rate_headers=True)
    fake.add_access_token(ACCESS_TOKEN, {CLOUD_REPO})
    fake.limited = True
    doc = bitbucket_cloud("bbc", server.url, api="oauth")
    run = run_connectors(doc, settings=cloud_settings(server.url), secrets={REF: ACCESS_TOKEN})
    evidence = run.assert_failed("bbc", "auth", "rate-limited")
    assert evidence["retry_after"] is None  # Bitbucket Cloud documents no Retry-After
    assert "Rate limit for this resource has been exceeded" in run.check("bbc", "auth")["message"]
    run.assert_blocked("bbc", "auth", "rate-limited", ["permissions"])
    _never_leaks(run, ACCESS_TOKEN)


def test_cloud_rate_limited_on_the_repository_keeps_the_headers(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket_cloud(rate_headers=True, rate_limit=1000)
    fake.add_access_token(ACCESS_TOKEN, {CLOUD_REPO})
    fake.budget = 1  # GET /user is answered, the repository call of permissions is not
    doc = bitbucket_cloud("bbc", server.url, api="oauth")
    run = run_connectors(doc, settings=cloud_settings(server.url), secrets={REF: ACCESS_TOKEN})
    run.assert_passed("bbc", "auth")
    evidence = run.assert_failed("bbc", "permissions", "rate-limited")
    assert (evidence["limit"], evidence["resource"], evidence["near_limit"]) == (
        "1000",
        "api",
        "true",
    )


# -- credential safety: redirects to another origin -------------------------------------------


def _nothing_reached(elsewhere: Any) -> None:
    assert elsewhere.requests == 0  # the redirect was not followed
    assert all(not r.headers.get("authorization") for r in elsewhere.received)


def test_server_redirect_to_another_origin_never_carries_the_credential(
    sb: Sandbox, run_connectors
):
    server, fake = sb.bitbucket()
    fake.add_user("bot", password=PASSWORD)
    elsewhere = sb.https("collector.sandbox.test")
    fake.redirect_to = f"{elsewhere.url}/rest/api/1.0/users/bot"
    run = run_connectors(bitbucket("bb", _repo_url(server.url)), secrets={REF: PASSWORD})
    evidence = run.assert_failed("bb", "auth", "incorrect-endpoint")
    assert evidence["problem"] == f"redirect 301 to {fake.redirect_to}"
    run.assert_blocked("bb", "auth", "incorrect-endpoint", ["permissions"])
    _nothing_reached(elsewhere)
    _never_leaks(run, PASSWORD)


def test_cloud_redirect_to_another_origin_never_carries_the_credential(sb: Sandbox, run_connectors):
    server, fake = sb.bitbucket_cloud()
    fake.add_user("bot", APP_PASSWORD, repositories={CLOUD_REPO})
    elsewhere = sb.https("collector.sandbox.test")
    fake.redirect_to = f"{elsewhere.url}/2.0/user"
    run = run_connectors(
        bitbucket_cloud("bbc", server.url),
        settings=cloud_settings(server.url),
        secrets={REF: APP_PASSWORD},
    )
    evidence = run.assert_failed("bbc", "auth", "incorrect-endpoint")
    assert evidence["problem"] == f"redirect 301 to {fake.redirect_to}"
    assert fake.authorized_requests("/user") == 1  # asked once, not again elsewhere
    _nothing_reached(elsewhere)
    _never_leaks(run, APP_PASSWORD)


def test_a_failing_server_is_not_blamed_on_the_credential(sb, run_connectors):
    down = sb.https(
        "bitbucket-down.sandbox.test",
        handler=lambda request: SandboxResponse.json({"errors": []}, status=503),
    )
    run = run_connectors(bitbucket("bb", _repo_url(down.url)), secrets={REF: PASSWORD})
    evidence = run.assert_failed("bb", "auth", "incorrect-endpoint")
    assert evidence["problem"] == "server error 503"
    _never_leaks(run, PASSWORD)


def test_cloud_access_token_refused_on_user_and_a_failing_repository_is_not_accepted(
    sb: Sandbox, run_connectors
):
    """/user refuses the access token; the repository lookup that could vouch for it fails
    with 500: that is the server's failure, never a pass."""

    def handler(request: SandboxRequest) -> SandboxResponse:
        if request.path.startswith("/2.0/user"):
            return SandboxResponse.json({"type": "error", "error": {"message": "no"}}, status=401)
        return SandboxResponse.json({"type": "error"}, status=500)

    server = sb.https("bbc-failing.sandbox.test", handler=handler)
    run = run_connectors(
        bitbucket_cloud("bbc", server.url, api="oauth"),
        settings=cloud_settings(server.url),
        secrets={REF: ACCESS_TOKEN},
    )
    evidence = run.assert_failed("bbc", "auth", "incorrect-endpoint")
    assert evidence["problem"] == "server error 500"
    _never_leaks(run, ACCESS_TOKEN)
