"""Run probes once per process, concurrently across connectors, with a bound.

Items run one after another, but their network work need not: when the first network check of
a process starts, every connector this process will check is probed in a thread pool, so a run
over many connectors costs about the slowest connector's chain, not the sum. DNS answers are
cached per host for the run and pinned: the connection probe connects to exactly those
addresses. Connection probes are cached per endpoint (scheme, host, port, path) and trust, so
connectors that name the same URL share its probe.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from ..delegate import DelegateContext
from ..endpoints import Endpoint
from .connection import ConnectionProbe, probe_connection
from .dns import DnsAnswer, resolve
from .tls import Trust

MAX_PARALLEL_PROBES = 32
K = TypeVar("K")
V = TypeVar("V")


class Prober:
    def __init__(self, delegate: DelegateContext, timeout: float) -> None:
        self.delegate = delegate
        self.timeout = timeout
        # Two pools: a connection probe waits for its DNS answer, so DNS work must never queue
        # behind connection work (that could use up every worker and deadlock).
        self._pool = ThreadPoolExecutor(MAX_PARALLEL_PROBES, thread_name_prefix="connectors-probe")
        self._dns_pool = ThreadPoolExecutor(
            MAX_PARALLEL_PROBES, thread_name_prefix="connectors-dns"
        )
        self._lock = threading.Lock()
        self._dns: dict[str, Future[DnsAnswer]] = {}
        self._connections: dict[tuple[Endpoint, Trust], Future[ConnectionProbe]] = {}

    def proxied(self, host: str) -> bool:
        proxy = self.delegate.proxy
        return proxy is not None and not proxy.exempts(host)

    def dns(self, host: str) -> Future[DnsAnswer]:
        def work() -> DnsAnswer:
            return resolve(host, self.delegate.resolvers, self.timeout)

        return self._once(self._dns_pool, self._dns, host, work)

    def connection(self, endpoint: Endpoint, trust: Trust) -> Future[ConnectionProbe]:
        def work() -> ConnectionProbe:
            return self._connect(endpoint, trust)

        return self._once(self._pool, self._connections, (endpoint, trust), work)

    def _connect(self, endpoint: Endpoint, trust: Trust) -> ConnectionProbe:
        if self.proxied(endpoint.host):
            return probe_connection(endpoint, (), self.delegate.proxy, trust, self.timeout)
        answer = self.dns(endpoint.host).result()
        if not answer.ok:
            return ConnectionProbe(endpoint, None)
        return probe_connection(endpoint, answer.addresses, None, trust, self.timeout)

    def _once(
        self,
        pool: ThreadPoolExecutor,
        table: dict[K, Future[V]],
        key: K,
        work: Callable[[], V],
    ) -> Future[V]:
        with self._lock:
            future = table.get(key)
            if future is None:
                future = pool.submit(work)
                table[key] = future
        return future

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._dns_pool.shutdown(wait=False, cancel_futures=True)
