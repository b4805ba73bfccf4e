"""What remediation steps render with, beyond the report's subject fields.

The subject of a report (``records.subject_info``) is a contract and stays small. The details a
step needs to print a command that runs as is are derived here, in one place: from the
connector's definition (its repository, API base, API server, Vault server, registry), from the
run (the delegate's tags, the re-run line of :mod:`.rerun`), and, in
``records.remediation_context``, from a finding's evidence. See ``catalogue.DERIVED_KEYS``.

Never a secret value: credentials appear as shell variables (``$TOKEN``) or file names
(``client.key``) that the steps tell the reader to fill, and references by name.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..delegate import Resolver
from ..endpoints import EndpointError, api_endpoint, endpoints_for, parse_url
from ..masking import redact_url
from ..model import (
    AwsSpec,
    AzureSpec,
    Connector,
    ConnectorSpec,
    Credential,
    DockerRegistrySpec,
    GcpSpec,
    KubernetesSpec,
    ScmSpec,
    VaultSpec,
)
from ..refs import is_expression
from ..stash import OPTIONS_KEY
from .rerun import RerunCommand

if TYPE_CHECKING:
    from ..checks.engine import CheckEngine

#: Where a pod's service-account token is mounted (Vault's Kubernetes auth default).
SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
#: The names ``docker login`` takes for Docker Hub, whatever URL the connector uses.
_DOCKER_HUB = {"registry.hub.docker.com", "index.docker.io", "registry-1.docker.io", "docker.io"}
#: kubectl credential options per auth kind: shell variables and files, never values.
_KUBECTL_CREDENTIALS = {
    "ServiceAccount": '--token="$TOKEN"',
    "ClientKeyCert": "--client-certificate=client.crt --client-key=client.key",
    "UsernamePassword": '--username="$K8S_USER" --password="$K8S_PASSWORD"',
}

_RERUN_KEY = pytest.StashKey[RerunCommand]()


def _literal(value: object) -> str | None:
    """A plain value of the definition: not empty, not a ``<+...>`` runtime expression."""
    if not isinstance(value, str) or not value.strip() or is_expression(value):
        return None
    return value.strip()


def _quoted(value: str | None) -> str | None:
    return shlex.quote(value) if value else None


def _url(value: object) -> str | None:
    """A URL of the definition as a command may quote it: without credentials written in it."""
    url = _literal(value)
    return redact_url(url) if url else None


def auth_kind(spec: ConnectorSpec) -> str | None:
    """The credential kind steps are limited by (``Step.auths``)."""
    if isinstance(spec, ScmSpec):
        credential = spec.api_access or spec.auth
        return credential.kind if credential else None
    credential_type = getattr(spec, "credential_type", None)
    if credential_type in ("InheritFromDelegate", "Irsa", "OidcAuthentication"):
        return str(credential_type)
    if isinstance(spec, (AwsSpec, GcpSpec)):
        return _literal(credential_type)
    auth: Credential | None = getattr(spec, "auth", None)
    return auth.kind if auth else None


def _scm(connector: Connector, spec: ScmSpec, provider: Mapping[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {}
    url = _url(spec.url)
    if url:
        repository = _literal(spec.validation_repo)
        if spec.connection_type == "Account" and repository:
            url = f"{url.rstrip('/')}/{repository.lstrip('/')}"
        details["repo_url"] = _quoted(url)
    try:
        api = api_endpoint(connector, provider)
    except EndpointError:
        api = None
    if api is not None:
        base = api.url.rstrip("/")
        details["api_url"] = _quoted(f"{base}/api/v4" if connector.type == "Gitlab" else base)
    return details


def _kubernetes(spec: KubernetesSpec) -> dict[str, Any]:
    if spec.credential_type == "InheritFromDelegate":
        return {"kubectl": "kubectl"}
    master = _url(spec.master_url)
    credential = spec.auth
    if master is None or credential is None or credential.kind not in _KUBECTL_CREDENTIALS:
        return {}
    words = ["kubectl", shlex.quote(f"--server={master}"), _KUBECTL_CREDENTIALS[credential.kind]]
    if "caCertRef" in credential.refs:
        words.append("--certificate-authority=ca.crt")
    return {"kubectl": " ".join(words)}


def _vault(spec: VaultSpec) -> dict[str, Any]:
    details: dict[str, Any] = {}
    url = _url(spec.vault_url)
    if url:
        details["vault_url"] = _quoted(url.rstrip("/"))
        flags = [shlex.quote(f"-address={url.rstrip('/')}")]
        namespace = _literal(spec.namespace)
        if namespace:
            flags.append(shlex.quote(f"-namespace={namespace}"))
        details["vault_flags"] = " ".join(flags)
    engine = (_literal(spec.engine_name) or "secret").strip("/")
    base = (_literal(spec.base_path) or "").strip("/")
    kv2 = (spec.engine_version or 2) == 2
    details["vault_data_path"] = "/".join(p for p in (engine, "data" if kv2 else "", base) if p)
    details["vault_list_path"] = "/".join(p for p in (engine, "metadata" if kv2 else "", base) if p)
    needed = ("read",) if spec.read_only else ("create", "read", "update", "delete")
    details["vault_capabilities"] = ", ".join(f'"{capability}"' for capability in needed)
    credential = spec.auth
    values = credential.values if credential else {}
    if credential is None:
        return details
    if credential.kind == "AppRole":
        details["vault_login_path"] = "auth/approle/login"
        details["vault_role_id"] = _quoted(_literal(values.get("appRoleId")))
    elif credential.kind == "K8sAuth":
        mount = (_literal(values.get("k8sAuthEndpoint")) or "kubernetes").strip("/")
        details["vault_login_path"] = _quoted(f"auth/{mount}/login")
        details["vault_role"] = _quoted(_literal(values.get("vaultK8sAuthRole")))
        path = _literal(values.get("serviceAccountTokenPath")) or SERVICE_ACCOUNT_TOKEN
        details["token_path"] = _quoted(path)
    elif credential.kind == "VaultAgent":
        details["token_path"] = _quoted(_literal(values.get("sinkPath")))
    return details


def _registry(spec: DockerRegistrySpec) -> dict[str, Any]:
    url = _literal(spec.url)
    if url is None:
        return {}
    try:
        endpoint = parse_url(url, "registry")
    except EndpointError:
        return {}
    host = endpoint.host if endpoint.port in (80, 443) else endpoint.address
    root = endpoint.url.rstrip("/").removesuffix("/v2").removesuffix("/v1")
    return {
        "registry": _quoted("docker.io" if endpoint.host in _DOCKER_HUB else host),
        "registry_url": _quoted(root),
    }


def _azure(spec: AzureSpec) -> dict[str, Any]:
    details = {
        "application_id": _quoted(_literal(spec.application_id)),
        "tenant_id": _quoted(_literal(spec.tenant_id)),
    }
    if spec.credential_type == "InheritFromDelegate" and spec.auth is not None:
        details["identity_client_id"] = _quoted(_literal(spec.auth.values.get("clientId")))
    return details


def connector_details(
    connector: Connector, provider: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The connector-derived keys of ``catalogue.DERIVED_KEYS``, quoted for a shell where a
    command takes them; ``provider`` is the connector's provider expectations (settings)."""
    provider = provider or {}
    spec = connector.spec
    details: dict[str, Any] = {"auth": auth_kind(spec)}
    if isinstance(spec, ScmSpec):
        details.update(_scm(connector, spec, provider))
    elif isinstance(spec, KubernetesSpec):
        details.update(_kubernetes(spec))
    elif isinstance(spec, VaultSpec):
        details.update(_vault(spec))
    elif isinstance(spec, DockerRegistrySpec):
        details.update(_registry(spec))
    elif isinstance(spec, AzureSpec):
        details.update(_azure(spec))
    try:
        found = endpoints_for(connector, provider) if connector.supported else []
    except EndpointError:
        found = []
    # For target_url: the endpoint on the host a finding names (see remediation_context).
    details["endpoint_urls"] = {e.host: e.url for e in found if e.scheme in ("http", "https")}
    return {key: value for key, value in details.items() if value}


