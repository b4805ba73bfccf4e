"""The schema layer: raw YAML in, typed connector model (or precise errors) out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pytest_connectors.model import (
    AwsSpec,
    AzureSpec,
    BrokenDocument,
    Connector,
    DockerRegistrySpec,
    GcpSpec,
    GenericSpec,
    KubernetesSpec,
    ScmSpec,
    SecretKind,
    VaultSpec,
)
from pytest_connectors.refs import Scope, ScopeId
from pytest_connectors.schema import build_pipeline, build_secret

Build = Callable[[str], Connector | BrokenDocument]
T = SecretKind.TEXT


def _connector(build: Build, text: str) -> Connector:
    connector = build(text)
    assert isinstance(connector, Connector), connector
    return connector


def _errors(connector: Connector) -> list[tuple[str, int, str, str | None]]:
    return [(e.field_path, e.line, e.problem, e.suggestion) for e in connector.errors]


def _refs(connector: Connector) -> list[tuple[str, str, SecretKind]]:
    return [(r.field_path, r.raw, r.kind) for r in connector.secret_refs]


# -- the ten types, healthy -----------------------------------------------------------------

HEALTHY: dict[str, tuple[str, type, str | None, list[tuple[str, str, SecretKind]]]] = {
    "Github": (
        """
        connector:
          name: gh main
          identifier: gh_main
          type: Github
          spec:
            type: Account
            url: https://github.com/acme
            validationRepo: probe
            authentication:
              type: Http
              spec:
                type: UsernameToken
                spec:
                  username: bot
                  tokenRef: account.gh_pat
            apiAccess:
              type: GithubApp
              spec:
                installationId: "123"
                applicationId: "456"
                privateKeyRef: account.gh_app_key
            delegateSelectors: [gh]
        """,
        ScmSpec,
        "UsernameToken",
        [
            ("spec.authentication.spec.spec.tokenRef", "account.gh_pat", T),
            ("spec.apiAccess.spec.privateKeyRef", "account.gh_app_key", SecretKind.PEM_PRIVATE_KEY),
        ],
    ),
    "Gitlab": (
        """
        connector:
          name: gl
          identifier: gl
          orgIdentifier: eng
          projectIdentifier: web
          type: Gitlab
          spec:
            type: Repo
            url: git@gitlab.example.com:group/project.git
            authentication:
              type: Ssh
              spec:
                sshKeyRef: gl_ssh
            apiAccess:
              type: Token
              spec: {tokenRef: org.gl_token, apiUrl: https://gitlab.example.com}
        """,
        ScmSpec,
        "Ssh",
        [
            ("spec.authentication.spec.sshKeyRef", "gl_ssh", SecretKind.SSH_PRIVATE_KEY),
            ("spec.apiAccess.spec.tokenRef", "org.gl_token", T),
        ],
    ),
    "Bitbucket": (
        """
        connector:
          name: bb
          identifier: bb
          type: Bitbucket
          spec:
            type: Repo
            url: https://bitbucket.org/acme/app.git
            authentication:
              type: Http
              spec:
                type: UsernamePassword
                spec: {usernameRef: account.bb_user, passwordRef: account.bb_pw}
        """,
        ScmSpec,
        "UsernamePassword",
        [
            ("spec.authentication.spec.spec.usernameRef", "account.bb_user", T),
            ("spec.authentication.spec.spec.passwordRef", "account.bb_pw", T),
        ],
    ),
    "Git": (
        """
        connector:
          name: git
          identifier: git
          orgIdentifier: eng
          type: Git
          spec:
            connectionType: Account
            url: https://git.example.com/org
            validationRepo: probe.git
            type: Http
            spec:
              username: ci
              passwordRef: org.git_pw
        """,
        ScmSpec,
        "UsernamePassword",
        [("spec.spec.passwordRef", "org.git_pw", T)],
    ),
    "K8sCluster": (
        """
        connector:
          name: cluster
          identifier: cluster
          type: K8sCluster
          spec:
            credential:
              type: ManualConfig
              spec:
                masterUrl: https://10.0.0.1:6443
                auth:
                  type: ClientKeyCert
                  spec:
                    clientCertRef: account.k8s_cert
                    clientKeyRef: account.k8s_key
                    clientKeyPassphraseRef: account.k8s_pass
                    caCertRef: account.k8s_ca
                    clientKeyAlgo: RSA
            delegateSelectors: [k8s]
        """,
        KubernetesSpec,
        "ClientKeyCert",
        [
            (
                "spec.credential.spec.auth.spec.clientCertRef",
                "account.k8s_cert",
                SecretKind.K8S_CERTIFICATE,
            ),
            (
                "spec.credential.spec.auth.spec.clientKeyRef",
                "account.k8s_key",
                SecretKind.K8S_PRIVATE_KEY,
            ),
            ("spec.credential.spec.auth.spec.clientKeyPassphraseRef", "account.k8s_pass", T),
            (
                "spec.credential.spec.auth.spec.caCertRef",
                "account.k8s_ca",
                SecretKind.K8S_CERTIFICATE,
            ),
        ],
    ),
    "Aws": (
        """
        connector:
          name: aws
          identifier: aws
          type: Aws
          spec:
            credential:
              type: ManualConfig
              spec:
                accessKeyRef: account.aws_ak
                secretKeyRef: account.aws_sk
              region: us-gov-west-1
              crossAccountAccess:
                crossAccountRoleArn: arn:aws:iam::123456789012:role/deploy
                externalId: ext-123
            delegateSelectors: [aws]
        """,
        AwsSpec,
        "ManualConfig",
        [
            ("spec.credential.spec.accessKeyRef", "account.aws_ak", T),
            ("spec.credential.spec.secretKeyRef", "account.aws_sk", T),
        ],
    ),
    "Gcp": (
        """
        connector:
          name: gcp
          identifier: gcp
          type: Gcp
          spec:
            credential:
              type: ManualConfig
              spec:
                secretKeyRef: account.gcp_sa_json
        """,
        GcpSpec,
        "ManualConfig",
        [("spec.credential.spec.secretKeyRef", "account.gcp_sa_json", SecretKind.GCP_KEY_JSON)],
    ),
    "Azure": (
        """
        connector:
          name: azure
          identifier: azure
          type: Azure
          spec:
            credential:
              type: ManualConfig
              spec:
                applicationId: 00000000-1111-2222-3333-444444444444
                tenantId: 55555555-6666-7777-8888-999999999999
                auth:
                  type: Certificate
                  spec:
                    certificateRef: account.az_pem
            azureEnvironmentType: AZURE_US_GOVERNMENT
        """,
        AzureSpec,
        "Certificate",
        [
            (
                "spec.credential.spec.auth.spec.certificateRef",
                "account.az_pem",
                SecretKind.CERTIFICATE_AND_KEY,
            )
        ],
    ),
    "Vault": (
        """
        connector:
          name: vault
          identifier: vault
          type: Vault
          spec:
            vaultUrl: https://vault.example.com:8200
            namespace: admin
            secretEngineName: secret
            secretEngineVersion: 2
            renewalIntervalMinutes: 10
            readOnly: true
            authToken: account.vault_token
            delegateSelectors: [vault]
        """,
        VaultSpec,
        "Token",
        [("spec.authToken", "account.vault_token", T)],
    ),
    "DockerRegistry": (
        """
        connector:
          name: hub
          identifier: hub
          type: DockerRegistry
          spec:
            dockerRegistryUrl: https://registry.hub.docker.com/v2/
            providerType: DockerHub
            auth:
              type: UsernamePassword
              spec: {username: bot, passwordRef: account.dh_pw}
        """,
        DockerRegistrySpec,
        "UsernamePassword",
        [("spec.auth.spec.passwordRef", "account.dh_pw", T)],
    ),
}


@pytest.mark.parametrize("connector_type", sorted(HEALTHY))
def test_healthy_connector_of_each_type(build: Build, connector_type: str) -> None:
    text, spec_class, credential_kind, refs = HEALTHY[connector_type]
    connector = _connector(build, text)
    assert connector.errors == ()
    assert connector.type == connector_type
    assert connector.supported
    assert type(connector.spec) is spec_class
    assert connector.spec.auth is not None
    assert connector.spec.auth.kind == credential_kind
    assert _refs(connector) == refs
    assert connector.expressions == ()
    assert connector.file == "c.yaml"
    assert connector.line == 2
    assert connector.location == "c.yaml:2"


def test_ten_supported_types_are_covered() -> None:
    from pytest_connectors.model import SUPPORTED_TYPES

    assert set(HEALTHY) == set(SUPPORTED_TYPES)


def test_github_details(build: Build) -> None:
    connector = _connector(build, HEALTHY["Github"][0])
    spec = connector.spec
    assert isinstance(spec, ScmSpec)
    assert (spec.url, spec.connection_type, spec.validation_repo, spec.protocol) == (
        "https://github.com/acme",
        "Account",
        "probe",
        "Http",
    )
    assert spec.auth is not None and spec.auth.values == {"username": "bot"}
    assert set(spec.auth.refs) == {"tokenRef"}
    assert spec.api_access is not None and spec.api_access.kind == "GithubApp"
    assert spec.api_access.values == {"installationId": "123", "applicationId": "456"}
    assert connector.delegate_selectors == ("gh",)
    assert (connector.ref, connector.scope) == ("account.gh_main", ScopeId())
    assert connector.name == "gh main"


def test_gitlab_details_and_project_scope(build: Build) -> None:
    connector = _connector(build, HEALTHY["Gitlab"][0])
    spec = connector.spec
    assert isinstance(spec, ScmSpec)
    assert spec.protocol == "Ssh"
    assert spec.api_access is not None and spec.api_access.kind == "Token"
    assert spec.api_url == "https://gitlab.example.com"
    assert connector.scope == ScopeId("eng", "web")
    assert connector.scope.level is Scope.PROJECT
    assert connector.ref == "gl"


def test_git_and_org_scope(build: Build) -> None:
    connector = _connector(build, HEALTHY["Git"][0])
    spec = connector.spec
    assert isinstance(spec, ScmSpec)
    assert (spec.connection_type, spec.protocol, spec.validation_repo) == (
        "Account",
        "Http",
        "probe.git",
    )
    assert spec.auth is not None and spec.auth.values == {"username": "ci"}
    assert connector.ref == "org.git"


def test_kubernetes_details(build: Build) -> None:
    spec = _connector(build, HEALTHY["K8sCluster"][0]).spec
    assert isinstance(spec, KubernetesSpec)
    assert (spec.credential_type, spec.master_url) == ("ManualConfig", "https://10.0.0.1:6443")
    assert spec.auth is not None and spec.auth.values == {"clientKeyAlgo": "RSA"}


def test_aws_details(build: Build) -> None:
    spec = _connector(build, HEALTHY["Aws"][0]).spec
    assert isinstance(spec, AwsSpec)
    assert spec.credential_type == "ManualConfig"
    assert spec.region == "us-gov-west-1"
    assert spec.cross_account_role_arn == "arn:aws:iam::123456789012:role/deploy"
    assert spec.external_id == "ext-123"


def test_azure_details(build: Build) -> None:
    spec = _connector(build, HEALTHY["Azure"][0]).spec
    assert isinstance(spec, AzureSpec)
    assert spec.application_id == "00000000-1111-2222-3333-444444444444"
    assert spec.tenant_id == "55555555-6666-7777-8888-999999999999"
    assert spec.environment == "AZURE_US_GOVERNMENT"


def test_vault_details(build: Build) -> None:
    spec = _connector(build, HEALTHY["Vault"][0]).spec
    assert isinstance(spec, VaultSpec)
    assert spec.base_path == "harness"  # Harness's default
    assert (spec.namespace, spec.engine_name, spec.engine_version) == ("admin", "secret", 2)
    assert (spec.renewal_interval_minutes, spec.read_only) == (10, True)


def test_docker_details(build: Build) -> None:
    spec = _connector(build, HEALTHY["DockerRegistry"][0]).spec
    assert isinstance(spec, DockerRegistrySpec)
    assert (spec.url, spec.provider_type) == ("https://registry.hub.docker.com/v2/", "DockerHub")


@pytest.mark.parametrize(
    ("auth", "kind", "refs"),
    [
        (
            "{type: UsernamePassword, spec: {username: u, passwordRef: pw}}",
            "UsernamePassword",
            [("spec.credential.spec.auth.spec.passwordRef", "pw", T)],
        ),
        (
            "{type: ServiceAccount, spec: {serviceAccountTokenRef: sa, caCertRef: ca}}",
            "ServiceAccount",
            [
                (
                    "spec.credential.spec.auth.spec.serviceAccountTokenRef",
                    "sa",
                    SecretKind.K8S_SA_TOKEN,
                ),
                ("spec.credential.spec.auth.spec.caCertRef", "ca", SecretKind.K8S_CERTIFICATE),
            ],
        ),
        (
            "{type: OpenIdConnect, spec: {oidcIssuerUrl: 'https://idp.example.com',"
            " oidcUsername: u, oidcClientIdRef: cid, oidcPasswordRef: pw, oidcScopes: openid}}",
            "OpenIdConnect",
            [
                ("spec.credential.spec.auth.spec.oidcClientIdRef", "cid", T),
                ("spec.credential.spec.auth.spec.oidcPasswordRef", "pw", T),
            ],
        ),
    ],
)
def test_kubernetes_auth_variants(
    build: Build, auth: str, kind: str, refs: list[tuple[str, str, SecretKind]]
) -> None:
    connector = _connector(
        build,
        f"""
        connector:
          name: k
          identifier: k
          orgIdentifier: o
          projectIdentifier: p
          type: K8sCluster
          spec:
            credential:
              type: ManualConfig
              spec:
                masterUrl: https://k8s.example.com
                auth: {auth}
        """,
    )
    assert connector.errors == ()
    assert isinstance(connector.spec, KubernetesSpec)
    assert connector.spec.auth is not None and connector.spec.auth.kind == kind
    assert _refs(connector) == refs


@pytest.mark.parametrize(
    ("fields", "kind", "plain"),
    [
        ("appRoleId: role-1\n    secretId: account.approle", "AppRole", {"appRoleId": "role-1"}),
        (
            "useVaultAgent: true\n    sinkPath: /vault/sink\n    delegateSelectors: [v]",
            "VaultAgent",
            {"sinkPath": "/vault/sink"},
        ),
        (
            "useAwsIam: true\n    vaultAwsIamRole: r\n    awsRegion: us-east-1\n"
            "    delegateSelectors: [v]",
            "AwsIam",
            {"vaultAwsIamRole": "r", "awsRegion": "us-east-1"},
        ),
        (
            "useK8sAuth: true\n    vaultK8sAuthRole: r\n    serviceAccountTokenPath: /t\n"
            "    delegateSelectors: [v]",
            "K8sAuth",
            {"vaultK8sAuthRole": "r", "serviceAccountTokenPath": "/t"},
        ),
    ],
)
def test_vault_auth_method_is_derived_from_the_fields(
    build: Build, fields: str, kind: str, plain: dict[str, str]
) -> None:
    connector = _connector(
        build,
        "connector:\n  name: v\n  identifier: v\n  type: Vault\n  spec:\n"
        f"    vaultUrl: https://vault.example.com\n    {fields}\n",
    )
    assert connector.errors == ()
    assert isinstance(connector.spec, VaultSpec)
    assert connector.spec.auth is not None
    assert (connector.spec.auth.kind, dict(connector.spec.auth.values)) == (kind, plain)


def test_generic_type_takes_every_ref_field_as_a_secret(build: Build) -> None:
    connector = _connector(
        build,
        """
        connector:
          name: jira
          identifier: jira
          type: Jira
          spec:
            jiraUrl: https://jira.example.com
            auth:
              spec:
                passwordRef: account.jira_pw
            connectorRef: account.other
            tokenRef: <+secrets.getValue("x")>
            delegateSelectors: [j]
        """,
    )
    assert connector.errors == ()
    assert isinstance(connector.spec, GenericSpec)
    assert not connector.supported
    assert _refs(connector) == [("spec.auth.spec.passwordRef", "account.jira_pw", T)]
    assert connector.delegate_selectors == ("j",)


# -- errors: field path, line, did-you-mean --------------------------------------------------


def test_enum_typo_names_field_line_and_suggestion(build: Build) -> None:
    connector = _connector(
        build,
        """
        connector:
          name: gh
          identifier: gh
          type: Github
          spec:
            type: account
            url: https://github.com/acme
            validationRepo: probe
            authentication:
              type: http
              spec:
                type: Anonymous
        """,
    )
    assert _errors(connector) == [
        ("spec.type", 6, "'account' is not one of Account, Repo, Project", "Account"),
        ("spec.authentication.type", 10, "'http' is not one of Http, Ssh", "Http"),
    ]


def test_close_misspelling_gets_a_suggestion(build: Build) -> None:
    connector = _connector(
        build,
        """
        connector:
          name: gh
          identifier: gh
          type: Github
          spec:
            type: Repo
            url: https://github.com/acme/app
            authentication:
              type: Http
              spec:
                type: UsernameTokn
                spec: {username: u, tokenRef: t}
        """,
    )
    ((path, line, problem, suggestion),) = _errors(connector)
    assert (path, line, suggestion) == ("spec.authentication.spec.type", 11, "UsernameToken")
    assert problem.startswith("'UsernameTokn' is not one of ")


def test_missing_required_fields(build: Build) -> None:
    connector = _connector(
        build,
        """
        connector:
          identifier: gh
          type: Github
          spec:
            type: Repo
            authentication:
              type: Http
              spec:
                type: UsernameToken
                spec: {username: u}
        """,
    )
    assert _errors(connector) == [
        ("name", 2, "required field 'name' is missing", None),
        ("spec.url", 5, "required field 'url' is missing", None),
        (
            "spec.authentication.spec.spec.tokenRef",
            10,
            "required field 'tokenRef' is missing",
            None,
        ),
    ]
    assert connector.name == "gh"  # falls back to the identifier


def test_missing_spec(build: Build) -> None:
    connector = _connector(build, "connector:\n  name: a\n  identifier: a\n  type: Aws\n")
    assert _errors(connector) == [("spec", 2, "required field 'spec' is missing", None)]


def test_spec_of_the_wrong_kind(build: Build) -> None:
    connector = _connector(
        build, "connector:\n  name: a\n  identifier: a\n  type: Aws\n  spec: [1]\n"
    )
    assert _errors(connector) == [("spec", 5, "'spec' must be a mapping, not a list", None)]


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        (
            "{username: u, usernameRef: account.u, passwordRef: account.p}",
            "give either 'username' or 'usernameRef', not both",
        ),
        ("{passwordRef: account.p}", "one of 'username' or 'usernameRef' is required"),
    ],
)
def test_one_of_pairs(build: Build, spec: str, error: str) -> None:
    connector = _connector(
        build,
        f"""
        connector:
          name: hub
          identifier: hub
          type: DockerRegistry
          spec:
            dockerRegistryUrl: https://r.example.com
            providerType: Other
            auth:
              type: UsernamePassword
              spec: {spec}
        """,
    )
    assert _errors(connector) == [("spec.auth.spec.username", 10, error, None)]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://r.example.com", "'ftp://r.example.com' must start with http:// or https://"),
        ("https://", "'https://' names no host"),
        ("https://r.example.com:0", "'https://r.example.com:0' has port 0"),
        ("https://r.exa mple.com", "'https://r.exa mple.com' contains whitespace"),
    ],
)
def test_url_rules(build: Build, url: str, problem: str) -> None:
    connector = _connector(
        build,
        f"""
        connector:
          name: hub
          identifier: hub
          type: DockerRegistry
          spec:
            dockerRegistryUrl: "{url}"
            providerType: Other
            auth: {{type: Anonymous}}
        """,
    )
    assert _errors(connector) == [("spec.dockerRegistryUrl", 6, problem, None)]


def test_url_must_match_the_protocol(build: Build) -> None:
    ssh_with_http_url = _connector(
        build,
        """
        connector:
          name: gh
          identifier: gh
          type: Github
          spec:
            type: Repo
            url: https://github.com/acme/app
            authentication:
              type: Ssh
              spec: {sshKeyRef: account.ssh}
        """,
    )
    ((path, line, problem, _),) = _errors(ssh_with_http_url)
    assert (path, line) == ("spec.url", 7)
    assert problem.startswith("SSH authentication needs an SSH URL")


@pytest.mark.parametrize("connector_type", ["Github", "Gitlab", "Bitbucket", "AzureRepo", "Git"])
def test_account_connector_without_validation_repo_is_valid(
    build: Build, connector_type: str
) -> None:
    """``validationRepo`` carries no constraint in Harness's DTOs (GithubConnectorDTO,
    GitlabConnectorDTO, BitbucketConnectorDTO, GitConfigDTO, AzureRepoConnectorDTO); for an
    Account connector without it, Harness's connection test skips the repository
    (GitCommandTaskHandler#handleGitValidation returns early). Harness's docs publish such
    connectors (developer-hub create-a-connector-using-yaml.md)."""
    if connector_type == "Git":
        spec = """
            connectionType: Account
            url: https://git.example.com/acme
            type: Http
            spec: {username: ci, passwordRef: account.git_pw}"""
    else:
        connection = "Project" if connector_type == "AzureRepo" else "Account"
        kind, field = ("UsernameToken", "tokenRef")
        if connector_type == "Bitbucket":  # its only HTTP variant
            kind, field = ("UsernamePassword", "passwordRef")
        spec = f"""
            type: {connection}
            url: https://scm.example.com/acme
            authentication:
              type: Http
              spec:
                type: {kind}
                spec: {{username: ci, {field}: account.scm_pat}}"""
    connector = _connector(
        build,
        f"""
        connector:
          name: scm
          identifier: scm
          orgIdentifier: default
          projectIdentifier: CD_Docs
          type: {connector_type}
          spec:{spec}
            delegateSelectors: []
            executeOnDelegate: true
        """,
    )
    assert connector.errors == ()
    assert isinstance(connector.spec, ScmSpec)
    assert connector.spec.validation_repo is None


@pytest.mark.parametrize(
    ("identifier", "problem"),
    [
        ("1abc", "breaks Harness's rule"),
        ("$abc", "breaks Harness's rule"),
        ("with-dash", "breaks Harness's rule"),
        ("a" * 129, "breaks Harness's rule"),
        ("account", "is a reserved word in Harness"),
        ("stepGroup", "is a reserved word in Harness"),
        ("harnessSecretManager", "is a reserved word in Harness"),
    ],
)
def test_identifier_rules(build: Build, identifier: str, problem: str) -> None:
    connector = _connector(
        build, f"connector:\n  name: n\n  identifier: '{identifier}'\n  type: Jira\n  spec: {{}}\n"
    )
    ((path, line, text, _),) = _errors(connector)
    assert (path, line) == ("identifier", 3)
    assert problem in text


@pytest.mark.parametrize("identifier", ["_ok", "a$b", "A1_", "a" * 128])
def test_valid_identifiers(build: Build, identifier: str) -> None:
    connector = _connector(
        build, f"connector:\n  name: n\n  identifier: '{identifier}'\n  type: Jira\n  spec: {{}}\n"
    )
    assert connector.errors == ()


def test_name_rules(build: Build) -> None:
    connector = _connector(
        build, "connector:\n  name: 'bad!name'\n  identifier: a\n  type: Jira\n  spec: {}\n"
    )
    ((path, line, problem, _),) = _errors(connector)
    assert (path, line) == ("name", 2)
    assert "may only hold letters" in problem
    allowed = _connector(
        build, "connector:\n  name: 'Ok-name_1.2 /x'\n  identifier: a\n  type: Jira\n  spec: {}\n"
    )
    assert allowed.errors == ()


def test_project_without_org(build: Build) -> None:
    connector = _connector(
        build,
        "connector:\n  name: a\n  identifier: a\n  projectIdentifier: p\n"
        "  type: Jira\n  spec: {}\n",
    )
    assert _errors(connector) == [
        ("orgIdentifier", 2, "a project-level entity needs 'orgIdentifier' too", None)
    ]


def test_duplicate_keys_in_the_connector(build: Build) -> None:
    connector = _connector(
        build, "connector:\n  name: a\n  identifier: a\n  name: b\n  type: Jira\n  spec: {}\n"
    )
    assert _errors(connector) == [("name", 4, "key 'name' appears twice in the same mapping", None)]


@pytest.mark.parametrize(
    ("written", "suggestion"),
    [("GitHub", "Github"), ("k8scluster", "K8sCluster"), ("DockerRegistery", "DockerRegistry")],
)
def test_unknown_type_suggests_the_right_one(build: Build, written: str, suggestion: str) -> None:
    connector = _connector(
        build, f"connector:\n  name: a\n  identifier: a\n  type: {written}\n  spec: {{}}\n"
    )
    assert _errors(connector) == [
        ("type", 4, f"'{written}' is not a Harness connector type", suggestion)
    ]
    assert isinstance(connector.spec, GenericSpec)


def test_unknown_type_without_close_match(build: Build) -> None:
    connector = _connector(
        build, "connector:\n  name: a\n  identifier: a\n  type: Zzz\n  spec: {}\n"
    )
    assert _errors(connector) == [("type", 4, "'Zzz' is not a Harness connector type", None)]


def test_aws_region_and_role_arn(build: Build) -> None:
    connector = _connector(
        build,
        """
        connector:
          name: aws
          identifier: aws
          type: Aws
          spec:
            credential:
              type: ManualConfig
              spec: {accessKey: AKIA, secretKeyRef: account.sk}
              region: US-EAST-1
              crossAccountAccess:
                crossAccountRoleArn: arn:aws:iam::123:role/x
        """,
    )
    errors = _errors(connector)
    assert [(p, ln) for p, ln, _, _ in errors] == [
        ("spec.credential.region", 9),
        ("spec.credential.crossAccountAccess.crossAccountRoleArn", 11),
    ]
    assert "is not an AWS region name" in errors[0][2]
    assert "is not an IAM role ARN" in errors[1][2]


def test_azure_guid(build: Build) -> None:
    connector = _connector(
        build,
        """
        connector:
          name: az
          identifier: az
          type: Azure
          spec:
            credential:
              type: ManualConfig
              spec:
                applicationId: not-a-guid
                tenantId: 55555555-6666-7777-8888-999999999999
                auth: {type: Secret, spec: {secretRef: account.az}}
        """,
    )
    ((path, line, problem, _),) = _errors(connector)
    assert (path, line) == ("spec.credential.spec.applicationId", 9)
    assert problem.startswith("'not-a-guid' is not a GUID")
    assert _refs(connector) == [("spec.credential.spec.auth.spec.secretRef", "account.az", T)]


def test_vault_rules(build: Build) -> None:
    connector = _connector(
        build,
        """
        connector:
          name: v
          identifier: v
          type: Vault
          spec:
            vaultUrl: https://vault.example.com
            secretEngineVersion: 3
            useVaultAgent: true
            useK8sAuth: true
            sinkPath: /s
        """,
    )
    assert [(p, ln) for p, ln, _, _ in _errors(connector)] == [
        ("spec.secretEngineVersion", 7),
        ("spec", 6),
        ("spec.delegateSelectors", 6),
    ]
    problems = [p for _, _, p, _ in _errors(connector)]
    assert problems[0] == "KV version must be 1 or 2, not 3"
    assert problems[1] == (
        "only one of useVaultAgent, useAwsIam, useK8sAuth and useJwtAuth may be true"
    )
    assert problems[2] == "Vault VaultAgent authentication needs delegate selectors"


def test_vault_whole_numbers(build: Build) -> None:
    connector = _connector(
        build,
        """
        connector:
          name: v
          identifier: v
          type: Vault
          spec:
            vaultUrl: https://vault.example.com
            secretEngineVersion: two
            renewalIntervalMinutes: -1
            authToken: account.t
        """,
    )
    assert [(p, ln, msg) for p, ln, msg, _ in _errors(connector)] == [
        ("spec.secretEngineVersion", 7, "'secretEngineVersion' must be a whole number, not 'two'"),
        ("spec.renewalIntervalMinutes", 8, "'renewalIntervalMinutes' must be at least 0, not -1"),
    ]


def _vault(fields: str) -> str:
    return (
        "connector:\n  name: v\n  identifier: v\n  type: Vault\n  spec:\n"
        f"    vaultUrl: https://vault.example.com\n{fields}"
    )


def test_vault_jwt_auth(build: Build) -> None:
    """JWT auth loads as Harness's DTO defines it. harness-go-sdk
    ``harness/nextgen/model_vault_connector.go`` (and ``docs/VaultConnector.md``: all
    "[optional]") has ``useJwtAuth``, ``jwtAuthRole`` and ``jwtAuthPath``, every one
    ``omitempty``; terraform-provider-harness ``docs/resources/platform_connector_vault.md``
    (``access_type = "JWT"``) lists ``use_jwt_auth``, ``vault_jwt_auth_role``,
    ``vault_jwt_auth_path`` and ``delegate_selectors`` under Optional, with no default path.
    So neither the role, the path nor delegate selectors is required (Vault itself falls back
    to the mount's ``default_role``), and no ``authToken`` is read."""
    full = _connector(
        build,
        _vault(
            "    useJwtAuth: true\n    jwtAuthRole: harness\n    jwtAuthPath: jwt-harness\n"
            "    delegateSelectors: [vault]\n"
        ),
    )
    assert full.errors == () and isinstance(full.spec, VaultSpec)
    assert full.spec.auth is not None and full.spec.auth.kind == "Jwt"
    assert dict(full.spec.auth.values) == {"jwtAuthRole": "harness", "jwtAuthPath": "jwt-harness"}
    assert _refs(full) == []
    bare = _connector(build, _vault("    useJwtAuth: true\n    authToken: account.ignored\n"))
    assert bare.errors == () and isinstance(bare.spec, VaultSpec)
    assert bare.spec.auth is not None and (bare.spec.auth.kind, dict(bare.spec.auth.values)) == (
        "Jwt",
        {},
    )
    assert _refs(bare) == []  # the delegate logs in with a JWT, never with authToken


def test_vault_only_one_auth_method_flag(build: Build) -> None:
    """Harness derives one access type from the flags (VaultConnectorDTO.getAccessType; JWT
    per harness-go-sdk ``model_vault_connector.go``): at most one of the four may be true."""
    connector = _connector(
        build, _vault("    useK8sAuth: true\n    useJwtAuth: true\n    delegateSelectors: [v]\n")
    )
    assert next((p, msg) for p, _, msg, _ in _errors(connector)) == (
        "spec",
        "only one of useVaultAgent, useAwsIam, useK8sAuth and useJwtAuth may be true",
    )


def _bitbucket(
    api_spec: str, http_spec: str = "{username: bot, passwordRef: account.bb_pw}"
) -> str:
    return f"""
        connector:
          name: bb
          identifier: bb
          type: Bitbucket
          spec:
            type: Repo
            url: https://bitbucket.org/acme/app.git
            authentication:
              type: Http
              spec:
                type: UsernamePassword
                spec: {http_spec}
            apiAccess:
              {api_spec}
        """


@pytest.mark.parametrize(
    ("api", "kind", "plain", "refs"),
    [
        (
            "{type: AccessToken, spec: {tokenRef: account.bb_at}}",
            "AccessToken",
            {},
            [("spec.apiAccess.spec.tokenRef", "account.bb_at", T)],
        ),
        (
            "{type: EmailAndApiToken, spec: {email: bot@acme.test, tokenRef: account.bb_api}}",
            "EmailAndApiToken",
            {"email": "bot@acme.test"},
            [("spec.apiAccess.spec.tokenRef", "account.bb_api", T)],
        ),
        (
            "{type: EmailAndApiToken, spec: {emailRef: account.bb_mail, tokenRef: account.bb_api}}",
            "EmailAndApiToken",
            {},
            [
                ("spec.apiAccess.spec.emailRef", "account.bb_mail", T),
                ("spec.apiAccess.spec.tokenRef", "account.bb_api", T),
            ],
        ),
    ],
)
def test_bitbucket_api_access_types(
    build: Build, api: str, kind: str, plain: dict[str, str], refs: list[Any]
) -> None:
    """terraform-provider-harness ``docs/resources/platform_connector_bitbucket.md``: auth_type
    "Valid values are UsernameToken, AccessToken, EmailAndApiToken"; harness-go-sdk
    ``enum_bitbucket_api_access_types.go`` and the specs ``BitbucketAccessTokenApiAccess``
    ``{tokenRef}`` (``model_bitbucket_access_token_api_access.go``) and
    ``BitbucketEmailApiTokenApiAccess`` ``{email, emailRef, tokenRef}``
    (``model_bitbucket_email_api_token_api_access.go``)."""
    connector = _connector(build, _bitbucket(api))
    assert connector.errors == ()
    assert isinstance(connector.spec, ScmSpec) and connector.spec.api_access is not None
    assert connector.spec.api_access.kind == kind
    assert dict(connector.spec.api_access.values) == plain
    assert _refs(connector)[1:] == refs  # after the HTTP password


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (
            "{email: a@b.test, emailRef: account.m, tokenRef: account.t}",
            "give either 'email' or 'emailRef', not both",
        ),
        ("{tokenRef: account.t}", "one of 'email' or 'emailRef' is required"),
    ],
)
def test_bitbucket_email_is_a_one_of_pair(build: Build, spec: str, problem: str) -> None:
    """``email`` / ``emailRef`` of harness-go-sdk ``BitbucketEmailApiTokenApiAccess`` are the
    same plain-or-secret pair as ``username`` / ``usernameRef`` (both ``omitempty``, one needed:
    Basic auth takes the account e-mail with the API token)."""
    connector = _connector(build, _bitbucket(f"{{type: EmailAndApiToken, spec: {spec}}}"))
    assert [(p, msg) for p, _, msg, _ in _errors(connector)] == [
        ("spec.apiAccess.spec.email", problem)
    ]


