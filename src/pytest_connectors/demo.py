"""The network demo: a sandbox on loopback and connectors that show every connectivity and TLS
failure mode next to healthy ones, plus a real OpenBao (Vault API) that also holds another
connector's secret, and a Kubernetes API.

``python -m pytest_connectors.demo [pytest args]`` starts the sandbox, writes the connectors
(their ports change every run) into a temporary folder, and runs pytest on them as a delegate
would: resolving through the sandbox DNS, trusting the sandbox CA, going through its proxy for
one connector. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
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


_SECRET = """secret:
  type: SecretText
  name: {identifier}
  identifier: {identifier}
  spec:
    secretManagerIdentifier: {manager}
    valueType: Reference
    value: {value}
"""

_REGISTRY_BASIC = """connector:
  name: {title}
  identifier: {identifier}
  type: DockerRegistry
  spec:
    dockerRegistryUrl: {url}/v2/
    providerType: Other
    auth:
      type: UsernamePassword
      spec: {{username: ci, passwordRef: {password_ref}}}
    delegateSelectors: [demo]
"""

_K8S = """connector:
  name: {title}
  identifier: {identifier}
  type: K8sCluster
  spec:
    credential:
      type: ManualConfig
      spec:
        masterUrl: {url}
        auth:
          type: ServiceAccount
          spec: {{serviceAccountTokenRef: {token_ref}}}
    delegateSelectors: [demo]
"""

#: Tokens and passwords the demo makes up (sandbox-only values), by secret identifier.
DemoSecrets = dict[str, str]
#: Demo connectors whose server only plays an endpoint, not a Vault: its Vault API checks skip.
ENDPOINT_ONLY = ("health", "auth", "permissions")


def _service_account_jwt(namespace: str, name: str) -> str:
    """A service-account token shaped like the real ones (no ``exp``: it never expires)."""

    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims = {
        "iss": "kubernetes/serviceaccount",
        "sub": f"system:serviceaccount:{namespace}:{name}",
    }
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.ZGVtby1zaWduYXR1cmU"


def write_vault_connectors(sandbox: Sandbox, folder: Path, secrets: DemoSecrets) -> str:
    """A real OpenBao (healthy, plus broken tokens and policies), a sealed one, and a registry
    whose password is kept in the healthy one. Returns the healthy server's URL."""
    bao = sandbox.openbao("vault.demo.test")
    bao.policy(
        "harness",
        'path "secret/data/harness/*" { capabilities = ["create", "read", "update", "delete"] }\n'
        'path "secret/metadata/harness/*" { capabilities = ["list", "read", "delete"] }\n'
        'path "secret/data/ci/*" { capabilities = ["read"] }\n',
    )
    bao.policy("reader", 'path "secret/data/harness/*" { capabilities = ["read"] }\n')
    secrets["vault_token"] = bao.token(["harness"], ttl="720h")
    secrets["vault_reader_token"] = bao.token(["reader"], ttl="720h")
    secrets["vault_short_token"] = bao.token(["harness"], ttl="10m")
    secrets["vault_wrong_token"] = "s.demo-token-nobody-issued"
    registry, fake = sandbox.registry("registry.vault.demo.test", token_server=False)
    password = "demo-registry-password-kept-in-vault"
    fake.add_user("ci", password)
    bao.kv_put("ci/registry", {"password": password})
    sealed = sandbox.openbao("sealed.demo.test")
    secrets["vault_sealed_token"] = sealed.token(["default"])
    sealed.seal()

    def vault(identifier: str, url: str, token: str, extra: str = "") -> str:
        return (
            _VAULT.format(
                title=identifier.replace("_", " "), identifier=identifier, url=url
            ).replace("account.vault_token", f"account.{token}")
            + extra
        )

    documents = [
        vault("vault_read_only_no_list", bao.url, "vault_reader_token", "    readOnly: true\n"),
        vault("vault_wrong_token", bao.url, "vault_wrong_token"),
        vault("vault_token_lapses", bao.url, "vault_short_token",
              "    renewalIntervalMinutes: 60\n"),
        vault("vault_sealed", sealed.url, "vault_sealed_token"),
        _SECRET.format(identifier="registry_pw", manager="vault_healthy",
                       value="ci/registry#password"),
        _SECRET.format(identifier="registry_pw_moved", manager="vault_healthy",
                       value="ci/old-registry#password"),
        _SECRET.format(identifier="sealed_pw", manager="vault_sealed", value="ci/app#password"),
        _REGISTRY_BASIC.format(title="registry with password in Vault", url=registry.url,
                               identifier="registry_vault_password",
                               password_ref="account.registry_pw"),
        _REGISTRY_BASIC.format(title="registry with a moved Vault secret", url=registry.url,
                               identifier="registry_vault_missing",
                               password_ref="account.registry_pw_moved"),
        _REGISTRY_BASIC.format(title="registry with its secret in a sealed Vault",
                               url=registry.url, identifier="registry_vault_sealed",
                               password_ref="account.sealed_pw"),
    ]  # fmt: skip
    (folder / "vault.yaml").write_text("---\n".join(documents))
    return bao.url


