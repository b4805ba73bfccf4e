"""GitHub App credentials: ``auth`` mints an installation token through ``FakeGitHub``'s app
endpoints, ``permissions`` and ``rate_limit`` use it.

The fake verifies the app JWT as GitHub documents it (RS256 signature by the app's key, ``iss``,
``exp`` not past and at most 10 minutes ahead); the first tests exercise that on its own.
"""

from __future__ import annotations

import base64
import json
import textwrap
import time
import weakref
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from pytest_connectors.checks import github as github_checks
from pytest_connectors.checks.github import JWT_BACKDATE_S, JWT_LIFETIME_S, app_jwt
from pytest_connectors.sandbox import FakeGitHub, SandboxRequest, SandboxResponse

from .conftest import Run

APP_ID = 424242
INSTALLATION = 31337001
KEY_REF = "account.gh_app_key"
REPO = "acme/app"
DEPENDENT = ("permissions", "rate_limit")
#: base64url of ``{"alg":"RS256","typ":"JWT"}``: how every app JWT starts.
JWT_PREFIX = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def github_app_repo(
    identifier: str,
    url: str,
    *,
    installation: str = f"installationId: '{INSTALLATION}'",
    application: str = f"applicationId: '{APP_ID}'",
    in_api_access: bool = True,
) -> str:
    """A Github Repo connector with a GitHub App as API access (HTTP auth: a token), or with
    ``in_api_access=False`` as its HTTP authentication (and no API access)."""
    app = f"{installation}\n{application}\nprivateKeyRef: {KEY_REF}"
    if in_api_access:
        authentication = "type: UsernameToken\nspec:\n  username: bot\n  tokenRef: account.tok"
        api = "apiAccess:\n  type: GithubApp\n  spec:\n" + textwrap.indent(app, " " * 4)
    else:
        authentication = "type: GithubApp\nspec:\n" + textwrap.indent(app, "  ")
        api = ""
    spec = "\n".join(
        [
            "type: Repo",
            f"url: {url}",
            "authentication:\n  type: Http\n  spec:\n" + textwrap.indent(authentication, " " * 4),
            api,
            "delegateSelectors: [demo]",
        ]
    ).replace("\n\n", "\n")
    header = f"connector:\n  name: {identifier}\n  identifier: {identifier}\n  type: Github\n"
    return header + "  spec:\n" + textwrap.indent(spec, " " * 4) + "\n"


# -- the fake on its own ----------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(jwt: str) -> dict[str, Any]:
    part = jwt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def _send(fake: FakeGitHub, method: str, path: str, authorization: str | None) -> SandboxResponse:
    headers = {} if authorization is None else {"authorization": authorization}
    return fake(SandboxRequest(method, "/api/v3" + path, headers))


def _message(response: SandboxResponse) -> str:
    return str(json.loads(response.body)["message"])


def test_app_jwt_follows_githubs_rules(app_key):
    now = time.time()
    jwt = app_jwt(_pem(app_key), str(APP_ID), now=now)
    header = jwt.split(".")[0]
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "RS256", "typ": "JWT"}
    claims = _claims(jwt)
    assert claims["iss"] == APP_ID
    assert claims["iat"] == int(now) - JWT_BACKDATE_S
    assert claims["exp"] == int(now) + JWT_LIFETIME_S
    assert claims["exp"] - int(now) <= 600


def test_app_jwt_needs_an_rsa_key():
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(ValueError, match="not an RSA key"):
        app_jwt(pem, str(APP_ID))
    with pytest.raises(ValueError):
        app_jwt("not a key", str(APP_ID))