def test_bitbucket_api_access_type_typo(build: Build) -> None:
    """The API access types of terraform-provider-harness / harness-go-sdk (see above), with a
    did-you-mean for a near miss."""
    connector = _connector(build, _bitbucket("{type: Accesstoken, spec: {tokenRef: account.t}}"))
    ((path, _, problem, suggestion),) = _errors(connector)
    assert (path, suggestion) == ("spec.apiAccess.type", "AccessToken")
    assert "UsernameToken, OAuth, AccessToken, EmailAndApiToken" in problem


@pytest.mark.parametrize(
    ("http", "api", "error_field"),
    [
        ("{username: bot, passwordRef: account.p}", "{usernameRef: account.u, tokenRef: account.t}",
         "spec.apiAccess.spec.usernameRef"),
        ("{usernameRef: account.u, passwordRef: account.p}", "{username: bot, tokenRef: account.t}",
         "spec.apiAccess.spec.username"),
        ("{username: bot, passwordRef: account.p}", "{username: bot, tokenRef: account.t}", None),
        ("{usernameRef: account.u, passwordRef: account.p}",
         "{usernameRef: account.u, tokenRef: account.t}", None),
    ],
)  # fmt: skip
def test_bitbucket_usernames_both_plain_or_both_secret(
    build: Build, http: str, api: str, error_field: str | None
) -> None:
    """Harness refuses a Bitbucket connector whose HTTP (UsernamePassword) username and API
    (UsernameToken) username differ in kind, with "Both usernames should be set either as
    secret or plain text" (Harness's Bitbucket connector validation)."""
    connector = _connector(build, _bitbucket(f"{{type: UsernameToken, spec: {api}}}", http))
    errors = [(p, msg) for p, _, msg, _ in _errors(connector)]
    if error_field is None:
        assert errors == []
    else:
        ((path, problem),) = errors
        assert path == error_field
        assert "both as plain text or both as secret references" in problem


