"""The hop behind tinyproxy: an HTTP proxy that resolves names through the sandbox DNS table.

tinyproxy would resolve a CONNECT target such as ``github.sandbox.test`` with the system
resolver, i.e. send a DNS query off the host. So each sandbox proxy runs tinyproxy with
``Upstream http 127.0.0.1:<relay>``: tinyproxy still does what a real proxy does (ACL, auth,
filters, ConnectPort, MaxClients) and hands the allowed requests to this relay, which looks the
name up in ``DnsServer.lookup`` and connects to loopback addresses only.
"""

from __future__ import annotations

import contextlib
import ipaddress
import selectors
import socket
import socketserver
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .netutil import LOOPBACK, POLL_INTERVAL, ServerThread, is_loopback

_HEAD_LIMIT = 65536


@dataclass(frozen=True)
class Tunnel:
    """One request the relay handled: ``status`` is what it answered (200: connected)."""

    method: str
    host: str
    port: int
    status: int
    detail: str = ""


class Relay(ServerThread):
    def __init__(self, resolve: Callable[[str], list[str]], timeout: float) -> None:
        super().__init__()
        self.resolve = resolve
        self.timeout = timeout
        self.tunnels: list[Tunnel] = []
        server = _RelayServer((LOOPBACK, 0), _RelayHandler)
        server.owner = self
        self.port = int(server.server_address[1])
        self._start(server)

    def snapshot(self) -> list[Tunnel]:
        with self._lock:
            return list(self.tunnels)

    def note(self, tunnel: Tunnel) -> None:
        with self._lock:
            self.tunnels.append(tunnel)

    def open(self, host: str, port: int) -> socket.socket:
        """Connect to ``host`` (a loopback literal, or a name in the sandbox DNS)."""
        try:
            addresses = [str(ipaddress.ip_address(host.split("%", 1)[0]))]
        except ValueError:
            addresses = self.resolve(host)
        last: OSError = OSError(f"no address for {host}")
        for address in addresses:
            if not is_loopback(address):
                raise PermissionError(f"{address} is not a loopback address")
            try:
                return socket.create_connection((address, port), timeout=self.timeout)
            except OSError as exc:
                last = exc
        raise last


class _RelayServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: Relay

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _RelayHandler(socketserver.BaseRequestHandler):
    server: _RelayServer

    def handle(self) -> None:
        owner = self.server.owner
        client: socket.socket = self.request
        owner.track(client)
        try:
            self._relay(owner, client)
        finally:
            owner.untrack(client)

    def _relay(self, owner: Relay, client: socket.socket) -> None:
        client.settimeout(owner.timeout)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < _HEAD_LIMIT:
            chunk = client.recv(65536)
            if not chunk:
                return
            head += chunk
        line, _, rest = head.partition(b"\r\n")
        method, target, version = [*line.decode("latin-1").split(" "), "", "", ""][:3]
        if method.upper() == "CONNECT":
            host, _, port_text = target.rpartition(":")
            host, port, forward = host.strip("[]"), int(port_text or 443), b""
        else:
            url = urllib.parse.urlsplit(target)
            host, port = url.hostname or "", url.port or 80
            origin = urllib.parse.urlunsplit(("", "", url.path or "/", url.query, ""))
            forward = f"{method} {origin} {version}\r\n".encode("latin-1") + rest
        try:
            upstream = owner.open(host, port)
        except Exception as exc:
            detail = f"sandbox relay: cannot connect to {host}:{port}: {exc!r}"
            owner.note(Tunnel(method, host, port, 500, detail))
            body = detail.encode()
            client.sendall(
                b"HTTP/1.1 500 Unable to connect\r\nContent-Type: text/plain\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            return
        owner.track(upstream)
        try:
            owner.note(Tunnel(method, host, port, 200))
            if forward:
                upstream.sendall(forward)
            else:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _pipe(client, upstream, owner)
        finally:
            owner.untrack(upstream)
            upstream.close()


def _pipe(a: socket.socket, b: socket.socket, owner: Relay) -> None:
    """Copy bytes both ways until both sides have finished sending (half-closes honoured)."""
    peer = {a: b, b: a}
    for side in peer:
        side.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with selectors.DefaultSelector() as selector:
        for side in peer:
            side.setblocking(False)
            selector.register(side, selectors.EVENT_READ)
        open_sides = 2
        while open_sides and not owner.closed:
            for key, _ in selector.select(POLL_INTERVAL):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    return
                if data:
                    peer[sock].settimeout(owner.timeout)
                    try:
                        peer[sock].sendall(data)
                    except OSError:
                        return
                    peer[sock].setblocking(False)
                else:
                    selector.unregister(sock)
                    open_sides -= 1
                    with contextlib.suppress(OSError):
                        peer[sock].shutdown(socket.SHUT_WR)
