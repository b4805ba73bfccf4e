"""DockerRegistry check ``auth`` against ``FakeRegistry`` (bearer token flow and Basic auth).

The fake (``sb.registry()``) answers the V2 API version check ``GET /v2/`` and, in token mode,
its token server at ``/token`` on the same sandbox HTTPS server. The first tests exercise the fake
itself (no plugin run).
"""

from __future__ import annotations

import base64
import json
import textwrap
from typing import Any

import pytest

from pytest_connectors.sandbox import FakeRegistry, Sandbox, SandboxRequest, SandboxResponse

from .conftest import Run

PASSWORD = "reg-Passw0rd-sandbox-value"
REF = "account.reg_pw"


def registry_connector(identifier: str, server_url: str, anonymous: bool = False) -> str:
    if anonymous:
        auth = "auth:\n  type: Anonymous"
    else:
        auth = textwrap.dedent(
            f"""\
            auth:
              type: UsernamePassword
              spec:
                username: bot
                passwordRef: {REF}"""
        )
    return (
        textwrap.dedent(
            f"""\
            connector:
              name: {identifier}
              identifier: {identifier}
              type: DockerRegistry
              spec:
                dockerRegistryUrl: {server_url}/v2/
                providerType: Other
                delegateSelectors: [demo]
            """
        )
        + textwrap.indent(auth, " " * 4)
        + "\n"
    )


def _never_leaks(run: Run, *values: str) -> None:
    report = json.dumps(run.report)
    for value in values:
        assert value not in run.text
        assert value not in report


# -- the fake on its own ----------------------------------------------------------------------


def _basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _get(fake: FakeRegistry, path: str, headers: dict[str, str] | None = None) -> SandboxResponse:
    return fake(
        SandboxRequest("GET", path, {"host": "registry.sandbox.test:5000", **(headers or {})})
    )


def _body(response: SandboxResponse) -> Any:
    return json.loads(response.body)


def test_fake_bearer_flow():
    fake = FakeRegistry()
    fake.add_user("bot", PASSWORD)

    challenge = _get(fake, "/v2/")
    assert challenge.status == 401
    assert challenge.headers["WWW-Authenticate"] == (
        'Bearer realm="https://registry.sandbox.test:5000/token",service="registry.sandbox.test"'
    )
    assert challenge.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert _body(challenge)["errors"][0]["code"] == "UNAUTHORIZED"

    query = "/token?service=registry.sandbox.test&scope=repository:app:pull"
    issued = _get(fake, query, _basic("bot", PASSWORD))
    assert issued.status == 200
    body = _body(issued)
    assert body["token"] == body["access_token"] and body["expires_in"] == 300
    assert body["issued_at"].endswith("Z")
    assert fake.token_requests[-1].service == "registry.sandbox.test"
    assert fake.token_requests[-1].scope == "repository:app:pull"
    assert fake.token_requests[-1].user == "bot"

    ok = _get(fake, "/v2/", {"authorization": f"Bearer {body['token']}"})
    assert (ok.status, _body(ok)) == (200, {})
    assert ok.headers["Docker-Distribution-API-Version"] == "registry/2.0"

    bad = _get(fake, "/v2/", {"authorization": "Bearer made-up"})
    assert bad.status == 401 and 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    fake.expire_tokens()
    assert _get(fake, "/v2/", {"authorization": f"Bearer {body['token']}"}).status == 401
    assert all(PASSWORD not in repr(entry) for entry in fake.requests + fake.token_requests)
    assert fake.requests[0] == ("GET", "/v2/", False)


def test_fake_token_server_refuses_bad_and_anonymous():
    fake = FakeRegistry()
    fake.add_user("bot", PASSWORD)
    wrong = _get(fake, "/token?service=registry.sandbox.test", _basic("bot", "nope"))
    assert wrong.status == 401
    assert _get(fake, "/token", _basic("eve", PASSWORD)).status == 401
    anonymous = _get(fake, "/token?service=registry.sandbox.test")
    assert anonymous.status == 401 and "WWW-Authenticate" in anonymous.headers
    fake.anonymous = True
    granted = _get(fake, "/token?service=registry.sandbox.test")
    assert granted.status == 200 and fake.token_requests[-1].user is None


