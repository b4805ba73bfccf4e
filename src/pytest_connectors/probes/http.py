"""HTTP API calls from the delegate: the connector's own host only, never a redirect.

A request goes to exactly the addresses the ``dns`` check saw (the URL keeps the host name for
SNI and ``Host``), or through the delegate's proxy when the host is not exempt. Redirects are
returned, not followed: a credential must never travel to another origin. The whole request,
answer included, must finish within the connector's timeout, and at most
:data:`~.deadline.BODY_CAP` of the answer is read (:mod:`.deadline`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import httpx

from ..endpoints import Endpoint
from . import bounded_httpx
from .deadline import NetworkLimit, operation
from .prober import Prober
from .tls import Trust


@dataclass(frozen=True)
class HttpResult:
    url: str
    elapsed_s: float
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None  # the transport error, when there is no response
    #: The limit the request ran into (deadline or body cap), when that is the error.
    limit: NetworkLimit | None = None

    def json(self) -> Any:
        return self._parsed

    @cached_property
    def _parsed(self) -> Any:  # parsed once, however many readers ask
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    @property
    def message(self) -> str:
        """The provider's own error text (GitHub/GitLab put it in ``message``)."""
        data = self.json()
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return str(data["message"])
        return self.body[:200].decode("utf-8", "replace").strip()


def request(
    prober: Prober,
    base: Endpoint,
    path: str,
    trust: Trust,
    *,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
) -> HttpResult:
    """``method`` ``base`` + ``path`` with ``headers``; never raises for network trouble (nor
    for a deadline overrun or an answer over the cap: ``limit`` says which)."""
    url = base.url.rstrip("/") + "/" + path.lstrip("/")
    started = time.perf_counter()
    proxy = prober.delegate.proxy if prober.proxied(base.host) else None
    target = url
    extensions: dict[str, Any] = {}
    if proxy is None:
        answer = prober.dns(base.host).result()
        if not answer.ok:
            return HttpResult(url, time.perf_counter() - started, error=f"DNS: {answer.error}")
        address = answer.addresses[0]
        shown = f"[{address}]" if ":" in address else address
        target = url.replace(f"//{base.host}", f"//{shown}", 1)
        extensions["sni_hostname"] = base.host
    proxy_url = proxy.url_with_credentials() if proxy is not None else None
    sent = {"Host": base.host if base.port in (80, 443) else f"{base.host}:{base.port}"}
    sent.update(headers or {})
    verify = trust.context() if base.tls else False
    try:
        with (
            operation(prober.timeout, (httpx.TimeoutException,)) as deadline,
            httpx.Client(
                transport=bounded_httpx.transport(verify=verify, proxy=proxy_url),
                timeout=prober.timeout,
                follow_redirects=False,
                trust_env=False,
            ) as client,
            client.stream(method, target, headers=sent, extensions=extensions) as response,
        ):
            body = bounded_httpx.read_body(response, deadline)
    except NetworkLimit as exc:
        elapsed = time.perf_counter() - started
        return HttpResult(url, elapsed, error=f"{type(exc).__name__}: {exc}", limit=exc)
    except httpx.HTTPError as exc:
        return HttpResult(url, time.perf_counter() - started, error=f"{type(exc).__name__}: {exc}")
    return HttpResult(
        url,
        time.perf_counter() - started,
        response.status_code,
        {k.lower(): v for k, v in response.headers.items()},
        body,
    )
