"""No peer holds a check past its timeout, and no answer fills the memory (issue 9, items 2-3).

Peers misbehave through the sandbox's switches (``server.drip``: a byte a second, in the headers
or in the body; ``server.huge_body``: 400 MiB generated while sent, with or without its length).
First each HTTP stack on its own (httpx for the provider APIs, requests for Vault, urllib3 as
the kubernetes client uses it); then whole runs, in a child process, with a GitHub, a Vault, a
Kubernetes, a registry and a Git-over-HTTP connector: each check ends with a named failure mode
and the run's peak memory stays under 200 MB. Tests assert outcomes, never wall-clock time
(elapsed times are printed): the drip outlasts every timeout by minutes.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pytest_connectors.delegate import DelegateContext, ProxyConfig, Resolver
from pytest_connectors.endpoints import Endpoint, parse_url
from pytest_connectors.probes.bounded_urllib3 import BoundedPoolManager, BoundedProxyManager
from pytest_connectors.probes.connection import connect_via_proxy
from pytest_connectors.probes.deadline import AnswerTooLarge, DeadlineExceeded, NetworkLimit
from pytest_connectors.probes.http import request
from pytest_connectors.probes.prober import Prober
from pytest_connectors.probes.sessions import pinned_session
from pytest_connectors.probes.tls import Trust
from pytest_connectors.sandbox import Drip, HttpServer, HugeBody, Sandbox, SandboxResponse

from .conftest import RunConnectors, git_http, jwt_without_exp, k8s_service_account
from .test_github import github_repo
from .test_registry import registry_connector
from .test_vault import vault_connector

#: The budget of the stack tests, and the ``--connectors-timeout`` of the runs.
STACK_TIMEOUT = 1.5
RUN_TIMEOUT = 3.0
RSS_LIMIT_MB = 200
MIB = 1024 * 1024


# -- the misbehaviours ------------------------------------------------------------------------


def _drip_headers(server: HttpServer) -> None:
    server.drip = Drip()  # ~150 bytes of head: two and a half minutes


def _drip_body(server: HttpServer) -> None:
    server.drip, server.huge_body = Drip(start="body"), HugeBody(size=100_000)


def _huge(server: HttpServer) -> None:
    server.huge_body = HugeBody(size=400 * MIB)


def _huge_unknown(server: HttpServer) -> None:
    server.huge_body = HugeBody(size=400 * MIB, declared=False)


def _slow_handshake(server: HttpServer) -> None:
    server.handshake_latency = 120.0


#: name -> (switch, the limit expected: a deadline phase, or the size an answer is refused at)
MISBEHAVIOURS: dict[str, tuple[Callable[[HttpServer], None], str | int | None]] = {
    "drip-headers": (_drip_headers, "headers"),
    "drip-body": (_drip_body, "body"),
    "huge": (_huge, 400 * MIB),
    "huge-unknown-size": (_huge_unknown, None),
}


# -- each stack on its own --------------------------------------------------------------------


def _prober(sb: Sandbox, proxy: ProxyConfig | None = None) -> Prober:
    resolver = Resolver(sb.dns.address, sb.dns.port)
    return Prober(DelegateContext(resolvers=(resolver,), proxy=proxy), timeout=STACK_TIMEOUT)


def _trust(sb: Sandbox) -> Trust:
    return Trust("sandbox CA", cadata=sb.ca_file.read_text())


def _by_httpx(prober: Prober, endpoint: Endpoint, trust: Trust) -> None:
    result = request(prober, endpoint, "/v1/sys/health", trust)
    if result.limit is not None:
        raise result.limit
    raise AssertionError(f"no limit was hit: {result}")


def _by_requests(prober: Prober, endpoint: Endpoint, trust: Trust) -> None:
    session = pinned_session(prober, endpoint, trust)
    session.get(f"{endpoint.url}/v1/sys/health", timeout=prober.timeout)


def _by_urllib3(prober: Prober, endpoint: Endpoint, trust: Trust) -> None:
    """As ``checks/kubernetes.py`` sets up the kubernetes client's pool manager."""
    kwargs: dict[str, Any] = {"retries": False, "budget_s": prober.timeout}
    kwargs.update(ssl_context=trust.context(), server_hostname=endpoint.host)
    proxy = prober.delegate.proxy
    if proxy is not None:
        manager: Any = BoundedProxyManager(proxy.url, **kwargs)
        url = f"{endpoint.url}/v1/sys/health"
    else:
        manager = BoundedPoolManager(**kwargs)
        address = prober.dns(endpoint.host).result().addresses[0]
        url = f"https://{address}:{endpoint.port}/v1/sys/health"
    headers = {"Host": f"{endpoint.host}:{endpoint.port}"}
    manager.request("GET", url, headers=headers, timeout=prober.timeout, preload_content=False)


