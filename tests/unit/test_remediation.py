"""Remediation a user can paste: every step, rendered for realistic connectors of every type
with realistic evidence, leaves nothing to fill in; the re-run line repeats the run's options.

The connectors are built from YAML by the real schema, the values by the plugin's own
``connector_details`` and ``RerunCommand``, the context by ``records.remediation_context``.
"""

from __future__ import annotations

import re
import shlex
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_connectors.catalogue import CATALOGUE, EVIDENCE_KEYS, FailureMode
from pytest_connectors.checks.context import RunOptions
from pytest_connectors.delegate import DelegateOptions
from pytest_connectors.endpoints import endpoints_for
from pytest_connectors.model import Connector
from pytest_connectors.options import ConnectorOptions
from pytest_connectors.reporting.records import remediation_context, subject_info
from pytest_connectors.reporting.remediation import connector_details
from pytest_connectors.reporting.rerun import RerunCommand, proxy_option
from pytest_connectors.results import Finding
from pytest_connectors.schema import build_connector
from pytest_connectors.yamlload import DEFAULT_MAX_FILE_BYTES, load_documents

WORKDIR = Path("/ci/acme-connectors")
CONNECTORS_FILE = WORKDIR / "connectors" / "all.yaml"

#: A `<word>` or `<word-word>` left for the reader (a `<+...>` Harness expression is not one).
UNFILLED = re.compile(r"<(?!\+)[A-Za-z][\w-]*>")
#: A `{name}` the template did not fill; curl's `%{http_code}` write-out variables are meant.
UNFORMATTED = re.compile(r"(?<!%)\{[A-Za-z_]\w*\}")