def test_fake_app_verifies_the_jwt_and_mints_installation_tokens(app_key, other_key):
    fake = FakeGitHub()
    fake.add_app(APP_ID, _public_pem(app_key), {INSTALLATION: {"repos": {REPO}}}, slug="ci-app")
    good = app_jwt(_pem(app_key), str(APP_ID))

    app = _send(fake, "GET", "/app", f"Bearer {good}")
    assert app.status == 200
    assert json.loads(app.body)["id"] == APP_ID and json.loads(app.body)["slug"] == "ci-app"

    forged = app_jwt(_pem(other_key), str(APP_ID))
    for bad in (f"Bearer {forged}", "Bearer not.a.jwt", "Bearer x", None):
        refused = _send(fake, "GET", "/app", bad)
        assert (refused.status, _message(refused)) == (401, "A JSON web token could not be decoded")
    unknown_app = app_jwt(_pem(app_key), "999")
    assert _send(fake, "GET", "/app", f"Bearer {unknown_app}").status == 401

    expired = app_jwt(_pem(app_key), str(APP_ID), now=time.time() - 3600)
    assert "'Expiration time' claim ('exp')" in _message(
        _send(fake, "GET", "/app", f"Bearer {expired}")
    )
    # a hand-made JWT that lives an hour: GitHub allows at most 10 minutes
    header, _, _ = good.split(".")
    claims = _claims(good) | {"exp": int(time.time()) + 3600}
    signing_input = f"{header}.{_b64(claims)}"
    signature = app_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    too_long = f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"
    refused = _send(fake, "GET", "/app", f"Bearer {too_long}")
    assert (refused.status, _message(refused)) == (
        401,
        "'Expiration time' claim ('exp') is too far in the future",
    )

    minted = _send(
        fake, "POST", f"/app/installations/{INSTALLATION}/access_tokens", f"Bearer {good}"
    )
    assert minted.status == 201
    body = json.loads(minted.body)
    token = body["token"]
    assert token.startswith("ghs_") and body["expires_at"].endswith("Z")
    assert body["repository_selection"] == "selected"
    assert fake.installation_tokens == [token]
    assert _send(fake, "GET", f"/repos/{REPO}", f"token {token}").status == 200
    assert _send(fake, "GET", "/repos/acme/other", f"token {token}").status == 404
    assert _send(fake, "GET", f"/repos/{REPO}", f"Bearer {good}").status == 401  # a JWT is no token

    missing = _send(fake, "POST", "/app/installations/1/access_tokens", f"Bearer {good}")
    assert (missing.status, _message(missing)) == (404, "Not Found")
    assert (
        _send(fake, "GET", f"/app/installations/{INSTALLATION}/access_tokens", None).status == 404
    )
    assert all(token not in repr(entry) for entry in fake.requests)


# -- the checks -------------------------------------------------------------------------------


def _never_leaks(run: Run, fake: FakeGitHub) -> None:
    report = json.dumps(run.report)
    for secret in [*fake.installation_tokens, JWT_PREFIX]:
        assert secret not in run.text
        assert secret not in report


def _run(run_connectors, server, key: rsa.RSAPrivateKey, **kwargs: Any) -> Run:
    doc = github_app_repo("gh", f"{server.url}/{REPO}", **kwargs)
    return run_connectors(doc, secrets={KEY_REF: _pem(key)})


def test_healthy_app_passes_every_check(sb, run_connectors, app_key):
    server, fake = sb.github()
    fake.add_app(APP_ID, _public_pem(app_key), {INSTALLATION: {"repos": {REPO}}})

    run = _run(run_connectors, server, app_key)

    evidence = run.assert_passed("gh", "auth")
    assert evidence["token_kind"] == "GitHub App installation"
    assert str(evidence["installation_id"]) == str(INSTALLATION)
    assert evidence["repository_selection"] == "selected"
    run.assert_passed("gh", "permissions")
    limits = run.assert_passed("gh", "rate_limit")
    assert int(limits["limit"]) == 5000
    assert fake.authorized_requests("/app") >= 1
    assert fake.authorized_requests(f"/app/installations/{INSTALLATION}/access_tokens") >= 1
    assert fake.authorized_requests(f"/repos/{REPO}") >= 1
    assert len(fake.installation_tokens) == 1  # minted by auth, reused by the later checks
    _never_leaks(run, fake)


def test_app_in_http_authentication_only(sb, run_connectors, app_key):
    server, fake = sb.github()
    fake.add_app(APP_ID, _public_pem(app_key), {INSTALLATION: {"repos": "*"}})

    run = _run(run_connectors, server, app_key, in_api_access=False)

    assert run.assert_passed("gh", "auth")["repository_selection"] == "all"
    run.assert_passed("gh", "permissions")
    run.assert_passed("gh", "rate_limit")
    _never_leaks(run, fake)


