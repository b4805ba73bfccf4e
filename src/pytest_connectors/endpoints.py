"""Where each connector type connects to: one place that turns a connector into endpoints.

Git HTTPS and SSH URLs (``git@host:org/repo`` is port 22), GitHub/GitLab/Bitbucket API bases,
the Kubernetes master, Vault, a Docker registry, and the AWS/GCP/Azure service endpoints a
delegate talks to (overridable per connector in the settings document).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .masking import redact_url, register_url_credentials
from .model import (
    AwsSpec,
    AzureSpec,
    Connector,
    DockerRegistrySpec,
    GcpSpec,
    KubernetesSpec,
    ScmSpec,
    VaultSpec,
)
from .refs import is_expression

DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22}
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?!//)(?P<path>.*)$")


@dataclass(frozen=True)
class Endpoint:
    role: str  # git, api, master, vault, registry, sts, token, resource-manager, login, arm
    scheme: str  # https | http | ssh
    host: str
    port: int
    path: str = "/"

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    @property
    def url(self) -> str:
        default = DEFAULT_PORTS.get(self.scheme)
        port = "" if self.port == default else f":{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}{port}{self.path}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class EndpointError(ValueError):
    """The connector's URL cannot be turned into an endpoint (incorrect-endpoint). ``url`` is
    the URL without any credentials written into it."""

    def __init__(self, url: str, problem: str) -> None:
        url = redact_url(url)
        super().__init__(f"{url}: {problem}")
        self.url = url
        self.problem = problem


def parse_url(url: str, role: str) -> Endpoint:
    """``https://host[:port]/path``, ``http://...``, ``ssh://[user@]host[:port]/...`` or
    the scp-like ``user@host:path`` form Git uses for SSH."""
    url = url.strip()
    register_url_credentials(url)  # the schema named them at load; a settings override too
    if "://" not in url:
        match = _SCP_LIKE.match(url)
        if not match:
            raise EndpointError(url, "not a URL (expected https://host/... or git@host:org/repo)")
        return Endpoint(role, "ssh", match["host"].lower(), 22, "/" + match["path"])
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EndpointError(url, f"malformed URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise EndpointError(url, f"unsupported scheme '{scheme}://'")
    if not parts.hostname:
        raise EndpointError(url, "names no host")
    return Endpoint(
        role, scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme], parts.path or "/"
    )


def _api_base(
    spec: ScmSpec,
    connector_type: str,
    git: Endpoint,
    provider: Mapping[str, Mapping[str, Any]] | None = None,
) -> Endpoint | None:
    override = (provider or {}).get("bitbucket", {}).get("apiUrl")
    if connector_type == "Bitbucket" and override:
        return parse_url(str(override), "api")  # the API base as given (Cloud: ends in /2.0)
    if connector_type == "Gitlab" and spec.api_url and not is_expression(spec.api_url):
        base = parse_url(spec.api_url, "api")  # the GitLab instance; /api/v4 is added per call
        path = base.path.rstrip("/").removesuffix("/api/v4") or "/"
        return Endpoint("api", base.scheme, base.host, base.port, path)
    host = git.host
    # The API lives where the web URL does; an SSH URL says nothing of the HTTPS port.
    scheme, port = (git.scheme, git.port) if git.scheme in ("https", "http") else ("https", 443)
    if connector_type == "Github":
        if host in ("github.com", "www.github.com"):
            return Endpoint("api", "https", "api.github.com", 443, "/")
        return Endpoint("api", scheme, host, port, "/api/v3")
    if connector_type == "Gitlab":
        return Endpoint("api", scheme, host, port, "/")
    if connector_type == "Bitbucket":
        if host in ("bitbucket.org", "www.bitbucket.org"):
            return Endpoint("api", "https", "api.bitbucket.org", 443, "/2.0")
        return Endpoint("api", scheme, host, port, "/rest/api/1.0")
    return None


def api_endpoint(
    connector: Connector, provider: Mapping[str, Mapping[str, Any]] | None = None
) -> Endpoint | None:
    """The REST API base of a Git provider connector (GitHub, GitLab, Bitbucket);
    ``provider`` is the connector's provider expectations (``bitbucket.apiUrl``)."""
    spec = connector.spec
    if not isinstance(spec, ScmSpec) or not spec.url or is_expression(spec.url):
        return None
    return _api_base(spec, connector.type, parse_url(spec.url, "git"), provider)


