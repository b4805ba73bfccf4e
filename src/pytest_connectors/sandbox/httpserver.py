"""HTTP and HTTPS servers on 127.0.0.1 with counters, injected latency, custom answers, and
answers that misbehave on demand (:class:`Drip`, :class:`HugeBody`)."""

from __future__ import annotations

import http
import http.server
import json
import ssl
import sys
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from .netutil import LOOPBACK, ServerThread

HANDSHAKE_TIMEOUT = 30.0  # seconds a client may take to finish the TLS handshake
IDLE_TIMEOUT = 30.0  # seconds a keep-alive connection may stay idle
_KNOWN = {status.value for status in http.HTTPStatus}
_QUIET_ERRORS = (ssl.SSLError, ConnectionError, TimeoutError, OSError)


@dataclass(frozen=True)
class SandboxRequest:
    """A request as a handler sees it (header names lower-case)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    #: The verified client certificate (``ssl.getpeercert()``) of a server that asks for one.
    peer_cert: dict[str, Any] | None = None

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class SandboxResponse:
    """What a handler answers. ``SandboxResponse.json({...}, status=...)`` for JSON."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def json(
        cls, data: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> SandboxResponse:
        merged = {"Content-Type": "application/json", **(headers or {})}
        return cls(status, merged, json.dumps(data).encode())


Handler = Callable[[SandboxRequest], SandboxResponse]


@dataclass(frozen=True)
class Drip:
    """Send answers slowly: ``size`` bytes every ``every`` seconds, from the status line on
    (``start="headers"``: the client waits for its headers) or from the first byte of the body
    (``start="body"``: headers at once, then the body; give the server a :class:`HugeBody` too
    when the handler's bodies are short)."""

    every: float = 1.0
    size: int = 1
    start: Literal["headers", "body"] = "headers"


@dataclass(frozen=True)
class HugeBody:
    """Answer with the handler's status and headers but a body of ``size`` bytes, generated
    while it is sent (never held in memory). ``declared``: with its ``Content-Length``; else
    chunked, so its size is unknown until it ends."""

    size: int = 400 * 1024 * 1024
    declared: bool = True


#: What :class:`HugeBody` sends, over and over.
_FILLER = b'{"filler": "' + b"0123456789abcdef" * 4096


def default_handler(request: SandboxRequest) -> SandboxResponse:
    return SandboxResponse.json({"ok": True})


