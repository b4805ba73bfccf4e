"""``FakeGitHub``: the few GitHub REST API endpoints the GitHub connector checks call.

Served under the GitHub Enterprise Server prefix ``/api/v3`` (``https://<host>/api/v3`` is the API
base for any host other than github.com), by a sandbox HTTPS server: ``sb.github()``.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import secrets
import string
import threading
import time
import uuid
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .httpserver import SandboxRequest, SandboxResponse

API_PREFIX = "/api/v3"
DOCS_URL = "https://docs.github.com/rest"
CLASSIC_SCOPES = ("repo", "admin:repo_hook", "user")
DEFAULT_PERMISSIONS = {"admin": False, "push": True, "pull": True}
SAML_MESSAGE = (
    "Resource protected by organization SAML enforcement. You must grant your Personal Access "
    "token access to this organization."
)
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID {request_id}."
)
PRIMARY_MESSAGE = (
    "API rate limit exceeded for user ID {user_id}. If you reach out to GitHub Support for help, "
    "please include the request ID {request_id}."
)
Repos = Literal["*"] | frozenset[str]
JWT_UNDECODABLE = "A JSON web token could not be decoded"
JWT_EXPIRED = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at"
    " which the assertion expires"
)
JWT_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
#: GitHub refuses an app JWT whose ``exp`` is more than 10 minutes ahead.
JWT_MAX_LIFETIME_S = 600
INSTALLATION_TOKEN_LIFETIME_S = 3600
DEFAULT_APP_PERMISSIONS = {"contents": "read", "metadata": "read", "pull_requests": "write"}


@dataclass
class FakeToken:
    """What the fake knows about one token (the token value is only the dictionary key)."""

    login: str
    user_id: int
    scopes: tuple[str, ...] | None  # None: fine-grained token (no X-OAuth-Scopes header)
    repos: Repos  # "*" or lower-case "owner/repo" names
    sso_required_orgs: frozenset[str]  # lower-case orgs whose SAML SSO the token lacks
    permissions: dict[str, bool] = field(default_factory=lambda: dict(DEFAULT_PERMISSIONS))
    revoked: bool = False

    @property
    def classic(self) -> bool:
        return self.scopes is not None


@dataclass
class FakeApp:
    """A registered GitHub App: its public key and installations (id -> repositories)."""

    app_id: int
    slug: str
    public_key: rsa.RSAPublicKey
    installations: dict[str, Repos]


class FakeGitHub:
    """A GitHub (Enterprise Server) REST API fake that answers as GitHub documents it.

    Endpoints (all under ``/api/v3``; anything else is ``404 {"message": "Not Found"}``):

    * ``GET /user`` (``Authorization: token <t>`` or ``Bearer <t>``): a known token gets
      ``200 {"login", "id", "type": "User"}``; an unknown or revoked one
      ``401 {"message": "Bad credentials"}``; no token ``401 {"message": "Requires
      authentication"}``.
    * ``GET /repos/{owner}/{repo}``: ``200`` with ``full_name``, ``private: true`` and
      ``permissions`` when the token may see the repository, else ``404 Not Found`` (GitHub
      hides private repositories rather than answering 403). All fake repositories are
      private, so a classic token also needs the ``repo`` scope to see them. An owner in the
      token's ``sso_required_orgs`` answers ``403`` with GitHub's SAML enforcement message and
      an ``X-GitHub-SSO: required; url=...`` header.
    * ``GET /rate_limit``: ``200 {"resources": {"core": {...}, ...}, "rate": {...}}``; does
      not count against the primary rate limit.
    * GitHub Apps (``add_app``): ``GET /app`` with ``Authorization: Bearer <app JWT>`` answers
      ``200 {"id", "slug", ...}`` when the JWT is RS256, signed by the private key of the app
      its ``iss`` names, and its ``exp`` is not past and at most 10 minutes ahead; otherwise
      ``401`` "A JSON web token could not be decoded" (bad shape, signature or issuer) or
      GitHub's ``exp`` messages. ``POST /app/installations/{id}/access_tokens`` with such a
      JWT answers ``201 {"token": "ghs_...", "expires_at", "permissions",
      "repository_selection"}``: the token is registered as a fine-grained token (no scopes)
      of ``<slug>[bot]`` that sees the installation's repositories; an installation the app
      does not have answers ``404 Not Found``. Installation tokens share the fake's rate-limit
      window.

    Every answer carries ``X-RateLimit-Limit/-Remaining/-Reset`` (epoch seconds)/``-Used`` and
    ``X-RateLimit-Resource: core``; answers to classic tokens carry ``X-OAuth-Scopes``
    (``"repo, admin:repo_hook, user"``) and ``X-Accepted-OAuth-Scopes``; fine-grained tokens
    get neither. Each counted request (every authenticated one except ``/rate_limit``)
    decrements ``remaining``; at ``remaining == 0`` counted requests answer ``403`` "API rate
    limit exceeded for user ID ..." until the reset time passes (then the window refills). With
    ``secondary_limited`` every request answers ``secondary_status`` (429 by default; GitHub
    uses 403 or 429) "You have exceeded a secondary rate limit" with ``Retry-After: 60``.
    With ``redirect_to`` set, every request answers ``301`` with ``Location: <redirect_to>``.
    One rate-limit window is shared by all tokens of the fake (GitHub has one per user).

    ``requests`` lists ``(method, path without query, whether an Authorization header was
    sent)``: token values are never stored outside the token table.

    GitHub documentation this follows:

    * Rate limits and their headers, 403/429 on exhaustion, secondary limits and
      ``retry-after``:
      https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api
    * ``GET /rate_limit`` ("Accessing this endpoint does not count against your REST API rate
      limit"): https://docs.github.com/rest/reference/rate-limit and
      https://github.blog/changelog/2023-10-18-rate-limits-for-rate_limit-rest-api-endpoint
    * ``X-OAuth-Scopes`` / ``X-Accepted-OAuth-Scopes`` for classic (OAuth) tokens:
      https://docs.github.com/en/enterprise-server@3.11/apps/oauth-apps/building-oauth-apps/scopes-for-oauth-apps
    * ``Authorization: Bearer`` or ``token``; 401 for invalid credentials, 404/403 without a
      token or with insufficient permissions:
      https://docs.github.com/en/rest/overview/other-authentication-methods
      (``{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}``
      and "Requires authentication" are GitHub's bodies, as quoted by clients, e.g.
      https://rdrr.io/cran/gh/f/tests/testthat/_snaps/gh_whoami.md)
    * 404 instead of 403 for private repositories:
      https://docs.github.com/enterprise-server@3.1/rest/overview/troubleshooting
    * SAML SSO: classic tokens must be authorised per organisation, ``X-GitHub-SSO`` names the
      URL that does it:
      https://docs.github.com/en/github/authenticating-to-github/authorizing-a-personal-access-token-for-use-with-saml-single-sign-on
      and https://github.com/octokit/node-github/issues/663
    * App JWTs (RS256; ``iat``, ``exp`` "no more than 10 minutes into the future", ``iss`` the
      app's id, sent as ``Authorization: Bearer``; ``GET /app``):
      https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app
      (the same page for Enterprise Server:
      https://docs.github.com/enterprise-server@3.13/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app)
    * Installation tokens (``POST /app/installations/INSTALLATION_ID/access_tokens`` with the
      JWT; ``ghs_`` tokens that expire after an hour):
      https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-an-installation-access-token-for-a-github-app
    """

    def __init__(
        self,
        *,
        limit: int = 5000,
        remaining: int | None = None,
        reset_in: float = 3600.0,
        secondary_status: int = 429,
    ) -> None:
        self._lock = threading.RLock()
        self._tokens: dict[str, FakeToken] = {}
        self._user_ids: dict[str, int] = {}
        self._next_id = itertools.count(1)
        self.limit = limit
        self.remaining = limit if remaining is None else remaining
        self.reset_at = int(time.time() + reset_in)
        self._window = max(1, int(reset_in))
        self.secondary_limited = False
        self.secondary_status = secondary_status
        self.redirect_to: str | None = None
        #: ``owner/repo`` names anyone may read without a token.
        self.public_repos: set[str] = set()
        self.requests: list[tuple[str, str, bool]] = []
        self._apps: dict[str, FakeApp] = {}
        self._minted: list[str] = []

    # -- configuration ---------------------------------------------------------------------

    def add_token(
        self,
        token: str,
        login: str = "octocat",
        scopes: Iterable[str] | None = CLASSIC_SCOPES,
        repos: Iterable[str] | Literal["*"] = "*",
        sso_required_orgs: Iterable[str] = (),
        permissions: Mapping[str, bool] | None = None,
    ) -> FakeToken:
        """Register ``token``; ``scopes=None`` makes it fine-grained (no ``X-OAuth-Scopes``)."""
        with self._lock:
            if login not in self._user_ids:
                self._user_ids[login] = next(self._next_id)
            entry = FakeToken(
                login=login,
                user_id=self._user_ids[login],
                scopes=None if scopes is None else tuple(scopes),
                repos="*" if repos == "*" else frozenset(r.lower() for r in repos),
                sso_required_orgs=frozenset(o.lower() for o in sso_required_orgs),
                permissions=dict(permissions or DEFAULT_PERMISSIONS),
            )
            self._tokens[token] = entry
            return entry

    def add_app(
        self,
        app_id: int,
        public_key_pem: str | bytes,
        installations: Mapping[int | str, Mapping[str, Any]] | None = None,
        slug: str | None = None,
    ) -> FakeApp:
        """Register a GitHub App by its RSA public key (PEM); ``installations`` maps an
        installation id to ``{"repos": {"owner/repo", ...} or "*"}``."""
        data = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
        key = serialization.load_pem_public_key(data)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("a GitHub App key is an RSA key")
        found: dict[str, Repos] = {}
        for installation, spec in (installations or {}).items():
            repos = spec.get("repos", "*")
            found[str(installation)] = "*" if repos == "*" else frozenset(r.lower() for r in repos)
        app = FakeApp(int(app_id), slug or f"sandbox-app-{app_id}", key, found)
        with self._lock:
            self._apps[str(app_id)] = app
        return app

    @property
    def installation_tokens(self) -> list[str]:
        """Every installation token minted so far (for tests that look for leaks)."""
        with self._lock:
            return list(self._minted)

    def revoke(self, token: str) -> None:
        """The token now gets ``401 Bad credentials`` (as an expired or revoked token does)."""
        with self._lock:
            self._tokens[token].revoked = True

    def rate(self, limit: int = 5000, remaining: int = 5000, reset_in: float = 3600.0) -> None:
        """Set the primary (``core``) rate-limit window."""
        with self._lock:
            self.limit, self.remaining = limit, remaining
            self.reset_at = int(time.time() + reset_in)
            self._window = max(1, int(reset_in))

    @property
    def used(self) -> int:
        return max(0, self.limit - self.remaining)

    def authorized_requests(self, path: str) -> int:
        """How many requests for ``path`` (without ``/api/v3``) carried a token."""
        with self._lock:
            return sum(1 for _, p, auth in self.requests if auth and p == API_PREFIX + path)

    # -- the handler -----------------------------------------------------------------------

    def __call__(self, request: SandboxRequest) -> SandboxResponse:
        return self.handle(request)

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        path = request.path.split("?", 1)[0]
        header = request.headers.get("authorization")
        with self._lock:
            self.requests.append((request.method, path, header is not None))
            if self.redirect_to is not None:
                return SandboxResponse(301, {"Location": self.redirect_to}, b"")
            self._refill()
            return self._route(request.method, path, header)

    def _route(self, method: str, path: str, header: str | None) -> SandboxResponse:
        if not path.startswith(API_PREFIX + "/"):
            return self._error(404, "Not Found")
        route = path[len(API_PREFIX) :].rstrip("/")
        parts = route.strip("/").split("/")
        if parts[0] == "app":
            return self._app_route(method, parts, header)
        known = route in ("/user", "/rate_limit") or (len(parts) == 3 and parts[0] == "repos")
        if not known:
            return self._error(404, "Not Found")
        if method not in ("GET", "HEAD"):
            return self._error(404, "Not Found")

        token = _token_from(header)
        entry: FakeToken | None = None
        if token is not None:
            entry = self._tokens.get(token)
            if entry is None or entry.revoked:
                return self._error(401, "Bad credentials")
        if self.secondary_limited:
            return self._error(
                self.secondary_status,
                SECONDARY_MESSAGE.format(request_id=_request_id()),
                {"Retry-After": "60"},
                entry,
            )
        if route == "/rate_limit":
            return self._rate_limit(entry)
        if entry is None:
            if route == "/user":
                return self._error(
                    401,
                    "Requires authentication",
                    documentation_url=(
                        "https://docs.github.com/rest/users/users#get-the-authenticated-user"
                    ),
                )
            full_name = "/".join(parts[1:3]).lower()
            if full_name in self.public_repos:  # public repositories answer anyone
                return SandboxResponse.json({"full_name": full_name, "private": False})
            return self._error(404, "Not Found")  # other fake repositories are private
        if self.remaining <= 0:
            message = PRIMARY_MESSAGE.format(user_id=entry.user_id, request_id=_request_id())
            return self._error(403, message, entry=entry)
        self.remaining -= 1
        if route == "/user":
            body = {"login": entry.login, "id": entry.user_id, "type": "User"}
            return self._json(200, body, entry, accepted="")
        return self._repo(parts[1], parts[2], entry)

    def _repo(self, owner: str, name: str, entry: FakeToken) -> SandboxResponse:
        full_name = f"{owner}/{name}"
        if owner.lower() in entry.sso_required_orgs:
            sso = (
                f"required; url=https://github.com/orgs/{owner}/sso"
                f"?authorization_request={uuid.uuid4().hex}"
            )
            return self._error(403, SAML_MESSAGE, {"X-GitHub-SSO": sso}, entry)
        visible = entry.repos == "*" or full_name.lower() in entry.repos
        if entry.classic and "repo" not in (entry.scopes or ()):
            visible = False  # a private repository needs the repo scope
        if not visible:
            return self._error(404, "Not Found", entry=entry)
        body = {
            "id": zlib.crc32(full_name.lower().encode()) % 10**9,
            "name": name,
            "full_name": full_name,
            "owner": {"login": owner},
            "private": True,
            "visibility": "private",
            "default_branch": "main",
            "permissions": dict(entry.permissions),
        }
        return self._json(200, body, entry, accepted="repo")

    # -- GitHub Apps -------------------------------------------------------------------------

    def _app_route(self, method: str, parts: list[str], header: str | None) -> SandboxResponse:
        is_app = parts == ["app"] and method in ("GET", "HEAD")
        is_mint = (
            len(parts) == 4
            and parts[1] == "installations"
            and parts[3] == "access_tokens"
            and method == "POST"
        )
        if not (is_app or is_mint):
            return self._error(404, "Not Found")
        app_or_problem = self._verify_jwt(header)
        if isinstance(app_or_problem, str):
            return self._error(401, app_or_problem)
        app = app_or_problem
        if is_app:
            body = {
                "id": app.app_id,
                "slug": app.slug,
                "name": app.slug,
                "owner": {"login": "acme"},
                "permissions": dict(DEFAULT_APP_PERMISSIONS),
                "installations_count": len(app.installations),
            }
            return self._json(200, body, None)
        repos = app.installations.get(parts[2])
        if repos is None:
            return self._error(404, "Not Found")
        token = "ghs_" + "".join(
            secrets.choice(string.ascii_letters + string.digits) for _ in range(36)
        )
        self.add_token(token, login=f"{app.slug}[bot]", scopes=None, repos=repos)
        self._minted.append(token)
        expires = datetime.fromtimestamp(time.time() + INSTALLATION_TOKEN_LIFETIME_S, timezone.utc)
        body = {
            "token": token,
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "permissions": dict(DEFAULT_APP_PERMISSIONS),
            "repository_selection": "all" if repos == "*" else "selected",
        }
        return self._json(201, body, None)

    def _verify_jwt(self, header: str | None) -> FakeApp | str:
        """The app a Bearer JWT authenticates, or GitHub's 401 message."""
        scheme, _, token = (header or "").strip().partition(" ")
        if scheme.lower() != "bearer" or token.count(".") != 2:
            return JWT_UNDECODABLE
        encoded_header, encoded_claims, encoded_signature = token.strip().split(".")
        try:
            jose = json.loads(_unb64(encoded_header))
            claims = json.loads(_unb64(encoded_claims))
            signature = _unb64(encoded_signature)
        except (ValueError, binascii.Error):
            return JWT_UNDECODABLE
        if not isinstance(jose, dict) or not isinstance(claims, dict):
            return JWT_UNDECODABLE
        app = self._apps.get(str(claims.get("iss")))
        if jose.get("alg") != "RS256" or app is None:
            return JWT_UNDECODABLE
        try:
            app.public_key.verify(
                signature,
                f"{encoded_header}.{encoded_claims}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return JWT_UNDECODABLE
        expires = claims.get("exp")
        now = time.time()
        if not isinstance(expires, (int, float)) or expires <= now:
            return JWT_EXPIRED
        if expires > now + JWT_MAX_LIFETIME_S:
            return JWT_TOO_FAR
        return app

    def _rate_limit(self, entry: FakeToken | None) -> SandboxResponse:
        core = {
            "limit": self.limit,
            "remaining": max(0, self.remaining),
            "reset": self.reset_at,
            "used": self.used,
            "resource": "core",
        }
        search = {"limit": 30, "remaining": 30, "reset": int(time.time()) + 60, "used": 0}
        graphql = {**core, "resource": "graphql", "remaining": self.limit, "used": 0}
        body = {
            "resources": {
                "core": core,
                "search": {**search, "resource": "search"},
                "graphql": graphql,
            },
            "rate": core,
        }
        return self._json(200, body, entry)

    # -- helpers ---------------------------------------------------------------------------

    def _refill(self) -> None:
        now = time.time()
        if now >= self.reset_at:
            self.remaining = self.limit
            self.reset_at = int(now + self._window)

    def _headers(self, entry: FakeToken | None, accepted: str | None = None) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Request-Id": _request_id(),
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.remaining)),
            "X-RateLimit-Reset": str(self.reset_at),
            "X-RateLimit-Used": str(self.used),
            "X-RateLimit-Resource": "core",
        }
        if entry is not None and entry.scopes is not None:
            headers["X-OAuth-Scopes"] = ", ".join(entry.scopes)
            if accepted is not None:
                headers["X-Accepted-OAuth-Scopes"] = accepted
        return headers

    def _json(
        self, status: int, body: Any, entry: FakeToken | None, accepted: str | None = None
    ) -> SandboxResponse:
        return SandboxResponse.json(body, status=status, headers=self._headers(entry, accepted))

    def _error(
        self,
        status: int,
        message: str,
        extra: Mapping[str, str] | None = None,
        entry: FakeToken | None = None,
        documentation_url: str = DOCS_URL,
    ) -> SandboxResponse:
        body = {"message": message, "documentation_url": documentation_url}
        headers = {**self._headers(entry), **(extra or {})}
        return SandboxResponse.json(body, status=status, headers=headers)

    def __repr__(self) -> str:
        return (
            f"<FakeGitHub tokens={len(self._tokens)} remaining={self.remaining}/{self.limit}"
            f" secondary_limited={self.secondary_limited}>"
        )


def _token_from(header: str | None) -> str | None:
    """The token of ``token <t>`` / ``Bearer <t>`` / Basic ``user:<t>`` (anything else: bad)."""
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    if scheme.lower() == "basic":  # a token also works as the password of Basic auth
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            decoded = ""
        password = decoded.partition(":")[2]
        if password:
            return password
    return "\x00invalid"  # present but unusable: GitHub answers 401 Bad credentials


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _request_id() -> str:
    return uuid.uuid4().hex[:20].upper()