def test_ids_from_secret_refs(sb, run_connectors, app_key):
    # ids read from secrets are masked like any secret value (the masker is process-wide), so
    # this test uses ids of its own
    app_id, installation = 515151, 62626262
    server, fake = sb.github()
    fake.add_app(app_id, _public_pem(app_key), {installation: {"repos": {REPO}}})
    doc = github_app_repo(
        "gh",
        f"{server.url}/{REPO}",
        installation="installationIdRef: account.gh_installation",
        application="applicationIdRef: account.gh_app_id",
    )

    run = run_connectors(
        doc,
        secrets={
            KEY_REF: _pem(app_key),
            "account.gh_installation": str(installation),
            "account.gh_app_id": str(app_id),
        },
    )

    run.assert_passed("gh", "auth")
    run.assert_passed("gh", "permissions")
    assert fake.authorized_requests(f"/app/installations/{installation}/access_tokens") >= 1
    _never_leaks(run, fake)


def test_wrong_private_key_is_invalid_credentials(sb, run_connectors, app_key, other_key):
    server, fake = sb.github()
    fake.add_app(APP_ID, _public_pem(app_key), {INSTALLATION: {"repos": {REPO}}})

    run = _run(run_connectors, server, other_key)  # signed with a key GitHub does not know

    evidence = run.assert_failed("gh", "auth", "invalid-credentials")
    assert evidence["reference"] == KEY_REF
    assert str(evidence["application_id"]) == str(APP_ID)
    assert evidence["provider_error"] == "A JSON web token could not be decoded"
    message = run.check("gh", "auth")["message"]
    assert KEY_REF in message and str(APP_ID) in message
    remediation = " ".join(run.check("gh", "auth")["remediation"])
    assert f"private key of app {APP_ID}" in remediation  # written for an app, not a token
    run.assert_blocked("gh", "auth", "invalid-credentials", DEPENDENT)
    assert fake.installation_tokens == []
    _never_leaks(run, fake)


def test_unknown_installation_is_invalid_credentials(sb, run_connectors, app_key):
    server, fake = sb.github()
    fake.add_app(APP_ID, _public_pem(app_key), {7: {"repos": "*"}})

    run = _run(run_connectors, server, app_key)

    evidence = run.assert_failed("gh", "auth", "invalid-credentials")
    assert evidence["provider_error"] == "installation not found for this app"
    assert str(evidence["installation_id"]) == str(INSTALLATION)
    assert "installation not found" in run.check("gh", "auth")["message"] or (
        f"installation {INSTALLATION} not found" in run.check("gh", "auth")["message"]
    )
    run.assert_blocked("gh", "auth", "invalid-credentials", DEPENDENT)
    _never_leaks(run, fake)


def test_installation_without_the_repository(sb, run_connectors, app_key):
    server, fake = sb.github()
    fake.add_app(APP_ID, _public_pem(app_key), {INSTALLATION: {"repos": {"acme/other"}}})

    run = _run(run_connectors, server, app_key)

    run.assert_passed("gh", "auth")
    evidence = run.assert_failed("gh", "permissions", "insufficient-permissions")
    assert evidence["reference"] == KEY_REF
    message = run.check("gh", "permissions")["message"]
    assert "GitHub App installation" in message and REPO in message
    _never_leaks(run, fake)


def test_each_check_mints_again_without_the_cache(sb, run_connectors, app_key, monkeypatch):
    """Checks of one connector may run where auth's token is not cached: they mint their own."""

    class NoCache(weakref.WeakKeyDictionary):  # type: ignore[type-arg]
        def setdefault(self, key: Any, default: Any = None) -> Any:
            return {}

    monkeypatch.setattr(github_checks, "_MINTED", NoCache())
    server, fake = sb.github()
    fake.add_app(APP_ID, _public_pem(app_key), {INSTALLATION: {"repos": {REPO}}})

    run = _run(run_connectors, server, app_key)

    run.assert_passed("gh", "auth")
    run.assert_passed("gh", "permissions")
    run.assert_passed("gh", "rate_limit")
    assert len(fake.installation_tokens) == 3  # auth, permissions and rate_limit
    _never_leaks(run, fake)
