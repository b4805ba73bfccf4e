"""Network checks over many connectors: how close does a run get to the slowest connector?

N Vault connectors (N = 50, 200, 1000 by default) point at HTTPS servers of the sandbox, each
with 50 ms injected before the first byte and 50 ms on every DNS answer. For each N it prints
the wall time of the run serially and with ``-n 2``, and two references:

* bound: the same run with ``--connectors-offline`` (what no network check can avoid) plus the
  slowest connector's chain (DNS + connect + TLS + first byte, from the JSON report);
* no-latency: the same serial run with nothing injected. serial / no-latency near 1 means the
  injected round trips overlap (probes are concurrent) instead of adding up (N x 100 ms).

Target: 200 connectors within 2x of the bound.

Usage: ``python bench/network.py [N ...]``. Loopback only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pytest_connectors.sandbox import Sandbox

LATENCY = 0.05
SERVERS = 20
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def write_connectors(folder: Path, urls: list[str]) -> None:
    documents = [
        f"""connector:
  name: vault {i}
  identifier: vault_{i}
  type: Vault
  spec:
    vaultUrl: {url}
    authToken: account.vault_token
    delegateSelectors: [bench]
"""
        for i, url in enumerate(urls)
    ]
    for start in range(0, len(documents), 10):
        (folder / f"v{start // 10:04d}.yaml").write_text(
            "---\n".join(documents[start : start + 10])
        )
    # The servers only play endpoints, not Vault: the Vault API checks are skipped.
    skips = "".join(
        f"    account.vault_{i}: {{skip: [health, auth, permissions]}}\n" for i in range(len(urls))
    )
    (folder / "settings.yaml").write_text(f"pytestConnectors:\n  connectors:\n{skips}")


def run(folder: Path, sandbox: Sandbox, *extra: str) -> tuple[float, dict[str, object]]:
    report = folder.parent / "report.json"
    args = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        f"--connectors={folder}",
        f"--connectors-dns={sandbox.dns.address}:{sandbox.dns.port}",
        f"--connectors-ca-bundle={sandbox.ca_file}",
        "--delegate=bench", "--delegate-tags=bench", "--connectors-timeout=5",
        f"--connectors-report={report}", *extra,
    ]  # fmt: skip
    env = {**ENV, "CONNECTOR_SECRET_ACCOUNT_vault_token": "bench-token"}
    started = time.perf_counter()
    proc = subprocess.run(
        args, capture_output=True, text=True, env=env, cwd=folder.parent, check=False
    )
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(
            f"pytest failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr}"
        )
    return elapsed, json.loads(report.read_text())


def slowest_chain(report: dict[str, object]) -> float:
    slowest = 0.0
    for connector in report["connectors"]:  # type: ignore[attr-defined]
        chain = 0.0
        for check in connector["checks"]:
            evidence = check.get("evidence") or {}
            for value in evidence.values():
                if isinstance(value, dict):
                    chain += float(value.get("elapsed_s") or 0.0) + float(
                        value.get("total_s") or 0.0
                    )
        slowest = max(slowest, chain)
    return slowest


def set_latency(sandbox: Sandbox, servers: list[Any], seconds: float) -> None:
    for server in servers:
        server.latency = seconds
        sandbox.dns.delay(server.name, seconds)


def main(sizes: list[int]) -> None:
    header = (
        "N",
        "serial s",
        "-n 2 s",
        "bound s",
        "no-lat s",
        "serial/bound",
        "n2/bound",
        "ser/no-lat",
    )
    print("{:>5} {:>9} {:>8} {:>8} {:>9} {:>13} {:>9} {:>11}".format(*header))
    with Sandbox() as sandbox, tempfile.TemporaryDirectory() as tmp:
        servers = [sandbox.https(f"vault{i}.sandbox.test", latency=LATENCY) for i in range(SERVERS)]
        set_latency(sandbox, servers, LATENCY)
        for size in sizes:
            folder = Path(tmp, f"n{size}", "connectors")
            folder.mkdir(parents=True)
            urls = [f"{servers[i % SERVERS].url}/v1/c{i}" for i in range(size)]
            write_connectors(folder, urls)
            serial, report = run(folder, sandbox)
            parallel, _ = run(folder, sandbox, "-n", "2")
            static, _ = run(folder, sandbox, "--connectors-offline")
            bound = static + slowest_chain(report)
            set_latency(sandbox, servers, 0.0)
            quiet, _ = run(folder, sandbox)
            set_latency(sandbox, servers, LATENCY)
            failed = report["summary"]["failed"]  # type: ignore[index]
            note = f"  ({failed} connectors failed!)" if failed else ""
            print(
                f"{size:>5} {serial:9.2f} {parallel:8.2f} {bound:8.2f} {quiet:9.2f}"
                f" {serial / bound:13.2f} {parallel / bound:9.2f} {serial / quiet:11.2f}{note}"
            )
    print("bound = the same run with --connectors-offline + the slowest connector's network chain")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0], epilog="Prints a table; loopback only."
    )
    parser.add_argument(
        "sizes", nargs="*", type=int, metavar="N", help="connector counts (default: 50, 200, 1000)"
    )
    main(parser.parse_args().sizes or [50, 200, 1000])
