"""A total deadline per network operation, and a cap on the answer it reads.

httpx, requests and urllib3 apply their timeouts to each read, so a peer that sends one byte a
second holds a call for as long as it likes. Here one *operation* (one request: connect, TLS,
sending it, the headers and the whole body) runs under one :class:`Deadline`, and every blocking
socket call made while it runs waits at most ``min(the client's own timeout, the time left)``.
The deadline is found through a context variable, so a client built once (and later pooled)
needs no per-call wiring; each thread that runs operations (a check's pool of workers) opens
its own.

How the deadline reaches the sockets of each stack:

* httpx: an httpcore network backend whose streams cut each read, write, connect and TLS
  handshake timeout (:mod:`.bounded_httpx`);
* urllib3 (requests and hvac, the kubernetes client): connection classes whose sockets are
  :class:`BoundedSocket` / :class:`BoundedSSLSocket` (:mod:`.bounded_urllib3`);
* raw probes: :meth:`Deadline.timeout` before each ``recv``.

Why cut each wait rather than run a watchdog that shuts the sockets down when time is up: the
cut needs no second thread and never touches a file descriptor from another thread (a watchdog
that fires just after the client closed its socket could shut down an unrelated connection
that reused the number), the client sees an ordinary timeout at the exact moment, and the
phase it was in is known where it happens. A TLS handshake is one blocking call, but CPython
bounds the whole handshake by the socket timeout it starts with, so it is cut too.

Exceptions (neither is an ``OSError``, so no client library takes one for a network error of
its own to wrap, retry or swallow; each adapter lets them through, and the checks translate
them into failure modes)::

    NetworkLimit
     ├── DeadlineExceeded   the operation overran its deadline (phase, elapsed, budget)
     └── AnswerTooLarge     an answer larger than the cap (its size, or None when unknown)
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

#: The most of one answer (a response body) any check reads: no API answer a check expects is
#: larger, and a bigger one (a misconfigured URL serving a file, a hostile peer) must not fill
#: the memory of the delegate's host.
BODY_CAP = 4 * 1024 * 1024
#: How much of a body is read at a time.
CHUNK = 64 * 1024
#: Phases of an operation, in order.
PHASES = ("connect", "TLS", "headers", "body")
_DOING = {
    "connect": "while connecting",
    "TLS": "during the TLS handshake",
    "headers": "while waiting for the response headers",
    "body": "while reading the response body",
}
_CURRENT: ContextVar[Deadline | None] = ContextVar("connectors_deadline", default=None)
T = TypeVar("T")


class NetworkLimit(Exception):
    """An operation went past a limit of the route (time or size)."""


class DeadlineExceeded(NetworkLimit):
    def __init__(self, phase: str, elapsed_s: float, budget_s: float) -> None:
        self.phase, self.elapsed_s, self.budget_s = phase, elapsed_s, budget_s
        super().__init__(
            f"no complete answer within the {budget_s:g} s timeout: stopped"
            f" {_DOING.get(phase, phase)} after {elapsed_s:.1f} s"
        )


class AnswerTooLarge(NetworkLimit):
    def __init__(self, size: int | None, cap: int) -> None:
        self.size, self.cap = size, cap
        told = f"{describe_size(size)}, over" if size is not None else "more than"
        super().__init__(f"the answer is {told} the {describe_size(cap)} a check reads")


def describe_size(size: int) -> str:
    """``400 MiB``, ``4 MiB``, ``1.5 KiB``, ``12 bytes``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


class Deadline:
    """The time left to one operation, and the phase it is in."""

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s
        self.started = time.monotonic()
        self.ends_at = self.started + budget_s
        self.phase = PHASES[0]

    def enter(self, phase: str) -> None:
        self.phase = phase

    def remaining(self) -> float:
        return self.ends_at - time.monotonic()

    def expired(self) -> bool:
        return self.remaining() <= 0

    def exceeded(self) -> DeadlineExceeded:
        return DeadlineExceeded(self.phase, time.monotonic() - self.started, self.budget_s)

    def timeout(self, wanted: float | None) -> float:
        """What the next blocking call may wait: ``wanted`` (None: for ever) cut to the time
        left; :class:`DeadlineExceeded` when none is left (never 0, which means non-blocking)."""
        left = self.remaining()
        if left <= 0:
            raise self.exceeded()
        return left if wanted is None else min(wanted, left)