# -- InheritFromDelegate and other delegate identities ----------------------------------------


@pytest.mark.parametrize(
    ("connector_type", "credential"),
    [
        ("K8sCluster", "InheritFromDelegate"),
        ("Aws", "InheritFromDelegate"),
        ("Aws", "Irsa"),
        ("Gcp", "InheritFromDelegate"),
    ],
)
def test_inherit_from_delegate_rules(build: Build, connector_type: str, credential: str) -> None:
    def make(extra_credential: str = "", selectors: str = "    delegateSelectors: [d]\n") -> Any:
        return _connector(
            build,
            "connector:\n  name: c\n  identifier: c\n"
            f"  type: {connector_type}\n  spec:\n    credential:\n      type: {credential}\n"
            f"{extra_credential}{selectors}",
        )

    healthy = make()
    assert healthy.errors == ()
    assert healthy.spec.credential_type == credential
    assert healthy.secret_refs == ()

    without_selectors = make(selectors="")
    assert _errors(without_selectors) == [
        (
            "spec.delegateSelectors",
            6,
            f"credential type {credential} needs at least one delegate selector: the delegate's"
            " own identity is the credential",
            None,
        )
    ]

    takes_no_spec = f"credential type {credential} takes no 'spec' (not even an empty one)"
    with_spec = make("      spec:\n        masterUrl: https://k\n")
    assert _errors(with_spec) == [("spec.credential.spec", 8, takes_no_spec, None)]
    # Harness's credential deserializers reject any spec that is not null: `{}` too.
    assert _errors(make("      spec: {}\n")) == [("spec.credential.spec", 8, takes_no_spec, None)]
    assert make("      spec:\n").errors == ()  # YAML null is no spec


