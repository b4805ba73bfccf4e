"""A server that admits only ``limit`` requests at once: the concurrent-connection-limit peer.

An admitted request is counted as active and held until ``expect`` requests have arrived (or
``hold`` seconds have passed), then answered ``200``; that barrier makes "K in flight together"
deterministic whether the clients are threads of one process or xdist workers. Arrivals while
``limit`` requests are active get ``429 Too Many Requests`` with ``Retry-After`` (mode
``"429"``), ``503`` (mode ``"503"``), or a TCP reset (mode ``"reset"``: ``SO_LINGER`` 0, close).

HEAD requests (the connection probes' first-byte request) pass unlimited and uncounted unless
``limit_head`` is set, so the network checks of a run do not spend the limit. An admitted
request stops being active *before* its answer is written: a client that has its answer knows
the slot is free again. ``stats()`` gives ``arrivals``, ``ok``, ``limited``, ``max_active``.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
from typing import Any, Literal

from .httpserver import HttpServer, SandboxRequest, SandboxResponse, _RequestHandler

LimitMode = Literal["429", "503", "reset"]
MODES: tuple[str, ...] = ("429", "503", "reset")


class LimitServer(HttpServer):
    """``limit`` concurrent requests; see the module docstring. ``hold``, ``expect``,
    ``limit`` and ``mode`` may be changed between runs; ``reset_stats()`` starts afresh."""

    def __init__(
        self,
        name: str,
        *,
        limit: int = 2,
        mode: LimitMode = "429",
        hold: float = 2.0,
        expect: int | None = None,
        retry_after: int = 1,
        limit_head: bool = False,
        context: ssl.SSLContext | None = None,
        chain_pems: tuple[bytes, ...] = (),
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown limit mode {mode!r}; one of: {', '.join(MODES)}")
        if limit < 0 or hold < 0:
            raise ValueError("limit and hold must not be negative")
        self.limit = limit
        self.mode: LimitMode = mode
        self.hold = hold
        self.expect = expect if expect is not None else limit
        self.retry_after = retry_after
        self.limit_head = limit_head
        self._cond = threading.Condition()
        self._active = 0
        self._stats = {"arrivals": 0, "ok": 0, "limited": 0, "max_active": 0}
        super().__init__(
            name,
            context=context,
            handler=lambda request: SandboxResponse.json({"ok": True}),
            variant=f"limit-{limit}",
            chain_pems=chain_pems,
        )
        # Nobody knows the port yet, so no connection can have used the default handler.
        self._server.RequestHandlerClass = _LimitHandler

    # -- what tests read ---------------------------------------------------------------------

    @property
    def active(self) -> int:
        with self._cond:
            return self._active

    def stats(self) -> dict[str, int]:
        with self._cond:
            return dict(self._stats)

    def reset_stats(self) -> None:
        with self._cond:
            self._stats = dict.fromkeys(self._stats, 0)
        self.reset_counters()

    def limits(self, request: SandboxRequest) -> bool:
        return self.limit_head or request.method != "HEAD"

    # -- the limit ---------------------------------------------------------------------------

    def arrive(self) -> bool:
        """Count an arrival; True when admitted (then :meth:`leave` must follow)."""
        with self._cond:
            self._stats["arrivals"] += 1
            self._cond.notify_all()
            if self._active >= self.limit:
                self._stats["limited"] += 1
                return False
            self._active += 1
            self._stats["max_active"] = max(self._stats["max_active"], self._active)
            return True

    def wait_for_expected(self) -> None:
        deadline = time.monotonic() + self.hold
        with self._cond:
            while self._stats["arrivals"] < self.expect and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cond.wait(min(left, 0.05))

    def leave(self) -> None:
        with self._cond:
            self._active -= 1
            self._stats["ok"] += 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self._cond.notify_all()
        super().close()

    def __repr__(self) -> str:
        return f"<LimitServer {self.url} limit={self.limit} mode={self.mode}>"


class _LimitHandler(_RequestHandler):
    def _dispatch(self) -> None:
        owner = self.server.owner
        assert isinstance(owner, LimitServer)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        request = SandboxRequest(self.command, self.path, headers, body)
        if not owner.limits(request):
            owner.remember(request)
            owner.count("requests")
            self._answer(SandboxResponse(200, {}, b""))
            return
        owner.remember(request)
        if not owner.arrive():
            self._refuse(owner)
            return
        try:
            owner.wait_for_expected()
        finally:
            owner.leave()  # before the answer: a client that has it sees the slot free
        owner.count("requests")
        self._answer(SandboxResponse.json({"ok": True, "limit": owner.limit}))

    def _refuse(self, owner: LimitServer) -> None:
        self.close_connection = True
        if owner.mode == "reset":
            sock: Any = self.connection
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                socket.socket.close(sock)  # linger 0: the kernel answers with RST
            except OSError:
                pass
            return
        status = 429 if owner.mode == "429" else 503
        message = "too many concurrent requests" if status == 429 else "server busy"
        response = SandboxResponse.json(
            {"message": message},
            status=status,
            headers={"Retry-After": str(owner.retry_after), "Connection": "close"},
        )
        self._answer(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch


__all__ = ["MODES", "LimitMode", "LimitServer"]
