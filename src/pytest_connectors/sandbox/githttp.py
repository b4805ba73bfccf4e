"""``FakeGitHttp``: the ref advertisement of Git's smart HTTP protocol, behind Basic auth.

Served by a sandbox HTTPS server: ``sb.git_http()``. Enough for ``git ls-remote`` (protocol v0:
the advertisement alone lists the refs, no ``POST`` follows).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import threading
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from .httpserver import SandboxRequest, SandboxResponse

SERVICE = "git-upload-pack"
ADVERTISEMENT = f"application/x-{SERVICE}-advertisement"
CAPABILITIES = "multi_ack thin-pack side-band side-band-64k ofs-delta shallow no-progress"
NO_CACHE = {
    "Expires": "Fri, 01 Jan 1980 00:00:00 GMT",
    "Pragma": "no-cache",
    "Cache-Control": "no-cache, max-age=0, must-revalidate",
}
Repos = Literal["*"] | frozenset[str]


@dataclass
class FakeGitUser:
    password: str
    repos: Repos  # "*" (every known repository) or repository paths ("org/app.git")


def pkt_line(data: str | bytes) -> bytes:
    """One pkt-line: four hex digits of length (including themselves), then the data."""
    raw = data.encode() if isinstance(data, str) else data
    return f"{len(raw) + 4:04x}".encode() + raw


FLUSH = b"0000"


class FakeGitHttp:
    """A Git smart HTTP server fake (what ``git http-backend`` behind Basic auth answers).

    * ``GET /<repo>/info/refs?service=git-upload-pack``:

      - no ``Authorization`` or wrong user/password: ``401`` with ``WWW-Authenticate: Basic
        realm="Git"``;
      - a repository nobody registered: ``404``; a user not allowed on it: ``403``;
      - else ``200``, ``Content-Type: application/x-git-upload-pack-advertisement``, no-cache
        headers, and the body ``001e# service=git-upload-pack\\n`` ``0000`` then one pkt-line
        per ref (the first with the capabilities after a NUL, ``symref=HEAD:refs/heads/main``)
        and ``0000``.

      ``<repo>`` is matched with and without a trailing ``.git``.
    * ``info/refs`` without ``service`` (the dumb protocol) or for another service: ``403``.
      Anything else (including ``POST .../git-upload-pack``): ``404``.

    ``requests`` lists ``(method, path without query, whether an Authorization header was
    sent)``; passwords only live in the user table.

    Documentation this follows:

    * Smart HTTP discovery: ``$GIT_URL/info/refs?service=git-upload-pack``, the
      ``application/x-git-upload-pack-advertisement`` type, the ``# service=`` pkt-line and
      flush, the ref lines, no-cache headers, 401/403/404 from the server:
      https://git-scm.com/docs/http-protocol ("Smart Clients", "Smart Server Response")
    * pkt-line framing and the v0 reference advertisement (capabilities after NUL on the first
      line, ``symref``): https://git-scm.com/docs/protocol-common and
      https://git-scm.com/docs/pack-protocol ("Reference Discovery")
    * Basic-auth-protected ``git http-backend`` (401 with ``WWW-Authenticate: Basic``):
      https://git-scm.com/docs/git-http-backend
    """

    def __init__(self, *, realm: str = "Git", branches: Iterable[str] = ("main",)) -> None:
        self._lock = threading.RLock()
        self._users: dict[str, FakeGitUser] = {}
        self._repos: set[str] = set()
        self.realm = realm
        self.branches = tuple(branches)
        self.requests: list[tuple[str, str, bool]] = []

    # -- configuration ---------------------------------------------------------------------

    def add_repo(self, *paths: str) -> None:
        with self._lock:
            self._repos.update(_normalize(p) for p in paths)

    def add_user(
        self, user: str, password: str, repos: Iterable[str] | Literal["*"] = "*"
    ) -> FakeGitUser:
        """Register ``user``; the repositories it names become known repositories."""
        with self._lock:
            allowed: Repos = "*" if repos == "*" else frozenset(_normalize(r) for r in repos)
            if allowed != "*":
                self._repos.update(allowed)
            entry = FakeGitUser(password, allowed)
            self._users[user] = entry
            return entry

    @property
    def repos(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._repos)

    # -- the handler -----------------------------------------------------------------------

    def __call__(self, request: SandboxRequest) -> SandboxResponse:
        return self.handle(request)

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        path, _, query = request.path.partition("?")
        header = request.headers.get("authorization")
        with self._lock:
            self.requests.append((request.method, path, header is not None))
            if request.method not in ("GET", "HEAD") or not path.endswith("/info/refs"):
                return _text(404, "Not Found\n")
            service = urllib.parse.parse_qs(query).get("service", [None])[0]
            if service != SERVICE:
                return _text(403, "Service not enabled\n")
            user = self._user(header)
            if user is None:
                headers = {"WWW-Authenticate": f'Basic realm="{self.realm}"'}
                return _text(401, "Unauthorized\n", headers)
            repo = _normalize(urllib.parse.unquote(path[: -len("/info/refs")]))
            if repo not in self._repos:
                return _text(404, "Repository not found\n")
            if user.repos != "*" and repo not in user.repos:
                return _text(403, "Forbidden\n")
            return self._advertise(repo)

    def _advertise(self, repo: str) -> SandboxResponse:
        lines = [pkt_line(f"# service={SERVICE}\n"), FLUSH]
        refs = [("HEAD", _sha(repo, self.branches[0]))] if self.branches else []
        refs += [(f"refs/heads/{b}", _sha(repo, b)) for b in self.branches]
        symref = f" symref=HEAD:refs/heads/{self.branches[0]}" if self.branches else ""
        caps = f"{CAPABILITIES}{symref} agent=git/2.43.0"
        if not refs:  # an empty repository advertises capabilities^{}
            refs = [("capabilities^{}", "0" * 40)]
        for index, (name, sha) in enumerate(refs):
            line = f"{sha} {name}\x00{caps}\n" if index == 0 else f"{sha} {name}\n"
            lines.append(pkt_line(line))
        lines.append(FLUSH)
        headers = {"Content-Type": ADVERTISEMENT, **NO_CACHE}
        return SandboxResponse(200, headers, b"".join(lines))

    def _user(self, header: str | None) -> FakeGitUser | None:
        scheme, _, value = (header or "").strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return None
        name, sep, password = decoded.partition(":")
        entry = self._users.get(name)
        if sep and entry is not None and secrets.compare_digest(entry.password, password):
            return entry
        return None

    def __repr__(self) -> str:
        return f"<FakeGitHttp users={len(self._users)} repos={sorted(self._repos)}>"


def _normalize(path: str) -> str:
    path = path.strip("/").lower()
    return path if path.endswith(".git") else path + ".git"


def _sha(repo: str, branch: str) -> str:
    return hashlib.sha1(f"{repo}:{branch}".encode()).hexdigest()


def _text(status: int, text: str, headers: Mapping[str, str] | None = None) -> SandboxResponse:
    return SandboxResponse(status, {"Content-Type": "text/plain", **(headers or {})}, text.encode())
