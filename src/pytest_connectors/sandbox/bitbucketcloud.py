"""``FakeBitbucketCloud``: the few Bitbucket Cloud REST API (2.0) endpoints the Bitbucket
connector checks call for a bitbucket.org connector.

Served under ``/2.0`` by a sandbox HTTPS server: ``sb.bitbucket_cloud()``. The real API base is
``https://api.bitbucket.org/2.0``; a connector reaches the fake through the per-connector
setting ``bitbucket: {apiUrl: "https://<sandbox host>:<port>/2.0"}``.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
import urllib.parse
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from .httpserver import SandboxRequest, SandboxResponse

API_PREFIX = "/2.0"
#: ``WWW-Authenticate`` of a 401 (Atlassian's knowledge base shows it for a wrong password).
CHALLENGE = 'Basic realm="Bitbucket.org HTTP"'
BAD_BASIC = "Invalid username or app password."  # placeholder: the body text is not documented
TOKEN_INVALID = "Token is invalid, expired, or not supported for this endpoint."
LACKS_SCOPES = "Your credentials lack one or more required privilege scopes."
RATE_LIMITED = "Rate limit for this resource has been exceeded"
NO_ACCESS = "You do not have access to this repository."  # placeholder wording
#: What an app password gets unless told otherwise; an access token holds a limited set of
#: scopes, here without ``account`` unless told otherwise.
APP_PASSWORD_SCOPES = ("account", "repository")
ACCESS_TOKEN_SCOPES = ("repository",)
#: An Atlassian API token carries Bitbucket's granular scopes instead of the classic ones.
API_TOKEN_SCOPES = ("read:user:bitbucket", "read:repository:bitbucket")
_GRANULAR = {"account": "read:user:bitbucket", "repository": "read:repository:bitbucket"}
Repositories = Literal["*"] | frozenset[str]


@dataclass(frozen=True)
class _Principal:
    """Who a request authenticated as: a user (app password or API token) or an access token."""

    kind: Literal["user", "api-token", "access-token"]
    name: str  # the username, or the access token's name
    uuid: str
    scopes: frozenset[str]
    repositories: Repositories  # "*" or lower-case "workspace/slug" names

    def may_read(self, full_name: str) -> bool:
        return self.repositories == "*" or full_name.lower() in self.repositories

    def scope_name(self, scope: str) -> str:
        """How ``scope`` (classic name) is called for this kind of credential."""
        return _GRANULAR[scope] if self.kind == "api-token" else scope

    def has(self, scope: str) -> bool:
        return self.scope_name(scope) in self.scopes


@dataclass
class _Repository:
    full_name: str
    private: bool


class FakeBitbucketCloud:
    """A Bitbucket Cloud REST API 2.0 fake that answers as Atlassian documents it.

    Credentials: ``Authorization: Basic base64(username:app password)`` for a user (the
    Bitbucket username, not the e-mail address), ``Authorization: Basic base64(email:API
    token)`` for an Atlassian API token (the account e-mail, not the username: the username
    goes with an API token only for git), and ``Authorization: Bearer <access token>`` for a
    repository, project or workspace access token (an API token sent as Bearer is refused
    like an unknown token). Credentials that are not accepted
    answer ``401`` on every path, before routing: Basic with ``WWW-Authenticate: Basic
    realm="Bitbucket.org HTTP"``, Bearer with ``"Token is invalid, expired, or not supported
    for this endpoint."``. Error bodies are ``{"type": "error", "error": {"message": ...}}``;
    a credential without a scope an endpoint needs gets ``403 "Your credentials lack one or
    more required privilege scopes."`` with ``error.detail`` ``{"required": [...], "granted":
    [...]}``.

    * ``GET /2.0/user`` (scope ``account``; ``read:user:bitbucket`` for an API token, whose
      scopes carry these granular names: the 403 body for an API token is not documented,
      so the fake answers as above with the granular name in ``required``): ``200 {"type":
      "user", "username",
      "display_name", "uuid", "account_id", "nickname"}``. Anonymous: ``401``. Access tokens hold
      a limited set of scopes (by default here not ``account``), so they get the ``403`` above;
      ``token_user_status = 401`` makes them get ``401 "Token is invalid, expired, or not
      supported for this endpoint."`` instead, the answer users report for tokens an
      endpoint does not support.
    * ``GET /2.0/repositories/{workspace}/{repo_slug}`` (scope ``repository``,
      ``read:repository:bitbucket`` for an API token): ``200
      {"type": "repository", "full_name", "slug", "is_private", "uuid", "workspace",
      "links": {"clone": [...]}, ...}`` when the caller may read it (a public repository:
      anyone); ``403`` when it is private and the caller may not read it; ``404`` when no
      repository exists there. Names match case-insensitively.

    Rate limiting: with ``limited = True`` every request answers ``429`` ``"Rate limit for
    this resource has been exceeded"`` (no ``Retry-After``: Bitbucket Cloud documents none);
    with ``budget = n`` the next ``n`` authenticated requests are answered and every later
    one gets that ``429`` (authenticated calls count against the user or token, anonymous ones
    against the address; the allowance of the rolling hour, used up: it does not refill).
    With ``rate_headers`` (default off), answers about repositories to access tokens, the 429
    included, carry ``X-RateLimit-Limit``, ``X-RateLimit-Resource: api`` and
    ``X-RateLimit-NearLimit`` as the scaled rate limits announcement describes.

    With ``redirect_to`` set, every request answers ``301 Location: <redirect_to>``.

    ``requests`` lists ``(method, path without query, whether credentials were sent)``:
    passwords and tokens are never stored outside the credential tables.

    Atlassian documentation this follows:

    * authentication methods (Basic with username and app password; repository, project and
      workspace access tokens as ``Authorization: Bearer``; access tokens hold a limited set
      of scopes): https://developer.atlassian.com/cloud/bitbucket/rest/intro/ and
      https://support.atlassian.com/bitbucket-cloud/docs/access-tokens/
    * API tokens (scoped, Basic with the Atlassian account e-mail for the REST API; the
      ``<action>:<resource>:bitbucket`` scopes):
      https://support.atlassian.com/bitbucket-cloud/docs/using-api-tokens/ and
      https://developer.atlassian.com/cloud/bitbucket/rest/intro/; an API token sent as
      ``Bearer`` answers ``401 "Token is invalid, expired, or not supported for this
      endpoint."`` (reported on Atlassian's developer community, "API Tokens at Account Level
      Not Working")
    * app passwords need the Bitbucket username, not the e-mail address, and a 401 with
      ``www-authenticate: Basic realm="Bitbucket.org HTTP"`` means wrong credentials:
      https://support.atlassian.com/bitbucket-cloud/docs/using-app-passwords/ and
      https://support.atlassian.com/bitbucket-cloud/kb/getting-401-http-error-while-authenticating-to-bitbucket-cloud-rest-apis
    * ``GET /user`` and ``GET /repositories/{workspace}/{repo_slug}`` (200, 403 "If the
      repository is private and the authenticated user does not have access to it", 404 "If
      no repository exists at this location"):
      https://developer.atlassian.com/cloud/bitbucket/rest/api-group-users/ and
      https://developer.atlassian.com/cloud/bitbucket/rest/api-group-repositories/
    * request limits (rolling hour, 429) and the "Rate limit for this resource has been
      exceeded" answer: https://support.atlassian.com/bitbucket-cloud/docs/api-request-limits/
      and https://support.atlassian.com/bitbucket-cloud/kb/bitbucket-cloud-rate-limit-troubleshooting/;
      the ``X-RateLimit-*`` headers for access tokens:
      https://bitbucket.org/blog/introducing-scaled-rate-limits-for-bitbucket-cloud-api
    * a 403 on ``/2.0/user`` whose ``error.detail.required`` lists ``account`` is a valid
      credential without that scope (Renovate's Bitbucket Cloud platform reads it so)
    """

    def __init__(self, *, rate_headers: bool = False, rate_limit: int = 1000) -> None:
        self._lock = threading.RLock()
        self._app_passwords: dict[tuple[str, str], _Principal] = {}  # (username, secret)
        self._api_tokens: dict[tuple[str, str], _Principal] = {}  # (e-mail, token)
        self._tokens: dict[str, _Principal] = {}
        self._repositories: dict[str, _Repository] = {}  # by lower-case full name
        self.rate_headers = rate_headers
        self.rate_limit = rate_limit
        self.near_limit = False
        self.limited = False
        self.budget: int | None = None  # requests left before 429 (None: no limit)
        self.token_user_status: Literal[401, 403] = 403
        self.redirect_to: str | None = None
        self.requests: list[tuple[str, str, bool]] = []

    # -- configuration ---------------------------------------------------------------------

    def add_repository(self, full_name: str, private: bool = True) -> None:
        """A repository ``workspace/slug`` (private unless told otherwise)."""
        with self._lock:
            self._repositories[full_name.lower()] = _Repository(full_name, private)

    def add_user(
        self,
        username: str,
        app_password: str,
        repositories: Iterable[str] | Literal["*"] = "*",
        scopes: Iterable[str] = APP_PASSWORD_SCOPES,
    ) -> None:
        """A user with an app password; ``repositories`` (``workspace/slug``) are what the
        user may read, and are created (private) when missing."""
        with self._lock:
            self._app_passwords[(username, app_password)] = _Principal(
                "user", username, _uuid(username), frozenset(scopes), self._readable(repositories)
            )

    def add_api_token(
        self,
        email: str,
        token: str,
        repositories: Iterable[str] | Literal["*"] = "*",
        scopes: Iterable[str] = API_TOKEN_SCOPES,
        username: str | None = None,
    ) -> None:
        """An Atlassian API token of the account with ``email`` (its Bitbucket username
        defaults to the e-mail's local part); the REST API takes it only as Basic
        ``email:token``."""
        with self._lock:
            name = username or email.split("@", 1)[0]
            self._api_tokens[(email.lower(), token)] = _Principal(
                "api-token", name, _uuid(name), frozenset(scopes), self._readable(repositories)
            )

    def add_access_token(
        self,
        token: str,
        repositories: Iterable[str] | Literal["*"],
        name: str = "sandbox access token",
        scopes: Iterable[str] = ACCESS_TOKEN_SCOPES,
    ) -> None:
        """A repository, project or workspace access token reading ``repositories``."""
        with self._lock:
            self._tokens[token] = _Principal(
                "access-token", name, _uuid(name), frozenset(scopes), self._readable(repositories)
            )

    def _readable(self, repositories: Iterable[str] | Literal["*"]) -> Repositories:
        if repositories == "*":
            return "*"
        names = frozenset(r.lower() for r in repositories)
        for name in names:
            self._repositories.setdefault(name, _Repository(name, True))
        return names

    def authorized_requests(self, path: str) -> int:
        """How many requests for ``path`` (without ``/2.0``) carried credentials."""
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
            principal: _Principal | None = None
            if header is not None:
                found = self._authenticate(header)
                if isinstance(found, SandboxResponse):
                    return found
                principal = found
            parts = [p for p in path.split("/") if p]
            is_repo = len(parts) == 4 and parts[:2] == ["2.0", "repositories"]
            if self.budget is not None and principal is not None:
                self.budget -= 1
            throttled = self.limited or (self.budget is not None and self.budget < 0)
            extra = self._rate_headers(principal, throttled) if is_repo else {}
            if throttled:
                return _error(429, RATE_LIMITED, extra)
            if request.method not in ("GET", "HEAD"):
                return _error(405, f"{request.method} is not allowed here", extra)
            if parts == ["2.0", "user"]:
                return self._user(principal)
            if is_repo:
                return self._repository(f"{parts[2]}/{parts[3]}", principal, extra)
            return _error(404, f"Resource not found: {path}", extra)

    def _authenticate(self, header: str) -> _Principal | SandboxResponse:
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "basic":
            try:
                username, _, secret = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                username, secret = "", ""
            principal = self._app_passwords.get((username, secret)) or self._api_tokens.get(
                (username.lower(), secret)
            )
            if principal is None:
                return _error(401, BAD_BASIC, {"WWW-Authenticate": CHALLENGE})
            return principal
        if scheme.lower() == "bearer" and value in self._tokens:
            return self._tokens[value]
        return _error(401, TOKEN_INVALID)

    def _user(self, principal: _Principal | None) -> SandboxResponse:
        if principal is None:
            return _error(401, "Authentication required", {"WWW-Authenticate": CHALLENGE})
        if principal.kind == "access-token" and self.token_user_status == 401:
            return _error(401, TOKEN_INVALID)
        if not principal.has("account"):
            return _lacks(principal, "account")
        body: dict[str, Any] = {
            "type": "user",
            "display_name": principal.name.replace("-", " ").title(),
            "uuid": principal.uuid,
            "account_id": f"557058:{principal.uuid.strip('{}')}",
            "nickname": principal.name,
            "links": {"html": {"href": f"https://bitbucket.org/{principal.name}/"}},
        }
        if principal.kind != "access-token":
            body["username"] = principal.name
        return SandboxResponse.json(body)

    def _repository(
        self, full_name: str, principal: _Principal | None, extra: dict[str, str]
    ) -> SandboxResponse:
        repository = self._repositories.get(full_name.lower())
        if repository is None:
            return _error(404, f"Repository {full_name} not found", extra)
        if principal is not None and not principal.has("repository"):
            return _lacks(principal, "repository", extra)
        readable = not repository.private or (
            principal is not None and principal.may_read(repository.full_name)
        )
        if not readable:
            return _error(403, NO_ACCESS, extra)
        workspace, slug = repository.full_name.split("/", 1)
        body = {
            "type": "repository",
            "full_name": repository.full_name,
            "name": slug,
            "slug": slug.lower(),
            "is_private": repository.private,
            "scm": "git",
            "uuid": _uuid(repository.full_name.lower()),
            "workspace": {"type": "workspace", "slug": workspace.lower()},
            "mainbranch": {"type": "branch", "name": "main"},
            "links": {
                "clone": [
                    {"name": "https", "href": f"https://bitbucket.org/{repository.full_name}.git"},
                    {"name": "ssh", "href": f"git@bitbucket.org:{repository.full_name}.git"},
                ]
            },
        }
        return SandboxResponse.json(body, headers=extra)

    def _rate_headers(self, principal: _Principal | None, throttled: bool) -> dict[str, str]:
        if not self.rate_headers or principal is None or principal.kind != "access-token":
            return {}
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Resource": "api",
            "X-RateLimit-NearLimit": "true" if self.near_limit or throttled else "false",
        }

    def __repr__(self) -> str:
        return (
            f"<FakeBitbucketCloud users={len(self._app_passwords)} tokens={len(self._tokens)}"
            f" repositories={len(self._repositories)} limited={self.limited}>"
        )


def _uuid(name: str) -> str:
    return "{" + str(uuid.UUID(int=zlib.crc32(name.encode()) * 2**96 + 0x1234)) + "}"


def _error(status: int, message: str, extra: dict[str, str] | None = None) -> SandboxResponse:
    headers = {"X-Request-Id": f"{time.time_ns():x}", **(extra or {})}
    body = {"type": "error", "error": {"message": message}}
    return SandboxResponse.json(body, status=status, headers=headers)


def _lacks(
    principal: _Principal, scope: str, extra: dict[str, str] | None = None
) -> SandboxResponse:
    headers = {"X-Request-Id": f"{time.time_ns():x}", **(extra or {})}
    body = {
        "type": "error",
        "error": {
            "message": LACKS_SCOPES,
            "detail": {
                "required": [principal.scope_name(scope)],
                "granted": sorted(principal.scopes),
            },
        },
    }
    return SandboxResponse.json(body, status=403, headers=headers)
