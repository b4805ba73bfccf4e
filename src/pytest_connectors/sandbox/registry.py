"""``FakeRegistry``: a Docker Registry HTTP API V2 base endpoint with its token server.

Served by a sandbox HTTPS server: ``sb.registry()``. The token server (``/token``) lives on the
same server as the registry, as with many self-hosted registries.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass

from .httpserver import SandboxRequest, SandboxResponse

API_VERSION = {"Docker-Distribution-API-Version": "registry/2.0"}
TOKEN_PATH = "/token"
UNAUTHORIZED = {
    "errors": [{"code": "UNAUTHORIZED", "message": "authentication required", "detail": None}]
}


@dataclass(frozen=True)
class TokenRequest:
    """What a client asked the token server for (never its credentials)."""

    service: str | None
    scope: str | None
    account: str | None
    user: str | None  # the Basic-auth user name, None for an anonymous request
    granted: bool


class FakeRegistry:
    """A Docker Registry (distribution) V2 fake for the API version check ``GET /v2/``.

    With ``token_server=True`` (the default; Docker Hub, Harbor, GitLab, Quay ... work so):

    * ``GET /v2/`` without a valid token: ``401`` with ``WWW-Authenticate: Bearer
      realm="https://<host>:<port>/token",service="<service>"`` and the V2 error body
      ``{"errors": [{"code": "UNAUTHORIZED", ...}]}``; an unknown or expired bearer token adds
      ``error="invalid_token"`` to the challenge.
    * ``GET /token?service=...&scope=...`` with Basic auth of a known user: ``200 {"token",
      "access_token", "expires_in": 300, "issued_at"}``; a wrong user or password:
      ``401 {"details": "incorrect username or password"}``; no credentials: a token when
      ``anonymous`` is set, else ``401`` with ``WWW-Authenticate: Basic realm="<service>"``.
    * ``GET /v2/`` with ``Authorization: Bearer <issued token>``: ``200 {}``.

    With ``token_server=False`` (a registry behind htpasswd Basic auth): ``GET /v2/`` with
    Basic auth of a known user answers ``200 {}``, anything else ``401`` with
    ``WWW-Authenticate: Basic realm="Registry"`` (``anonymous`` then lets requests without
    credentials through); ``/token`` does not exist (404).

    Every ``/v2/`` answer carries ``Docker-Distribution-API-Version: registry/2.0``. Anything
    else is ``404`` with a V2 error body ``{"errors": [{"code": "NOT_FOUND", ...}]}``.

    With ``redirect_to`` set, requests answer ``307 Location: <redirect_to>`` (a registry
    behind a misconfigured load balancer): every request, or with ``redirect_paths`` only
    those for the listed paths (e.g. ``{"/token"}``, the token server alone).

    ``requests`` lists ``(method, path without query, whether an Authorization header was
    sent)``; ``token_requests`` the token server's :class:`TokenRequest` s. Passwords are only
    kept in the user table; issued tokens (random, made up by the fake) in the token table.

    Documentation this follows:

    * The token flow, the challenge (``realm``, ``service``, ``scope``), the token request
      parameters and the response fields ``token``/``access_token``/``expires_in``/``issued_at``
      (60 s default, 300 s in the example), 401 for bad credentials:
      https://distribution.github.io/distribution/spec/auth/token/ (also
      https://docs.docker.com/reference/api/registry/auth/)
    * The token server authenticates with Basic auth or serves anonymous clients by policy:
      https://distribution.github.io/distribution/spec/auth/jwt/
    * ``GET /v2/`` "API version check": 200 when authorised, 401 with ``WWW-Authenticate``,
      the ``Docker-Distribution-API-Version: registry/2.0`` header and the error body:
      https://distribution.github.io/distribution/spec/api/#api-version-check (also
      https://raw.githubusercontent.com/distribution/distribution/v2.7.1/docs/spec/api.md)
    * htpasswd Basic auth (``realm`` is configurable, ``Basic realm="Registry Realm"`` in the
      sample configuration): https://distribution.github.io/distribution/about/configuration/#htpasswd
    """

    def __init__(
        self,
        *,
        service: str = "registry.sandbox.test",
        token_server: bool = True,
        anonymous: bool = False,
        expires_in: int = 300,
        realm: str | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._users: dict[str, str] = {}
        self._tokens: dict[str, float] = {}  # issued token -> expiry (epoch seconds)
        self.service = service
        self.token_server = token_server
        self.anonymous = anonymous
        self.expires_in = expires_in
        self.realm = realm  # token URL; None: https://<Host header>/token
        self.redirect_to: str | None = None
        self.redirect_paths: frozenset[str] | None = None  # None: every path
        self.requests: list[tuple[str, str, bool]] = []
        self.token_requests: list[TokenRequest] = []

    # -- configuration ---------------------------------------------------------------------

    def add_user(self, user: str, password: str) -> None:
        with self._lock:
            self._users[user] = password

    def remove_user(self, user: str) -> None:
        with self._lock:
            self._users.pop(user, None)

    def expire_tokens(self) -> None:
        """Every token issued so far is now expired."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    @property
    def issued(self) -> int:
        with self._lock:
            return len(self._tokens)

    # -- the handler -----------------------------------------------------------------------

    def __call__(self, request: SandboxRequest) -> SandboxResponse:
        return self.handle(request)

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        path, _, query = request.path.partition("?")
        header = request.headers.get("authorization")
        with self._lock:
            self.requests.append((request.method, path, header is not None))
            if self.redirect_to is not None and (
                self.redirect_paths is None or path in self.redirect_paths
            ):
                return SandboxResponse(307, {"Location": self.redirect_to}, b"")
            if request.method not in ("GET", "HEAD"):
                return _not_found()
            if path in ("/v2", "/v2/"):
                return self._base(header, request.headers.get("host"))
            if path == TOKEN_PATH and self.token_server:
                return self._token(header, urllib.parse.parse_qs(query))
            return _not_found()

    def _base(self, header: str | None, host: str | None) -> SandboxResponse:
        scheme, _, value = (header or "").strip().partition(" ")
        if self.token_server:
            if scheme.lower() == "bearer" and value.strip():
                expiry = self._tokens.get(value.strip())
                if expiry is not None and expiry > time.time():
                    return _ok()
                return self._bearer_challenge(host, invalid=True)
            return self._bearer_challenge(host)
        if header is None and self.anonymous:
            return _ok()
        if scheme.lower() == "basic" and self._valid(value) is not None:
            return _ok()
        headers = {**API_VERSION, "WWW-Authenticate": 'Basic realm="Registry"'}
        return SandboxResponse.json(UNAUTHORIZED, status=401, headers=headers)

    def _token(self, header: str | None, params: dict[str, list[str]]) -> SandboxResponse:
        def param(name: str) -> str | None:
            return params.get(name, [None])[0]

        user: str | None = None
        granted = False
        scheme, _, value = (header or "").strip().partition(" ")
        if header is not None:
            user = self._valid(value) if scheme.lower() == "basic" else None
            granted = user is not None
        else:
            granted = self.anonymous
        self.token_requests.append(
            TokenRequest(
                param("service"),
                param("scope"),
                param("account"),
                user if granted else None,
                granted,
            )
        )
        if not granted:
            if header is None:
                challenge = {"WWW-Authenticate": f'Basic realm="{self.service}"'}
                return SandboxResponse.json(
                    {"details": "authentication required"}, status=401, headers=challenge
                )
            return SandboxResponse.json({"details": "incorrect username or password"}, 401)
        token = secrets.token_urlsafe(32)
        self._tokens[token] = time.time() + self.expires_in
        issued_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        body = {
            "token": token,
            "access_token": token,
            "expires_in": self.expires_in,
            "issued_at": issued_at.replace("+00:00", "Z"),
        }
        return SandboxResponse.json(body)

    # -- helpers ---------------------------------------------------------------------------

    def _valid(self, basic: str) -> str | None:
        """The user of a Basic credential when it matches the user table."""
        try:
            decoded = base64.b64decode(basic.strip(), validate=True).decode()
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        if sep and user in self._users and secrets.compare_digest(self._users[user], password):
            return user
        return None

    def _bearer_challenge(self, host: str | None, invalid: bool = False) -> SandboxResponse:
        realm = self.realm or f"https://{host or self.service}{TOKEN_PATH}"
        challenge = f'Bearer realm="{realm}",service="{self.service}"'
        if invalid:
            challenge += ',error="invalid_token"'
        headers = {**API_VERSION, "WWW-Authenticate": challenge}
        return SandboxResponse.json(UNAUTHORIZED, status=401, headers=headers)

    def __repr__(self) -> str:
        mode = "token" if self.token_server else "basic"
        return (
            f"<FakeRegistry {mode} users={len(self._users)} anonymous={self.anonymous}"
            f" issued={len(self._tokens)}>"
        )


def _ok() -> SandboxResponse:
    return SandboxResponse.json({}, headers=dict(API_VERSION))


def _not_found() -> SandboxResponse:
    body = {"errors": [{"code": "NOT_FOUND", "message": "not found", "detail": None}]}
    return SandboxResponse.json(body, status=404, headers=dict(API_VERSION))
