"""A real tinyproxy (Debian package ``tinyproxy``) in the foreground, on 127.0.0.1."""

from __future__ import annotations

import contextlib
import itertools
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from .netutil import LOOPBACK, SandboxUnavailable
from .relay import Relay, Tunnel

START_TIMEOUT = 5.0
RELOAD_TIMEOUT = 5.0
_STARTED = "Starting main loop. Accepting connections."
_RELOADED = "Reloading config file finished"
_FILTER_READ = "Re-reading filter file."
_SAFE = re.compile(r"^[^\s\"'#\\]+$")
FALLBACK_PATHS = ("/usr/bin/tinyproxy", "/usr/sbin/tinyproxy")  # PATH may lack /usr/sbin
_ids = itertools.count(1)


def tinyproxy_binary() -> str:
    """The tinyproxy executable, or SandboxUnavailable saying how to install it."""
    path = shutil.which("tinyproxy") or next((p for p in FALLBACK_PATHS if Path(p).exists()), None)
    if path is None:
        raise SandboxUnavailable("tinyproxy not installed: apt-get install tinyproxy")
    return path


class Proxy:
    """tinyproxy with ``Upstream`` set to a sandbox relay (see ``relay.py``), so it never uses
    the system resolver. ``auth=(user, password)`` → BasicAuth (407 without it); ``allow``:
    host regexes (ERE, FilterDefaultDeny: anything else is ``403 Filtered``); ``deny``: host
    regexes refused with ``403 Filtered``. CONNECT is allowed to the ``connect_ports`` only
    (``403 Access violation`` otherwise); ``allow_port`` adds one to the running proxy."""

    def __init__(
        self,
        workdir: Path,
        resolve: Callable[[str], list[str]],
        *,
        auth: tuple[str, str] | None = None,
        allow: Sequence[str] | None = None,
        deny: Sequence[str] | None = None,
        connect_ports: Iterable[int] = (),
        timeout: float = 10.0,
        max_clients: int = 100,
    ) -> None:
        if allow is not None and deny is not None:
            raise ValueError("tinyproxy has one filter list: give allow or deny, not both")
        for value in auth or ():
            if not _SAFE.match(value):
                raise ValueError("proxy credentials must not contain spaces, quotes, # or \\")
        binary = tinyproxy_binary()
        self.dir = workdir / f"proxy-{next(_ids)}"
        self.dir.mkdir(parents=True)
        self.auth, self.allow, self.deny = auth, allow, deny
        self.timeout, self.max_clients = timeout, max_clients
        self._ports = sorted(set(connect_ports))
        self._lock = threading.Lock()
        self._log = self.dir / "tinyproxy.log"
        self._relay = Relay(resolve, timeout)
        self.host = LOOPBACK
        self.port = 0
        self._log_level = "Info"
        try:
            self._process = self._launch(binary)
        except BaseException:
            self._relay.close()
            raise
        self.url = f"http://{self.host}:{self.port}"

    @property
    def connect_ports(self) -> list[int]:
        with self._lock:
            return list(self._ports)

    @property
    def tunnels(self) -> list[Tunnel]:
        """What reached the relay (i.e. passed tinyproxy): method, target, status."""
        return self._relay.snapshot()

    def url_with_auth(self) -> str:
        if self.auth is None:
            return self.url
        user, password = (urllib.parse.quote(part, safe="") for part in self.auth)
        return f"http://{user}:{password}@{self.host}:{self.port}"

    def log_lines(self) -> list[str]:
        """tinyproxy's log so far (``-d``: its stdout and stderr; LogLevel Connect once started:
        connections, requests, refusals such as ``Proxying refused on filtered domain``)."""
        try:
            return self._log.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def allow_port(self, port: int) -> None:
        """Add ``ConnectPort port`` and make the running tinyproxy reload (SIGUSR1)."""
        with self._lock:
            if port in self._ports:
                return
            self._ports = sorted({*self._ports, port})
            if self._process.poll() is None:  # a closed proxy just remembers it
                self._reload()

    def close(self) -> None:
        process = self._process
        if process.poll() is None:
            process.kill()  # SIGTERM takes tinyproxy ~1.5 s; it keeps no state worth a clean exit
        process.wait()
        self._relay.close()

    def __repr__(self) -> str:
        return f"<Proxy {self.url}>"

    # -- internals -------------------------------------------------------------------------

    def _reload(self) -> None:
        """Rewrite the config, SIGUSR1, and wait until tinyproxy says it re-read it."""
        offset = self._log.stat().st_size
        self._write_config()
        self._process.send_signal(signal.SIGUSR1)
        has_filter = self.allow is not None or self.deny is not None
        texts = (_RELOADED, _FILTER_READ) if has_filter else (_RELOADED,)
        self._wait(lambda: self._logged(offset, texts), RELOAD_TIMEOUT, "reload")

    def _logged(self, offset: int, texts: tuple[str, ...]) -> bool:
        with self._log.open("rb") as log:
            log.seek(offset)
            tail = log.read().decode(errors="replace")
        return all(text in tail for text in texts)

    def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if self._process.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(self.log_lines()[-15:])
                raise RuntimeError(
                    f"tinyproxy {what} failed (exit {self._process.poll()}):\n{tail}"
                )
            time.sleep(0.002)

    def _launch(self, binary: str) -> subprocess.Popen[bytes]:
        last: Exception = RuntimeError("tinyproxy did not start")
        for _ in range(5):  # the free port we picked may be taken before tinyproxy binds it
            with socket.socket() as probe:
                probe.bind((LOOPBACK, 0))
                self.port = int(probe.getsockname()[1])
            self._log_level = "Info"  # "Starting main loop" (readiness) is an Info line
            self._write_config()
            with self._log.open("wb") as log:
                self._process = subprocess.Popen(
                    [binary, "-d", "-c", str(self.dir / "tinyproxy.conf")],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.dir,
                )
            try:
                self._wait(lambda: self._logged(0, (_STARTED,)), START_TIMEOUT, "start")
                self._log_level = "Connect"  # from now on: connections, requests, refusals
                self._reload()
                return self._process
            except RuntimeError as exc:
                last = exc
                with contextlib.suppress(OSError):
                    self._process.kill()
                self._process.wait()
        raise last

    def _write_config(self) -> None:
        lines = [
            f"Port {self.port}",
            f"Listen {LOOPBACK}",
            f"Allow {LOOPBACK}",
            f"Timeout {max(1, round(self.timeout))}",
            f"MaxClients {self.max_clients}",
            f"LogLevel {self._log_level}",
            f"Upstream http {LOOPBACK}:{self._relay.port}",
        ]
        if self.auth is not None:
            lines.append(f"BasicAuth {self.auth[0]} {self.auth[1]}")
        patterns = self.allow if self.allow is not None else self.deny
        if patterns is not None:
            (self.dir / "filter").write_text("".join(f"{p}\n" for p in patterns))
            lines += [
                f'Filter "{self.dir / "filter"}"',
                f"FilterDefaultDeny {'Yes' if self.allow is not None else 'No'}",
                "FilterType ere",
                "FilterURLs Off",
            ]
        # No ConnectPort line would allow every port: port 0 stands for "none yet".
        lines += [f"ConnectPort {port}" for port in self._ports or [0]]
        (self.dir / "tinyproxy.conf").write_text("\n".join(lines) + "\n")
