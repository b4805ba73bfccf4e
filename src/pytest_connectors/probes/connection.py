"""One connection to an endpoint, measured phase by phase: connect (directly or through the
delegate's proxy with CONNECT), TLS handshake with verification, and the first response byte.

The same connection serves the tcp, proxy, tls and latency checks, so an endpoint costs one
round of network work however many checks read it.
"""

from __future__ import annotations

import base64
import errno
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from ..delegate import ProxyConfig
from ..endpoints import Endpoint
from .deadline import Deadline, DeadlineExceeded
from .tls import CertFacts, Trust, classify_tls_error, collect_facts, facts_from_socket

REFUSED, UNREACHABLE, TIMEOUT = "refused", "unreachable", "timeout"


@dataclass(frozen=True)
class TcpResult:
    address: str
    port: int
    elapsed_s: float
    error: str | None = None  # refused | unreachable | timeout | other text
    detail: str = ""


@dataclass(frozen=True)
class ProxyResult:
    proxy: str
    target: str
    elapsed_s: float
    status: int | None = None
    # proxy-down | auth-required | denied | upstream-failed | timeout | bad-reply
    error: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class TlsResult:
    elapsed_s: float
    ca_source: str
    error: str | None = None  # see tls.classify_tls_error
    detail: str = ""
    facts: CertFacts | None = None
    version: str | None = None


@dataclass(frozen=True)
class FirstByte:
    elapsed_s: float
    error: str | None = None  # timeout | closed | speaks-tls
    status_line: str = ""


@dataclass(frozen=True)
class ConnectionProbe:
    endpoint: Endpoint
    address: str | None
    tcp: TcpResult | None = None
    proxy: ProxyResult | None = None
    tls: TlsResult | None = None
    first_byte: FirstByte | None = None
    timings: dict[str, float] = field(default_factory=dict)