def test_azure_inherit_from_delegate_takes_a_managed_identity(build: Build) -> None:
    text = """
        connector:
          name: az
          identifier: az
          type: Azure
          spec:
            credential:
              type: InheritFromDelegate
              spec:
                auth:
                  type: UserAssignedManagedIdentity
                  spec: {{clientId: {client}}}
            {selectors}
        """
    healthy = _connector(
        build,
        text.format(
            client="22222222-3333-4444-5555-666666666666", selectors="delegateSelectors: [aks]"
        ),
    )
    assert healthy.errors == ()
    spec = healthy.spec
    assert isinstance(spec, AzureSpec)
    assert spec.credential_type == "InheritFromDelegate"
    assert spec.auth is not None and spec.auth.kind == "UserAssignedManagedIdentity"
    assert spec.auth.values == {"clientId": "22222222-3333-4444-5555-666666666666"}

    broken = _connector(build, text.format(client="nope", selectors=""))
    assert [(p, ln) for p, ln, _, _ in _errors(broken)] == [
        ("spec.delegateSelectors", 6),
        ("spec.credential.spec.auth.spec.clientId", 11),
    ]


def test_azure_system_assigned_identity(build: Build) -> None:
    connector = _connector(
        build,
        """
        connector:
          name: az
          identifier: az
          type: Azure
          spec:
            credential:
              type: InheritFromDelegate
              spec:
                auth: {type: SystemAssignedManagedIdentity}
            delegateSelectors: [aks]
        """,
    )
    assert connector.errors == ()
    assert connector.spec.auth is not None
    assert connector.spec.auth.kind == "SystemAssignedManagedIdentity"