STACKS = {"httpx": _by_httpx, "requests": _by_requests, "urllib3": _by_urllib3}
STACK_CASES = {**MISBEHAVIOURS, "slow-tls-handshake": (_slow_handshake, "TLS")}


def _hits(limit: str | int | None, stack: Callable[..., None], *args: Any) -> NetworkLimit:
    started = time.monotonic()
    with pytest.raises(NetworkLimit) as caught:
        stack(*args)
    print(f"{stack.__name__}: {caught.value!r} after {time.monotonic() - started:.2f} s")
    if isinstance(limit, str):
        assert isinstance(caught.value, DeadlineExceeded), caught.value
        assert caught.value.phase == limit and caught.value.budget_s == STACK_TIMEOUT
    else:
        assert isinstance(caught.value, AnswerTooLarge), caught.value
        assert caught.value.size == limit
    return caught.value


@pytest.mark.parametrize("case", STACK_CASES)
@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_stops_at_the_deadline_or_the_cap(sb: Sandbox, stack: str, case: str) -> None:
    switch, limit = STACK_CASES[case]
    server = sb.https(f"{case}.{stack}.sandbox.test")
    switch(server)
    prober = _prober(sb)
    try:
        _hits(limit, STACKS[stack], prober, parse_url(server.url, "api"), _trust(sb))
    finally:
        prober.close()


@pytest.mark.parametrize("stack", STACKS)
def test_through_the_proxy_too(sb: Sandbox, sandbox_proxy_available: str, stack: str) -> None:
    server = sb.https(f"proxied.{stack}.sandbox.test")
    _drip_body(server)
    proxy = sb.proxy()
    prober = _prober(sb, ProxyConfig("http", proxy.host, proxy.port))
    try:
        _hits("body", STACKS[stack], prober, parse_url(server.url, "api"), _trust(sb))
    finally:
        prober.close()
    assert server.requests == 1  # it went through the proxy to the server


def test_an_answer_within_the_limits_is_read_once(sb: Sandbox) -> None:
    body = b'{"initialized": true, "sealed": false}' + b" " * (2 * MIB)
    server = sb.https("fine.sandbox.test", handler=lambda request: SandboxResponse(200, {}, body))
    prober = _prober(sb)
    try:
        result = request(prober, parse_url(server.url, "api"), "/", _trust(sb))
        session = pinned_session(prober, parse_url(server.url, "vault"), _trust(sb))
        answer = session.get(server.url, timeout=STACK_TIMEOUT)
    finally:
        prober.close()
    assert (result.status, result.body, result.limit) == (200, body, None)
    assert result.json() == {"initialized": True, "sealed": False}
    assert result.json() is result.json()  # parsed once
    assert answer.status_code == 200 and answer.content == body


@pytest.fixture
def dripping_proxy() -> Iterator[int]:
    """A "proxy" that answers CONNECT a byte a second."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            for byte in b"HTTP/1.1 200 Connection established\r\n\r\n":
                if stop.wait(1.0):
                    return
                conn.sendall(bytes([byte]))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()
    thread.join(5)


def test_the_proxy_probe_is_not_held_by_a_dripping_proxy(dripping_proxy: int) -> None:
    proxy = ProxyConfig("http", "127.0.0.1", dripping_proxy)
    target = Endpoint("api", "https", "far.sandbox.test", 443, "/")
    started = time.monotonic()
    sock, _, result = connect_via_proxy(proxy, target, STACK_TIMEOUT)
    print(f"proxy CONNECT: {result} after {time.monotonic() - started:.2f} s")
    assert sock is None and result.error == "timeout"


# -- whole runs, every connector type that talks HTTP -----------------------------------------

VAULT_TOKEN_REF = "account.vault_token"
HEALTHY = SandboxResponse.json({"initialized": True, "sealed": False, "standby": False})
LOOKUP = SandboxResponse.json({"data": {"ttl": 0, "policies": ["root"], "expire_time": None}})
#: (connector, check) -> what the misbehaving peer does to it. Every other check of these
#: connectors is blocked by these (or does not talk to the peer's API at all).
PROVIDER_CHECKS = (
    ("gh", "auth"),
    ("vault", "health"),
    ("k8s", "auth"),
    ("reg", "auth"),
    ("git", "auth"),
)
#: Writes this process's peak RSS where the test reads it (the child of a subprocess run).
RSS_CONFTEST = """
import resource
from pathlib import Path


