"""``python -m pytest_connectors.sandbox [--seconds N]``: run one server of each kind.

Prints a JSON description (DNS address and port, CA file, every server's name, URL and
variant) and runs until Ctrl-C, or for N seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from . import EXTRA_HINT

if TYPE_CHECKING:
    from .core import Sandbox


def describe(sandbox: Sandbox, proxy_url: str | None) -> dict[str, Any]:
    servers = [
        {
            "name": server.name,
            "url": server.url,
            "variant": getattr(server, "variant", None)
            or getattr(server, "kind", None)
            or getattr(server, "mode", None),
        }
        for server in sandbox.servers
    ]
    return {
        "dns": {"address": sandbox.dns.address, "port": sandbox.dns.port},
        "ca_file": str(sandbox.ca_file),
        "proxy": proxy_url,
        "servers": servers,
    }


def _stop_on_sigterm() -> None:
    """SIGTERM (what `kill`, systemd and CI runners send) stops as Ctrl-C does: through the
    sandbox's exit, which stops its children (OpenBao, tinyproxy) instead of orphaning them."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_connectors.sandbox")
    parser.add_argument("--seconds", type=float, default=None, help="stop after N seconds")
    args = parser.parse_args(argv)
    _stop_on_sigterm()
    try:
        import dnslib  # noqa: F401  (the sandbox's own dependencies: the [sandbox] extra)
        import trustme  # noqa: F401
    except ModuleNotFoundError as exc:
        print(
            f"python -m pytest_connectors.sandbox needs the [sandbox] extra ({exc.name} is"
            f" missing): {EXTRA_HINT}",
            file=sys.stderr,
        )
        return 2
    try:
        return _serve(args.seconds)
    except KeyboardInterrupt:  # while starting: the servers started so far are stopped
        return 130


def _serve(seconds: float | None) -> int:
    from .certs import VARIANTS
    from .core import Sandbox
    from .netutil import SandboxUnavailable

    with Sandbox() as sandbox:
        for variant in VARIANTS:
            sandbox.https(f"{variant}.sandbox.test", variant)
        sandbox.http("plain.sandbox.test")
        sandbox.refusing("refusing.sandbox.test")
        sandbox.blackhole("blackhole.sandbox.test")
        sandbox.silent("silent.sandbox.test")
        sandbox.dns.fail("nxdomain.sandbox.test", "NXDOMAIN")
        sandbox.dns.fail("servfail.sandbox.test", "SERVFAIL")
        sandbox.dns.fail("timeout.sandbox.test", "TIMEOUT")
        sandbox.github()
        sandbox.gitlab()
        sandbox.registry()
        sandbox.kubernetes()
        vault: dict[str, Any] | None = None
        try:
            bao = sandbox.openbao()
            vault = {"url": bao.url, "root_token": bao.root_token, "admin_url": bao.admin_url}
        except SandboxUnavailable as exc:
            print(f"no OpenBao: {exc}", file=sys.stderr)
        try:
            proxy_url: str | None = sandbox.proxy().url
        except SandboxUnavailable as exc:
            proxy_url = None
            print(f"no proxy: {exc}", file=sys.stderr)
        print(json.dumps({**describe(sandbox, proxy_url), "vault": vault}, indent=2), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait(seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