class HttpServer(ServerThread):
    """One server; ``url`` uses the DNS name, ``host``/``port`` are where it listens.

    ``latency`` (seconds) is waited before each response's first byte and
    ``handshake_latency`` before each TLS handshake; both may be changed at any time, like
    ``drip`` (a :class:`Drip`: answers sent a byte at a time) and ``huge_body`` (a
    :class:`HugeBody`: answers with an endless-seeming body), which any fake behind the server
    gets: ``server.drip = Drip()``.
    Counters: ``requests`` (answered HTTP requests, counted just before the answer is sent),
    ``handshakes`` (completed TLS handshakes), ``connections`` (accepted TCP connections).
    ``handshake_errors``: repr of each failed handshake or broken connection (recorded a
    moment after the client saw the failure); ``errors``: each exception raised by ``handler``;
    ``received``: the latest requests (up to 1000).
    """

    def __init__(
        self,
        name: str,
        *,
        context: ssl.SSLContext | None = None,
        latency: float = 0.0,
        handler: Handler | None = None,
        variant: str | None = None,
        chain_pems: tuple[bytes, ...] = (),
    ) -> None:
        super().__init__()
        self.name = name
        self.variant = variant
        self.chain_pems = chain_pems  # what the server presents, leaf first (empty for http)
        self.latency = latency
        self.handshake_latency = 0.0
        self.drip: Drip | None = None
        self.huge_body: HugeBody | None = None
        self.handler: Handler = handler or default_handler
        self.handshake_errors: list[str] = []
        self.errors: list[str] = []
        self.received: deque[SandboxRequest] = deque(maxlen=1000)  # the latest requests
        self._counts = {"requests": 0, "handshakes": 0, "connections": 0}
        self._server = _Server(self, context)
        self.host, self.port = LOOPBACK, int(self._server.server_address[1])
        self.scheme = "https" if context is not None else "http"
        self.url = f"{self.scheme}://{name}:{self.port}"
        self._start(self._server)

    @property
    def requests(self) -> int:
        return self._counts["requests"]

    @property
    def handshakes(self) -> int:
        return self._counts["handshakes"]

    @property
    def connections(self) -> int:
        return self._counts["connections"]

    def reset_counters(self) -> None:
        with self._lock:
            self._counts = dict.fromkeys(self._counts, 0)
            self.received.clear()

    def count(self, what: str) -> None:
        with self._lock:
            self._counts[what] += 1

    def remember(self, request: SandboxRequest) -> None:
        with self._lock:
            self.received.append(request)

    def record(self, target: list[str], text: str) -> None:
        with self._lock:
            target.append(text)

    def sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless the server closes first; True when it closed."""
        return seconds > 0 and self._stopping.wait(seconds)

    def __repr__(self) -> str:
        return f"<HttpServer {self.url} variant={self.variant}>"


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, owner: HttpServer, context: ssl.SSLContext | None) -> None:
        self.owner = owner
        super().__init__((LOOPBACK, 0), _RequestHandler)
        if context is not None:
            self.socket = context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def finish_request(self, request: Any, client_address: Any) -> None:
        owner = self.owner
        owner.track(request)
        try:
            owner.count("connections")
            if isinstance(request, ssl.SSLSocket):
                request.settimeout(HANDSHAKE_TIMEOUT)
                if owner.sleep(owner.handshake_latency):
                    return
                request.do_handshake()
                owner.count("handshakes")
            super().finish_request(request, client_address)
        finally:
            owner.untrack(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, _QUIET_ERRORS):  # e.g. TLSV1_ALERT_UNKNOWN_CA, HTTP_REQUEST
            self.owner.record(self.owner.handshake_errors, repr(error))
        else:
            self.owner.record(self.owner.errors, repr(error))


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    disable_nagle_algorithm = True  # TCP_NODELAY: no 40 ms delayed-ACK stalls
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        request = SandboxRequest(self.command, self.path, headers, body, peer or None)
        owner.remember(request)
        try:
            response = owner.handler(request)
        except Exception as exc:
            owner.record(owner.errors, repr(exc))
            response = SandboxResponse(500, {"Content-Type": "text/plain"}, repr(exc).encode())
        if owner.sleep(owner.latency):
            self.close_connection = True
            return
        owner.count("requests")  # before the answer: a client that has it sees the count
        self._answer(response)

    def _answer(self, response: SandboxResponse) -> None:
        """Status line, headers and body in one write (no Nagle stall behind a proxy), unless
        the server is told to misbehave."""
        owner = self.server.owner
        huge, drip = owner.huge_body, owner.drip
        phrase = http.HTTPStatus(response.status).phrase if response.status in _KNOWN else ""
        headers = dict(response.headers)
        if huge is not None:
            headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
            headers["Content-Length" if huge.declared else "Transfer-Encoding"] = (
                str(huge.size) if huge.declared else "chunked"
            )
        names = {key.lower(): value for key, value in headers.items()}
        defaults = {
            "Server": self.version_string(),
            "Date": self.date_time_string(),
            "Content-Length": str(len(response.body)),
        }
        for key, value in defaults.items():
            if key.lower() not in names and not (huge and key == "Content-Length"):
                headers[key] = value
        if names.get("connection", "").lower() == "close":
            self.close_connection = True
        lines = [f"{self.protocol_version} {response.status} {phrase}"]
        lines += [f"{key}: {value}" for key, value in headers.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if huge is None and drip is None:
            self.wfile.write(head if self.command == "HEAD" else head + response.body)
            self.wfile.flush()
            return
        self.close_connection = True  # a misbehaving answer is the connection's last
        dripping = drip is not None and drip.start == "headers"
        if not self._send(head, drip if dripping else None) or self.command == "HEAD":
            return
        body = _huge(huge) if huge is not None else iter((response.body,))
        for part in body:
            if not self._send(part, drip):
                return

    def _send(self, data: bytes, drip: Drip | None) -> bool:
        """Write ``data`` (a few bytes at a time when dripping); False once the server closes."""
        if drip is None:
            self.wfile.write(data)
            return not self.server.owner.closed
        for start in range(0, len(data), max(1, drip.size)):
            self.wfile.write(data[start : start + max(1, drip.size)])
            if self.server.owner.sleep(drip.every):
                return False
        return True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


def _huge(huge: HugeBody) -> Iterator[bytes]:
    """The body of ``huge``, in pieces of at most ``len(_FILLER)`` (chunk-framed when its size
    is not declared)."""
    left = huge.size
    while left > 0:
        piece = _FILLER[: min(left, len(_FILLER))]
        left -= len(piece)
        yield piece if huge.declared else b"%x\r\n%b\r\n" % (len(piece), piece)
    if not huge.declared:
        yield b"0\r\n\r\n"