def _scm(
    connector: Connector, spec: ScmSpec, provider: Mapping[str, Mapping[str, Any]]
) -> list[Endpoint]:
    if not spec.url:
        return []
    git = parse_url(spec.url, "git")
    endpoints = [git]
    wants_api = spec.api_access is not None or spec.protocol == "Http"
    api = _api_base(spec, connector.type, git, provider) if wants_api else None
    if api is not None:
        endpoints.append(api)
    return endpoints


def _aws(spec: AwsSpec, overrides: Mapping[str, Any]) -> list[Endpoint]:
    if overrides.get("endpointUrl"):
        return [parse_url(str(overrides["endpointUrl"]), "sts")]
    region = spec.region if spec.region and not is_expression(spec.region) else "us-east-1"
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return [
        Endpoint("sts", "https", f"sts.{region}.{suffix}", 443),
        Endpoint("ec2", "https", f"ec2.{region}.{suffix}", 443),
    ]


def _gcp(overrides: Mapping[str, Any]) -> list[Endpoint]:
    if overrides.get("apiEndpoint"):
        return [parse_url(str(overrides["apiEndpoint"]), "resource-manager")]
    return [
        Endpoint("token", "https", "oauth2.googleapis.com", 443, "/token"),
        Endpoint("resource-manager", "https", "cloudresourcemanager.googleapis.com", 443),
    ]


def _azure(spec: AzureSpec, overrides: Mapping[str, Any]) -> list[Endpoint]:
    gov = spec.environment == "AZURE_US_GOVERNMENT"
    login = overrides.get("authorityHost") or (
        "https://login.microsoftonline.us" if gov else "https://login.microsoftonline.com"
    )
    arm = overrides.get("armEndpoint") or (
        "https://management.usgovcloudapi.net" if gov else "https://management.azure.com"
    )
    return [parse_url(str(login), "login"), parse_url(str(arm), "arm")]


def endpoints_for(
    connector: Connector, provider: Mapping[str, Mapping[str, Any]]
) -> list[Endpoint]:
    """The endpoints this connector's delegate must reach; raises :class:`EndpointError`.

    ``provider`` is the connector's provider expectations from the settings (e.g. ``aws``).
    """
    spec = connector.spec
    found: list[Endpoint] = []
    if isinstance(spec, ScmSpec):
        found = _scm(connector, spec, provider)
    elif isinstance(spec, KubernetesSpec) and spec.master_url:
        found = [parse_url(spec.master_url, "master")]
    elif isinstance(spec, VaultSpec) and spec.vault_url:
        found = [parse_url(spec.vault_url, "vault")]
    elif isinstance(spec, DockerRegistrySpec) and spec.url:
        found = [parse_url(spec.url, "registry")]
    elif isinstance(spec, AwsSpec):
        found = _aws(spec, provider.get("aws", {}))
    elif isinstance(spec, GcpSpec):
        found = _gcp(provider.get("gcp", {}))
    elif isinstance(spec, AzureSpec):
        found = _azure(spec, provider.get("azure", {}))
    # One endpoint per scheme, host and port: reachability and TLS are facts of the host.
    unique: dict[tuple[str, str, int], Endpoint] = {}
    for endpoint in found:
        unique.setdefault((endpoint.scheme, endpoint.host, endpoint.port), endpoint)
    return list(unique.values())


def has_endpoints(connector: Connector) -> bool:
    """Collection-time test: a connector whose definition names where it connects."""
    spec = connector.spec
    if isinstance(spec, ScmSpec):
        return bool(spec.url) and not is_expression(spec.url)
    if isinstance(spec, KubernetesSpec):
        return bool(spec.master_url) and not is_expression(spec.master_url)
    if isinstance(spec, VaultSpec):
        return bool(spec.vault_url) and not is_expression(spec.vault_url)
    if isinstance(spec, DockerRegistrySpec):
        return bool(spec.url) and not is_expression(spec.url)
    return isinstance(spec, (AwsSpec, GcpSpec, AzureSpec))