def current() -> Deadline | None:
    """The deadline of the operation running in this thread (None outside one)."""
    return _CURRENT.get()


@contextmanager
def operation(
    budget_s: float, timeouts: tuple[type[BaseException], ...] = (TimeoutError,)
) -> Iterator[Deadline]:
    """Run one operation within ``budget_s``; an exception of ``timeouts`` (the client's own
    timeout classes) raised once the time is up becomes :class:`DeadlineExceeded`.

    Inside an operation that ends sooner, the outer deadline stays in force.
    """
    outer = _CURRENT.get()
    if outer is not None and outer.remaining() <= budget_s:
        yield outer
        return
    deadline = Deadline(budget_s)
    token = _CURRENT.set(deadline)
    try:
        yield deadline
    except timeouts as exc:
        if deadline.expired():
            raise deadline.exceeded() from exc
        raise
    finally:
        _CURRENT.reset(token)


def read_capped(chunks: Iterable[bytes], declared: int | None, cap: int = BODY_CAP) -> bytes:
    """The body from ``chunks``, refused unread when ``declared`` (its Content-Length) is over
    ``cap``, and given up as soon as more than ``cap`` bytes came."""
    if declared is not None and declared > cap:
        raise AnswerTooLarge(declared, cap)
    body = bytearray()
    for chunk in chunks:
        body += chunk
        if len(body) > cap:
            raise AnswerTooLarge(None, cap)
    return bytes(body)


def declared_length(value: str | None) -> int | None:
    """A Content-Length header's value; None when absent or not a number."""
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class _Bounded:
    """Every blocking call of the socket waits at most the time its operation has left.

    ``settimeout``/``gettimeout`` keep the client's own wish; the socket's real timeout is
    cut just before each call. Outside an operation the socket is an ordinary one.
    """

    _wanted: float | None = None

    def settimeout(self, value: float | None) -> None:
        self._wanted = value
        super().settimeout(value)  # type: ignore[misc]

    def gettimeout(self) -> float | None:
        return self._wanted

    def _bounded(self, call: Callable[..., T], *args: Any) -> T:
        deadline = _CURRENT.get()
        real: Callable[[float | None], None] = super().settimeout  # type: ignore[misc]
        if deadline is None:
            real(self._wanted)
            return call(*args)
        real(deadline.timeout(self._wanted))
        try:
            return call(*args)
        except TimeoutError as exc:
            if deadline.expired():
                raise deadline.exceeded() from exc
            raise

    def recv(self, *args: Any) -> bytes:
        return self._bounded(super().recv, *args)  # type: ignore[misc, no-any-return]

    def recv_into(self, *args: Any) -> int:
        return self._bounded(super().recv_into, *args)  # type: ignore[misc, no-any-return]

    def send(self, *args: Any) -> int:
        return self._bounded(super().send, *args)  # type: ignore[misc, no-any-return]

    def sendall(self, *args: Any) -> None:
        self._bounded(super().sendall, *args)  # type: ignore[misc]


class BoundedSocket(_Bounded, socket.socket):
    """A TCP socket whose every wait honours the operation's deadline."""

    @classmethod
    def adopt(cls, sock: socket.socket) -> BoundedSocket:
        """``sock`` itself (same connection, options and timeout) as a :class:`BoundedSocket`."""
        timeout = sock.gettimeout()
        bounded = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        bounded.settimeout(timeout)
        return bounded


class BoundedSSLSocket(_Bounded, ssl.SSLSocket):
    """What an SSL context whose ``sslsocket_class`` this is wraps sockets in: the handshake
    and every read and write honour the operation's deadline."""

    def do_handshake(self, block: bool = False) -> None:
        deadline = _CURRENT.get()
        if deadline is not None:
            deadline.enter("TLS")
        self._bounded(super().do_handshake, block)


__all__ = [
    "BODY_CAP",
    "AnswerTooLarge",
    "BoundedSSLSocket",
    "BoundedSocket",
    "Deadline",
    "DeadlineExceeded",
    "NetworkLimit",
    "current",
    "declared_length",
    "describe_size",
    "operation",
    "read_capped",
]
