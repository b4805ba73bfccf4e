"""``python -m pytest_connectors.sandbox`` stops every child it started (OpenBao, tinyproxy)
when it is stopped with SIGTERM or Ctrl-C (SIGINT), instead of leaving them running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

STARTUP_S = 120.0  # OpenBao and tinyproxy start in well under a second; a loaded host is slow


def _children(pid: int) -> set[int]:
    """Every process whose parent is ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads child processes from /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_the_sandbox_cli_stops_its_children(signum: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_connectors.sandbox"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, (
                f"the sandbox ended early: {process.stderr.read() if process.stderr else ''}"
            )
            lines.append(line)
            if line.rstrip() == "}":
                break
        described = json.loads("".join(lines))
        children = _children(process.pid)
        if described["vault"] is None and described["proxy"] is None:
            pytest.skip("neither OpenBao nor tinyproxy could start here: no child to stop")
        assert children, "the sandbox reports OpenBao or a proxy, but has no child process"
        process.send_signal(signum)
        assert process.wait(timeout=60) in (0, 130)
        time.sleep(0.2)
        assert [pid for pid in children if _alive(pid)] == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
