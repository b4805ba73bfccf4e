"""urllib3 (under requests and hvac, and the kubernetes client) held to the operation's
deadline and the body cap (see :mod:`.deadline`).

* Connections (``ConnectionCls`` of the pools :func:`bind` installs) make their socket a
  :class:`~.deadline.BoundedSocket` as soon as TCP connects; TLS wraps it with the context's
  ``sslsocket_class``, a :class:`~.deadline.BoundedSSLSocket`. So the connect, the handshake
  (also through a proxy's tunnel), the request, the headers and the body all wait at most the
  time the operation has left. They also record the phase.
* :class:`BoundedPoolManager` / :class:`BoundedProxyManager` run each ``urlopen`` as one
  operation (the budget given), read the body there, at most the cap, and hand it back
  already read; they never follow a redirect. The requests adapter (``sessions``) uses the
  pools through :func:`bind` and reads its bodies with :func:`read_body`.
"""

from __future__ import annotations

import io
import ssl
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from .deadline import (
    BODY_CAP,
    CHUNK,
    BoundedSocket,
    BoundedSSLSocket,
    Deadline,
    current,
    declared_length,
    operation,
    read_capped,
)


class _PhasedConnection:
    """Connect with the time left, adopt the socket, and record the phase."""

    timeout: Any

    def _new_conn(self) -> BoundedSocket:
        deadline = current()
        if deadline is not None:
            deadline.enter("connect")
            self.timeout = deadline.timeout(self.timeout)
        sock = super()._new_conn()  # type: ignore[misc]
        return BoundedSocket.adopt(sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        deadline = current()
        if deadline is not None:
            deadline.enter("headers")
        super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self) -> Any:
        response = super().getresponse()  # type: ignore[misc]
        deadline = current()
        if deadline is not None:
            deadline.enter("body")
        return response


class BoundedHTTPConnection(_PhasedConnection, HTTPConnection):
    pass


class BoundedHTTPSConnection(_PhasedConnection, HTTPSConnection):
    pass


class BoundedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = BoundedHTTPConnection


class BoundedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = BoundedHTTPSConnection


def bounded_context(context: ssl.SSLContext) -> ssl.SSLContext:
    """``context``, wrapping sockets so that TLS honours the operation's deadline."""
    context.sslsocket_class = BoundedSSLSocket
    return context


def bind(manager: urllib3.PoolManager) -> urllib3.PoolManager:
    """``manager`` (a PoolManager or ProxyManager), its new pools made of bounded connections.

    Contexts given to the manager (``ssl_context`` of its pool keywords) are made bounded too;
    without one, urllib3 builds a context per connection that TLS would not bound.
    """
    manager.pool_classes_by_scheme = {
        "http": BoundedHTTPConnectionPool,
        "https": BoundedHTTPSConnectionPool,
    }
    context = manager.connection_pool_kw.get("ssl_context")
    if isinstance(context, ssl.SSLContext):
        bounded_context(context)
    return manager


def read_body(
    response: urllib3.BaseHTTPResponse, deadline: Deadline, method: str, cap: int = BODY_CAP
) -> bytes:
    """The (decoded) body of an unread ``response`` to ``method``, at most ``cap`` bytes; the
    connection is given back to its pool when the body was read whole, closed otherwise."""
    deadline.enter("body")
    no_body = method.upper() == "HEAD" or response.status in (204, 304)
    declared = None if no_body else declared_length(response.headers.get("content-length"))
    try:
        body = read_capped(response.stream(CHUNK, decode_content=True), declared, cap)
    except BaseException:
        response.close()
        raise
    response.release_conn()
    return body


class _Bounded:
    """``urlopen`` as one operation of ``budget_s`` whose body is read there, capped."""

    def __init__(self, *args: Any, budget_s: float, cap: int = BODY_CAP, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget_s, self.cap = budget_s, cap
        bind(self)  # type: ignore[arg-type]

    def urlopen(
        self, method: str, url: str, redirect: bool = True, **kw: Any
    ) -> urllib3.HTTPResponse:
        preload = kw.pop("preload_content", True)
        kw.pop("decode_content", None)
        with operation(self.budget_s, (urllib3.exceptions.TimeoutError,)) as deadline:
            response = super().urlopen(  # type: ignore[misc]
                method, url, redirect=False, preload_content=False, **kw
            )
            body = read_body(response, deadline, method, self.cap)
        headers = urllib3.HTTPHeaderDict(response.headers)
        headers.discard("content-encoding")  # the body is decoded already
        headers.discard("transfer-encoding")
        headers["Content-Length"] = str(len(body))
        return urllib3.HTTPResponse(
            body=io.BytesIO(body),
            headers=headers,
            status=response.status,
            version=response.version,
            reason=response.reason,
            preload_content=preload,
            decode_content=False,
            request_method=method,
            request_url=url,
        )


class BoundedPoolManager(_Bounded, urllib3.PoolManager):  # type: ignore[misc]
    """A PoolManager whose every request finishes within ``budget_s`` and reads at most
    ``cap`` bytes of the answer."""


class BoundedProxyManager(_Bounded, urllib3.ProxyManager):  # type: ignore[misc]
    """The same, through a proxy."""


__all__ = [
    "BoundedPoolManager",
    "BoundedProxyManager",
    "bind",
    "bounded_context",
    "read_body",
]
