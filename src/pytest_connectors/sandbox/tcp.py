"""TCP-level peers: a port that refuses, one whose connect never completes, one that never talks."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

from .netutil import JOIN_TIMEOUT, LOOPBACK, POLL_INTERVAL


class Endpoint:
    """A named port on 127.0.0.1; ``url`` is ``<scheme>://<name>:<port>``."""

    kind = "endpoint"

    def __init__(self, name: str, scheme: str = "https") -> None:
        self.name = name
        self.host = LOOPBACK
        self.scheme = scheme
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((LOOPBACK, 0))
        self.port = int(self._sock.getsockname()[1])
        self.url = f"{scheme}://{name}:{self.port}"
        self.latency = 0.0  # unused: nothing is ever answered (kept for a uniform shape)

    def close(self) -> None:
        self._sock.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"


class Refusing(Endpoint):
    """Bound but never listening: every connect is refused (RST), and the port stays reserved,
    so nothing else can start listening on it while the sandbox runs."""

    kind = "refusing"


class Blackhole(Endpoint):
    """``listen(0)`` plus one filler connection that is never accepted: the accept queue is
    full, the kernel drops further SYNs, so a client's connect() runs into its own timeout."""

    kind = "blackhole"

    def __init__(self, name: str, scheme: str = "https") -> None:
        super().__init__(name, scheme)
        self._sock.listen(0)
        self._filler = socket.create_connection((LOOPBACK, self.port), timeout=1.0)

    def close(self) -> None:
        self._filler.close()
        super().close()


class Silent(Endpoint):
    """Accepts connections and reads what clients send, but never sends a byte: a TLS client
    times out in the handshake, an HTTP client waiting for the first byte times out.
    ``connections`` counts accepted connections."""

    kind = "silent"

    def __init__(self, name: str, scheme: str = "https") -> None:
        super().__init__(name, scheme)
        self._sock.listen(64)
        self._sock.setblocking(False)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connections = 0
        self._thread = threading.Thread(target=self._serve, name="sandbox-Silent", daemon=True)
        self._thread.start()

    @property
    def connections(self) -> int:
        with self._lock:
            return self._connections

    def _serve(self) -> None:
        clients: list[socket.socket] = []
        with selectors.DefaultSelector() as selector:
            selector.register(self._sock, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(POLL_INTERVAL):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is self._sock:
                        with contextlib.suppress(OSError):
                            client, _address = sock.accept()
                            client.setblocking(False)
                            selector.register(client, selectors.EVENT_READ)
                            clients.append(client)
                            with self._lock:
                                self._connections += 1
                        continue
                    try:
                        data = sock.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data:  # the client went away
                        selector.unregister(sock)
                        clients.remove(sock)
                        sock.close()
        for client in clients:
            client.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(JOIN_TIMEOUT)
        super().close()
