"""``dns``, ``proxy`` and ``tcp``: can this host, acting as the delegate, reach the endpoints?"""

from __future__ import annotations

from typing import Any

from ..model import Connector
from ..probes import dns as dnsprobe
from ..probes.connection import REFUSED, TIMEOUT, UNREACHABLE, ConnectionProbe, connect_tcp
from ..results import Phase
from . import Check
from .context import CheckContext, CollectContext
from .network import applies_to_network, connection, endpoints

_DNS_REASONS = {
    dnsprobe.NXDOMAIN: "the name does not exist (NXDOMAIN)",
    dnsprobe.SERVFAIL: "the resolver failed (SERVFAIL)",
    dnsprobe.REFUSED: "the resolver refused to answer (REFUSED)",
    dnsprobe.NOANSWER: "the name exists but has no A or AAAA record",
    dnsprobe.TIMEOUT: "no answer before the timeout",
}


def check_dns(ctx: CheckContext) -> None:
    hosts = dict.fromkeys(e.host for e in endpoints(ctx))
    for host in hosts:
        if ctx.prober.proxied(host):
            ctx.note(**{host: f"resolved by the delegate's proxy {ctx.delegate.proxy.url}"})  # type: ignore[union-attr]
            continue
        answer = ctx.prober.dns(host).result()
        facts = {"addresses": list(answer.addresses), "resolver": answer.resolver}
        ctx.note(**{host: {**facts, "elapsed_s": round(answer.elapsed_s, 3)}})
        if answer.ok:
            continue
        reason = _DNS_REASONS.get(answer.error or "", answer.error or "unknown error")
        ctx.fail(
            "dns-resolution-failed",
            f"{host}: {reason}; resolver {answer.resolver}, {answer.elapsed_s:.2f} s",
            host=host,
            resolver=answer.resolver,
            reason=answer.error,
            elapsed_s=round(answer.elapsed_s, 3),
        )


def check_proxy(ctx: CheckContext) -> None:
    proxy = ctx.delegate.proxy
    if proxy is None:
        ctx.note(proxy="this delegate has no proxy")
        return
    ctx.note(proxy=proxy.url, no_proxy=list(proxy.no_proxy))
    for endpoint in endpoints(ctx):
        if not ctx.prober.proxied(endpoint.host):
            ctx.note(**{endpoint.address: "exempt from the proxy by NO_PROXY: connected directly"})
            continue
        probe = connection(ctx, endpoint)
        result = probe.proxy
        if result is None or result.error is None:
            ctx.note(**{endpoint.address: f"CONNECT accepted: {result.detail if result else ''}"})
            continue
        direct = _reachable_directly(ctx, endpoint.host, endpoint.port)
        cause = {
            "proxy-down": f"the proxy {proxy.url} itself cannot be reached ({result.detail})",
            "auth-required": f"the proxy {proxy.url} wants credentials (407)",
            "denied": f"the proxy {proxy.url} refuses CONNECT to {endpoint.address} (403)",
            "timeout": f"the proxy {proxy.url} did not answer CONNECT to {endpoint.address}"
            f" within {ctx.prober.timeout:g} s",
            "upstream-failed": f"the proxy {proxy.url} cannot reach {endpoint.address}"
            f" ({result.detail})",
        }.get(result.error, f"the proxy {proxy.url} answered '{result.detail}'")
        if direct:
            cause += f"; {endpoint.host} is reachable directly, so it belongs in NO_PROXY"
        ctx.fail(
            "proxy-misconfigured",
            cause,
            proxy=proxy.url,
            host=endpoint.host,
            status=result.status,
            reason=result.error,
            reachable_directly=direct,
        )


def _reachable_directly(ctx: CheckContext, host: str, port: int) -> bool:
    answer = ctx.prober.dns(host).result()
    for address in answer.addresses if answer.ok else ():
        sock, _ = connect_tcp(address, port, min(ctx.prober.timeout, 3.0))
        if sock is not None:
            sock.close()
            return True
    return False


def check_tcp(ctx: CheckContext) -> None:
    timeout = ctx.prober.timeout
    for endpoint in endpoints(ctx):
        probe = connection(ctx, endpoint)
        if probe.proxy is not None:  # the proxy check owns what went wrong there
            ctx.note(**{endpoint.address: f"through the proxy: {probe.proxy.detail}"})
            continue
        tcp = probe.tcp
        if tcp is None:
            continue  # no address (the dns check owns that)
        facts: dict[str, Any] = {"address": tcp.address, "connect_s": round(tcp.elapsed_s, 3)}
        ctx.note(**{endpoint.address: facts})
        if tcp.error is None:
            if endpoint.scheme == "ssh":
                _judge_ssh_banner(ctx, probe, facts)
            continue
        evidence: dict[str, Any] = {
            "host": endpoint.host,
            "port": endpoint.port,
            "address": tcp.address,
        }
        if tcp.error == TIMEOUT:
            ctx.fail(
                "connection-timeout",
                f"{endpoint.address} ({tcp.address}) did not accept a connection within"
                f" {timeout:g} s: packets are dropped silently (firewall or security group)",
                timeout_s=timeout,
                reason="timeout",
                **evidence,
            )
        else:
            what = {REFUSED: "refused the connection", UNREACHABLE: "is unreachable"}
            ctx.fail(
                "port-unreachable",
                f"{endpoint.address} ({tcp.address}) {what.get(tcp.error, tcp.detail)}",
                reason=tcp.error,
                **evidence,
            )


def _judge_ssh_banner(ctx: CheckContext, probe: ConnectionProbe, facts: dict[str, Any]) -> None:
    """An SSH server speaks first: its identification line starts ``SSH-`` (RFC 4253 4.2)."""
    endpoint, byte = probe.endpoint, probe.first_byte
    if byte is None:
        return
    if byte.error is None and byte.status_line.startswith("SSH-"):
        facts["banner"] = byte.status_line
        ctx.note(**{endpoint.address: facts})
        return
    if byte.error is None:
        seen = f"it sent '{byte.status_line}'"
    elif byte.error == TIMEOUT:
        seen = f"it sent nothing within {ctx.prober.timeout:g} s (an SSH server speaks first)"
    else:
        seen = f"it closed the connection without a banner ({byte.status_line or byte.error})"
    ctx.fail(
        "incorrect-endpoint",
        f"port {endpoint.port} of {endpoint.host} answers but is not an SSH server: {seen}",
        url=endpoint.url,
        problem=f"port {endpoint.port} is not an SSH server ({seen})",
        host=endpoint.host,
        port=endpoint.port,
        first_line=byte.status_line or None,
    )


def _has_proxy(connector: Connector, collect: CollectContext) -> bool:
    return collect.has_proxy and applies_to_network(connector, collect)


_BASE = ("definition", "expressions", "delegate")

DNS = Check(
    "dns",
    Phase.CONNECTIVITY,
    check_dns,
    applies_to_network,
    _BASE,
    network=True,
    description="resolve each endpoint host with the delegate's resolvers",
)
PROXY = Check(
    "proxy",
    Phase.CONNECTIVITY,
    check_proxy,
    _has_proxy,
    (*_BASE, "dns"),
    network=True,
    description="the delegate's proxy accepts CONNECT to each endpoint, or NO_PROXY exempts it",
)
TCP = Check(
    "tcp",
    Phase.CONNECTIVITY,
    check_tcp,
    applies_to_network,
    (*_BASE, "dns", "proxy"),
    network=True,
    description="connect to each endpoint, directly or through the proxy",
)