#: One realistic connector per type and credential variant whose remediation differs.
CONNECTORS_YAML = """
connector:
  name: gh org
  identifier: gh_org
  type: Github
  spec:
    type: Account
    url: https://github.com/acme
    validationRepo: app
    authentication:
      type: Http
      spec:
        type: UsernameToken
        spec: {username: acme-bot, tokenRef: account.gh_pat}
    apiAccess:
      type: Token
      spec: {tokenRef: account.gh_pat}
    delegateSelectors: [dmz]
---
connector:
  name: ghe app
  identifier: ghe_app
  type: Github
  spec:
    type: Repo
    url: https://ghe.acme.example/platform/deploy.git
    authentication:
      type: Http
      spec:
        type: GithubApp
        spec: {installationId: "4242", applicationId: "1717", privateKeyRef: account.ghe_app_key}
    delegateSelectors: [dmz]
---
connector:
  name: gitlab
  identifier: gitlab_corp
  type: Gitlab
  spec:
    type: Repo
    url: https://gitlab.acme.example/platform/deploy.git
    authentication:
      type: Http
      spec:
        type: UsernameToken
        spec: {username: acme-bot, tokenRef: account.gitlab_pat}
    apiAccess:
      type: Token
      spec: {tokenRef: account.gitlab_pat, apiUrl: "https://gitlab.acme.example/"}
    delegateSelectors: [dmz]
---
connector:
  name: gitlab oauth
  identifier: gitlab_oauth
  type: Gitlab
  spec:
    type: Account
    url: https://gitlab.com/acme
    validationRepo: web
    authentication:
      type: Http
      spec:
        type: OAuth
        spec: {tokenRef: account.gitlab_oauth}
    apiAccess:
      type: OAuth
      spec: {tokenRef: account.gitlab_oauth}
    delegateSelectors: [dmz]
---
connector:
  name: bitbucket cloud
  identifier: bb_cloud
  type: Bitbucket
  spec:
    type: Account
    url: https://bitbucket.org/acme
    validationRepo: billing
    authentication:
      type: Http
      spec:
        type: UsernamePassword
        spec: {username: acme-bot, passwordRef: account.bb_app_password}
    delegateSelectors: [dmz]
---
connector:
  name: git over ssh
  identifier: git_ssh
  type: Git
  spec:
    connectionType: Repo
    url: git@git.acme.example:platform/charts.git
    type: Ssh
    spec: {sshKeyRef: account.git_ssh_key}
    delegateSelectors: [dmz]
---
connector:
  name: git over http
  identifier: git_http
  type: Git
  spec:
    connectionType: Account
    url: https://git.acme.example/scm/plat
    validationRepo: charts
    type: Http
    spec: {username: acme-bot, passwordRef: account.git_password}
    delegateSelectors: [dmz]
---
connector:
  name: prod cluster
  identifier: k8s_prod
  type: K8sCluster
  spec:
    credential:
      type: ManualConfig
      spec:
        masterUrl: https://k8s.acme.example:6443
        auth:
          type: ServiceAccount
          spec: {serviceAccountTokenRef: account.k8s_sa_token, caCertRef: account.k8s_ca}
    delegateSelectors: [dmz]
---
connector:
  name: staging cluster
  identifier: k8s_staging
  type: K8sCluster
  spec:
    credential:
      type: ManualConfig
      spec:
        masterUrl: https://k8s-staging.acme.example:6443
        auth:
          type: ClientKeyCert
          spec: {clientCertRef: account.k8s_cert, clientKeyRef: account.k8s_key}
    delegateSelectors: [dmz]
---
connector:
  name: legacy cluster
  identifier: k8s_legacy
  type: K8sCluster
  spec:
    credential:
      type: ManualConfig
      spec:
        masterUrl: https://k8s-legacy.acme.example:6443
        auth:
          type: UsernamePassword
          spec: {username: admin, passwordRef: account.k8s_password}
    delegateSelectors: [dmz]
---
connector:
  name: in cluster
  identifier: k8s_in_cluster
  type: K8sCluster
  spec:
    credential:
      type: InheritFromDelegate
    delegateSelectors: [dmz]
---
connector:
  name: aws deploy
  identifier: aws_deploy
  type: Aws
  spec:
    credential:
      type: ManualConfig
      spec: {accessKey: AKIAEXAMPLEEXAMPLE01, secretKeyRef: account.aws_secret_key}
      region: eu-west-1
      crossAccountAccess:
        crossAccountRoleArn: arn:aws:iam::123456789012:role/harness-deploy
        externalId: acme-external-id
    delegateSelectors: [dmz]
---
connector:
  name: aws irsa
  identifier: aws_irsa
  type: Aws
  spec:
    credential:
      type: Irsa
      region: eu-west-1
    delegateSelectors: [dmz]
---
connector:
  name: gcp key
  identifier: gcp_key
  type: Gcp
  spec:
    credential:
      type: ManualConfig
      spec: {secretKeyRef: account.gcp_sa_key}
    delegateSelectors: [dmz]
---
connector:
  name: gcp workload
  identifier: gcp_inherit
  type: Gcp
  spec:
    credential:
      type: InheritFromDelegate
    delegateSelectors: [dmz]
---
connector:
  name: azure secret
  identifier: azure_secret
  type: Azure
  spec:
    credential:
      type: ManualConfig
      spec:
        applicationId: 0000a001-0000-4000-8000-00000000d001
        tenantId: 0000b001-0000-4000-8000-00000000d001
        auth:
          type: Secret
          spec: {secretRef: account.azure_client_secret}
    delegateSelectors: [dmz]
---
connector:
  name: azure certificate
  identifier: azure_cert
  type: Azure
  spec:
    credential:
      type: ManualConfig
      spec:
        applicationId: 0000a002-0000-4000-8000-00000000d002
        tenantId: 0000b001-0000-4000-8000-00000000d001
        auth:
          type: Certificate
          spec: {certificateRef: account.azure_sp_cert}
    delegateSelectors: [dmz]
---
connector:
  name: azure user identity
  identifier: azure_user_identity
  type: Azure
  spec:
    credential:
      type: InheritFromDelegate
      spec:
        auth:
          type: UserAssignedManagedIdentity
          spec: {clientId: 0000c001-0000-4000-8000-00000000d003}
    delegateSelectors: [dmz]
---
connector:
  name: azure system identity
  identifier: azure_system_identity
  type: Azure
  spec:
    credential:
      type: InheritFromDelegate
      spec:
        auth:
          type: SystemAssignedManagedIdentity
    delegateSelectors: [dmz]
---
connector:
  name: vault token
  identifier: vault_token
  type: Vault
  spec:
    vaultUrl: https://vault.acme.example:8200
    namespace: platform
    basePath: harness
    secretEngineName: secret
    secretEngineVersion: 2
    authToken: account.vault_token
    delegateSelectors: [dmz]
---
connector:
  name: vault approle
  identifier: vault_approle
  type: Vault
  spec:
    vaultUrl: https://vault.acme.example:8200/
    basePath: harness/platform
    secretEngineName: kv
    secretEngineVersion: 1
    readOnly: true
    appRoleId: 0000e001-0000-4000-8000-00000000d006
    secretId: account.vault_secret_id
    delegateSelectors: [dmz]
---
connector:
  name: vault agent
  identifier: vault_agent
  type: Vault
  spec:
    vaultUrl: https://vault.acme.example:8200
    useVaultAgent: true
    sinkPath: /etc/vault-agent/token
    delegateSelectors: [dmz]
---
connector:
  name: vault k8s
  identifier: vault_k8s
  type: Vault
  spec:
    vaultUrl: https://vault.acme.example:8200
    useK8sAuth: true
    vaultK8sAuthRole: harness-delegate
    serviceAccountTokenPath: /var/run/secrets/kubernetes.io/serviceaccount/token
    k8sAuthEndpoint: k8s-prod
    delegateSelectors: [dmz]
---
connector:
  name: docker hub
  identifier: docker_hub
  type: DockerRegistry
  spec:
    dockerRegistryUrl: https://registry.hub.docker.com/v2/
    providerType: DockerHub
    auth:
      type: UsernamePassword
      spec: {username: acmebot, passwordRef: account.dockerhub_token}
    delegateSelectors: [dmz]
---
connector:
  name: harbor
  identifier: harbor
  type: DockerRegistry
  spec:
    dockerRegistryUrl: https://harbor.acme.example:5443
    providerType: Harbor
    auth:
      type: UsernamePassword
      spec: {username: robot$ci, passwordRef: account.harbor_token}
    delegateSelectors: [dmz]
---
connector:
  name: acme jira
  identifier: acme_jira
  type: Jira
  spec:
    jiraUrl: https://acme.atlassian.net/
    username: harness-bot@acme.example
    passwordRef: account.jira_api_token
    delegateSelectors: [dmz]
"""

