"""Every authentication variant Harness's current DTOs accept loads: no definition error and no
unknown key, one connector per variant.

Shapes follow Harness's connector DTOs (harness-core ``954-connector-beans``), Harness's 2026
connector YAML schema (Bitbucket ``AccessToken``/``EmailAndApiToken``, AWS ``sessionTokenRef``
and ``CredentialBroker``, Vault JWT, ``ignoreTestConnection``), the JSON tags of harness-go-sdk
``harness/nextgen/model_*.go`` and terraform-provider-harness's connector docs.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_connectors.model import BrokenDocument, Connector

Build = Callable[[str], Connector | BrokenDocument]

_HTTP = "authentication: {{type: Http, spec: {{type: {kind}, spec: {spec}}}}}"
_SCM = "type: Repo\nurl: https://scm.example.com/acme/app.git\n"
_SSH_SCM = "type: Repo\nurl: git@scm.example.com:acme/app.git\n"
_SSH_AUTH = "authentication: {type: Ssh, spec: {sshKeyRef: account.ssh_key}}"
_APP = "{installationId: '12', applicationId: '34', privateKeyRef: account.gh_app_key}"


def _http(kind: str, spec: str = "{}") -> str:
    return _SCM + _HTTP.format(kind=kind, spec=spec)


def _api(base: str, kind: str, spec: str) -> str:
    return f"{base}\napiAccess: {{type: {kind}, spec: {spec}}}"


_TOKEN_AUTH = _http("UsernameToken", "{username: bot, tokenRef: account.tok}")
_BB_AUTH = _http("UsernamePassword", "{username: bot, passwordRef: account.pw}")
_K8S = "credential: {{type: ManualConfig, spec: {{masterUrl: 'https://k8s.example.com:6443', auth: {{type: {kind}, spec: {spec}}}}}}}"  # noqa: E501
_AWS = "credential: {{type: {kind}, spec: {spec}, region: us-east-1}}"
_AZURE = (
    "credential: {{type: ManualConfig, spec: {{applicationId: 0b5c4c2a-1111-4e2f-9a4b-"
    "2f9c1d3e4a5b, tenantId: {tenant}, auth: {{type: {kind}, spec: {spec}}}}}}}"
)
_VAULT = "vaultUrl: 'https://vault.example.com:8200'\nbasePath: harness\n"

VARIANTS: dict[str, tuple[str, str, str]] = {
    # id: (type, spec body, the credential kind the model must carry)
    "github-usernametoken": ("Github", _TOKEN_AUTH, "UsernameToken"),
    "github-usernamepassword": (
        "Github", _http("UsernamePassword", "{usernameRef: account.user, passwordRef: account.pw}"),
        "UsernamePassword",
    ),
    "github-app": ("Github", _http("GithubApp", _APP), "GithubApp"),
    "github-oauth": ("Github", _http("OAuth", "{tokenRef: account.oauth}"), "OAuth"),
    "github-anonymous": ("Github", _SCM + "authentication: {type: Http, spec: {type: Anonymous}}",
                         "Anonymous"),
    "github-ssh": ("Github", _SSH_SCM + _SSH_AUTH, "Ssh"),
    "github-api-token": ("Github", _api(_TOKEN_AUTH, "Token", "{tokenRef: account.tok}"),
                         "UsernameToken"),
    "github-api-app": ("Github", _api(_TOKEN_AUTH, "GithubApp", _APP), "UsernameToken"),
    "github-api-oauth": ("Github", _api(_TOKEN_AUTH, "OAuth", "{tokenRef: account.oauth}"),
                         "UsernameToken"),
    "gitlab-usernamepassword": (
        "Gitlab", _http("UsernamePassword", "{username: bot, passwordRef: account.pw}"),
        "UsernamePassword",
    ),
    "gitlab-usernametoken": ("Gitlab", _TOKEN_AUTH, "UsernameToken"),
    "gitlab-kerberos": ("Gitlab", _http("Kerberos", "{kerberosKeyRef: account.krb}"), "Kerberos"),
    "gitlab-oauth": (
        "Gitlab", _http("OAuth", "{tokenRef: account.oauth, refreshTokenRef: account.refresh}"),
        "OAuth",
    ),
    "gitlab-ssh": ("Gitlab", _SSH_SCM + _SSH_AUTH, "Ssh"),
    "gitlab-api-token": (
        "Gitlab",
        _api(_TOKEN_AUTH, "Token", "{tokenRef: account.tok, apiUrl: 'https://scm.example.com'}"),
        "UsernameToken",
    ),
    "gitlab-api-oauth": ("Gitlab", _api(_TOKEN_AUTH, "OAuth", "{tokenRef: account.oauth}"),
                         "UsernameToken"),
    "bitbucket-usernamepassword": ("Bitbucket", _BB_AUTH, "UsernamePassword"),
    "bitbucket-ssh": ("Bitbucket", _SSH_SCM + _SSH_AUTH, "Ssh"),
    "bitbucket-api-usernametoken": (
        "Bitbucket", _api(_BB_AUTH, "UsernameToken", "{username: bot, tokenRef: account.tok}"),
        "UsernamePassword",
    ),
    "bitbucket-api-oauth": ("Bitbucket", _api(_BB_AUTH, "OAuth", "{tokenRef: account.oauth}"),
                            "UsernamePassword"),
    "bitbucket-api-accesstoken": (
        "Bitbucket", _api(_BB_AUTH, "AccessToken", "{tokenRef: account.tok}"), "UsernamePassword"
    ),
    "bitbucket-api-emailandapitoken": (
        "Bitbucket",
        _api(_BB_AUTH, "EmailAndApiToken", "{email: bot@example.com, tokenRef: account.tok}"),
        "UsernamePassword",
    ),
    "azurerepo-usernametoken": (
        "AzureRepo", _TOKEN_AUTH.replace("type: Repo", "type: Project"), "UsernameToken"
    ),
    "azurerepo-ssh": ("AzureRepo", _SSH_SCM + _SSH_AUTH, "Ssh"),
    "git-http": (
        "Git",
        "connectionType: Repo\nurl: https://git.example.com/acme/app.git\ntype: Http\n"
        "spec: {username: ci, passwordRef: account.pw}\nbranchName: main",
        "UsernamePassword",
    ),
    "git-ssh": (
        "Git",
        "connectionType: Account\nurl: git@git.example.com:acme\nvalidationRepo: app\n"
        "type: Ssh\nspec: {sshKeyRef: account.ssh_key}",
        "Ssh",
    ),
    "k8s-usernamepassword": (
        "K8sCluster", _K8S.format(kind="UsernamePassword",
                                  spec="{username: admin, passwordRef: account.pw}"),
        "UsernamePassword",
    ),
    "k8s-serviceaccount": (
        "K8sCluster",
        _K8S.format(kind="ServiceAccount",
                    spec="{serviceAccountTokenRef: account.sa, caCertRef: account.ca}"),
        "ServiceAccount",
    ),
    "k8s-openidconnect": (
        "K8sCluster",
        _K8S.format(
            kind="OpenIdConnect",
            spec="{oidcIssuerUrl: 'https://idp.example.com', oidcUsername: dev, "
            "oidcClientIdRef: account.cid, oidcPasswordRef: account.pw, oidcScopes: openid}",
        ),
        "OpenIdConnect",
    ),
    "k8s-clientkeycert": (
        "K8sCluster",
        _K8S.format(
            kind="ClientKeyCert",
            spec="{clientCertRef: account.crt, clientKeyRef: account.key, "
            "clientKeyPassphraseRef: account.pass, caCertRef: account.ca, clientKeyAlgo: RSA}",
        ),
        "ClientKeyCert",
    ),
    "k8s-inheritfromdelegate": (
        "K8sCluster", "credential: {type: InheritFromDelegate}\ndelegateSelectors: [k8s]", ""
    ),
    "aws-manual-accesskey": (
        "Aws", _AWS.format(kind="ManualConfig",
                           spec="{accessKey: AKIAEXAMPLE, secretKeyRef: account.sk}"),
        "ManualConfig",
    ),
    "aws-manual-sessiontoken": (
        "Aws",
        _AWS.format(
            kind="ManualConfig",
            spec="{accessKeyRef: account.ak, secretKeyRef: account.sk, "
            "sessionTokenRef: account.st}",
        ),
        "ManualConfig",
    ),
    "aws-inheritfromdelegate": (
        "Aws", "credential: {type: InheritFromDelegate, region: us-east-1}\n"
        "delegateSelectors: [aws]", "InheritFromDelegate",
    ),
    "aws-irsa": ("Aws", "credential: {type: Irsa}\ndelegateSelectors: [eks]", "Irsa"),
    "aws-oidc": (
        "Aws",
        _AWS.format(kind="OidcAuthentication",
                    spec="{iamRoleArn: 'arn:aws:iam::123456789012:role/harness'}"),
        "OidcAuthentication",
    ),
    "aws-credentialbroker": (
        "Aws",
        _AWS.format(kind="CredentialBroker",
                    spec="{url: 'https://broker.example.com', signedSecretRef: account.sig}"),
        "CredentialBroker",
    ),
    "aws-crossaccount-backoff": (
        "Aws",
        "credential:\n  type: ManualConfig\n  spec: {accessKey: AKIAEXAMPLE, secretKeyRef: "
        "account.sk}\n  crossAccountAccess: {crossAccountRoleArn: "
        "'arn:aws:iam::123456789012:role/deploy', externalId: ext-1}\n"
        "awsSdkClientBackOffStrategyOverride: {type: EqualJitterBackoffStrategy, spec: "
        "{baseDelay: 100, maxBackoffTime: 20000, retryCount: 5}}",
        "ManualConfig",
    ),
    "gcp-manual": ("Gcp", "credential: {type: ManualConfig, spec: {secretKeyRef: account.key}}",
                   "ManualConfig"),
    "gcp-inheritfromdelegate": (
        "Gcp", "credential: {type: InheritFromDelegate}\ndelegateSelectors: [gke]",
        "InheritFromDelegate",
    ),
    "gcp-oidc": (
        "Gcp",
        "credential: {type: OidcAuthentication, spec: {workloadPoolId: pool, providerId: prov, "
        "gcpProjectId: my-project, serviceAccountEmail: sa@my-project.iam.gserviceaccount.com}}",
        "OidcAuthentication",
    ),
    "azure-secret": (
        "Azure", _AZURE.format(tenant="contoso.onmicrosoft.com", kind="Secret",
                               spec="{secretRef: account.az}") + "\nazureEnvironmentType: AZURE",
        "Secret",
    ),
    "azure-certificate": (
        "Azure",
        _AZURE.format(tenant="5f2b1c3d-2222-4e2f-9a4b-2f9c1d3e4a5b", kind="Certificate",
                      spec="{certificateRef: account.az_pem}")
        + "\nazureEnvironmentType: AZURE_US_GOVERNMENT",
        "Certificate",
    ),
    "azure-user-assigned-identity": (
        "Azure",
        "credential: {type: InheritFromDelegate, spec: {auth: {type: UserAssignedManagedIdentity,"
        " spec: {clientId: 7d3e4a5b-3333-4e2f-9a4b-2f9c1d3e4a5b}}}}\ndelegateSelectors: [aks]",
        "UserAssignedManagedIdentity",
    ),
    "azure-system-assigned-identity": (
        "Azure",
        "credential: {type: InheritFromDelegate, spec: {auth: {type: "
        "SystemAssignedManagedIdentity}}}\ndelegateSelectors: [aks]",
        "SystemAssignedManagedIdentity",
    ),
    "azure-oidc": (
        "Azure",
        "credential: {type: OidcAuthentication, spec: {applicationId: 0b5c4c2a-1111-4e2f-9a4b-"
        "2f9c1d3e4a5b, tenantId: 5f2b1c3d-2222-4e2f-9a4b-2f9c1d3e4a5b, audience: "
        "'api://AzureADTokenExchange'}}\ndelegateSelectors: [aks]",
        "OidcAuthentication",
    ),
    "vault-token": ("Vault", _VAULT + "authToken: account.vault_token", "Token"),
    "vault-approle": ("Vault", _VAULT + "appRoleId: role-1\nsecretId: account.secret_id",
                      "AppRole"),
    "vault-agent": ("Vault", _VAULT + "useVaultAgent: true\nsinkPath: /vault/token\n"
                    "delegateSelectors: [vault]", "VaultAgent"),
    "vault-aws-iam": (
        "Vault", _VAULT + "useAwsIam: true\nvaultAwsIamRole: harness\nawsRegion: us-east-1\n"
        "xvaultAwsIamServerId: account.iam_server\ndelegateSelectors: [vault]", "AwsIam",
    ),
    "vault-k8s-auth": (
        "Vault", _VAULT + "useK8sAuth: true\nvaultK8sAuthRole: harness\nserviceAccountTokenPath:"
        " /var/run/secrets/kubernetes.io/serviceaccount/token\nk8sAuthEndpoint: kubernetes\n"
        "delegateSelectors: [vault]", "K8sAuth",
    ),
    "vault-jwt": ("Vault", _VAULT + "useJwtAuth: true\njwtAuthRole: harness\njwtAuthPath: jwt\n"
                  "delegateSelectors: [vault]", "Jwt"),
    "docker-usernamepassword": (
        "DockerRegistry",
        "dockerRegistryUrl: 'https://registry.example.com/v2/'\nproviderType: Harbor\n"
        "auth: {type: UsernamePassword, spec: {username: bot, passwordRef: account.pw}}",
        "UsernamePassword",
    ),
    "docker-anonymous": (
        "DockerRegistry",
        "dockerRegistryUrl: 'https://registry.hub.docker.com/v2/'\nproviderType: DockerHub\n"
        "auth: {type: Anonymous}",
        "Anonymous",
    ),
}  # fmt: skip


def _document(connector_type: str, body: str) -> str:
    spec = "\n".join(f"    {line}" for line in body.splitlines())
    return (
        "connector:\n  name: variant\n  identifier: variant\n  orgIdentifier: default\n"
        f"  projectIdentifier: docs\n  type: {connector_type}\n  spec:\n{spec}\n"
        "    ignoreTestConnection: false\n"
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_loads(build: Build, variant: str) -> None:
    connector_type, body, kind = VARIANTS[variant]
    connector = build(_document(connector_type, body))
    assert isinstance(connector, Connector)
    assert connector.errors == ()
    assert connector.unknown_fields == ()
    auth = getattr(connector.spec, "auth", None)
    assert (auth.kind if auth is not None else "") == kind


def test_harness_export_keys_never_warn(build: Build) -> None:
    """What Harness writes when it exports a connector (accountIdentifier, uniqueId,
    connectorType, accessType ...) is never an unknown key."""
    connector = build(
        "connector:\n  name: v\n  identifier: v\n  accountIdentifier: px7xd_BFRCi\n"
        "  orgIdentifier: default\n  projectIdentifier: docs\n  uniqueId: abc\n"
        "  description: ''\n  tags: {}\n  type: Vault\n  spec:\n"
        "    vaultUrl: 'https://vault.example.com'\n    basePath: harness\n"
        "    authToken: account.t\n    accessType: TOKEN\n    connectorType: VaultConnector\n"
        "    default: false\n    readOnly: false\n    renewalIntervalMinutes: 10\n"
        "    secretEngineManuallyConfigured: false\n    delegateSelectors: []\n"
    )
    assert isinstance(connector, Connector)
    assert connector.unknown_fields == ()


@pytest.mark.parametrize(
    ("connector_type", "body", "field_path", "suggestion"),
    [
        (
            "Aws",
            "credential: {type: ManualConfig, spec: {accessKey: AKIAEXAMPLE, secretKeyRef: "
            "account.sk}}\ncrossAccountAccess: {crossAccountRoleArn: "
            "'arn:aws:iam::123456789012:role/deploy'}",
            "spec.crossAccountAccess",
            "spec.credential.crossAccountAccess",
        ),
        (
            "Aws",
            "credential: {type: InheritFromDelegate, spec: {delegateSelectors: [aws]}}",
            "spec.credential.spec.delegateSelectors",
            "spec.delegateSelectors",
        ),
        ("Vault", _VAULT + "authToken: account.t\nisReadOnly: true", "spec.isReadOnly",
         "spec.readOnly"),
        (
            "Github",
            _TOKEN_AUTH + "\napiAccess: {type: Token}\nspec: {tokenRef: account.tok}",
            "spec.spec",
            "spec.apiAccess.spec or spec.authentication.spec",
        ),
        ("Gitlab", _TOKEN_AUTH + "\ncolour: blue", "spec.colour", None),
    ],
)  # fmt: skip
def test_a_key_harness_drops_is_named_with_where_it_belongs(
    build: Build, connector_type: str, body: str, field_path: str, suggestion: str | None
) -> None:
    """Harness drops unknown keys silently (``@JsonIgnoreProperties(ignoreUnknown = true)``);
    AWS reads ``crossAccountAccess`` and ``region`` inside ``spec.credential``
    (AwsCredentialDTODeserializer), Vault's Lombok fields are ``readOnly``/``default``."""
    connector = build(_document(connector_type, body))
    assert isinstance(connector, Connector)
    found = [(u.field_path, u.suggestion) for u in connector.unknown_fields]
    assert found == [(field_path, suggestion)]


