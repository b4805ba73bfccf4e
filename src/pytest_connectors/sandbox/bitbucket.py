"""``FakeBitbucket``: the few Bitbucket Server / Data Center REST API endpoints the Bitbucket
connector checks call.

Served under ``/rest/api/1.0`` by a sandbox HTTPS server: ``sb.bitbucket()``. The API base of a
Bitbucket Server / Data Center instance is ``https://<host>[:port][/context]/rest/api/1.0``.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
import urllib.parse
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from .httpserver import SandboxRequest, SandboxResponse

API_PREFIX = "/rest/api/1.0"
VERSION = "8.19.1"
BUILD_NUMBER = "8019001"
AUTH_FAILED = "Authentication failed. Please check your credentials and try again."
NOT_PERMITTED = "You are not permitted to access this resource"
RATE_LIMITED = "You have been rate limited. Wait before making more requests."
Repositories = Literal["*"] | frozenset[str]


@dataclass
class FakeBitbucketUser:
    """One user: a password and/or HTTP access tokens, and the repositories it may read."""

    user_id: int
    name: str  # the username; its slug is the lower-cased name
    repositories: Repositories  # "*" or lower-case "PROJECT/repo" keys

    @property
    def slug(self) -> str:
        return self.name.lower()

    def may_read(self, key: str) -> bool:
        return self.repositories == "*" or key.lower() in self.repositories


class FakeBitbucket:
    """A Bitbucket Server / Data Center REST API (1.0) fake that answers as Atlassian documents.

    Endpoints (all under ``/rest/api/1.0``; other paths answer ``404`` with an ``errors`` body).
    Credentials go as ``Authorization: Basic base64(username:password-or-token)`` or
    ``Authorization: Bearer <HTTP access token>``. A request with credentials the server does
    not accept answers ``401 {"errors": [{"context": null, "message": "Authentication failed.
    Please check your credentials and try again.", "exceptionName":
    "...IncorrectPasswordAuthenticationException"}]}`` whatever the path: Bitbucket
    authenticates before it routes.

    * ``GET /application-properties``: ``200 {"version", "buildNumber", "buildDate",
      "displayName": "Bitbucket"}``; anonymous access allowed (as documented).
    * ``GET /users/{userSlug}``: ``200 {"name", "emailAddress", "id", "displayName",
      "active", "slug", "type": "NORMAL"}`` for an authenticated caller; anonymous:
      ``401 "You are not permitted to access this resource"``; an unknown slug: ``404 "User
      <slug> does not exist."``.
    * ``GET /projects/{projectKey}/repos/{repositorySlug}``: ``200 {"slug", "id", "name",
      "scmId": "git", "state": "AVAILABLE", "project": {"key", ...}, "links": {"clone": [...]}}``
      when the caller may read it; ``404 "Repository <KEY>/<slug> does not exist."`` otherwise
      (a repository the caller cannot see is reported as missing, and anonymous callers see
      nothing). Keys and slugs match case-insensitively.

    Rate limiting (Data Center, token bucket per user): with ``limited = True`` or an empty
    bucket (``bucket``), authenticated requests answer ``429`` with ``Retry-After`` (seconds) and
    an ``errors`` body. ``bucket=None`` (default) turns rate limiting off, as it is unless an
    admin turns it on. With ``rate_headers`` (default off) every authenticated answer also
    carries ``X-RateLimit-Limit`` (the bucket size) and ``X-RateLimit-Remaining`` — headers
    the Data Center documentation found does not promise, so the checks only use them when
    present. The bucket does not refill by itself (``rate()`` sets it again).

    With ``redirect_to`` set, every request answers ``301 Location: <redirect_to>``.

    ``requests`` lists ``(method, path without query, whether credentials were sent)``:
    passwords and tokens are never stored outside the credential tables.

    Atlassian documentation this follows:

    * REST URI structure (``/rest/api/1.0/...``), Basic auth and HTTP access tokens as the
      authentication methods, error bodies (an ``errors`` list of ``context`` / ``message`` /
      ``exceptionName``): https://developer.atlassian.com/server/bitbucket/rest/v906/intro/
      and https://docs.atlassian.com/bitbucket-server/rest/7.2.4/bitbucket-rest.html (the core
      resources: ``application-properties``, ``users/{userSlug}``,
      ``projects/{projectKey}/repos/{repositorySlug}`` and their 401/404 answers)
    * HTTP access tokens in Basic auth (user tokens) or as ``Authorization: Bearer`` (project
      and repository tokens only with Bearer):
      https://confluence.atlassian.com/bitbucketserver091/http-access-tokens-1443038354.html
      and https://confluence.atlassian.com/display/BITBUCKETSERVER068/Personal+access+tokens
    * Rate limiting (token bucket per user, requests with Basic or Bearer authentication,
      ``429`` when the bucket is empty):
      https://confluence.atlassian.com/bitbucketserver091/improving-instance-stability-with-rate-limiting-1443039504.html;
      ``Retry-After`` on the 429 as Atlassian's own Jenkins integration reads it
      (``RateLimitedException`` in atlassian/bitbucket-server-integration-plugin)
    """

    def __init__(
        self,
        *,
        bucket: int | None = None,
        rate_headers: bool = False,
        version: str = VERSION,
    ) -> None:
        self._lock = threading.RLock()
        self._users: dict[str, FakeBitbucketUser] = {}  # by lower-case username
        self._passwords: dict[tuple[str, str], str] = {}  # (username, secret) -> username
        self._bearer: dict[str, str | None] = {}  # token -> username (None: project token)
        self._bearer_repos: dict[str, Repositories] = {}
        self._next_id = 1
        self.version = version
        self.bucket = bucket  # tokens left per user (None: rate limiting off)
        self.bucket_size = bucket or 0
        self.rate_headers = rate_headers
        self.limited = False
        self.retry_after = 5
        self.redirect_to: str | None = None
        self.requests: list[tuple[str, str, bool]] = []
        self._left: dict[str, int] = {}

    # -- configuration ---------------------------------------------------------------------

    def add_user(
        self,
        username: str,
        password: str | None = None,
        tokens: Iterable[str] = (),
        repositories: Iterable[str] | Literal["*"] = "*",
    ) -> FakeBitbucketUser:
        """A user who may log in with ``password`` and any of ``tokens`` (HTTP access tokens,
        in Basic auth with the username or as Bearer); ``repositories`` are ``"KEY/slug"``."""
        with self._lock:
            user = FakeBitbucketUser(
                user_id=self._next_id,
                name=username,
                repositories="*"
                if repositories == "*"
                else frozenset(r.lower() for r in repositories),
            )
            self._next_id += 1
            self._users[username.lower()] = user
            for secret in [*([password] if password is not None else []), *tokens]:
                self._passwords[(username.lower(), secret)] = username.lower()
            for token in tokens:
                self._bearer[token] = username.lower()
            return user

    def add_repository_token(self, token: str, repositories: Iterable[str]) -> None:
        """A project or repository HTTP access token: Bearer only, no user behind it."""
        with self._lock:
            self._bearer[token] = None
            self._bearer_repos[token] = frozenset(r.lower() for r in repositories)

    def rate(self, bucket: int | None) -> None:
        """Turn rate limiting on with ``bucket`` tokens per user (``None``: off)."""
        with self._lock:
            self.bucket = bucket
            self.bucket_size = bucket or 0
            self._left.clear()

    def authorized_requests(self, path: str) -> int:
        """How many requests for ``path`` (without ``/rest/api/1.0``) carried credentials."""
        with self._lock:
            return sum(1 for _, p, auth in self.requests if auth and p == API_PREFIX + path)

    # -- the handler -----------------------------------------------------------------------

    def __call__(self, request: SandboxRequest) -> SandboxResponse:
        return self.handle(request)

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        path = urllib.parse.unquote(request.path.split("?", 1)[0])
        header = request.headers.get("authorization")
        with self._lock:
            self.requests.append((request.method, path, header is not None))
            if self.redirect_to is not None:
                return SandboxResponse(301, {"Location": self.redirect_to}, b"")
            if header is None:
                return self._route(request.method, path, None)
            principal = self._authenticate(header)
            if principal is None:
                return self._error(401, AUTH_FAILED, _AUTH_EXCEPTION, _challenge())
            throttled = self._throttle(principal[0])
            if throttled is not None:
                return throttled
            return self._route(request.method, path, principal)

    def _authenticate(
        self, header: str
    ) -> tuple[str, Repositories, FakeBitbucketUser | None] | None:
        """(rate-limit key, readable repositories, user) for accepted credentials."""
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "basic":
            try:
                username, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            key = self._passwords.get((username.lower(), secret))
            if key is None:
                return None
            user = self._users[key]
            return key, user.repositories, user
        if scheme.lower() == "bearer" and value in self._bearer:
            owner = self._bearer[value]
            if owner is None:
                return f"token:{zlib.crc32(value.encode())}", self._bearer_repos[value], None
            user = self._users[owner]
            return owner, user.repositories, user
        return None

    def _throttle(self, key: str) -> SandboxResponse | None:
        if self.bucket is None and not self.limited:
            return None
        left = self._left.setdefault(key, self.bucket or 0)
        if self.limited or left <= 0:
            headers = {"Retry-After": str(self.retry_after), **self._rate_headers(0)}
            return self._error(429, RATE_LIMITED, None, headers)
        self._left[key] = left - 1
        return None

    def _route(
        self,
        method: str,
        path: str,
        principal: tuple[str, Repositories, FakeBitbucketUser | None] | None,
    ) -> SandboxResponse:
        extra = self._rate_headers(self._left.get(principal[0], 0)) if principal else {}
        if not path.startswith(API_PREFIX + "/") or method not in ("GET", "HEAD"):
            return self._error(404, f"{path} not found", None, extra)
        parts = [p for p in path[len(API_PREFIX) :].split("/") if p]
        if parts == ["application-properties"]:
            return self._json(200, self._properties(), extra)
        if len(parts) == 2 and parts[0] == "users":
            if principal is None:
                return self._error(401, NOT_PERMITTED, _AUTHZ_EXCEPTION, extra)
            user = self._users.get(parts[1].lower())
            if user is None:
                message = f"User {parts[1]} does not exist."
                return self._error(404, message, _NO_USER_EXCEPTION, extra)
            return self._json(200, _user_body(user), extra)
        if len(parts) == 4 and parts[0] == "projects" and parts[2] == "repos":
            key = f"{parts[1]}/{parts[3]}"
            readable = principal is not None and (
                principal[1] == "*" or key.lower() in principal[1]
            )
            if not readable:
                message = f"Repository {parts[1].upper()}/{parts[3]} does not exist."
                return self._error(404, message, _NO_REPO_EXCEPTION, extra)
            return self._json(200, _repository_body(parts[1], parts[3]), extra)
        return self._error(404, f"{path} not found", None, extra)

    # -- helpers ---------------------------------------------------------------------------

    def _properties(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "buildNumber": BUILD_NUMBER,
            "buildDate": "1717000000000",
            "displayName": "Bitbucket",
        }

    def _rate_headers(self, left: int) -> dict[str, str]:
        if not self.rate_headers or self.bucket is None:
            return {}
        return {"X-RateLimit-Limit": str(self.bucket_size), "X-RateLimit-Remaining": str(left)}

    def _json(self, status: int, body: Any, extra: dict[str, str] | None = None) -> SandboxResponse:
        headers = {"X-Request-Id": f"{time.time_ns():x}", **(extra or {})}
        return SandboxResponse.json(body, status=status, headers=headers)

    def _error(
        self,
        status: int,
        message: str,
        exception: str | None,
        extra: dict[str, str] | None = None,
    ) -> SandboxResponse:
        body = {"errors": [{"context": None, "message": message, "exceptionName": exception}]}
        return self._json(status, body, extra)

    def __repr__(self) -> str:
        return (
            f"<FakeBitbucket users={len(self._users)} bucket={self.bucket} limited={self.limited}>"
        )


_AUTH_EXCEPTION = "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException"
_AUTHZ_EXCEPTION = "com.atlassian.bitbucket.AuthorisationException"
_NO_USER_EXCEPTION = "com.atlassian.bitbucket.user.NoSuchUserException"
_NO_REPO_EXCEPTION = "com.atlassian.bitbucket.repository.NoSuchRepositoryException"


def _challenge() -> dict[str, str]:
    return {"WWW-Authenticate": 'Basic realm="Atlassian Bitbucket"'}


def _user_body(user: FakeBitbucketUser) -> dict[str, Any]:
    return {
        "name": user.name,
        "emailAddress": f"{user.slug}@sandbox.test",
        "id": user.user_id,
        "displayName": user.name.capitalize(),
        "active": True,
        "slug": user.slug,
        "type": "NORMAL",
    }


def _repository_body(project: str, slug: str) -> dict[str, Any]:
    key = project.upper()
    return {
        "slug": slug.lower(),
        "id": zlib.crc32(f"{key}/{slug.lower()}".encode()) % 10**6 + 1,
        "name": slug,
        "scmId": "git",
        "state": "AVAILABLE",
        "statusMessage": "Available",
        "forkable": True,
        "public": False,
        "project": {"key": key, "id": zlib.crc32(key.encode()) % 10**4 + 1, "name": key},
        "links": {
            "clone": [{"href": f"/scm/{key.lower()}/{slug.lower()}.git", "name": "http"}],
            "self": [{"href": f"/projects/{key}/repos/{slug.lower()}/browse"}],
        },
    }
