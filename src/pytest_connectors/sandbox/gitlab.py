"""``FakeGitLab``: the few GitLab REST API (v4) endpoints the GitLab connector checks call.

Served under ``/api/v4`` by a sandbox HTTPS server: ``sb.gitlab()``. The API base of a
self-managed instance is ``https://<host>/api/v4``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import itertools
import threading
import time
import urllib.parse
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from .httpserver import SandboxRequest, SandboxResponse

API_PREFIX = "/api/v4"
#: Scopes that may call ``GET /user`` / ``GET /projects/:id`` (``allow_access_with_scope``).
USER_SCOPES = frozenset({"api", "read_api", "read_user"})
PROJECT_SCOPES = frozenset({"api", "read_api"})
EXPIRED = "Token has expired."
REVOKED = "Token was revoked. You have to re-authorize from the user profile."
INSUFFICIENT_SCOPE = "The request requires higher privileges than provided by the access token."
DEVELOPER = 30  # GitLab access levels: 10 guest, 20 reporter, 30 developer, 40 maintainer
Projects = Literal["*"] | frozenset[str]


@dataclass
class FakeGitLabToken:
    """What the fake knows about one personal access token (the value is only the dict key)."""

    token_id: int
    name: str
    username: str
    user_id: int
    scopes: tuple[str, ...]
    expires_at: str | None  # "YYYY-MM-DD" (the token stops working on that day, UTC)
    projects: Projects  # "*" or lower-case "group/project" paths
    access_level: int = DEVELOPER
    revoked: bool = False

    @property
    def expired(self) -> bool:
        if self.expires_at is None:
            return False
        return dt.date.fromisoformat(self.expires_at) <= dt.datetime.now(dt.timezone.utc).date()

    @property
    def active(self) -> bool:
        return not (self.revoked or self.expired)


class FakeGitLab:
    """A GitLab (self-managed) REST API v4 fake that answers as GitLab documents it.

    Endpoints (all under ``/api/v4``; other paths answer ``404 {"error": "404 Not Found"}``).
    The token goes in ``PRIVATE-TOKEN: <t>`` or ``Authorization: Bearer <t>``:

    * ``GET /user``: ``200 {"id", "username", "name", "state": "active", ...}``. No token,
      an unknown one: ``401 {"message": "401 Unauthorized"}``. An expired token:
      ``401 {"error": "invalid_token", "error_description": "Token has expired."}``, a revoked
      one the same with "Token was revoked. ..." (both with a ``WWW-Authenticate: Bearer``
      challenge), as GitLab's API guard answers. A token with none of ``api``, ``read_api``,
      ``read_user``: ``403 {"error": "insufficient_scope", ...}``.
    * ``GET /personal_access_tokens/self`` (GitLab 15.5+): ``200 {"id", "name", "revoked",
      "created_at", "scopes", "user_id", "last_used_at", "active", "expires_at"}`` for any
      valid token whatever its scopes; 401 as above otherwise.
    * ``GET /projects/:id`` where ``:id`` is a numeric id or the URL-encoded path
      (``group%2Fapp``): ``200 {"id", "path_with_namespace", "permissions": {"project_access":
      {"access_level", ...}, "group_access": null}, ...}`` when the token may see it;
      ``404 {"message": "404 Project Not Found"}`` otherwise (GitLab hides projects a user
      cannot see); ``403 insufficient_scope`` without ``api``/``read_api``. An unencoded
      ``group/app`` does not match the route: ``404 {"error": "404 Not Found"}``.

    Rate limits (Rack::Attack / GitLab.com style): with ``rate_headers`` (default) every API
    answer carries ``RateLimit-Limit``, ``RateLimit-Observed``, ``RateLimit-Remaining``,
    ``RateLimit-Reset`` (Unix time) and ``RateLimit-ResetTime`` (RFC 2616 date). Each
    authenticated request uses one request of the window; when none is left, or with
    ``limited = True``, requests answer ``429`` "Retry later" with ``Retry-After`` (seconds)
    and the same headers. The window refills when its reset time passes.

    With ``redirect_to`` set, every request answers ``301 Location: <redirect_to>``.

    ``requests`` lists ``(method, path without query, whether a token header was sent)``:
    token values are never stored outside the token table.

    GitLab documentation this follows:

    * Authentication with ``PRIVATE-TOKEN`` or ``Authorization: Bearer``; 401 for invalid
      tokens, 403 insufficient scope, namespaced path encoding (``group%2Fapp``):
      https://docs.gitlab.com/ee/api/rest/ (sections "Authentication", "Namespaced paths",
      "Status codes") and https://docs.gitlab.com/ee/api/rest/troubleshooting.html
    * Expired and revoked tokens answer ``401 Unauthorized``:
      https://docs.gitlab.com/ee/security/tokens/token_troubleshooting.html ("Expired access
      tokens"); the bodies are those of GitLab's ``lib/api/api_guard.rb`` (``invalid_token`` /
      "Token has expired." / "Token was revoked. ...", ``insufficient_scope``).
    * ``GET /personal_access_tokens/self`` and its fields (``revoked``, ``active``,
      ``scopes``, ``expires_at`` as a date):
      https://docs.gitlab.com/ee/api/personal_access_tokens.html ("Using a request header")
      and https://gitlab.com/gitlab-org/gitlab/-/issues/413969 (a sample body)
    * Scopes (``api``, ``read_api``, ``read_user``, ``read_repository`` ...):
      https://docs.gitlab.com/ee/user/profile/personal_access_tokens.html#personal-access-token-scopes
    * ``GET /projects/:id`` and ``{"message": "404 Project Not Found"}``:
      https://docs.gitlab.com/ee/api/projects.html#get-a-single-project and
      https://gitlab.com/gitlab-org/gitlab/-/issues/36367 (the 401/404 bodies as served)
    * ``RateLimit-*`` and ``Retry-After`` headers:
      https://docs.gitlab.com/ee/administration/settings/user_and_ip_rate_limits.html
      ("Response headers") and
      https://docs.gitlab.com/ee/user/gitlab_com/index.html#gitlabcom-specific-rate-limits
    """

    def __init__(
        self,
        *,
        limit: int = 2000,
        remaining: int | None = None,
        reset_in: float = 60.0,
        rate_headers: bool = True,
    ) -> None:
        self._lock = threading.RLock()
        self._tokens: dict[str, FakeGitLabToken] = {}
        self._user_ids: dict[str, int] = {}
        self._next_user = itertools.count(1)
        self._next_token = itertools.count(1)
        self.limit = limit
        self.remaining = limit if remaining is None else remaining
        self.reset_at = int(time.time() + reset_in)
        self._window = max(1, int(reset_in))
        self.rate_headers = rate_headers
        self.limited = False
        self.retry_after = 60
        self.redirect_to: str | None = None
        self.requests: list[tuple[str, str, bool]] = []

    # -- configuration ---------------------------------------------------------------------

    def add_token(
        self,
        token: str,
        username: str = "bot",
        scopes: Iterable[str] = ("api",),
        expires_at: str | dt.date | None = None,
        projects: Iterable[str] | Literal["*"] = "*",
        access_level: int = DEVELOPER,
        name: str = "harness",
    ) -> FakeGitLabToken:
        """Register ``token``; ``expires_at`` is a date (``"2026-12-01"``) or None."""
        if isinstance(expires_at, dt.date):
            expires_at = expires_at.isoformat()
        elif expires_at is not None:
            dt.date.fromisoformat(expires_at)  # validate
        with self._lock:
            if username not in self._user_ids:
                self._user_ids[username] = next(self._next_user)
            entry = FakeGitLabToken(
                token_id=next(self._next_token),
                name=name,
                username=username,
                user_id=self._user_ids[username],
                scopes=tuple(scopes),
                expires_at=expires_at,
                projects="*" if projects == "*" else frozenset(p.lower() for p in projects),
                access_level=access_level,
            )
            self._tokens[token] = entry
            return entry

    def revoke(self, token: str) -> None:
        with self._lock:
            self._tokens[token].revoked = True

    def rate(self, limit: int = 2000, remaining: int = 2000, reset_in: float = 60.0) -> None:
        """Set the rate-limit window."""
        with self._lock:
            self.limit, self.remaining = limit, remaining
            self.reset_at = int(time.time() + reset_in)
            self._window = max(1, int(reset_in))

    @property
    def observed(self) -> int:
        return max(0, self.limit - self.remaining)

    def authorized_requests(self, path: str) -> int:
        """How many requests for ``path`` (without ``/api/v4``) carried a token."""
        with self._lock:
            return sum(1 for _, p, auth in self.requests if auth and p == API_PREFIX + path)

    # -- the handler -----------------------------------------------------------------------

    def __call__(self, request: SandboxRequest) -> SandboxResponse:
        return self.handle(request)

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        path = request.path.split("?", 1)[0]
        token = _token_from(request.headers)
        with self._lock:
            self.requests.append((request.method, path, token is not None))
            if self.redirect_to is not None:
                return SandboxResponse(301, {"Location": self.redirect_to}, b"")
            self._refill()
            return self._route(request.method, path, token)

    def _route(self, method: str, path: str, token: str | None) -> SandboxResponse:
        if not path.startswith(API_PREFIX + "/") or method not in ("GET", "HEAD"):
            return self._json(404, {"error": "404 Not Found"})
        route = path[len(API_PREFIX) :].rstrip("/")
        parts = route.strip("/").split("/")
        known = route in ("/user", "/personal_access_tokens/self") or (
            len(parts) == 2 and parts[0] == "projects"
        )
        if not known:
            return self._json(404, {"error": "404 Not Found"})

        entry = self._tokens.get(token) if token is not None else None
        if token is not None and entry is None:
            return self._json(401, {"message": "401 Unauthorized"})
        if entry is not None and not entry.active:
            return self._invalid_token(REVOKED if entry.revoked else EXPIRED)
        if entry is not None and (self.limited or self.remaining <= 0):
            return self._throttled()
        if entry is not None:
            self.remaining -= 1

        if route == "/personal_access_tokens/self":
            if entry is None:
                return self._json(401, {"message": "401 Unauthorized"})
            return self._json(200, _token_body(entry))
        if route == "/user":
            if entry is None:
                return self._json(401, {"message": "401 Unauthorized"})
            if not USER_SCOPES & set(entry.scopes):
                return self._insufficient_scope(USER_SCOPES)
            return self._json(200, _user_body(entry))
        return self._project(urllib.parse.unquote(parts[1]), entry)

    def _project(self, ident: str, entry: FakeGitLabToken | None) -> SandboxResponse:
        if entry is None:
            return self._json(404, {"message": "404 Project Not Found"})  # all are private
        if not PROJECT_SCOPES & set(entry.scopes):
            return self._insufficient_scope(PROJECT_SCOPES)
        if ident.isdigit():
            names = [] if entry.projects == "*" else sorted(entry.projects)
            path = next((p for p in names if _project_id(p) == int(ident)), None)
        else:
            path = ident.lower()
            visible = entry.projects == "*" or path in entry.projects
            path = path if visible and "/" in path else None
        if path is None:
            return self._json(404, {"message": "404 Project Not Found"})
        namespace, _, name = path.rpartition("/")
        body = {
            "id": _project_id(path),
            "name": name,
            "path": name,
            "path_with_namespace": path,
            "namespace": {"full_path": namespace, "kind": "group"},
            "visibility": "private",
            "default_branch": "main",
            "permissions": {
                "project_access": {"access_level": entry.access_level, "notification_level": 3},
                "group_access": None,
            },
        }
        return self._json(200, body)

    # -- helpers ---------------------------------------------------------------------------

    def _refill(self) -> None:
        now = time.time()
        if now >= self.reset_at:
            self.remaining = self.limit
            self.reset_at = int(now + self._window)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "X-Request-Id": f"{time.time_ns():x}"}
        if self.rate_headers:
            headers |= {
                "RateLimit-Limit": str(self.limit),
                "RateLimit-Observed": str(self.observed),
                "RateLimit-Remaining": str(max(0, self.remaining)),
                "RateLimit-Reset": str(self.reset_at),
                "RateLimit-ResetTime": email.utils.formatdate(self.reset_at, usegmt=True),
            }
        return headers

    def _json(self, status: int, body: Any, extra: dict[str, str] | None = None) -> SandboxResponse:
        headers = {**self._headers(), **(extra or {})}
        return SandboxResponse.json(body, status=status, headers=headers)

    def _invalid_token(self, description: str) -> SandboxResponse:
        challenge = f'Bearer realm="", error="invalid_token", error_description="{description}"'
        body = {"error": "invalid_token", "error_description": description}
        return self._json(401, body, {"WWW-Authenticate": challenge})

    def _insufficient_scope(self, allowed: frozenset[str]) -> SandboxResponse:
        scope = " ".join(sorted(allowed))
        challenge = (
            f'Bearer realm="", error="insufficient_scope", '
            f'error_description="{INSUFFICIENT_SCOPE}", scope="{scope}"'
        )
        body = {
            "error": "insufficient_scope",
            "error_description": INSUFFICIENT_SCOPE,
            "scope": scope,
        }
        return self._json(403, body, {"WWW-Authenticate": challenge})

    def _throttled(self) -> SandboxResponse:
        retry = self.retry_after if self.limited else max(1, self.reset_at - int(time.time()))
        headers = self._headers() | {"Content-Type": "text/plain", "Retry-After": str(retry)}
        return SandboxResponse(429, headers, b"Retry later\n")

    def __repr__(self) -> str:
        return (
            f"<FakeGitLab tokens={len(self._tokens)} remaining={self.remaining}/{self.limit}"
            f" limited={self.limited}>"
        )


def _token_from(headers: dict[str, str]) -> str | None:
    """The token of ``PRIVATE-TOKEN`` or ``Authorization: Bearer`` (anything else: bad)."""
    private = headers.get("private-token")
    if private is not None:
        return private.strip() or None  # GitLab treats an empty header as no token
    header = headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return "\x00invalid"


def _project_id(path: str) -> int:
    return zlib.crc32(path.lower().encode()) % 10**6 + 1


def _user_body(entry: FakeGitLabToken) -> dict[str, Any]:
    return {
        "id": entry.user_id,
        "username": entry.username,
        "name": entry.username.capitalize(),
        "state": "active",
        "locked": False,
        "bot": False,
    }


def _token_body(entry: FakeGitLabToken) -> dict[str, Any]:
    return {
        "id": entry.token_id,
        "name": entry.name,
        "revoked": entry.revoked,
        "created_at": "2024-01-02T03:04:05.000Z",
        "scopes": list(entry.scopes),
        "user_id": entry.user_id,
        "last_used_at": None,
        "active": entry.active,
        "expires_at": entry.expires_at,
    }