# -- runtime expressions ---------------------------------------------------------------------


def test_runtime_expressions_pass_definition_but_are_recorded(build: Build) -> None:
    connector = _connector(
        build,
        """
        connector:
          name: gh
          identifier: gh
          description: <+not.recorded>
          tags: {team: <+also.not>}
          type: Github
          spec:
            type: Account
            url: <+pipeline.variables.repo_url>
            authentication:
              type: Http
              spec:
                type: UsernameToken
                spec:
                  username: <+pipeline.variables.user>
                  tokenRef: <+secrets.getValue("gh_pat")>
            delegateSelectors: [gh]
        """,
    )
    assert connector.errors == ()
    assert [(e.field_path, e.line, e.value) for e in connector.expressions] == [
        ("spec.url", 9, "<+pipeline.variables.repo_url>"),
        ("spec.authentication.spec.spec.username", 15, "<+pipeline.variables.user>"),
        ("spec.authentication.spec.spec.tokenRef", 16, '<+secrets.getValue("gh_pat")>'),
    ]
    assert connector.secret_refs == ()  # an expression is no secret reference to resolve


def test_credential_type_as_runtime_input_needs_no_spec(build: Build) -> None:
    connector = _connector(
        build,
        """
        connector:
          name: k8s
          identifier: k8s
          type: K8sCluster
          spec:
            credential:
              type: <+input>
            delegateSelectors: [a]
        """,
    )
    assert connector.errors == ()
    assert [e.field_path for e in connector.expressions] == ["spec.credential.type"]


