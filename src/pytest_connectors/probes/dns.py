"""Resolve a host with the delegate's resolvers (dnspython) or, without any, the system's."""

from __future__ import annotations

import ipaddress
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver

from ..delegate import Resolver

NXDOMAIN, SERVFAIL, REFUSED, NOANSWER, TIMEOUT = (
    "NXDOMAIN",
    "SERVFAIL",
    "REFUSED",
    "NOANSWER",
    "TIMEOUT",
)


@dataclass(frozen=True)
class DnsAnswer:
    host: str
    resolver: str
    elapsed_s: float
    addresses: tuple[str, ...] = ()
    error: str | None = None  # NXDOMAIN | SERVFAIL | REFUSED | NOANSWER | TIMEOUT | other text

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.addresses)


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _rcode_of(exc: dns.resolver.NoNameservers) -> str:
    for error in exc.kwargs.get("errors") or []:
        text = str(error[-1]) if error else ""
        if "REFUSED" in text:
            return REFUSED
        if "SERVFAIL" in text:
            return SERVFAIL
    return SERVFAIL


def _with_resolvers(host: str, resolvers: tuple[Resolver, ...], timeout: float) -> DnsAnswer:
    client = dns.resolver.Resolver(configure=False)
    client.nameservers = [dns.nameserver.Do53Nameserver(r.address, r.port) for r in resolvers]
    client.timeout = client.lifetime = timeout
    shown = ", ".join(str(r) for r in resolvers)
    started = time.perf_counter()
    addresses: list[str] = []
    errors: list[str] = []
    for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        try:
            answer = client.resolve(host, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return DnsAnswer(host, shown, time.perf_counter() - started, error=NXDOMAIN)
        except dns.resolver.NoNameservers as exc:
            errors.append(_rcode_of(exc))
            continue
        except dns.exception.Timeout:
            errors.append(TIMEOUT)
            break  # the other family would wait as long again
        addresses.extend(str(r) for r in answer)
    elapsed = time.perf_counter() - started
    if addresses:
        return DnsAnswer(host, shown, elapsed, tuple(addresses))
    return DnsAnswer(host, shown, elapsed, error=errors[0] if errors else NOANSWER)


_SYSTEM = ThreadPoolExecutor(max_workers=8, thread_name_prefix="connectors-getaddrinfo")


def _with_system(host: str, timeout: float) -> DnsAnswer:
    started = time.perf_counter()
    future = _SYSTEM.submit(socket.getaddrinfo, host, None, 0, socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=timeout)
    except FutureTimeout:
        return DnsAnswer(host, "system resolver", time.perf_counter() - started, error=TIMEOUT)
    except socket.gaierror as exc:
        code = {socket.EAI_NONAME: NXDOMAIN, socket.EAI_AGAIN: SERVFAIL}.get(exc.errno or 0)
        reason = code or f"{exc.strerror}"
        return DnsAnswer(host, "system resolver", time.perf_counter() - started, error=reason)
    except OSError as exc:  # the network guard of the test suite, or a broken resolver setup
        return DnsAnswer(host, "system resolver", time.perf_counter() - started, error=str(exc))
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    return DnsAnswer(host, "system resolver", time.perf_counter() - started, addresses)


def resolve(host: str, resolvers: tuple[Resolver, ...], timeout: float) -> DnsAnswer:
    if _literal(host):
        return DnsAnswer(host, "IP literal", 0.0, (host,))
    if resolvers:
        return _with_resolvers(host, resolvers, timeout)
    return _with_system(host, timeout)