#: What `--connectors ... --connectors-proxy ...` looked like for the run that failed.
OPTIONS = ConnectorOptions(
    cli_paths=(WORKDIR / "connectors", WORKDIR / "shared-connectors"),
    ini_paths=(),
    secrets_file=WORKDIR / "secrets.yaml",
    config_file=WORKDIR / "pytest-connectors.yaml",
    run=RunOptions(allow_insecure=True, concurrency=4),
    delegate=DelegateOptions(
        name="dmz-1",
        tags="dmz,aws",
        dns="10.0.0.2,10.0.0.3:5353",
        proxy="http://svc-harness:p%40ss@proxy.acme.example:3128",
        ca_bundle="certs/corp-ca.pem",
    ),
    report=WORKDIR / "report.json",
    markdown=None,
    bundle=None,
    timeout=10.0,
    max_file_size=DEFAULT_MAX_FILE_BYTES,
)


#: Where the checks of connectors without a URL of their own connect.
FALLBACK = {
    "K8sCluster": ("kubernetes.default.svc", "https://kubernetes.default.svc/"),
    "Jira": ("acme.atlassian.net", "https://acme.atlassian.net/"),
}


def _evidence(connector: Connector, usual: bool) -> dict[str, Any]:
    """Realistic evidence for every evidence key, about this connector's first endpoint.

    ``usual`` picks one side of each branch the steps take (a configured resolver or the
    system one, a namespace or cluster-wide, an assumed-role caller or a user ...).
    """
    endpoints = endpoints_for(connector, {}) if connector.supported else []
    host, url = (endpoints[0].host, endpoints[0].url) if endpoints else FALLBACK[connector.type]
    manager = "account.vault_token" if connector.type != "Vault" else connector.ref
    evidence = {
        "field_path": "spec.authentication.spec.spec.tokenRef",
        "problem": "unknown value 'Usernametoken'",
        "suggestion": "account.gh_pat",
        "installation_id": "4242",
        "credential_type": "InheritFromDelegate",
        "expression": "<+pipeline.variables.url>",
        "reference": sorted(r.raw for r in connector.secret_refs)[0]
        if connector.secret_refs
        else "account.vault_token",
        "owner_scope": "org",
        "pipeline": "deploy_prod",
        "candidates": "dmz-1, dmz-2",
        "sources": "secrets file secrets.yaml; environment",
        "env_var": "CONNECTOR_SECRET_ACCOUNT_gh_pat",
        "expected": "PEM certificate",
        "delegate": "dmz-1",
        "host": host,
        "port": 443 if usual else 6443,
        "resolver": "10.0.0.2:53, 10.0.0.3:5353" if usual else "system resolver",
        "reason": "NXDOMAIN",
        "elapsed_s": 0.412,
        "timeout_s": 10.0,
        "phase": "body",
        "budget_s": 1.0,
        "via_proxy": "http://proxy.acme.example:3128" if usual else False,
        "proxy": "http://proxy.acme.example:3128",
        "status": 403,
        "url": url,
        "load_per_core": 3.2,
        "available_memory_pct": 6.5,
        "subject": f"CN={host}",
        "issuer": "CN=Acme Issuing CA 2",
        "sans": f"{host}, www.{host}",
        "not_after": "2025-01-31T12:00:00Z",
        "ca_source": "delegate CA bundle certs/corp-ca.pem",
        "days_left": 5,
        "provider_error": "Bad credentials",
        "expires_at": "2025-02-01T00:00:00Z",
        "missing": "admin:repo_hook",
        "granted": "repo, user",
        "denied": "create deployments.apps, delete pods",
        "namespace": "payments" if usual else "",
        "rbac_yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n",
        "remaining": 0,
        "limit": 5000,
        "reset_at": "2025-01-31T13:00:00Z",
        "retry_after": 60,
        "failed": 3,
        "attempted": 4,
        "role_arn": "arn:aws:iam::123456789012:role/harness-deploy",
        "caller_arn": "arn:aws:sts::210987654321:assumed-role/delegate-node/i-0abc123"
        if usual
        else "arn:aws:iam::210987654321:user/harness-delegate",
        "external_id": "acme-external-id" if usual else None,
        "region": "eu-west-1",
        "endpoint": "https://sts.eu-west-1.amazonaws.com",
        "project": "acme-prod",
        "key_project": "acme-sandbox",
        "client_email": "harness@acme-sandbox.iam.gserviceaccount.com",
        "tenant_id": "0000b001-0000-4000-8000-00000000d001",
        "subscription_id": "0000d001-0000-4000-8000-00000000d001",
        "application_id": "0000a001-0000-4000-8000-00000000d001",
        "aadsts": "AADSTS90002",
        "manager": manager,
        "vault_url": "https://vault.acme.example:8200" if usual else None,
        "state": "sealed",
        "vault_path": "secret/data/harness/db#password" if usual else "harness/db",
        "vault_problem": "no secret at this path",
    }
    assert set(evidence) == set(EVIDENCE_KEYS), "give every evidence key a realistic value"
    return evidence