def write_kubernetes_connectors(sandbox: Sandbox, folder: Path, secrets: DemoSecrets) -> None:
    """A Kubernetes API: a deployer with every permission, one with too few, a stale token."""
    server, fake = sandbox.kubernetes("k8s.demo.test")
    accounts = {"k8s_healthy": "deployer", "k8s_rbac_too_narrow": "viewer", "k8s_bad_token": ""}
    for identifier, name in accounts.items():
        token = _service_account_jwt("harness", name or "deleted")
        secrets[f"{identifier}_token"] = token
        if name:
            fake.add_token(token, f"system:serviceaccount:harness:{name}")
    fake.grant_all("system:serviceaccount:harness:deployer")
    fake.grant("system:serviceaccount:harness:viewer", [""], ["pods", "services"], ["get", "list"])
    fake.grant("system:serviceaccount:harness:viewer", ["apps"], ["deployments"], ["*"])
    documents = [
        _K8S.format(title=identifier.replace("_", " "), identifier=identifier, url=server.url,
                    token_ref=f"account.{identifier}_token")
        for identifier in accounts
    ]  # fmt: skip
    (folder / "kubernetes.yaml").write_text("---\n".join(documents))


def write_network_connectors(
    sandbox: Sandbox, folder: Path, secrets: DemoSecrets | None = None
) -> None:
    """Healthy and broken connectors against ``sandbox``; one YAML file per theme. The secrets
    the connectors need are added to ``secrets`` (reference identifier → value)."""
    folder.mkdir(parents=True, exist_ok=True)
    secrets = {} if secrets is None else secrets
    vault_url = write_vault_connectors(sandbox, folder, secrets)
    write_kubernetes_connectors(sandbox, folder, secrets)
    tls = {
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
        _VAULT.format(title="vault healthy", identifier="vault_healthy", url=vault_url),
        *(
            _VAULT.format(title=identifier.replace("_", " "), identifier=identifier, url=s.url)
            for identifier, s in tls.items()
        ),
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
    # The TLS and connectivity connectors are Vault connectors only in name: plain sandbox
    # servers play their endpoints, so their Vault API checks are skipped by the settings.
    skip = ", ".join(ENDPOINT_ONLY)
    endpoint_only = [*tls, *connectivity]
    (folder / "settings.yaml").write_text(
        "pytestConnectors:\n"
        "  defaults: {timeout: 2, latencyBudget: 0.5}\n"
        "  delegates:\n"
        "    - {name: demo-delegate, tags: [demo], connected: true}\n"
        "  connectors:\n"
        + "".join(f"    account.{name}: {{skip: [{skip}]}}\n" for name in endpoint_only)
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
            secrets: DemoSecrets = {}
            write_network_connectors(sandbox, folder / "connectors", secrets)
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
                **{f"CONNECTOR_SECRET_ACCOUNT_{name}": value for name, value in secrets.items()},
                "NO_PROXY": ".demo.test",  # only *.partner.test goes through the proxy
            }
            return subprocess.run(args, env=env, cwd=folder, check=False).returncode
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
