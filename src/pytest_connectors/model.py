"""The connector model: frozen dataclasses built once by the schema layer from the YAML.

Nothing downstream of :mod:`pytest_connectors.schema` reads raw YAML; checks see these types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from .refs import Reference, ScopeId

#: Connector types with type-specific schema (and, as issues land, live checks).
SUPPORTED_TYPES = (
    "Github",
    "Gitlab",
    "Bitbucket",
    "Git",
    "K8sCluster",
    "Aws",
    "Gcp",
    "Azure",
    "Vault",
    "DockerRegistry",
)

#: Types that can connect through Harness Platform (``executeOnDelegate: false``): the
#: ``ManagerExecutable`` DTOs. Every other type always runs on a delegate.
MANAGER_EXECUTABLE_TYPES = frozenset(
    {
        "Github",
        "Gitlab",
        "Bitbucket",
        "Git",
        "AzureRepo",
        "Aws",
        "Gcp",
        "Azure",
        "DockerRegistry",
        "Artifactory",
        "AzureArtifacts",
        "Spot",
        "Tas",
        "TerraformCloud",
        "Harness",
    }
)

#: Types that are secret managers: their own credentials must be kept in Harness's built-in one.
SECRET_MANAGER_TYPES = frozenset(
    {
        "Vault",
        "AzureKeyVault",
        "AwsKms",
        "GcpKms",
        "AwsSecretManager",
        "GcpSecretManager",
        "CustomSecretManager",
    }
)

#: Every connector type Harness knows (ConnectorType.java); others are definition errors.
HARNESS_TYPES = (
    *SUPPORTED_TYPES,
    *[
        "Splunk",
        "AppDynamics",
        "Prometheus",
        "Dynatrace",
        "AzureKeyVault",
        "Local",
        "AwsKms",
        "GcpKms",
        "AwsSecretManager",
        "Artifactory",
        "Jira",
        "Nexus",
        "Codecommit",
        "CEAws",
        "CEAzure",
        "GcpCloudCost",
        "CEK8sCluster",
        "HttpHelmRepo",
        "NewRelic",
        "Datadog",
        "SumoLogic",
        "PagerDuty",
        "CustomHealth",
        "ServiceNow",
        "ErrorTracking",
        "Pdc",
        "AzureRepo",
        "Jenkins",
        "OciHelmRepo",
        "CustomSecretManager",
        "ElasticSearch",
        "GcpSecretManager",
        "AzureArtifacts",
        "Tas",
        "Spot",
        "Bamboo",
        "TerraformCloud",
        "SignalFX",
        "Harness",
        "Rancher",
    ],
)


class SecretKind(str, Enum):
    """What a secret must contain, so the secrets check can test its shape."""

    TEXT = "text"
    GCP_KEY_JSON = "GCP service-account key JSON"
    PEM_CERTIFICATE = "PEM certificate"
    PEM_PRIVATE_KEY = "PEM private key"
    K8S_CERTIFICATE = "certificate (PEM or base64 of PEM)"
    K8S_PRIVATE_KEY = "private key (PEM or base64 of PEM)"
    K8S_SA_TOKEN = "service-account token (JWT)"
    SSH_PRIVATE_KEY = "SSH private key"
    CERTIFICATE_AND_KEY = "PEM certificate with its private key"


@dataclass(frozen=True)
class SecretRef:
    """A secret reference held by a connector field."""

    reference: Reference
    field_path: str
    line: int
    kind: SecretKind = SecretKind.TEXT

    @property
    def raw(self) -> str:
        return self.reference.raw


@dataclass(frozen=True)
class ExpressionUse:
    field_path: str
    line: int
    value: str


@dataclass(frozen=True)
class DefinitionError:
    field_path: str
    line: int
    problem: str
    suggestion: str | None = None


@dataclass(frozen=True)
class UnknownField:
    """A key Harness does not know at that place (it drops it), with where it belongs."""

    field_path: str
    line: int
    suggestion: str | None = None
    #: Why it is unknown when it is known at this very place for other variants.
    note: str | None = None


@dataclass(frozen=True)
class Credential:
    """One authentication variant: its Harness type, plain fields and secret refs by field."""

    kind: str
    values: Mapping[str, str] = field(default_factory=dict)
    refs: Mapping[str, SecretRef] = field(default_factory=dict)


@dataclass(frozen=True)
class ScmSpec:
    """Github, Gitlab, Bitbucket, Git and AzureRepo connectors."""

    url: str | None
    connection_type: str | None
    validation_repo: str | None
    protocol: str | None  # Http | Ssh
    auth: Credential | None
    api_access: Credential | None = None
    api_url: str | None = None


@dataclass(frozen=True)
class KubernetesSpec:
    credential_type: str | None  # ManualConfig | InheritFromDelegate
    master_url: str | None
    auth: Credential | None


@dataclass(frozen=True)
class AwsSpec:
    credential_type: str | None  # ManualConfig | InheritFromDelegate | Irsa | OidcAuthentication
    auth: Credential | None
    region: str | None
    cross_account_role_arn: str | None
    external_id: str | None


@dataclass(frozen=True)
class GcpSpec:
    credential_type: str | None  # ManualConfig | InheritFromDelegate | OidcAuthentication
    auth: Credential | None


@dataclass(frozen=True)
class AzureSpec:
    credential_type: str | None  # ManualConfig | InheritFromDelegate | OidcAuthentication
    application_id: str | None
    tenant_id: str | None
    auth: Credential | None
    environment: str | None


@dataclass(frozen=True)
class VaultSpec:
    vault_url: str | None
    base_path: str
    namespace: str | None
    engine_name: str | None
    engine_version: int | None
    renewal_interval_minutes: int | None
    read_only: bool
    auth: Credential | None  # kind: Token | AppRole | VaultAgent | AwsIam | K8sAuth


@dataclass(frozen=True)
class DockerRegistrySpec:
    url: str | None
    provider_type: str | None
    auth: Credential | None


@dataclass(frozen=True)
class GenericSpec:
    """A Harness type without type-specific schema: static checks only."""


ConnectorSpec = (
    ScmSpec
    | KubernetesSpec
    | AwsSpec
    | GcpSpec
    | AzureSpec
    | VaultSpec
    | DockerRegistrySpec
    | GenericSpec
)


@dataclass(frozen=True)
class Connector:
    """A connector as loaded. ``errors`` holds rule violations found while building it."""

    identifier: str
    name: str
    type: str
    scope: ScopeId
    file: str  # as shown to the user (relative to the rootdir when possible)
    line: int
    spec: ConnectorSpec
    delegate_selectors: tuple[str, ...] = ()
    secret_refs: tuple[SecretRef, ...] = ()
    expressions: tuple[ExpressionUse, ...] = ()
    errors: tuple[DefinitionError, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    identifier_line: int = 0
    #: False: "Connect through Harness Platform" (no delegate is involved).
    execute_on_delegate: bool = True
    unknown_fields: tuple[UnknownField, ...] = ()

    @property
    def ref(self) -> str:
        """The reference as Harness writes it from the connector's own scope."""
        return self.scope.ref_to(self.identifier)

    @property
    def key(self) -> tuple[ScopeId, str]:
        return (self.scope, self.identifier)

    @property
    def supported(self) -> bool:
        return self.type in SUPPORTED_TYPES

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class SecretDefinition:
    """A ``secret:`` document: where a secret lives (not its value)."""

    identifier: str
    scope: ScopeId
    type: str
    manager: str | None
    value_type: str | None
    value_path: str | None
    file: str
    line: int
    ssh_user: str | None = None

    @property
    def key(self) -> tuple[ScopeId, str]:
        return (self.scope, self.identifier)


@dataclass(frozen=True)
class ConnectorUse:
    """One ``connectorRef`` inside a pipeline, template or input set."""

    reference: str
    field_path: str
    line: int


@dataclass(frozen=True)
class PipelineDocument:
    """A pipeline, template or input set, kept only for its connector references."""

    kind: str  # pipeline | template | inputSet
    identifier: str
    scope: ScopeId
    file: str
    line: int
    uses: tuple[ConnectorUse, ...]


@dataclass(frozen=True)
class BrokenDocument:
    """A document that could not be modelled at all: it yields one failing definition item."""

    file: str
    doc_index: int
    line: int
    problem: str
    field_path: str = ""
    identifier: str | None = None
    suggestion: str | None = None

    @property
    def name(self) -> str:
        return self.identifier or f"document-{self.doc_index}"
