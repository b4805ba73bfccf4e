"""A plain install (no extras) loads in any project and runs a connectors folder of every type.

Run by ``scripts/plain-install`` with the Python of a fresh venv that holds only
``pip install <checkout>``: pytest must run an unrelated one-test project, and a folder with one
connector of each of the ten types (endpoints on a loopback HTTP server started here) must be
collected and checked without an import error; checks that need a missing extra say which.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
BROKEN = ("Error while loading plugin", "ModuleNotFoundError", "ImportError", "INTERNALERROR")
GCP_KEY = {"type": "service_account", "project_id": "p", "client_email": "sa@p.iam"}


class Quiet(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_PUT = do_GET

    def log_message(self, *args: object) -> None:
        pass


def pytest(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def fail(why: str, output: str) -> None:
    print(output)
    sys.exit(f"plain install: {why}")


def main() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_SECRET_", "PROXY"))}
    env["CONNECTOR_SECRET_ACCOUNT_tok"] = "plain-install-token"
    env["CONNECTOR_SECRET_ACCOUNT_gcp_key"] = json.dumps(GCP_KEY)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp, "unrelated")
        project.mkdir()
        Path(project, "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
        code, output = pytest([], project, env)
        if code != 0 or any(marker in output for marker in BROKEN):
            fail(f"an unrelated project's tests did not pass (exit {code})", output)
        print("plain install: an unrelated project's tests pass")

        folder = Path(tmp, "connectors")
        folder.mkdir()
        template = Path(HERE, "connectors.yaml").read_text()
        port = str(server.server_address[1])
        Path(folder, "connectors.yaml").write_text(template.replace("__PORT__", port))
        for mode in ([], ["--connectors-offline"]):
            args = ["--connectors", str(folder), "--delegate", "local", *mode]
            code, output = pytest([*args, "--connectors-timeout", "5"], Path(tmp), env)
            if code not in (0, 1) or any(marker in output for marker in BROKEN):
                fail(f"connectors of every type did not run (exit {code})", output)
            if "internal error" in output:
                fail("a check crashed", output)
            if not mode and "pytest-connectors[vault]" not in output:
                fail("the Vault checks did not name the missing extra", output)
            print(f"plain install: ten connector types {' '.join(mode) or 'online'}: exit {code}")
        sandbox = subprocess.run(
            [sys.executable, "-m", "pytest_connectors.sandbox", "--seconds", "1"],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        if sandbox.returncode != 2 or "pytest-connectors[sandbox]" not in sandbox.stderr:
            fail("the sandbox CLI did not name its extra", sandbox.stdout + sandbox.stderr)
        if "Traceback" in sandbox.stderr:
            fail("the sandbox CLI printed a traceback", sandbox.stderr)
        print("plain install: the sandbox CLI names the extra it needs")
    server.shutdown()


if __name__ == "__main__":
    main()
