"""A ``requests`` session for SDK clients built on requests (hvac …), held to our network rules.

* Names resolve through the delegate's resolvers: the request goes to the address the ``dns``
  check pinned, while TLS still verifies (and sends SNI for) the real host name, like
  ``curl --resolve``. Never the system resolver.
* Trust is the connector's :class:`~.tls.Trust` (its CA alone, or the delegate bundle with the
  system store), not requests' bundled CA list.
* Through the delegate's proxy when the host is not exempt (the proxy resolves the name).
* No redirects are followed and nothing is taken from the environment (``trust_env=False``),
  so a credential never travels to another origin.
* Each request, answer included, finishes within the connector's timeout, and at most
  :data:`~.deadline.BODY_CAP` of the answer is read, once (:mod:`.bounded_urllib3`): the
  adapter reads the body itself, so ``response.content`` is never an unbounded read.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from ..endpoints import Endpoint
from . import bounded_urllib3
from .deadline import operation
from .prober import Prober
from .tls import Trust


class PinningError(requests.exceptions.ConnectionError):
    """The host could not be resolved through the delegate's resolvers."""


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, host: str, address: str | None, trust: Trust, budget_s: float) -> None:
        self._host = host
        self._address = address
        self._trust = trust
        self._budget_s = budget_s
        super().__init__(max_retries=0)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        pool_kwargs["ssl_context"] = self._trust.context()
        if self._address is not None:
            pool_kwargs["server_hostname"] = self._host  # SNI and the hostname check
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        bounded_urllib3.bind(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        """Through the proxy the target is verified with the same trust (not requests' own)."""
        if proxy not in self.proxy_manager:
            proxy_kwargs["ssl_context"] = self._trust.context()
        return bounded_urllib3.bind(super().proxy_manager_for(proxy, **proxy_kwargs))

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Verification is the trust's SSL context: no CA file of requests' own."""

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        parts = urlsplit(request.url or "")
        if parts.hostname != self._host:
            raise requests.exceptions.InvalidURL(
                f"this session only talks to {self._host}, not {parts.hostname}"
            )
        if self._address is not None:
            shown = f"[{self._address}]" if ":" in self._address else self._address
            netloc = f"{shown}:{parts.port}" if parts.port else shown
            request.headers["Host"] = parts.netloc.rpartition("@")[2]
            request.url = urlunsplit(parts._replace(netloc=netloc))
        kwargs["stream"] = True  # the body is read here, within the deadline and the cap
        with operation(self._budget_s, (requests.exceptions.Timeout,)) as deadline:
            response = super().send(request, **kwargs)
            body = bounded_urllib3.read_body(response.raw, deadline, request.method or "GET")
        response._content = body  # what ``response.content`` returns, already read
        return response


#: One session per endpoint and trust per run (keyed on the run's prober): the checks of one
#: connector, and the Vault secret source, share its SSL context and kept-alive connections.
_SESSIONS: weakref.WeakKeyDictionary[Prober, dict[tuple[Endpoint, Trust], requests.Session]] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()


def pinned_session(prober: Prober, endpoint: Endpoint, trust: Trust) -> requests.Session:
    """A session that reaches ``endpoint``'s host only, as the rules above say (the same one
    for the whole run).

    Raises :class:`PinningError` when the name does not resolve through the delegate's
    resolvers (the ``dns`` check names that; callers normally run after it passed).
    """
    key = (endpoint, trust)
    with _LOCK:
        found = _SESSIONS.get(prober, {}).get(key)
    if found is not None:
        return found
    session = _new_session(prober, endpoint, trust)
    with _LOCK:
        return _SESSIONS.setdefault(prober, {}).setdefault(key, session)


def _new_session(prober: Prober, endpoint: Endpoint, trust: Trust) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.max_redirects = 0
    proxies: Mapping[str, str] = {}
    address: str | None = None
    proxy = prober.delegate.proxy if prober.proxied(endpoint.host) else None
    if proxy is None:
        answer = prober.dns(endpoint.host).result()
        if not answer.ok or not answer.addresses:
            raise PinningError(f"{endpoint.host} does not resolve: {answer.error}")
        address = answer.addresses[0]
    else:
        url = proxy.url_with_credentials()
        proxies = {"http": url, "https": url}
    adapter = _PinnedAdapter(endpoint.host, address, trust, prober.timeout)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.proxies.update(proxies)
    return session


__all__ = ["PinningError", "pinned_session"]
