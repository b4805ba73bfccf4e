"""Shared plumbing: the loopback rule, and the start/stop life cycle of a server thread."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import socketserver
import threading
from collections.abc import Iterable
from typing import Protocol

LOOPBACK = "127.0.0.1"
POLL_INTERVAL = 0.05  # seconds; how long a serve_forever loop takes to notice shutdown()
JOIN_TIMEOUT = 2.0


class SandboxUnavailable(RuntimeError):
    """A peer cannot run here (e.g. its binary is not installed); the message says how to fix it."""


def is_loopback(address: str) -> bool:
    """True for IP literals in 127.0.0.0/8 or ::1 (also ``::ffff:127.x.y.z``, ``::1%lo``)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def require_loopback(address: str) -> str:
    if not is_loopback(address):
        raise ValueError(
            f"the sandbox only uses loopback addresses (127.0.0.0/8, ::1): {address!r}"
        )
    return address


def normalize_name(name: str) -> str:
    """DNS names are compared lower-case without the trailing dot."""
    normalized = name.strip().rstrip(".").lower()
    if not normalized:
        raise ValueError("empty DNS name")
    return normalized


class Closeable(Protocol):
    def close(self) -> None: ...


def close_all(items: Iterable[Closeable]) -> None:
    """Close ``items`` concurrently (each serve loop needs up to POLL_INTERVAL to stop)."""
    threads = [threading.Thread(target=item.close, daemon=True) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)


class ServerThread:
    """Runs socketserver instances in daemon threads; ``close()`` stops them, closes their
    sockets, shuts down open connections and joins the threads that served them."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._servers: list[socketserver.BaseServer] = []
        self._threads: list[threading.Thread] = []
        self._open: dict[socket.socket, threading.Thread] = {}

    @property
    def closed(self) -> bool:
        return self._stopping.is_set()

    def _start(self, *servers: socketserver.BaseServer) -> None:
        for server in servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": POLL_INTERVAL},
                name=f"sandbox-{type(self).__name__}",
                daemon=True,
            )
            self._servers.append(server)
            self._threads.append(thread)
            thread.start()

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            self._open[sock] = threading.current_thread()

    def untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.pop(sock, None)

    def close(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self._stopping.set()
        stoppers = [threading.Thread(target=server.shutdown) for server in self._servers]
        for stopper in stoppers:  # each serve loop needs up to POLL_INTERVAL to notice
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        for server in self._servers:
            server.server_close()
        with self._lock:
            connections = dict(self._open)
        for sock in connections:
            # the plain socket method: SSLSocket.shutdown would drop its SSL object
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        current = threading.current_thread()
        for thread in [*self._threads, *connections.values()]:
            if thread is not current:
                thread.join(JOIN_TIMEOUT)

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
