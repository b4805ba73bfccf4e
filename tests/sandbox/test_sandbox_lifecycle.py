"""Start-up, clean-up, the fixtures and the command line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import pytest

from pytest_connectors.sandbox import VARIANTS, Sandbox


def refused(port: int, udp: bool = False) -> bool:
    try:
        if udp:  # a closed UDP port cannot be bound-tested by connect; try to bind it instead
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.bind(("127.0.0.1", port))
            return True
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False


def sandbox_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("sandbox-")]


def test_close_stops_everything() -> None:
    before = set(threading.enumerate())
    started = time.perf_counter()
    sandbox = Sandbox().start()
    servers = [sandbox.https(f"{v}.sandbox.test", v) for v in VARIANTS]
    servers.append(sandbox.http("plain.sandbox.test"))
    silent = sandbox.silent("mute.sandbox.test")
    hole = sandbox.blackhole("hole.sandbox.test")
    startup = time.perf_counter() - started
    # an idle keep-alive connection must not keep a handler thread alive
    idle = socket.create_connection((servers[-1].host, servers[-1].port))
    idle.sendall(b"GET / HTTP/1.1\r\nHost: plain.sandbox.test\r\n\r\n")
    assert idle.recv(100).startswith(b"HTTP/1.1 200")
    mute = socket.create_connection((silent.host, silent.port))
    directory, dns_port = sandbox.dir, sandbox.dns.port
    assert directory.is_dir() and sandbox.ca_file.is_file()
    sandbox.close()
    sandbox.close()  # idempotent
    idle.close()
    mute.close()
    assert not directory.exists()
    for port in [s.port for s in servers] + [silent.port, hole.port, dns_port]:
        assert refused(port), port
    assert refused(dns_port, udp=True)
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert startup < 30  # sanity only; typical: tens of milliseconds
    with pytest.raises(RuntimeError, match="closed"):
        sandbox.https("late.sandbox.test")


def test_not_started() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = Sandbox().dns


def test_function_fixture_is_fresh(sandbox: Sandbox, connectors_sandbox: Sandbox) -> None:
    assert sandbox is not connectors_sandbox
    assert sandbox.dns.queries == {}
    server = connectors_sandbox.https("lifecycle-shared.sandbox.test")
    assert connectors_sandbox.dns.lookup(server.name) == ["127.0.0.1"]


def test_session_fixture_is_shared(connectors_sandbox: Sandbox) -> None:
    assert connectors_sandbox.dns.lookup("lifecycle-shared.sandbox.test") == ["127.0.0.1"]


def test_command_line() -> None:
    process = subprocess.run(
        [sys.executable, "-m", "pytest_connectors.sandbox", "--seconds", "0.2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    description = json.loads(process.stdout)
    assert description["dns"]["address"] == "127.0.0.1" and description["dns"]["port"] > 0
    assert description["ca_file"].endswith("ca.pem")
    variants = {s["variant"] for s in description["servers"]}
    assert set(VARIANTS) | {"http", "refusing", "blackhole", "silent"} <= variants
    for server in description["servers"]:
        assert server["url"].startswith(("https://", "http://"))
        assert f"{server['name']}:" in server["url"]
    names = {s["name"] for s in description["servers"]}
    assert {"github.sandbox.test", "k8s.sandbox.test", "vault.sandbox.test"} <= names
    assert description["vault"]["url"].startswith("https://vault.sandbox.test:")


def test_thread_safe_creation(sandbox: Sandbox) -> None:
    created: list[object] = []
    errors: list[BaseException] = []

    def make(index: int) -> None:
        try:
            for variant in ("ok", "expired", "incomplete-chain"):
                created.append(sandbox.https(f"t{index}-{variant}.sandbox.test", variant))
            created.append(sandbox.refusing(f"t{index}-closed.sandbox.test"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=make, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(created) == 32
    assert len({s.port for s in sandbox.servers}) == len(sandbox.servers) == 32
    for index in range(8):
        assert sandbox.dns.lookup(f"t{index}-ok.sandbox.test") == ["127.0.0.1"]
