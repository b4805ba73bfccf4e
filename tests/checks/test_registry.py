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
