"""httpx held to the operation's deadline and the body cap (see :mod:`.deadline`).

httpcore lets a connection pool take a network backend (its public API); the backend here is
httpcore's own, with every connect, TLS handshake, read and write given at most the time the
operation has left. httpx does not yet let ``HTTPTransport`` take a backend (encode/httpx#3749),
so :func:`transport` sets it on the pool the transport built, in this one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import httpcore
import httpx

from .deadline import BODY_CAP, CHUNK, Deadline, current, declared_length, read_capped

T = TypeVar("T")


def _cut(call: Callable[[float | None], T], timeout: float | None) -> T:
    """``call(timeout)`` with ``timeout`` cut to the time the operation has left."""
    deadline = current()
    if deadline is None:
        return call(timeout)
    try:
        return call(deadline.timeout(timeout))
    except httpcore.TimeoutException as exc:
        if deadline.expired():
            raise deadline.exceeded() from exc
        raise


def _enter(phase: str, unless: tuple[str, ...] = ()) -> None:
    deadline = current()
    if deadline is not None and deadline.phase not in unless:
        deadline.enter(phase)


class BoundedStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return _cut(lambda cut: self._stream.read(max_bytes, cut), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        _enter("headers", unless=("headers", "body"))
        _cut(lambda cut: self._stream.write(buffer, cut), timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        _enter("TLS")
        inner = _cut(lambda cut: self._stream.start_tls(ssl_context, server_hostname, cut), timeout)
        return BoundedStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class BoundedBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend under the operation's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner if inner is not None else httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        _enter("connect")
        stream = _cut(
            lambda cut: self._inner.connect_tcp(host, port, cut, local_address, socket_options),
            timeout,
        )
        return BoundedStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = _cut(
            lambda cut: self._inner.connect_unix_socket(path, cut, socket_options), timeout
        )
        return BoundedStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def transport(*, verify: Any, proxy: str | None) -> httpx.HTTPTransport:
    """An ``httpx.HTTPTransport`` (direct or through ``proxy``) whose every socket wait honours
    the operation's deadline; nothing is taken from the environment."""
    built = httpx.HTTPTransport(verify=verify, proxy=proxy, trust_env=False)
    pool = built._pool
    if not isinstance(getattr(pool, "_network_backend", None), httpcore.NetworkBackend):
        raise RuntimeError(  # pragma: no cover - a new httpx/httpcore: adapt this function
            "httpx's connection pool has no httpcore network backend to bound"
        )
    pool._network_backend = BoundedBackend(pool._network_backend)
    return built


def read_body(response: httpx.Response, deadline: Deadline, cap: int = BODY_CAP) -> bytes:
    """The body of a streamed ``response``, read once and at most ``cap`` bytes (decoded)."""
    deadline.enter("body")
    declared = declared_length(response.headers.get("content-length"))
    if response.request.method == "HEAD" or response.status_code in (204, 304):
        declared = None  # the length a GET would have had: there is no body
    return read_capped(response.iter_bytes(CHUNK), declared, cap)


__all__ = ["BoundedBackend", "read_body", "transport"]