def test_fake_basic_mode():
    fake = FakeRegistry(token_server=False)
    fake.add_user("bot", PASSWORD)
    challenge = _get(fake, "/v2/")
    assert challenge.status == 401
    assert challenge.headers["WWW-Authenticate"] == 'Basic realm="Registry"'
    assert _get(fake, "/v2/", _basic("bot", "nope")).status == 401
    assert _get(fake, "/v2/", _basic("bot", PASSWORD)).status == 200
    assert _get(fake, "/token", _basic("bot", PASSWORD)).status == 404


def test_sandbox_registry_realm_is_the_same_server(sb: Sandbox):
    server, fake = sb.registry()
    assert fake.realm == f"{server.url}/token"
    assert fake.service == "registry.sandbox.test"
    answer = fake(SandboxRequest("GET", "/v2/", {}))
    assert f'realm="{server.url}/token"' in answer.headers["WWW-Authenticate"]


# -- the checks -------------------------------------------------------------------------------


def test_bearer_flow_passes(sb: Sandbox, run_connectors):
    server, fake = sb.registry()
    fake.add_user("bot", PASSWORD)
    run = run_connectors(registry_connector("reg", server.url), secrets={REF: PASSWORD})
    run.assert_passed("reg", "auth")
    assert fake.token_requests and fake.token_requests[-1].user == "bot"
    assert fake.token_requests[-1].service == "registry.sandbox.test"
    assert ("GET", "/v2/", True) in fake.requests  # retried with the bearer token
    checks = run.checks("reg")
    assert "permissions" not in checks and "rate_limit" not in checks
    _never_leaks(run, PASSWORD)


def test_basic_flow_passes(sb: Sandbox, run_connectors):
    server, fake = sb.registry(token_server=False)
    fake.add_user("bot", PASSWORD)
    run = run_connectors(registry_connector("reg", server.url), secrets={REF: PASSWORD})
    run.assert_passed("reg", "auth")
    _never_leaks(run, PASSWORD)


def test_wrong_password_bearer_flow(sb: Sandbox, run_connectors):
    server, fake = sb.registry()
    fake.add_user("bot", "another-password")
    run = run_connectors(registry_connector("reg", server.url), secrets={REF: PASSWORD})
    run.assert_failed("reg", "auth", "invalid-credentials")
    _never_leaks(run, PASSWORD)


def test_wrong_password_basic_flow(sb: Sandbox, run_connectors):
    server, fake = sb.registry(token_server=False)
    fake.add_user("bot", "another-password")
    run = run_connectors(registry_connector("reg", server.url), secrets={REF: PASSWORD})
    run.assert_failed("reg", "auth", "invalid-credentials")
    _never_leaks(run, PASSWORD)


def test_anonymous_refused(sb: Sandbox, run_connectors):
    server, fake = sb.registry()
    fake.add_user("bot", PASSWORD)
    run = run_connectors(registry_connector("reg", server.url, anonymous=True))
    run.assert_failed("reg", "auth", "invalid-credentials")


def test_anonymous_allowed(sb: Sandbox, run_connectors):
    server, fake = sb.registry(anonymous=True)
    run = run_connectors(registry_connector("reg", server.url, anonymous=True))
    run.assert_passed("reg", "auth")
    assert fake.token_requests and fake.token_requests[-1].user is None


# -- credential safety -----------------------------------------------------------------------


def test_fake_redirects_every_path_or_only_the_listed_ones():
    fake = FakeRegistry()
    fake.add_user("bot", PASSWORD)
    fake.redirect_to = "https://elsewhere.sandbox.test/v2/"
    moved = _get(fake, "/v2/", _basic("bot", PASSWORD))
    assert (moved.status, moved.headers["Location"]) == (307, fake.redirect_to)
    fake.redirect_paths = frozenset({"/token"})
    assert _get(fake, "/v2/").status == 401  # the challenge, as usual
    assert _get(fake, "/token?service=registry.sandbox.test").status == 307


def _nothing_reached(elsewhere: Any) -> None:
    assert elsewhere.requests == 0  # the redirect was not followed
    assert all(not r.headers.get("authorization") for r in elsewhere.received)


def test_registry_redirect_never_carries_the_password(sb: Sandbox, run_connectors):
    server, fake = sb.registry(token_server=False)
    fake.add_user("bot", PASSWORD)
    elsewhere = sb.https("mirror.sandbox.test")
    fake.redirect_to = f"{elsewhere.url}/v2/"
    run = run_connectors(registry_connector("reg", server.url), secrets={REF: PASSWORD})
    evidence = run.assert_failed("reg", "auth", "incorrect-endpoint")
    assert evidence["problem"] == f"redirect 307 to {fake.redirect_to}"
    sent = [r for r in fake.requests if r[2]]  # those that carried the credential
    assert sent == [("GET", "/v2/", True)]  # asked once, not again elsewhere
    _nothing_reached(elsewhere)
    _never_leaks(run, PASSWORD)


