"""``concurrency`` (only with ``--connectors-concurrency N``): N parallel requests to a cheap
endpoint of the connector, and what throttles them.

The N requests wait at a barrier, so they are really in flight together. A request is
*throttled* when it gets 429, 502/503/504, GitHub's 403 "rate limit", or no answer at all
(reset, refused, closed, timeout). When some are throttled, one request is retried alone once
nothing else to the host is in flight: success means the host limits concurrent connections
(``concurrent-connection-limit``, with the number that was in flight); a lone 429 is
``rate-limited``; any other lone failure is reported as the endpoint's own error.

In flight counts every request of the run to the same host, also those of other xdist workers:
each request holds a file ``<tmp>/pytest-connectors-inflight/<run id>/<host>_<port>/<unique>``
for its duration and then logs its start and end there; ``in_flight`` counts the requests whose
run overlapped (see :class:`InFlight`). The run id is ``PYTEST_XDIST_TESTRUNUID`` (the same
in every worker of a run), else this process's id.

Target: GitHub ``GET /rate_limit`` and GitLab ``GET /api/v4/version`` with the connector's
token (calls that cost no rate limit); any other connector: the root of its first HTTP(S)
endpoint, without credentials.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..endpoints import Endpoint
from ..model import Connector, ScmSpec
from ..probes.deadline import AnswerTooLarge
from ..probes.http import HttpResult, request
from ..results import Failure, Phase, Skip
from . import Check
from .context import CheckContext, CollectContext
from .network import CONNECTED, applies_to_network, endpoints, trust

RUN_ID_ENV = "PYTEST_XDIST_TESTRUNUID"
INFLIGHT_DIR = "pytest-connectors-inflight"
THROTTLE_STATUSES = frozenset({429, 502, 503, 504})
_NEEDS = (*CONNECTED, "auth")


# -- the shared in-flight counter ---------------------------------------------------------------


def run_id() -> str:
    """Identical in every xdist worker of one run (and unique per run)."""
    return os.environ.get(RUN_ID_ENV) or f"pid{os.getpid()}"


class InFlight:
    """Requests in flight to one host, across the threads and processes of this run.

    A request holds the file ``<start_ns>-<pid>-<thread>-<random>`` while it runs and, when it
    ends, appends ``<name> <start_ns> <end_ns>`` to ``log``. A request's ``in_flight`` is the
    number of requests (itself included) whose run overlapped its own: those still open, and
    those in the log. That is exact however short the overlap was (a request the server held
    until this one arrived, and released at once, still counts).
    """

    LOG = "log"
    STALE_S = 86400.0  # run directories older than this are removed when a new run starts

    def __init__(self, host: str, port: int, root: Path | None = None) -> None:
        self.base = root if root is not None else Path(tempfile.gettempdir()) / INFLIGHT_DIR
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", f"{host}_{port}")
        self.run = self.base / re.sub(r"[^A-Za-z0-9._-]", "_", run_id())
        self.path = self.run / safe

    def _open_entries(self) -> dict[str, int]:
        try:
            names = [e.name for e in os.scandir(self.path) if e.name != self.LOG]
        except FileNotFoundError:
            return {}
        return {name: int(name.split("-", 1)[0]) for name in names}

    def count(self) -> int:
        """Requests in flight now."""
        return len(self._open_entries())

    def overlapping(self, name: str, start: int, end: int) -> int:
        """Requests whose run overlapped ``[start, end]`` (ns), ``name`` itself included."""
        seen = {name} | set(self._open_entries())
        with contextlib.suppress(OSError):
            for line in (self.path / self.LOG).read_text(encoding="ascii").splitlines():
                parts = line.split()
                if len(parts) == 3 and int(parts[1]) <= end and int(parts[2]) >= start:
                    seen.add(parts[0])
        return len(seen)

    def _prune(self) -> None:
        if self.run.exists():
            return
        limit = time.time() - self.STALE_S
        with contextlib.suppress(OSError):
            for old in self.base.iterdir():
                if old.is_dir() and old.stat().st_mtime < limit:
                    shutil.rmtree(old, ignore_errors=True)

    def _create(self, name: str) -> Path:
        self._prune()
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)
        return self.path / name

    @contextlib.contextmanager
    def entry(self) -> Iterator[Callable[[], int]]:
        """Registers one request while the block runs; yields ``in_flight()``: how many
        requests have overlapped this one so far (itself included)."""
        start = time.time_ns()
        name = f"{start}-{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex[:12]}"
        try:
            mine: Path | None = self._create(name)
        except OSError:
            mine = None  # no shared counter: only this request is known

        def in_flight() -> int:
            if mine is None:
                return 1
            return self.overlapping(name, start, time.time_ns())

        try:
            yield in_flight
        finally:
            if mine is not None:
                line = f"{name} {start} {time.time_ns()}\n".encode("ascii")
                with contextlib.suppress(OSError):
                    fd = os.open(
                        self.path / self.LOG, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600
                    )
                    try:
                        os.write(fd, line)  # one small O_APPEND write: never interleaved
                    finally:
                        os.close(fd)
                with contextlib.suppress(OSError):
                    mine.unlink()

    def wait_idle(self, timeout: float) -> int:
        """Wait (up to ``timeout``) until nothing is in flight; returns what still is."""
        deadline = time.monotonic() + timeout
        while (left := self.count()) and time.monotonic() < deadline:
            time.sleep(0.02)
        return left


# -- one request --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    ok: bool
    label: str  # "200", "429", "reset", "refused", "closed", "timeout", "error"
    result: HttpResult | None = None
    failure: Failure | None = None
    in_flight: int = 1


def _error_label(error: str) -> str:
    text = error.lower()
    if "timeout" in text:
        return "timeout"
    if "reset" in text or "errno 104" in text:
        return "reset"
    if "refused" in text or "errno 111" in text:
        return "refused"
    if "disconnect" in text or "closed" in text or "eof" in text or "readerror" in text:
        return "closed"
    return "error"


def _rate_limited(result: HttpResult) -> bool:
    return result.status == 429 or (
        result.status == 403
        and (
            "rate limit" in result.message.lower()
            or result.headers.get("x-ratelimit-remaining") == "0"
        )
    )


def _judge(send: Callable[[], HttpResult]) -> Attempt:
    try:
        result = send()
    except Failure as exc:
        finding = exc.finding
        if finding.mode == "insecure-transport":
            raise
        problem = str(finding.evidence.get("problem") or finding.evidence.get("reason") or "")
        if problem.startswith("redirect"):
            return Attempt(True, "3xx", failure=exc)  # an answer: the host is not throttling
        label = "timeout" if finding.mode == "connection-timeout" else _error_label(problem)
        return Attempt(False, label, failure=exc)
    if result.error is not None:
        if isinstance(result.limit, AnswerTooLarge):  # a limit of ours, not the server's
            return Attempt(False, "too large", result)
        label = "timeout" if result.limit is not None else _error_label(result.error)
        return Attempt(False, label, result)
    assert result.status is not None
    throttled = result.status in THROTTLE_STATUSES or _rate_limited(result)
    return Attempt(not throttled, str(result.status), result)


# -- the target ---------------------------------------------------------------------------------


def _target(ctx: CheckContext) -> tuple[Endpoint, Callable[[], HttpResult]]:
    from . import github, gitlab  # providers load only for a run that probes capacity

    connector = ctx.connector
    spec = connector.spec
    if connector.type == "Github" and isinstance(spec, ScmSpec):
        with contextlib.suppress(Skip):
            github._token(ctx)
            return github._api(ctx), lambda: github._call(ctx, "/rate_limit")
    if connector.type == "Gitlab" and isinstance(spec, ScmSpec) and gitlab._credential(spec):
        with contextlib.suppress(Skip):
            return gitlab._base(ctx), lambda: gitlab._call(ctx, "/version")
    web = [e for e in endpoints(ctx) if e.scheme in ("http", "https")]
    if not web:
        raise Skip("no HTTP(S) endpoint to send parallel requests to")
    root = dataclasses.replace(web[0], path="/")
    connector_trust = trust(ctx)
    return root, lambda: request(ctx.prober, root, "/", connector_trust)


def _address(endpoint: Endpoint) -> str:
    return endpoint.host if endpoint.port in (80, 443) else f"{endpoint.host}:{endpoint.port}"


# -- the check ----------------------------------------------------------------------------------


def _parallel(
    n: int, send: Callable[[], HttpResult], inflight: InFlight, timeout: float
) -> list[Attempt]:
    barrier = threading.Barrier(n)

    def one(_: int) -> Attempt:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout)
        with inflight.entry() as peak:
            attempt = _judge(send)
            return dataclasses.replace(attempt, in_flight=peak())

    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="connectors-concurrency") as pool:
        return list(pool.map(one, range(n)))


def _lone_failure(ctx: CheckContext, host: str, lone: Attempt, evidence: dict[str, Any]) -> None:
    result = lone.result
    if result is not None and result.status is not None:
        if _rate_limited(result) or result.headers.get("retry-after"):
            raise Failure(
                "rate-limited",
                f"{host} throttles even a single request ({result.status} {result.message})",
                retry_after=result.headers.get("retry-after"),
                **evidence,
            )
        raise Failure(
            "incorrect-endpoint",
            f"{result.url} answers {result.status} {result.message} even to a single request",
            url=result.url,
            problem=f"{result.status} {result.message}",
            **evidence,
        )
    if lone.failure is not None:
        raise lone.failure
    assert result is not None
    mode = "port-unreachable" if lone.label == "refused" else "incorrect-endpoint"
    raise Failure(mode, f"{result.url}: {result.error}", url=result.url, problem=result.error)


def check_concurrency(ctx: CheckContext) -> None:
    n = ctx.options.concurrency
    if not n or n < 1:
        raise Skip("--connectors-concurrency is not set")
    base, send = _target(ctx)
    host = _address(base)
    inflight = InFlight(base.host, base.port)
    attempts = _parallel(n, send, inflight, ctx.prober.timeout)
    throttled = [a for a in attempts if not a.ok]
    outcomes = dict(sorted(Counter(a.label for a in attempts).items()))
    evidence: dict[str, Any] = {
        "host": host,
        "attempted": n,
        "failed": len(throttled),
        "in_flight": max((a.in_flight for a in (throttled or attempts)), default=0),
        "outcomes": outcomes,
    }
    ctx.note(url=base.url, **evidence)
    if not throttled:
        return
    inflight.wait_idle(ctx.prober.timeout)
    with inflight.entry():
        lone = _judge(send)
    ctx.note(alone=lone.label)
    if not lone.ok:
        _lone_failure(ctx, host, lone, evidence)
    shown = ", ".join(f"{count} {label}" for label, count in outcomes.items())
    raise Failure(
        "concurrent-connection-limit",
        f"{len(throttled)} of {n} parallel requests to {host} were throttled ({shown}) with"
        f" {evidence['in_flight']} in flight; one request alone succeeds ({lone.label})",
        alone=lone.label,
        **evidence,
    )


def _applies(connector: Connector, collect: CollectContext) -> bool:
    return bool(collect.options.concurrency) and applies_to_network(connector, collect)


CONCURRENCY = Check(
    "concurrency",
    Phase.CAPACITY,
    check_concurrency,
    _applies,
    _NEEDS,
    network=True,
    description="N parallel requests (--connectors-concurrency N) are not throttled",
)

__all__ = ["CONCURRENCY", "InFlight", "check_concurrency", "run_id"]
