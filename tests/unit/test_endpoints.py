"""Endpoint derivation per connector type: one place that says where a connector connects."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pytest_connectors.endpoints import Endpoint, EndpointError, endpoints_for, parse_url
from pytest_connectors.model import Connector

Build = Callable[[str], Any]


def _endpoints(build: Build, yaml: str, provider: dict[str, Any] | None = None) -> list[str]:
    connector = build(yaml)
    assert isinstance(connector, Connector)
    return [f"{e.role} {e.url}" for e in endpoints_for(connector, provider or {})]


def _github(url: str, auth: str = "Http") -> str:
    spec = (
        "{type: Http, spec: {type: UsernameToken, spec: {username: u, tokenRef: account.t}}}"
        if auth == "Http"
        else "{type: Ssh, spec: {sshKeyRef: account.k}}"
    )
    return f"""
connector:
  name: gh
  identifier: gh
  type: Github
  spec:
    type: Repo
    url: {url}
    authentication: {spec}
"""


@pytest.mark.parametrize(
    ("url", "auth", "expected"),
    [
        (
            "https://github.com/acme/app.git",
            "Http",
            ["git https://github.com/acme/app.git", "api https://api.github.com/"],
        ),
        (
            "https://ghe.corp.test:8443/acme/app",
            "Http",
            ["git https://ghe.corp.test:8443/acme/app"],  # the API shares its host and port
        ),
        ("git@github.com:acme/app.git", "Ssh", ["git ssh://github.com/acme/app.git"]),
        ("ssh://git@ghe.corp.test:2222/acme/app", "Ssh", ["git ssh://ghe.corp.test:2222/acme/app"]),
    ],
)
def test_github_git_and_api(build: Build, url: str, auth: str, expected: list[str]) -> None:
    assert _endpoints(build, _github(url, auth)) == expected


def test_gitlab_api_url_and_default(build: Build) -> None:
    base = """
connector:
  name: gl
  identifier: gl
  type: Gitlab
  spec:
    type: Repo
    url: https://gitlab.corp.test/group/app.git
    authentication: {type: Http, spec: {type: UsernameToken, spec: {username: u, tokenRef: t}}}
"""
    # Same host and port as the Git URL: one endpoint to probe for connectivity.
    assert _endpoints(build, base) == ["git https://gitlab.corp.test/group/app.git"]
    with_api = (
        base
        + "    apiAccess: {type: Token, spec: {tokenRef: t, apiUrl: https://api.gl.test:9443}}\n"
    )
    assert _endpoints(build, with_api)[1] == "api https://api.gl.test:9443/"


def test_kubernetes_vault_and_registry(build: Build) -> None:
    k8s = """
connector:
  name: k
  identifier: k
  type: K8sCluster
  spec:
    credential:
      type: ManualConfig
      spec:
        masterUrl: https://10.0.0.1:6443
        auth: {type: ServiceAccount, spec: {serviceAccountTokenRef: t}}
"""
    assert _endpoints(build, k8s) == ["master https://10.0.0.1:6443/"]
    vault = """
connector:
  name: v
  identifier: v
  type: Vault
  spec: {vaultUrl: "http://vault.corp.test:8200", authToken: t}
"""
    assert _endpoints(build, vault) == ["vault http://vault.corp.test:8200/"]


def test_aws_region_and_override(build: Build) -> None:
    aws = """
connector:
  name: a
  identifier: a
  type: Aws
  spec:
    credential:
      type: ManualConfig
      spec: {accessKey: AKIA, secretKeyRef: s}
      region: eu-west-1
"""
    assert _endpoints(build, aws) == [
        "sts https://sts.eu-west-1.amazonaws.com/",
        "ec2 https://ec2.eu-west-1.amazonaws.com/",
    ]
    override = {"aws": {"endpointUrl": "https://moto.local.test:5000"}}
    assert _endpoints(build, aws, override) == ["sts https://moto.local.test:5000/"]


def test_azure_government_cloud(build: Build) -> None:
    azure = """
connector:
  name: z
  identifier: z
  type: Azure
  spec:
    azureEnvironmentType: AZURE_US_GOVERNMENT
    credential:
      type: ManualConfig
      spec:
        applicationId: 00000000-0000-0000-0000-000000000001
        tenantId: 00000000-0000-0000-0000-000000000002
        auth: {type: Secret, spec: {secretRef: s}}
"""
    assert _endpoints(build, azure) == [
        "login https://login.microsoftonline.us/",
        "arm https://management.usgovcloudapi.net/",
    ]


def test_inherit_from_delegate_has_no_master(build: Build) -> None:
    k8s = """
connector:
  name: k
  identifier: k
  type: K8sCluster
  spec:
    credential: {type: InheritFromDelegate}
    delegateSelectors: [a]
"""
    assert _endpoints(build, k8s) == []


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://host/x", "unsupported scheme"),
        ("https://", "names no host"),
        ("https://host:99999/", "malformed URL"),
        ("not a url", "not a URL"),
    ],
)
def test_unusable_urls(url: str, problem: str) -> None:
    with pytest.raises(EndpointError, match=problem):
        parse_url(url, "git")


def test_endpoint_url_omits_default_ports() -> None:
    assert Endpoint("api", "https", "h", 443).url == "https://h/"
    assert Endpoint("api", "https", "h", 8443, "/x").url == "https://h:8443/x"
    assert Endpoint("api", "https", "::1", 8443).url == "https://[::1]:8443/"


@pytest.mark.parametrize("host", ["bitbucket.org", "www.bitbucket.org"])
def test_bitbucket_org_is_bitbucket_cloud(build: Build, host: str) -> None:
    yaml = f"""
connector:
  name: bb
  identifier: bb
  type: Bitbucket
  spec:
    type: Repo
    url: https://{host}/acme/app.git
    authentication:
      type: Http
      spec: {{type: UsernamePassword, spec: {{username: u, passwordRef: p}}}}
"""
    assert "api https://api.bitbucket.org/2.0" in _endpoints(build, yaml)