def rerun_command(config: pytest.Config) -> RerunCommand:
    """This run's re-run options, computed once per run (per xdist worker)."""
    command = config.stash.get(_RERUN_KEY, None)
    if command is None:
        command = RerunCommand.from_options(config.stash[OPTIONS_KEY], config.invocation_params.dir)
        config.stash[_RERUN_KEY] = command
    return command


def remediation_values(
    config: pytest.Config, path: Path, ref: str, subject: object, engine: CheckEngine
) -> dict[str, Any]:
    """Everything a failure of ``subject`` (item ``<path>::<ref>[...]``) renders with, besides
    its subject fields and the finding's evidence."""
    values: dict[str, Any] = dict(rerun_command(config).context(path, ref))
    if engine.delegate.tags:
        values["delegate_tags"] = ", ".join(engine.delegate.tags)
    if isinstance(subject, Connector):
        expectations = engine.settings.expectations_for(subject.ref)
        values.update(connector_details(subject, expectations.provider))
    return values


_ASSUMED_ROLE = re.compile(r"^arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([^/]+)/.+$")


def _resolver(text: str) -> Resolver | None:
    """The first resolver of the evidence, unless it is the system one or a literal IP."""
    try:
        resolver = Resolver.parse(text.split(",")[0])
        ipaddress.ip_address(resolver.address)
    except ValueError:
        return None
    return resolver


def evidence_details(context: Mapping[str, Any]) -> dict[str, Any]:
    """Keys read from a finding's evidence (and the connector's endpoints) in ``context``."""
    details: dict[str, Any] = {}
    resolver = _resolver(str(context.get("resolver") or ""))
    if resolver is not None:
        details["resolver_address"] = resolver.address
        details["resolver_port"] = resolver.port
    denied = str(context.get("denied") or "")
    if denied:
        details["first_denied"] = denied.split(",")[0].strip()
    caller = _ASSUMED_ROLE.match(str(context.get("caller_arn") or ""))
    if caller is not None:
        partition, account, role = caller.groups()
        details["caller_role_arn"] = f"arn:{partition}:iam::{account}:role/{role}"
    path, _, key = str(context.get("vault_path") or "").rpartition("#")
    if path and key:
        details["vault_read_path"] = _quoted(path)
        details["vault_key"] = key
    urls = context.get("endpoint_urls")
    host = context.get("host")
    if isinstance(urls, Mapping) and host in urls:
        details["target_url"] = _quoted(str(urls[host]))
    return details