def test_a_key_of_another_variant_is_named_as_such(build: Build) -> None:
    """``tokenRef`` is read under ``UsernameToken``, not under ``UsernamePassword``
    (GithubUsernamePasswordDTO): the warning says which variants read it, and suggests no
    other place."""
    body = _http(
        "UsernamePassword", "{username: bot, passwordRef: account.pw, tokenRef: account.t}"
    )
    connector = build(_document("Github", body))
    assert isinstance(connector, Connector)
    (unknown,) = connector.unknown_fields
    assert unknown.field_path == "spec.authentication.spec.spec.tokenRef"
    assert unknown.suggestion is None
    assert unknown.note is not None and "UsernameToken" in unknown.note


@pytest.mark.parametrize(
    ("connector_type", "body", "expected"),
    [
        # the Go SDK writes both spellings; the right one is there: nothing is lost
        ("Vault", _VAULT + "authToken: account.t\nreadOnly: true\nisReadOnly: true", []),
        # a misspelling is looked up where its right spelling lives in this type's layout
        ("Github", _TOKEN_AUTH + "\ndelegateSelector: [a]",
         [("spec.delegateSelector", "spec.delegateSelectors")]),
        ("Github", _TOKEN_AUTH + "\nauthTokenRef: account.t", [("spec.authTokenRef", None)]),
        # a refused InheritFromDelegate spec is definition-invalid; only a key that belongs
        # elsewhere is named on top of that
        ("K8sCluster", "credential: {type: InheritFromDelegate, spec: {masterUrl: 'https://k'}}\n"
         "delegateSelectors: [k8s]", []),
    ],
)  # fmt: skip
def test_no_noise_and_no_wrong_place(
    build: Build, connector_type: str, body: str, expected: list[tuple[str, str | None]]
) -> None:
    connector = build(_document(connector_type, body))
    assert isinstance(connector, Connector)
    assert [(u.field_path, u.suggestion) for u in connector.unknown_fields] == expected


def test_a_top_level_key_that_belongs_in_the_spec(build: Build) -> None:
    connector = build(
        "connector:\n  name: v\n  identifier: v\n  type: Gcp\n  delegateSelectors: [gke]\n"
        "  spec:\n    credential: {type: InheritFromDelegate}\n    delegateSelectors: [gke]\n"
    )
    assert isinstance(connector, Connector)
    assert [(u.field_path, u.suggestion) for u in connector.unknown_fields] == [
        ("delegateSelectors", "spec.delegateSelectors")
    ]