def _tcp_error(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return REFUSED
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return TIMEOUT
    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
        return UNREACHABLE
    return str(exc) or type(exc).__name__


def connect_tcp(address: str, port: int, timeout: float) -> tuple[socket.socket | None, TcpResult]:
    started = time.perf_counter()
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except OSError as exc:
        return None, TcpResult(
            address, port, time.perf_counter() - started, _tcp_error(exc), str(exc)
        )
    return sock, TcpResult(address, port, time.perf_counter() - started)


def _read_head(sock: socket.socket, timeout: float) -> bytes:
    """The proxy's answer head, all of it within ``timeout`` (a proxy that drips its answer
    must not hold the probe); ``TimeoutError`` when it takes longer."""
    deadline = Deadline(timeout)
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        try:
            sock.settimeout(deadline.timeout(timeout))
        except DeadlineExceeded as exc:
            raise TimeoutError(str(exc)) from None
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    sock.settimeout(timeout)
    return data


def connect_via_proxy(
    proxy: ProxyConfig, endpoint: Endpoint, timeout: float
) -> tuple[socket.socket | None, TcpResult | None, ProxyResult]:
    """TCP to the proxy, then ``CONNECT host:port`` with the proxy's credentials."""
    started = time.perf_counter()
    sock, tcp = connect_tcp(proxy.host, proxy.port, timeout)
    target = endpoint.address
    if sock is None:
        elapsed = time.perf_counter() - started
        return (
            None,
            tcp,
            ProxyResult(proxy.url, target, elapsed, error="proxy-down", detail=tcp.detail),
        )
    request = f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
    credentials = proxy.basic_credentials()
    if credentials is not None:
        token = base64.b64encode(credentials.encode()).decode()
        request += f"Proxy-Authorization: Basic {token}\r\n"
    try:
        sock.sendall((request + "\r\n").encode())
        head = _read_head(sock, timeout)
    except OSError as exc:
        sock.close()
        error = TIMEOUT if isinstance(exc, (socket.timeout, TimeoutError)) else "bad-reply"
        elapsed = time.perf_counter() - started
        return None, tcp, ProxyResult(proxy.url, target, elapsed, error=error, detail=str(exc))
    elapsed = time.perf_counter() - started
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    if status == 200:
        return sock, tcp, ProxyResult(proxy.url, target, elapsed, status, detail=status_line)
    sock.close()
    error = {407: "auth-required", 403: "denied"}.get(status or 0) or (
        "upstream-failed" if status and status >= 500 else "bad-reply"
    )
    return None, tcp, ProxyResult(proxy.url, target, elapsed, status, error, status_line)


def _request_bytes(endpoint: Endpoint) -> bytes:
    if endpoint.scheme == "ssh":
        return b""  # an SSH server speaks first
    return (
        f"HEAD {endpoint.path} HTTP/1.1\r\nHost: {endpoint.host}\r\n"
        "User-Agent: pytest-connectors\r\nConnection: close\r\n\r\n"
    ).encode()


def first_byte(sock: socket.socket, endpoint: Endpoint) -> FirstByte:
    started = time.perf_counter()
    try:
        request = _request_bytes(endpoint)
        if request:
            sock.sendall(request)
        data = sock.recv(4096)
    except TimeoutError:
        return FirstByte(time.perf_counter() - started, TIMEOUT)
    except OSError as exc:
        return FirstByte(time.perf_counter() - started, "closed", str(exc))
    elapsed = time.perf_counter() - started
    if not data:
        error = "speaks-tls" if endpoint.scheme == "http" else "closed"
        return FirstByte(elapsed, error)
    if endpoint.scheme == "http" and data[:1] == b"\x15":  # a TLS alert record
        return FirstByte(elapsed, "speaks-tls")
    return FirstByte(elapsed, None, data.split(b"\r\n", 1)[0].decode("latin-1")[:120])


def _open(
    endpoint: Endpoint, addresses: tuple[str, ...], proxy: ProxyConfig | None, timeout: float
) -> tuple[socket.socket | None, str | None, TcpResult | None, ProxyResult | None]:
    if proxy is not None:
        via_sock, via_tcp, via = connect_via_proxy(proxy, endpoint, timeout)
        return via_sock, proxy.host, via_tcp, via
    last: TcpResult | None = None
    for address in addresses:
        sock, last = connect_tcp(address, endpoint.port, timeout)
        if sock is not None:
            return sock, address, last, None
    return None, addresses[0] if addresses else None, last, None


def probe_connection(
    endpoint: Endpoint,
    addresses: tuple[str, ...],
    proxy: ProxyConfig | None,
    trust: Trust,
    timeout: float,
) -> ConnectionProbe:
    """Connect, handshake and read the first byte; stop at the first phase that fails."""
    sock, address, tcp, via = _open(endpoint, addresses, proxy, timeout)
    timings = {"connect": (via.elapsed_s if via else tcp.elapsed_s if tcp else 0.0)}
    if sock is None:
        return ConnectionProbe(endpoint, address, tcp, via, timings=timings)
    tls: TlsResult | None = None
    stream: Any = sock
    try:
        sock.settimeout(timeout)
        if endpoint.tls:
            stream, tls = _handshake(sock, endpoint, trust, timeout, addresses, proxy)
            timings["tls"] = tls.elapsed_s
            if tls.error is not None:
                return ConnectionProbe(endpoint, address, tcp, via, tls, timings=timings)
        byte = first_byte(stream, endpoint)
        timings["first_byte"] = byte.elapsed_s
        return ConnectionProbe(endpoint, address, tcp, via, tls, byte, timings)
    finally:
        stream.close()


def _handshake(
    sock: socket.socket,
    endpoint: Endpoint,
    trust: Trust,
    timeout: float,
    addresses: tuple[str, ...],
    proxy: ProxyConfig | None,
) -> tuple[Any, TlsResult]:
    started = time.perf_counter()
    context = trust.context()
    try:
        wrapped = context.wrap_socket(sock, server_hostname=endpoint.host)
    except (ssl.SSLError, OSError) as exc:
        elapsed = time.perf_counter() - started
        kind, detail = classify_tls_error(exc)
        facts = None
        if isinstance(exc, ssl.SSLCertVerificationError):
            again, *_ = _open(endpoint, addresses, proxy, timeout)
            facts = collect_facts(again, endpoint.host, timeout) if again else None
            if kind == "untrusted" and facts is not None and facts.looks_incomplete:
                kind = "incomplete-chain"
        return sock, TlsResult(elapsed, trust.source, kind, detail, facts)
    elapsed = time.perf_counter() - started
    facts = facts_from_socket(wrapped)
    return wrapped, TlsResult(elapsed, trust.source, None, "", facts, wrapped.version())