def test_token_server_redirect_never_carries_the_password(sb: Sandbox, run_connectors):
    server, fake = sb.registry()
    fake.add_user("bot", PASSWORD)
    elsewhere = sb.https("auth-elsewhere.sandbox.test")
    fake.redirect_to = f"{elsewhere.url}/token"
    fake.redirect_paths = frozenset({"/token"})  # /v2/ challenges as usual
    run = run_connectors(registry_connector("reg", server.url), secrets={REF: PASSWORD})
    evidence = run.assert_failed("reg", "auth", "incorrect-endpoint")
    assert evidence["problem"] == f"redirect 307 to {fake.redirect_to}"
    assert evidence["token_realm"] == f"{server.url}/token"
    assert fake.issued == 0 and not fake.token_requests
    _nothing_reached(elsewhere)
    _never_leaks(run, PASSWORD)


# -- challenges and answers of other shapes ---------------------------------------------------


def _in_front_of(fake: FakeRegistry, override: Any) -> Any:
    def handler(request: SandboxRequest) -> SandboxResponse:
        answer = override(request)
        return answer if answer is not None else fake(request)

    return handler


@pytest.mark.parametrize(
    "challenge",
    [
        'Bearer realm={realm},service="{service}"',  # a token, not a quoted string (RFC 7235)
        'Bearer Realm="{realm}", Service="{service}"',  # parameter names are case-insensitive
        'bearer realm="{realm}",service="{service}",error="invalid_token"',
    ],
    ids=["unquoted", "capitalised", "extra-param"],
)
def test_challenge_forms_are_understood(sb: Sandbox, run_connectors, challenge):
    fake = FakeRegistry(service="registry.sandbox.test")
    fake.add_user("bot", PASSWORD)
    server = sb.https("registry.sandbox.test")
    fake.realm = f"{server.url}/token"
    header = challenge.format(realm=fake.realm, service=fake.service)

    def override(request: SandboxRequest) -> SandboxResponse | None:
        answer = fake(request)
        if request.path == "/v2/" and answer.status == 401:
            answer.headers["WWW-Authenticate"] = header
        return answer

    server.handler = _in_front_of(fake, override)
    run = run_connectors(registry_connector("reg", server.url), secrets={REF: PASSWORD})
    run.assert_passed("reg", "auth")
    assert fake.token_requests[-1].service == "registry.sandbox.test"
    assert fake.token_requests[-1].user == "bot"
    _never_leaks(run, PASSWORD)


@pytest.mark.parametrize(
    ("where", "status", "mode"),
    [
        ("/v2/", 404, "incorrect-endpoint"),  # no registry API at the URL
        ("/v2/", 503, "incorrect-endpoint"),  # the registry failed: not the credential's fault
        ("/v2/", 429, "rate-limited"),
        ("/token", 502, "incorrect-endpoint"),
        ("/token", 429, "rate-limited"),
    ],
)
def test_answers_that_are_not_a_refusal(sb: Sandbox, run_connectors, where, status, mode):
    fake = FakeRegistry(service="registry.sandbox.test")
    fake.add_user("bot", PASSWORD)

    def override(request: SandboxRequest) -> SandboxResponse | None:
        if request.path.split("?", 1)[0] == where:
            return SandboxResponse.json({"errors": []}, status=status)
        return None

    server = sb.https("registry.sandbox.test", handler=_in_front_of(fake, override))
    fake.realm = f"{server.url}/token"
    run = run_connectors(registry_connector("reg", server.url), secrets={REF: PASSWORD})
    run.assert_failed("reg", "auth", mode)
    _never_leaks(run, PASSWORD)


def test_token_answer_that_is_not_an_object(sb: Sandbox, run_connectors):
    fake = FakeRegistry(service="registry.sandbox.test")
    fake.add_user("bot", PASSWORD)

    def override(request: SandboxRequest) -> SandboxResponse | None:
        if request.path.startswith("/token"):
            return SandboxResponse.json(["a-token"])
        return None

    server = sb.https("registry.sandbox.test", handler=_in_front_of(fake, override))
    fake.realm = f"{server.url}/token"
    run = run_connectors(registry_connector("reg", server.url), secrets={REF: PASSWORD})
    run.assert_failed("reg", "auth", "invalid-credentials")