#: Evidence a check leaves out in some runs of one mode (a key file without client_email).
ABSENT_IN_SOME_RUNS = {"gcp-key-invalid": ("client_email",)}


@pytest.fixture(scope="module")
def connectors(tmp_path_factory: pytest.TempPathFactory) -> list[Connector]:
    path = tmp_path_factory.mktemp("remediation") / "all.yaml"
    path.write_text(textwrap.dedent(CONNECTORS_YAML).lstrip(), encoding="utf-8")
    built = []
    for index, document in enumerate(load_documents(path)):
        data = document.data
        connector = build_connector(data["connector"], "connectors/all.yaml", index, document.line)
        assert isinstance(connector, Connector), connector
        assert not connector.errors, (connector.identifier, connector.errors)
        built.append(connector)
    return built


Rendering = tuple[Connector, FailureMode, int, str]


def _renderings(connectors: list[Connector]) -> Iterator[Rendering]:
    rerun = RerunCommand.from_options(OPTIONS, WORKDIR)
    for connector in connectors:
        info = subject_info(connector)
        for usual in (True, False):
            values = {
                **rerun.context(CONNECTORS_FILE, connector.ref),
                **connector_details(connector),
            }
            if usual:  # else this run's delegate has no tags
                values["delegate_tags"] = "dmz, aws"
            evidence = _evidence(connector, usual)
            for mode in CATALOGUE.values():
                absent = () if usual else ABSENT_IN_SOME_RUNS.get(mode.id, ())
                chosen = {k: evidence[k] for k in mode.evidence if k not in absent}
                finding = Finding(mode.id, "cause", chosen)
                context = remediation_context(info, finding, values)
                shown = [
                    (index, step) for index, step in enumerate(mode.steps) if step.applies(context)
                ]
                texts = mode.remediation(context)
                assert 2 <= len(texts) <= 6, (connector.identifier, mode.id, texts)
                for (index, _), text in zip(shown, texts, strict=True):
                    yield connector, mode, index, text


