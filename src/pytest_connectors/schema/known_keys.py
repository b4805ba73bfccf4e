"""Every key Harness knows at each place of a connector document, and the keys it would drop.

Harness reads connector YAML with Jackson's ``FAIL_ON_UNKNOWN_PROPERTIES`` off and
``@JsonIgnoreProperties(ignoreUnknown = true)`` on its DTOs, so a key it does not know is dropped
without a word: whatever it was meant to configure is lost. Each table below is the union of
what Harness accepts or itself writes at that place, so an export or an API response never
warns. Sources: the connector DTOs of harness-core (``954-connector-beans/.../connector/**``:
GithubConnectorDTO, KubernetesCredentialDTODeserializer, AwsCredentialDTODeserializer,
VaultConnectorDTO, ...), Harness's YAML schema for connectors (2026, which adds
``ignoreTestConnection``, ``uniqueId``, AWS ``sessionTokenRef`` and ``CredentialBroker``, Vault
JWT, ...), and the JSON tags of harness-go-sdk ``harness/nextgen/model_*.go`` (what the
Terraform provider sends; ``connectorType`` is its discriminator, ignored by the server).

A key found elsewhere in the same type's layout is reported with where it belongs (AWS
``crossAccountAccess`` under ``spec`` belongs under ``spec.credential``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Union

from ..model import UnknownField
from ..refs import is_expression
from ..yamlload import YamlMap


@dataclass(frozen=True)
class ByType:
    """A map whose keys depend on the value of ``field`` in the map that holds it."""

    field: str
    variants: Mapping[str, Node]


Child = Union["Node", ByType, None]  # None: a value we do not look into
Node = Mapping[str, Child]


def keys(*names: str, **children: Child) -> Node:
    return {**dict.fromkeys(names), **children}


#: Top level of ``connector:`` (ConnectorInfoDTO; accountIdentifier is echoed in every export).
ENVELOPE = keys(
    "name", "identifier", "description", "accountIdentifier", "orgIdentifier",
    "projectIdentifier", "tags", "type", "spec", "uniqueId", "parentUniqueId",
)  # fmt: skip

_EVERY_SPEC = ("delegateSelectors", "ignoreTestConnection", "connectorType")
_VIA_PLATFORM = ("executeOnDelegate", "proxy")
_USER_PASSWORD = keys("username", "usernameRef", "passwordRef")
_USER_TOKEN = keys("username", "usernameRef", "tokenRef")
_TOKEN = keys("tokenRef")
_OAUTH = keys("tokenRef", "refreshTokenRef")
_GITHUB_APP = keys(
    "installationId", "installationIdRef", "applicationId", "applicationIdRef", "privateKeyRef"
)  # fmt: skip
_SSH = keys("sshKeyRef")


def _scm(http: Mapping[str, Node], api: Mapping[str, Node], *, proxy: bool = True) -> Node:
    """Github, Gitlab, Bitbucket and AzureRepo share one layout."""
    return keys(
        "type", "url", "validationRepo", *_EVERY_SPEC, "executeOnDelegate",
        *(("proxy",) if proxy else ()),
        authentication=keys(
            "type",
            spec=ByType(
                "type", {"Http": keys("type", spec=ByType("type", http)), "Ssh": _SSH}
            ),
        ),
        apiAccess=keys("type", spec=ByType("type", api)),
    )  # fmt: skip


_GITHUB = _scm(
    {
        "UsernameToken": _USER_TOKEN,
        "UsernamePassword": _USER_PASSWORD,
        "GithubApp": _GITHUB_APP,
        "OAuth": keys("tokenRef", "userName"),  # userName: a legacy key GithubOauthDTO ignores
        "Anonymous": {},
    },
    {"Token": _TOKEN, "GithubApp": _GITHUB_APP, "OAuth": keys("tokenRef", "userName")},
)
_GITLAB = _scm(
    {
        "UsernamePassword": _USER_PASSWORD,
        "UsernameToken": _USER_TOKEN,
        "Kerberos": keys("kerberosKeyRef"),
        "OAuth": _OAUTH,
    },
    {"Token": keys("tokenRef", "apiUrl"), "OAuth": _OAUTH},
)
_BITBUCKET = _scm(
    {"UsernamePassword": _USER_PASSWORD},
    {
        # type/spec: written by the Go SDK inside this variant, dropped by Harness
        "UsernameToken": keys("username", "usernameRef", "tokenRef", "type", "spec"),
        "OAuth": _OAUTH,
        "AccessToken": _TOKEN,
        "EmailAndApiToken": keys("email", "emailRef", "tokenRef"),
    },
)
_AZURE_REPO = _scm({"UsernameToken": _USER_TOKEN}, {"Token": _TOKEN}, proxy=False)
_GIT = keys(
    "connectionType", "url", "validationRepo", "branchName", "type", "isAnonymous",
    *_EVERY_SPEC, *_VIA_PLATFORM,
    spec=ByType(
        "type",
        {
            "Http": keys("username", "usernameRef", "passwordRef", "type"),
            "Ssh": keys("sshKeyRef", "type"),
        },
    ),
)  # fmt: skip

_K8S_AUTH = {
    "UsernamePassword": _USER_PASSWORD,
    "ServiceAccount": keys("serviceAccountTokenRef", "caCertRef"),
    "OpenIdConnect": keys(
        "oidcIssuerUrl", "oidcUsername", "oidcUsernameRef", "oidcClientIdRef", "oidcPasswordRef",
        "oidcSecretRef", "oidcScopes",
    ),
    "ClientKeyCert": keys(
        "clientCertRef", "clientKeyRef", "clientKeyPassphraseRef", "caCertRef", "clientKeyAlgo"
    ),
}  # fmt: skip
_K8S_MANUAL = keys("masterUrl", auth=keys("type", spec=ByType("type", _K8S_AUTH)))
_K8S = keys(
    *_EVERY_SPEC,
    credential=keys(
        "type",
        spec=ByType(
            "type",
            {
                "ManualConfig": keys(
                    "masterUrl", auth=keys("type", spec=ByType("type", _K8S_AUTH))
                ),
                "InheritFromDelegate": {},  # any spec is refused
            },
        ),
    ),
)

_BACKOFF = {
    "FixedDelayBackoffStrategy": keys("fixedBackoff", "retryCount"),
    "EqualJitterBackoffStrategy": keys("baseDelay", "maxBackoffTime", "retryCount"),
    "FullJitterBackoffStrategy": keys("baseDelay", "maxBackoffTime", "retryCount"),
}
_AWS = keys(
    *_EVERY_SPEC, *_VIA_PLATFORM,
    credential=keys(
        "type", "region",
        crossAccountAccess=keys("crossAccountRoleArn", "externalId", "assumeRoleSessionDuration"),
        spec=ByType(
            "type",
            {
                "ManualConfig": keys(
                    "accessKey", "accessKeyRef", "secretKeyRef", "sessionTokenRef"
                ),
                "OidcAuthentication": keys("iamRoleArn", "oidcSessionTagKeys"),
                "CredentialBroker": keys(
                    "url", "mapping", "payload", "signedSecretRef", "skipTls", "timeoutSeconds"
                ),
                "InheritFromDelegate": {},
                "Irsa": {},
            },
        ),
    ),
    awsSdkClientBackOffStrategyOverride=keys("type", spec=ByType("type", _BACKOFF)),
)  # fmt: skip

_GCP = keys(
    *_EVERY_SPEC, *_VIA_PLATFORM,
    credential=keys(
        "type",
        spec=ByType(
            "type",
            {
                "ManualConfig": keys("secretKeyRef"),
                "OidcAuthentication": keys(
                    "workloadPoolId", "providerId", "gcpProjectId", "serviceAccountEmail"
                ),
                "InheritFromDelegate": {},
            },
        ),
    ),
)  # fmt: skip

_AZURE_SECRET = keys(
    "applicationId", "tenantId",
    auth=keys(
        "type",
        spec=ByType("type", {"Secret": keys("secretRef"), "Certificate": keys("certificateRef")}),
    ),
)  # fmt: skip
_AZURE_MSI = keys(
    auth=keys(
        "type",
        spec=ByType(
            "type",
            {
                "UserAssignedManagedIdentity": keys("clientId", "type"),
                "SystemAssignedManagedIdentity": keys("type"),
            },
        ),
    )
)
_AZURE = keys(
    "azureEnvironmentType", "executeOnDelegate", *_EVERY_SPEC,
    credential=keys(
        "type", "clientId",  # clientId: written by Harness's UI for managed identities
        spec=ByType(
            "type",
            {
                "ManualConfig": _AZURE_SECRET,
                "InheritFromDelegate": _AZURE_MSI,
                "OidcAuthentication": keys("applicationId", "tenantId", "audience"),
            },
        ),
    ),
)  # fmt: skip

_VAULT = keys(
    "vaultUrl", "basePath", "namespace", "authToken", "renewalIntervalMinutes",
    "secretEngineManuallyConfigured", "secretEngineName", "secretEngineVersion", "readOnly",
    "default", "appRoleId", "appRolePath", "secretId", "renewAppRoleToken", "enableCache",
    "useVaultAgent", "sinkPath", "useAwsIam", "awsRegion", "vaultAwsIamRole",
    "xvaultAwsIamServerId", "useK8sAuth", "vaultK8sAuthRole", "serviceAccountTokenPath",
    "k8sAuthEndpoint", "useJwtAuth", "jwtAuthRole", "jwtAuthPath",
    "jwtAuthRoleWithGranularClaims", "ngCertificateRef", "accessType",
    *_EVERY_SPEC, *_VIA_PLATFORM,
    vaultOidcTokenExchangeDetails=keys(
        "oidcIdToken", "idTokenExpiryTime", "jwtAuthRoleForTokenExchange"
    ),
)  # fmt: skip

_DOCKER = keys(
    "dockerRegistryUrl", "providerType", *_EVERY_SPEC, *_VIA_PLATFORM,
    auth=keys("type", spec=ByType("type", {"UsernamePassword": _USER_PASSWORD, "Anonymous": {}})),
)  # fmt: skip

#: The ``spec`` of each type we know the layout of; other types are checked at the top only.
SPECS: Mapping[str, Node] = {
    "Github": _GITHUB,
    "Gitlab": _GITLAB,
    "Bitbucket": _BITBUCKET,
    "AzureRepo": _AZURE_REPO,
    "Git": _GIT,
    "K8sCluster": _K8S,
    "Aws": _AWS,
    "Gcp": _GCP,
    "Azure": _AZURE,
    "Vault": _VAULT,
    "DockerRegistry": _DOCKER,
}

#: Misspellings with a known right spelling at the same place (the Go SDK sends the Vault ones,
#: Harness ignores them: Lombok names the fields readOnly and default).
RENAMED = {
    "isReadOnly": "readOnly",
    "isDefault": "default",
    "authTokenRef": "authToken",
    "delegateSelector": "delegateSelectors",
}


def _paths(node: Node, prefix: str) -> Iterator[tuple[str, str]]:
    """(key, path) for every key the layout knows, through every variant."""
    for key, child in node.items():
        path = f"{prefix}.{key}" if prefix else key
        yield key, path
        if isinstance(child, ByType):
            for variant in child.variants.values():
                yield from _paths(variant, path)
        elif child is not None:
            yield from _paths(child, path)


def _belongs(key: str, layout: Node, at: str) -> str | None:
    """Where ``key`` is known in the connector's layout (other than ``at``), if in one or two
    places: more would be guessing. A known misspelling is looked up by its right spelling."""
    spec = layout.get("spec")
    if at == "spec.spec" and isinstance(spec, Mapping) and "apiAccess" in spec:
        # an apiAccess (or authentication) block whose spec slid one level out
        return "spec.apiAccess.spec or spec.authentication.spec"
    parent = at.rsplit(".", 1)[0] if "." in at else ""
    wanted = RENAMED.get(key, key)
    found = sorted({path for name, path in _paths(layout, "") if name == wanted and path != at})
    same_place = f"{parent}.{wanted}" if parent else wanted
    if same_place in found:
        return same_place
    found.sort(key=lambda p: p.count("."))
    if not found or len(found) > 2:
        return None
    return " or ".join(found)


def _walk(
    data: YamlMap, node: Node, path: str, layout: Node, others: Mapping[str, Node] | None = None
) -> Iterator[UnknownField]:
    """``others``: when ``node`` is one variant of a ``ByType``, the other variants by name."""
    for key, value in data.items():
        name = str(key)
        here = f"{path}.{name}" if path else name
        if name not in node:
            if RENAMED.get(name) in data:
                continue  # the Go SDK writes both spellings; the right one is there
            variants = sorted(v for v, keys_of in (others or {}).items() if name in keys_of)
            note = (
                f"Harness reads it here only for the variants {', '.join(variants)}"
                if variants
                else None
            )
            suggestion = None if variants else _belongs(name, layout, here)
            if node or suggestion:  # in a refused spec ({}), only what belongs elsewhere
                yield UnknownField(here, data.line_of(key), suggestion, note)
            continue
        child = node[name]
        alternatives: Mapping[str, Node] | None = None
        if isinstance(child, ByType):
            selector = data.get(child.field)
            if not isinstance(selector, str) or is_expression(selector):
                continue
            variant = child.variants.get(selector)
            if variant is None:
                continue  # an unknown variant is the enum check's finding
            alternatives = {k: v for k, v in child.variants.items() if k != selector}
            child = variant
        if child is not None and isinstance(value, YamlMap):
            yield from _walk(value, child, here, layout, alternatives)


def unknown_fields(connector_type: str, body: YamlMap) -> list[UnknownField]:
    """Keys of a ``connector:`` body that Harness would drop, with where each belongs."""
    spec_layout = SPECS.get(connector_type)
    envelope: Node = {**ENVELOPE, "spec": spec_layout}
    return list(_walk(body, envelope, "", envelope))