def test_expressions_pass_enum_url_arn_and_region_rules(build: Build) -> None:
    aws = _connector(
        build,
        """
        connector:
          name: aws
          identifier: aws
          type: Aws
          spec:
            credential:
              type: InheritFromDelegate
              region: <+input>.allowedValues(us-east-1)
              crossAccountAccess:
                crossAccountRoleArn: <+stage.variables.role>
            delegateSelectors: [a]
        """,
    )
    assert aws.errors == ()
    assert [e.field_path for e in aws.expressions] == [
        "spec.credential.region",
        "spec.credential.crossAccountAccess.crossAccountRoleArn",
    ]
    docker = _connector(
        build,
        """
        connector:
          name: hub
          identifier: hub
          type: DockerRegistry
          spec:
            dockerRegistryUrl: <+input>
            providerType: <+input>
            auth: {type: Anonymous}
        """,
    )
    assert docker.errors == ()
    assert [e.field_path for e in docker.expressions] == [
        "spec.dockerRegistryUrl",
        "spec.providerType",
    ]


def test_tags_and_description(build: Build) -> None:
    connector = _connector(
        build,
        "connector:\n  name: a\n  identifier: a\n  description: hello\n"
        "  tags: {team: platform, prod: ''}\n  type: Jira\n  spec: {}\n",
    )
    assert connector.tags == {"team": "platform", "prod": ""}
    assert connector.description == "hello"