@pytest.fixture(scope="module")
def renderings(connectors: list[Connector]) -> list[Rendering]:
    """Every step each connector shows for every mode, with usual and unusual evidence."""
    return list(_renderings(connectors))


def test_every_step_renders_without_anything_to_fill_in(renderings: list[Rendering]) -> None:
    rendered: set[tuple[str, int]] = set()
    for connector, mode, index, text in renderings:
        where = f"{connector.identifier} [{mode.id}] step {index + 1}: {text}"
        assert not UNFILLED.search(text.replace("<+pipeline.variables.url>", "")), where
        assert not UNFORMATTED.search(text), where
        assert "None" not in text and "system resolver`" not in text, where
        assert "p%40ss" not in text and "svc-harness" not in text, where  # proxy credentials
        rendered.add((mode.id, index))
    every = {(mode.id, index) for mode in CATALOGUE.values() for index in range(len(mode.steps))}
    assert every - rendered == set(), "steps no realistic connector ever shows"


def _steps_of(renderings: list[Rendering], identifier: str, mode_id: str) -> str:
    return "\n".join(
        text
        for connector, mode, _, text in renderings
        if connector.identifier == identifier and mode.id == mode_id
    )


def test_commands_carry_the_connectors_own_values(renderings: list[Rendering]) -> None:
    github = _steps_of(renderings, "gh_org", "invalid-credentials")
    assert "https://api.github.com/user" in github
    assert _steps_of(renderings, "ghe_app", "rate-limited").count(
        "https://ghe.acme.example/api/v3/rate_limit"
    )
    gitlab = _steps_of(renderings, "gitlab_corp", "invalid-credentials")
    assert "https://gitlab.acme.example/api/v4/user" in gitlab
    assert "git ls-remote https://bitbucket.org/acme/billing" in _steps_of(
        renderings, "bb_cloud", "invalid-credentials"
    )
    assert "git ls-remote https://git.acme.example/scm/plat/charts" in _steps_of(
        renderings, "git_http", "incorrect-endpoint"
    )
    dns = _steps_of(renderings, "gh_org", "dns-resolution-failed")
    assert "dig @10.0.0.2 -p 53 github.com" in dns
    assert "getent ahosts github.com" in dns  # the run that used the system resolver
    prod = _steps_of(renderings, "k8s_prod", "invalid-credentials")
    assert (
        'kubectl --server=https://k8s.acme.example:6443 --token="$TOKEN" '
        "--certificate-authority=ca.crt get namespaces" in prod
    )
    inherit = _steps_of(renderings, "k8s_in_cluster", "k8s-rbac-denied")
    assert "--server" not in inherit and "--token" not in inherit
    assert "kubectl auth can-i create deployments.apps -n payments" in inherit
    assert "kubectl auth can-i create deployments.apps --all-namespaces" in inherit
    assert "delegate pod" in inherit
    vault = _steps_of(renderings, "vault_token", "invalid-credentials")
    assert (
        "vault token lookup -address=https://vault.acme.example:8200 -namespace=platform" in vault
    )
    approle = _steps_of(renderings, "vault_approle", "insufficient-permissions")
    assert "kv/harness/platform/harness_vault_validation" in approle
    k8s_auth = _steps_of(renderings, "vault_k8s", "invalid-credentials")
    assert "auth/k8s-prod/login role=harness-delegate" in k8s_auth
    assert "jwt=@/var/run/secrets/kubernetes.io/serviceaccount/token" in k8s_auth
    assert "docker login docker.io" in _steps_of(renderings, "docker_hub", "invalid-credentials")
    assert "curl -i https://harbor.acme.example:5443/v2/" in _steps_of(
        renderings, "harbor", "incorrect-endpoint"
    )
    aws = _steps_of(renderings, "aws_deploy", "aws-trust-policy")
    assert "arn:aws:iam::210987654321:role/delegate-node" in aws
    assert "--external-id acme-external-id" in aws
    azure = _steps_of(renderings, "azure_secret", "invalid-credentials")
    assert "--username 0000a001-0000-4000-8000-00000000d001" in azure