def pytest_unconfigure(config):
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    Path(config.rootpath, "peak-rss-kib.txt").write_text(str(peak_kib))
"""


def _vault_like(request: Any) -> SandboxResponse:
    path = request.path.split("?", 1)[0]
    answers = {"/v1/sys/health": HEALTHY, "/v1/auth/token/lookup-self": LOOKUP}
    return answers.get(path, SandboxResponse.json({"errors": []}, status=404))


def _peers(sb: Sandbox, switch: Callable[[HttpServer], None]) -> list[str]:
    """The five peers, misbehaving, and their connectors."""
    github, _ = sb.github()
    vault = sb.https("vault-like.sandbox.test", handler=_vault_like)
    kubernetes, _ = sb.kubernetes()
    registry, _ = sb.registry()
    git, _ = sb.git_http()
    for server in (github, vault, kubernetes, registry, git):
        switch(server)
    return [
        github_repo("gh", f"{github.url}/acme/app"),
        vault_connector("vault", vault.url, token_ref=VAULT_TOKEN_REF),
        k8s_service_account("k8s", kubernetes.url, ca_ref=None),
        registry_connector("reg", registry.url),
        git_http("git", git.url),
    ]


@pytest.mark.parametrize("case", MISBEHAVIOURS)
def test_every_check_ends_with_a_named_mode_in_bounded_memory(
    sb: Sandbox, run_connectors: RunConnectors, pytester: pytest.Pytester, case: str
) -> None:
    switch, limit = MISBEHAVIOURS[case]
    docs = _peers(sb, switch)
    pytester.makeconftest(RSS_CONFTEST)
    secrets = {
        "account.gh_pat": "ghp_SandboxClassicToken0123456789abcdefAB",
        VAULT_TOKEN_REF: "hvs.vault-token-for-the-sandbox",
        "account.k8s_token": jwt_without_exp("system:serviceaccount:harness:deployer"),
        "account.reg_pw": "registry-password",
    }
    run = run_connectors(*docs, secrets=secrets, timeout=RUN_TIMEOUT, subprocess=True)
    peak_mb = int((pytester.path / "peak-rss-kib.txt").read_text()) / 1024

    print(
        f"\n{case}: run {run.elapsed:.1f} s, peak RSS {peak_mb:.0f} MB (timeout {RUN_TIMEOUT:g} s)"
    )
    for identifier, name in PROVIDER_CHECKS:
        check = run.check(identifier, name)
        evidence = check["evidence"]
        detail = evidence.get("phase") or evidence.get("problem")
        print(
            f"  {identifier}[{name}]: {check['duration_s']:.2f} s {check['failure_mode']}: {detail}"
        )
    for identifier, name in PROVIDER_CHECKS:
        if isinstance(limit, str):
            evidence = run.assert_failed(identifier, name, "connection-timeout")
            assert evidence["phase"] == limit, (identifier, name, evidence)
            assert evidence["timeout_s"] == RUN_TIMEOUT
        else:
            evidence = run.assert_failed(identifier, name, "incorrect-endpoint")
            told = "400 MiB, over" if limit else "more than"
            assert f"the answer is {told} the 4 MiB a check reads" in evidence["problem"]
    blocked = {("gh", "permissions"), ("gh", "rate_limit"), ("k8s", "rbac")}
    blocked |= {("vault", "auth"), ("vault", "permissions")}
    for identifier, name in blocked:
        assert run.check(identifier, name)["outcome"] == "skipped", (identifier, name)
    assert "Traceback" not in run.text
    assert peak_mb < RSS_LIMIT_MB
    report = json.dumps(run.report)
    assert "registry-password" not in report and "hvs.vault-token" not in report


def test_the_kubernetes_client_never_follows_a_redirect(
    sb: Sandbox, run_connectors: RunConnectors
) -> None:
    elsewhere = sb.https("elsewhere.sandbox.test")
    moved = SandboxResponse(301, {"Location": f"{elsewhere.url}/version"})
    server = sb.https("moved.k8s.sandbox.test", handler=lambda request: moved)
    secrets = {"account.k8s_token": jwt_without_exp("system:serviceaccount:harness:deployer")}
    run = run_connectors(k8s_service_account("k8s", server.url, ca_ref=None), secrets=secrets)
    evidence = run.assert_failed("k8s", "auth", "incorrect-endpoint")
    assert "301" in evidence["problem"]
    assert elsewhere.requests == 0
