"""The network demo: a sandbox on loopback and connectors that show every connectivity and TLS
failure mode next to healthy ones.

``python -m pytest_connectors.demo [pytest args]`` starts the sandbox, writes the connectors
(their ports change every run) into a temporary folder, and runs pytest on them as a delegate
would: resolving through the sandbox DNS, trusting the sandbox CA, going through its proxy for
one connector. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .sandbox import Sandbox

_VAULT = """connector:
  name: {title}
  identifier: {identifier}
  type: Vault
  spec:
    vaultUrl: {url}
    basePath: harness
    secretEngineName: secret
    secretEngineVersion: 2
    authToken: account.vault_token
    delegateSelectors: [demo]
"""

_DOCKER = """connector:
  name: {title}
  identifier: {identifier}
  type: DockerRegistry
  spec:
    dockerRegistryUrl: {url}
    providerType: Other
    auth: {{type: Anonymous}}
    delegateSelectors: [demo]
"""


def write_network_connectors(sandbox: Sandbox, folder: Path) -> None:
    """Healthy and broken connectors against ``sandbox``; one YAML file per theme."""
    folder.mkdir(parents=True, exist_ok=True)
    tls = {
        "vault_healthy": sandbox.https("vault.demo.test"),
        "vault_untrusted": sandbox.https("untrusted.demo.test", variant="untrusted"),
        "vault_self_signed": sandbox.https("selfsigned.demo.test", variant="self-signed"),
        "vault_expired": sandbox.https("expired.demo.test", variant="expired"),
        "vault_wrong_host": sandbox.https("wronghost.demo.test", variant="wrong-host"),
        "vault_incomplete": sandbox.https("chain.demo.test", variant="incomplete-chain"),
        "vault_expiring": sandbox.https("expiring.demo.test", variant="expiring"),
    }
    slow = sandbox.https("slow.demo.test", latency=0.7)
    slower = sandbox.https("slower.demo.test", latency=1.8)
    plain = sandbox.http("plain.demo.test")
    refusing = sandbox.refusing("closed.demo.test")
    blackhole = sandbox.blackhole("firewalled.demo.test")
    for name, mode in (("missing.demo.test", "NXDOMAIN"), ("broken-dns.demo.test", "SERVFAIL")):
        sandbox.dns.fail(name, mode)  # type: ignore[arg-type]
    connectivity = {
        "vault_nxdomain": "https://missing.demo.test:8200",
        "vault_servfail": "https://broken-dns.demo.test:8200",
        "vault_closed_port": refusing.url.replace("http://", "https://"),
        "vault_firewalled": blackhole.url.replace("http://", "https://"),
        "vault_plain_port": plain.url.replace("http://", "https://"),
        "vault_far_away": slow.url,
        "vault_timeout_too_low": slower.url,
    }
    documents = [
        _VAULT.format(title=identifier.replace("_", " "), identifier=identifier, url=server.url)
        for identifier, server in tls.items()
    ]
    (folder / "tls.yaml").write_text("---\n".join(documents))
    documents = [
        _VAULT.format(title=identifier.replace("_", " "), identifier=identifier, url=url)
        for identifier, url in connectivity.items()
    ]
    (folder / "connectivity.yaml").write_text("---\n".join(documents))
    registry = sandbox.https("registry.demo.test")
    (folder / "registry.yaml").write_text(
        _DOCKER.format(title="registry", identifier="registry_healthy", url=registry.url + "/v2/")
    )
    (folder / "settings.yaml").write_text(
        "pytestConnectors:\n"
        "  defaults: {timeout: 2, latencyBudget: 0.5}\n"
        "  delegates:\n"
        "    - {name: demo-delegate, tags: [demo], connected: true}\n"
    )


def write_proxy_connectors(sandbox: Sandbox, folder: Path) -> str:
    """Two connectors behind the delegate's proxy (the others are exempt by NO_PROXY): one the
    proxy lets through, one it refuses. Returns the proxy URL."""
    allowed = sandbox.https("api.partner.test")
    denied = sandbox.https("blocked.partner.test")
    proxy = sandbox.proxy(deny=[r"^blocked\.partner\.test$"])
    documents = [
        _DOCKER.format(title="partner registry", identifier="partner_registry", url=allowed.url),
        _DOCKER.format(title="blocked registry", identifier="blocked_registry", url=denied.url),
    ]
    (folder / "proxy.yaml").write_text("---\n".join(documents))
    return proxy.url


def main(argv: list[str]) -> int:
    with Sandbox() as sandbox:
        folder = Path(tempfile.mkdtemp(prefix="connectors-demo-"))
        try:
            write_network_connectors(sandbox, folder / "connectors")
            proxy_args: list[str] = []
            if shutil.which("tinyproxy"):
                proxy_url = write_proxy_connectors(sandbox, folder / "connectors")
                proxy_args = [f"--connectors-proxy={proxy_url}"]
            else:
                print("(tinyproxy is not installed: the proxy part of the demo is left out)")
            args = [
                sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(folder),
                f"--connectors={folder / 'connectors'}",
                f"--connectors-dns={sandbox.dns.address}:{sandbox.dns.port}",
                f"--connectors-ca-bundle={sandbox.ca_file}",
                "--delegate=demo-delegate", *proxy_args, *argv,
            ]  # fmt: skip
            env = {
                **os.environ,
                "CONNECTOR_SECRET_ACCOUNT_vault_token": "demo-vault-token-not-real",
                "NO_PROXY": ".demo.test",  # only *.partner.test goes through the proxy
            }
            return subprocess.run(args, env=env, cwd=folder, check=False).returncode
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
