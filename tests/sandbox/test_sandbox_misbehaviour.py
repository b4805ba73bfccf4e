"""Answers that misbehave on demand: ``server.drip`` (a byte at a time) and ``server.huge_body``
(a body generated while it is sent), for any handler behind the server."""

from __future__ import annotations

import socket
import time

from pytest_connectors.sandbox import Drip, HugeBody, Sandbox, SandboxResponse


def _ask(port: int, method: str = "GET") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"{method} / HTTP/1.1\r\nHost: x.sandbox.test\r\n\r\n".encode())
    return sock


def _head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    return data


def test_drip_sends_the_headers_a_byte_at_a_time(sandbox: Sandbox) -> None:
    server = sandbox.http("drip.sandbox.test")
    server.drip = Drip(every=0.2)
    sock = _ask(server.port)
    try:
        started = time.monotonic()
        got = b""
        while len(got) < 6:
            got += sock.recv(100)
        elapsed = time.monotonic() - started
    finally:
        sock.close()
    assert got.startswith(b"HTTP/1")
    assert elapsed >= 0.8  # 6 bytes, one every 0.2 s


def test_drip_from_the_body_sends_the_headers_at_once(sandbox: Sandbox) -> None:
    server = sandbox.http("drip-body.sandbox.test")
    server.drip, server.huge_body = Drip(every=0.2, start="body"), HugeBody(size=1000)
    sock = _ask(server.port)
    try:
        head = _head(sock)
        started = time.monotonic()
        assert b"Content-Length: 1000\r\n" in head
        body = head.split(b"\r\n\r\n", 1)[1]
        while len(body) < 4:
            body += sock.recv(100)
        assert time.monotonic() - started >= 0.4
    finally:
        sock.close()


def test_a_huge_body_keeps_the_handlers_status_and_headers(sandbox: Sandbox) -> None:
    answer = SandboxResponse.json({"ok": True}, status=401, headers={"X-Mine": "kept"})
    server = sandbox.http("huge.sandbox.test", handler=lambda request: answer)
    server.huge_body = HugeBody(size=3 * 1024 * 1024)
    sock = _ask(server.port)
    try:
        head = _head(sock)
        received = len(head.split(b"\r\n\r\n", 1)[1])
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            received += len(chunk)
    finally:
        sock.close()
    assert head.startswith(b"HTTP/1.1 401 ")
    assert b"X-Mine: kept\r\n" in head and b"Content-Length: 3145728\r\n" in head
    assert received == 3 * 1024 * 1024


def test_an_undeclared_huge_body_is_chunked(sandbox: Sandbox) -> None:
    server = sandbox.http("chunked.sandbox.test")
    server.huge_body = HugeBody(size=100_000, declared=False)
    sock = _ask(server.port)
    try:
        data = _head(sock)
        while not data.endswith(b"\r\n0\r\n\r\n"):
            chunk = sock.recv(1 << 20)
            assert chunk, data[-100:]
            data += chunk
    finally:
        sock.close()
    head, body = data.split(b"\r\n\r\n", 1)
    assert b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head
    total = 0
    while True:
        size_line, body = body.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            break
        total += size
        body = body[size + 2 :]
    assert total == 100_000


def test_a_client_that_hangs_up_stops_the_huge_body(sandbox: Sandbox) -> None:
    server = sandbox.http("hangup.sandbox.test")
    server.huge_body = HugeBody()  # 400 MiB: never sent whole
    sock = _ask(server.port)
    _head(sock)
    sock.close()
    server.huge_body = None
    sock = _ask(server.port)  # the server still answers others, at once
    try:
        assert _head(sock).startswith(b"HTTP/1.1 200 ")
    finally:
        sock.close()
    assert not server.errors
