"""An authoritative DNS server on 127.0.0.1 (UDP and TCP on one port) with injectable failures."""

from __future__ import annotations

import ipaddress
from collections import Counter
from typing import Any, Literal

from dnslib import AAAA, QTYPE, RCODE, RR, A, DNSError, DNSRecord
from dnslib.server import DNSHandler, DNSLogger, DNSServer, TCPServer, UDPServer

from .netutil import LOOPBACK, ServerThread, normalize_name, require_loopback

Failure = Literal["NXDOMAIN", "SERVFAIL", "REFUSED", "TIMEOUT", "NOANSWER"]
FAILURES: tuple[Failure, ...] = ("NXDOMAIN", "SERVFAIL", "REFUSED", "TIMEOUT", "NOANSWER")
TTL = 60
TCP_HOLD = 30.0  # seconds a TIMEOUT name keeps a TCP query's connection open without answering
_BIND_ATTEMPTS = 50
_QUIET = "-request,-reply,-truncated,-error,-recv,-send,-data"


class LookupFailed(Exception):
    """``DnsServer.lookup`` of a name that does not resolve; ``args[0]`` is the failure."""


class _Drop(DNSError):  # type: ignore[misc]  # the handler logs (quietly) and sends nothing
    pass


class DnsServer(ServerThread):
    """``add(name, ip)``, ``fail(name, mode)``, ``delay(name, seconds)``; unknown names are
    NXDOMAIN. ``queries`` counts the names asked (every query type, UDP and TCP)."""

    def __init__(self) -> None:
        super().__init__()
        self.address = LOOPBACK
        self._records: dict[str, list[str]] = {}
        self._failures: dict[str, Failure] = {}
        self._delays: dict[str, float] = {}
        self._queries: Counter[str] = Counter()
        self.log: list[tuple[str, str, str]] = []  # (name, query type, "udp"|"tcp")
        udp, tcp = _bind_pair(self)
        self.port = int(udp.server.server_address[1])
        self._start(udp.server, tcp.server)

    @property
    def hostport(self) -> str:
        """``127.0.0.1:PORT``, as ``--connectors-dns`` and the inventory's ``resolvers`` take it."""
        return f"{self.address}:{self.port}"

    def add(self, name: str, address: str) -> None:
        """Answer ``name`` with ``address`` (IPv4 → A, IPv6 → AAAA); loopback addresses only."""
        address = str(ipaddress.ip_address(require_loopback(address)))
        with self._lock:
            addresses = self._records.setdefault(normalize_name(name), [])
            if address not in addresses:
                addresses.append(address)

    def fail(self, name: str, mode: Failure | None) -> None:
        """Make ``name`` fail with ``mode`` (None: answer normally again)."""
        if mode is not None and mode not in FAILURES:
            raise ValueError(f"unknown DNS failure {mode!r}; one of: {', '.join(FAILURES)}")
        with self._lock:
            if mode is None:
                self._failures.pop(normalize_name(name), None)
            else:
                self._failures[normalize_name(name)] = mode

    def delay(self, name: str, seconds: float) -> None:
        """Answer ``name`` only after ``seconds`` (0 removes the delay)."""
        with self._lock:
            self._delays[normalize_name(name)] = max(0.0, float(seconds))

    def remove(self, name: str) -> None:
        """Forget ``name``'s records, failure and delay."""
        key = normalize_name(name)
        with self._lock:
            for table in (self._records, self._failures, self._delays):
                table.pop(key, None)

    @property
    def queries(self) -> Counter[str]:
        with self._lock:
            return Counter(self._queries)

    def reset_counters(self) -> None:
        with self._lock:
            self._queries.clear()
            self.log.clear()

    def lookup(self, name: str) -> list[str]:
        """The addresses of ``name`` without a query (delays and failures apply; counted not)."""
        key = normalize_name(name)
        with self._lock:
            delay, failure = self._delays.get(key, 0.0), self._failures.get(key)
            addresses = list(self._records.get(key, ()))
        if delay and self._stopping.wait(delay):
            raise LookupFailed("TIMEOUT")
        if failure is not None and failure != "NOANSWER":
            raise LookupFailed(failure)
        if failure == "NOANSWER":
            raise LookupFailed("NOANSWER")
        if not addresses:
            raise LookupFailed("NXDOMAIN")
        return addresses

    def resolve(self, request: Any, handler: Any) -> Any:
        """dnslib resolver entry point: the reply, or None to send nothing."""
        key = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        with self._lock:
            self._queries[key] += 1
            self.log.append((key, str(qtype), str(handler.protocol)))
            delay, failure = self._delays.get(key, 0.0), self._failures.get(key)
            addresses = list(self._records.get(key, ()))
        if delay and self._stopping.wait(delay):
            return None
        if failure == "TIMEOUT":
            if handler.protocol == "tcp":
                self._stopping.wait(TCP_HOLD)
            return None
        reply = request.reply()
        if failure in ("NXDOMAIN", "SERVFAIL", "REFUSED"):
            reply.header.rcode = getattr(RCODE, str(failure))
        elif failure is None and key not in self._records:
            reply.header.rcode = RCODE.NXDOMAIN
        elif failure is None:
            for address in addresses:
                version = ipaddress.ip_address(address).version
                if version == 4 and qtype in ("A", "ANY"):
                    reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=TTL))
                elif version == 6 and qtype in ("AAAA", "ANY"):
                    reply.add_answer(RR(request.q.qname, QTYPE.AAAA, rdata=AAAA(address), ttl=TTL))
        return reply

    def __repr__(self) -> str:
        return f"<DnsServer {self.hostport}>"


class _Handler(DNSHandler):  # type: ignore[misc]
    def get_reply(self, data: bytes) -> bytes:
        reply = self.server.resolver.resolve(DNSRecord.parse(data), self)
        if reply is None:
            raise _Drop("no reply")
        return bytes(reply.pack())


class _QuietUDP(UDPServer):  # type: ignore[misc]
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _QuietTCP(TCPServer):  # type: ignore[misc]
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _Resolver:
    def __init__(self, owner: DnsServer) -> None:
        self.owner = owner

    def resolve(self, request: Any, handler: Any) -> Any:
        return self.owner.resolve(request, handler)


def _bind_pair(owner: DnsServer) -> tuple[Any, Any]:
    """UDP on a free port, then TCP on the same port (retried when TCP's is taken)."""
    logger = DNSLogger(log=_QUIET, prefix=False)
    resolver = _Resolver(owner)
    for _ in range(_BIND_ATTEMPTS):
        udp = DNSServer(resolver, LOOPBACK, 0, logger=logger, handler=_Handler, server=_QuietUDP)
        port = udp.server.server_address[1]
        try:
            tcp = DNSServer(
                resolver,
                LOOPBACK,
                port,
                tcp=True,
                logger=logger,
                handler=_Handler,
                server=_QuietTCP,
            )
        except OSError:
            udp.server.server_close()
            continue
        return udp, tcp
    raise OSError("no free port for DNS on UDP and TCP at once")