# -- documents that cannot be modelled -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem", "field_path"),
    [
        ("connector: [1, 2]\n", "'connector' must be a mapping", "connector"),
        (
            "connector:\n  name: a\n  type: Jira\n",
            "the connector has no 'identifier'",
            "connector.identifier",
        ),
        (
            "connector:\n  identifier: '  '\n",
            "the connector has no 'identifier'",
            "connector.identifier",
        ),
    ],
)
def test_broken_connector_documents(build: Build, text: str, problem: str, field_path: str) -> None:
    broken = build(text)
    assert isinstance(broken, BrokenDocument)
    assert (broken.problem, broken.field_path, broken.file) == (problem, field_path, "c.yaml")
    assert broken.name == "document-1"


def test_secret_documents(load_yaml: Callable[[str], list[Any]]) -> None:
    (document,) = load_yaml(
        """
        secret:
          type: SecretText
          name: gh pat
          identifier: gh_pat
          orgIdentifier: eng
          spec:
            secretManagerIdentifier: vault
            valueType: Reference
            value: path/to/secret#key
        """
    )
    secret = build_secret(document.data["secret"], "s.yaml", 1, 1)
    assert (secret.identifier, secret.scope, secret.type) == (
        "gh_pat",
        ScopeId("eng"),
        "SecretText",
    )
    assert (secret.manager, secret.value_type, secret.value_path) == (
        "vault",
        "Reference",
        "path/to/secret#key",
    )
    assert isinstance(build_secret([1], "s.yaml", 1, 1), BrokenDocument)


def test_pipeline_documents_collect_connector_refs(load_yaml: Callable[[str], list[Any]]) -> None:
    (document,) = load_yaml(
        """
        pipeline:
          identifier: deploy
          orgIdentifier: eng
          projectIdentifier: web
          stages:
            - stage:
                spec:
                  connectorRef: account.gh
                  steps:
                    - step: {spec: {connectorRef: " k8s "}}
                    - step: {spec: {connectorRef: <+input>}}
        """
    )
    pipeline = build_pipeline("pipeline", document.data["pipeline"], "p.yaml", 1, 1)
    assert (pipeline.kind, pipeline.identifier, pipeline.scope) == (
        "pipeline",
        "deploy",
        ScopeId("eng", "web"),
    )
    assert [(u.reference, u.field_path, u.line) for u in pipeline.uses] == [
        ("account.gh", "pipeline.stages[0].stage.spec.connectorRef", 8),
        ("k8s", "pipeline.stages[0].stage.spec.steps[0].step.spec.connectorRef", 10),
        ("<+input>", "pipeline.stages[0].stage.spec.steps[1].step.spec.connectorRef", 11),
    ]
