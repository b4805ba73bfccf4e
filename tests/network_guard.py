"""Network guard: the test session never leaves loopback.

Loaded from ``tests/conftest.py`` (``pytest_plugins``). For the whole session it wraps
``socket.socket.connect`` / ``connect_ex`` / ``sendto``, ``socket.getaddrinfo`` and
``socket.gethostbyname(_ex)``: reaching an address outside 127.0.0.0/8 and ::1, or asking the
system resolver for any name but ``localhost``, raises ``NonLoopbackError`` (an ``OSError``, so
clients fail fast) *before* anything is sent, and is recorded. Unix and netlink sockets are not
checked. The product must resolve connector hosts through the sandbox DNS server (a loopback
address), never through ``getaddrinfo``.

A recorded attempt fails the test that made it (an error at teardown, even when the code under
test swallowed the exception); attempts outside any test fail the run at session end. Tests of
the guard itself wrap the attempt in ``with network_guard.expected(): ...``.

In-process only: subprocesses (``pytester.runpytest_subprocess``, tinyproxy) are not guarded;
the sandbox gives them loopback peers only.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

_CHECKED_FAMILIES = (socket.AF_INET, socket.AF_INET6)
_HERE = __file__


class NonLoopbackError(OSError):
    """A test tried to reach something outside loopback."""


@dataclass(frozen=True)
class Attempt:
    call: str
    target: str
    where: str

    def __str__(self) -> str:
        return f"{self.call}({self.target}) from {self.where}"


def _is_loopback(host: str) -> bool:
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _host_allowed(host: Any, passive: bool = False) -> bool:
    if host is None:
        return True
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii", "replace")
    host = str(host)
    if host.rstrip(".").lower() == "localhost" or _is_loopback(host):
        return True
    return passive and host in ("", "0.0.0.0", "::")


def _caller() -> str:
    skip = (_HERE, socket.__file__, ssl.__file__)
    frames = [f for f in traceback.extract_stack() if f.filename not in skip]
    return " <- ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}" for f in frames[-3:][::-1])


class Guard:
    """Attempts go to the innermost open frame (a test, or an ``expected()`` block), else to
    ``outside`` (made outside any test: they fail the session)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frames: list[list[Attempt]] = []
        self.outside: list[Attempt] = []
        self._saved: dict[str, tuple[Any, Any, bool]] = {}
        self._installs = 0

    @property
    def installed(self) -> bool:
        return bool(self._saved)

    def refuse(self, call: str, target: object) -> NonLoopbackError:
        attempt = Attempt(call, repr(target), _caller())
        with self._lock:
            (self._frames[-1] if self._frames else self.outside).append(attempt)
        return NonLoopbackError(
            f"network guard: the test tried to leave loopback: {call}({target!r}); tests may "
            "reach only 127.0.0.0/8 and ::1 (resolve names through the sandbox DNS server)"
        )

    def open_frame(self) -> list[Attempt]:
        caught: list[Attempt] = []
        with self._lock:
            self._frames.append(caught)
        return caught

    def close_frame(self, caught: list[Attempt]) -> None:
        with self._lock:
            self._frames = [f for f in self._frames if f is not caught]

    @contextmanager
    def frame(self) -> Iterator[list[Attempt]]:
        """Collect the attempts made inside the block (and not in an inner frame)."""
        caught = self.open_frame()
        try:
            yield caught
        finally:
            self.close_frame(caught)

    expected = frame  # for tests of the guard: ``with network_guard.expected() as attempts``

    def take_outside(self) -> list[Attempt]:
        with self._lock:
            taken, self.outside = self.outside, []
            return taken

    def _check_address(self, sock: socket.socket, address: Any, call: str) -> None:
        if sock.family not in _CHECKED_FAMILIES:
            return
        host = address[0] if isinstance(address, tuple) and address else address
        if not (isinstance(host, str) and (_is_loopback(host) or host.lower() == "localhost")):
            raise self.refuse(call, address)

    def install(self) -> None:
        """Patch ``socket`` (counted: nested sessions, e.g. pytester's, share one guard)."""
        self._installs += 1
        if self.installed:
            return
        guard = self
        originals = {name: getattr(socket.socket, name) for name in ("connect", "connect_ex")}

        def connect(sock: socket.socket, address: Any) -> None:
            guard._check_address(sock, address, "connect")
            originals["connect"](sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            guard._check_address(sock, address, "connect_ex")
            return int(originals["connect_ex"](sock, address))

        original_sendto = socket.socket.sendto

        def sendto(sock: socket.socket, data: Any, *args: Any) -> int:
            if args:
                guard._check_address(sock, args[-1], "sendto")
            return int(original_sendto(sock, data, *args))

        def resolving(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(host: Any, *args: Any, **kwargs: Any) -> Any:
                flags = kwargs.get("flags", args[4] if len(args) > 4 else 0)
                if not _host_allowed(host, passive=bool(flags & socket.AI_PASSIVE)):
                    raise guard.refuse(name, host)
                return original(host, *args, **kwargs)

            return wrapper

        patches: dict[str, tuple[Any, Any]] = {
            "connect": (socket.socket, connect),
            "connect_ex": (socket.socket, connect_ex),
            "sendto": (socket.socket, sendto),
            "getaddrinfo": (socket, resolving("getaddrinfo", socket.getaddrinfo)),
            "gethostbyname": (socket, resolving("gethostbyname", socket.gethostbyname)),
            "gethostbyname_ex": (socket, resolving("gethostbyname_ex", socket.gethostbyname_ex)),
        }
        for name, (owner, replacement) in patches.items():
            self._saved[name] = (owner, getattr(owner, name), name in vars(owner))
            setattr(owner, name, replacement)

    def uninstall(self) -> None:
        self._installs = max(0, self._installs - 1)
        if self._installs:
            return
        for name, (owner, original, own) in self._saved.items():
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
        self._saved.clear()


GUARD = Guard()
install = GUARD.install
uninstall = GUARD.uninstall


# -- pytest plugin ---------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    GUARD.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    GUARD.uninstall()


@pytest.fixture
def network_guard() -> Guard:
    return GUARD


@pytest.fixture(autouse=True)
def _network_guard_per_test() -> Iterator[None]:
    with GUARD.frame() as attempts:
        yield
    if attempts:
        lines = "\n  ".join(map(str, attempts))
        pytest.fail(f"network guard: this test tried to leave loopback:\n  {lines}")


_REPORT = pytest.StashKey[list[str]]()
_SESSION = pytest.StashKey[list[Attempt]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_SESSION] = GUARD.open_frame()  # attempts outside any test


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    frame = config.stash.get(_SESSION, [])
    GUARD.close_frame(frame)
    leftover = [str(a) for a in [*frame, *GUARD.take_outside()]]
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand them to the controller
        workeroutput["network_guard"] = leftover
        return
    report = config.stash.setdefault(_REPORT, [])
    report += leftover
    if report and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    found = getattr(node, "workeroutput", {}).get("network_guard", [])
    node.config.stash.setdefault(_REPORT, []).extend(found)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    report = config.stash.get(_REPORT, [])
    if report:
        terminalreporter.section("network guard", red=True)
        terminalreporter.line("attempts to leave loopback outside any test (the run fails):")
        for line in report:
            terminalreporter.line(f"  {line}")