def test_the_rerun_line_repeats_the_runs_options(renderings: list[Rendering]) -> None:
    steps = _steps_of(renderings, "gh_org", "port-unreachable")
    (line,) = set(re.findall(r"`(pytest [^`]*)`", steps))
    words = shlex.split(line)
    assert words[0] == "pytest"
    assert words[-1] == "connectors/all.yaml::account.gh_org"
    assert set(words[1:-1]) == {
        "--connectors=connectors",
        "--connectors=shared-connectors",
        "--connectors-secrets=secrets.yaml",
        "--connectors-config=pytest-connectors.yaml",
        "--delegate=dmz-1",
        "--delegate-tags=dmz,aws",
        "--connectors-dns=10.0.0.2,10.0.0.3:5353",
        # the shell fills the proxy credentials in: never their values, never ***
        "--connectors-proxy=http://$PROXY_USER:$PROXY_PASSWORD@proxy.acme.example:3128",
        "--connectors-ca-bundle=certs/corp-ca.pem",
        "--connectors-timeout=10",
        "--connectors-allow-insecure",
        "--connectors-concurrency=4",
    }
    offline = _steps_of(renderings, "gh_org", "definition-invalid")
    (static,) = set(re.findall(r"`(pytest [^`]*)`", offline))
    assert "--connectors-offline" in static and "proxy" not in static and "dns" not in static
    assert "--delegate=dmz-1" in static and "--connectors-secrets=secrets.yaml" in static


def test_rerun_paths_are_relative_to_where_the_run_started_or_absolute() -> None:
    options = OPTIONS.__class__(
        **{
            **OPTIONS.__dict__,
            "cli_paths": (WORKDIR / "connectors",),
            "secrets_file": Path("/etc/harness/secrets.yaml"),
            "config_file": None,
            "delegate": DelegateOptions(proxy="proxy.acme.example:3128"),
            "run": RunOptions(offline=True),
            "timeout": None,
        }
    )
    rerun = RerunCommand.from_options(options, WORKDIR)
    line = rerun.command(WORKDIR / "connectors" / "my app.yaml", "org.k8s")
    assert shlex.split(line) == [
        "pytest",
        "--connectors=connectors",
        "--connectors-secrets=/etc/harness/secrets.yaml",
        "--connectors-offline",
        "connectors/my app.yaml::org.k8s",
    ]
    assert line.endswith(" 'connectors/my app.yaml::org.k8s'")
    elsewhere = RerunCommand.from_options(options, WORKDIR / "ci")
    assert shlex.split(elsewhere.command(WORKDIR / "connectors" / "a.yaml", "x"))[1] == (
        "--connectors=/ci/acme-connectors/connectors"
    )
    # Running the network checks anyway is never offline, and keeps the run's network options.
    anyway = shlex.split(rerun.command(WORKDIR / "connectors" / "a.yaml", "x", any_delegate=True))
    assert "--connectors-offline" not in anyway
    assert {"--connectors-any-delegate", "--connectors-proxy=http://proxy.acme.example:3128"} <= (
        set(anyway)
    )


@pytest.mark.parametrize(
    ("url", "option"),
    [
        ("http://proxy.corp:3128", "--connectors-proxy=http://proxy.corp:3128"),
        ("proxy.corp:8080", "--connectors-proxy=http://proxy.corp:8080"),
        ("https://u@proxy.corp", '"--connectors-proxy=https://$PROXY_USER@proxy.corp"'),
        (
            "http://u:s3cr%2Ft@[fd00::1]:3128",
            '"--connectors-proxy=http://$PROXY_USER:$PROXY_PASSWORD@[fd00::1]:3128"',
        ),
        ("http://:3128", None),
    ],
)
def test_proxy_credentials_never_reach_the_rerun_line(url: str, option: str | None) -> None:
    assert proxy_option(url) == option
