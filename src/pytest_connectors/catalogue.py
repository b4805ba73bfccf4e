"""The failure-mode catalogue: the single source of every user-facing sentence.

Every check outcome that is not a pass names one :class:`FailureMode` by its id. Ids are a
public contract (pytest message, JUnit property, JSON report, docs anchor): never rename one.

Remediation steps are ``str.format`` templates rendered for the connector at hand, and every
command in them must run as printed: real values from the connector and the run, never a
``<placeholder>`` for the reader to fill in. The keys every rendering has are listed in
:data:`PLACEHOLDERS`; a placeholder missing from the context renders as ``<name>`` so a step
never raises (the unit tests make sure none is ever missing). A step can be limited to some
connector types (``types``) or credential kinds (``auths``), shown only when the context has
certain keys (``requires``), or only when it lacks them (``unless``).

Evidence keys (the context a check adds to the connector's placeholders) are named in each
mode's ``evidence`` and described in :data:`EVIDENCE_KEYS`. Details that only some connectors or
runs have (a repository URL, the API base, a resolver's address) are :data:`DERIVED_KEYS`. A step
that uses an evidence or derived key must list it in ``requires``; the catalogue checks this, and
a few other rules, when it is imported.
``docs/failure-modes.md`` is generated from this module (``python -m pytest_connectors.docs``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sized
from dataclasses import dataclass, field, replace
from enum import Enum

from .model import SUPPORTED_TYPES


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


#: Context keys every rendering has (filled from the connector); checks add evidence keys.
PLACEHOLDERS: Mapping[str, str] = {
    "ref": "the connector reference as Harness writes it from its own scope (account.x, org.x, x)",
    "identifier": "the connector identifier",
    "type": "the connector type (Github, K8sCluster, ...)",
    "file": "the YAML file that defines the connector",
    "line": "the line of the connector in that file",
    "scope": "account, org or project",
    "selectors": "the connector's delegate selectors, comma separated, or (none)",
    "secret_refs": "the secret references the connector uses, comma separated",
    "rerun": "the pytest command that runs this connector's checks again with this run's options",
    "rerun_offline": "the same, with --connectors-offline and without the network options",
    "rerun_any_delegate": "the same as rerun, with --connectors-any-delegate",
}

#: Context keys that only some renderings have: details of the connector (filled from its
#: definition, never from a secret), of this run, or read from a finding's evidence. A key that
#: is also an evidence key has the same meaning; the evidence wins.
DERIVED_KEYS: Mapping[str, str] = {
    "auth": "the connector's credential kind, e.g. UsernameToken, ServiceAccount, AppRole",
    "repo_url": "the repository Harness tests: url, or url/validationRepo for an Account connector",
    "api_url": "the provider's REST API base for the connector (GitHub, GitLab, Bitbucket)",
    "kubectl": "kubectl acting as the connector: its masterUrl and credential options, with "
    "shell variables and file names in place of secrets (plain kubectl for InheritFromDelegate)",
    "vault_url": "a Vault connector's vaultUrl; evidence names the secret manager's URL instead",
    "vault_flags": "Vault CLI options for the connector's server and namespace",
    "vault_login_path": "the Vault login path of the connector's auth method",
    "vault_role": "the Vault role the connector logs in with (Kubernetes auth)",
    "vault_role_id": "the AppRole role id (not secret: the secret id is)",
    "token_path": "the file the connector's Vault token or service-account token is read from",
    "vault_data_path": "where the connector's secrets live: engine, data/ (KV v2), basePath",
    "vault_list_path": "where the connector lists them: engine, metadata/ (KV v2), basePath",
    "vault_capabilities": "the capabilities the connector needs there, as a policy lists them",
    "registry": "the registry name docker login takes for the connector's registry",
    "registry_url": "the Docker registry's root URL, without /v2/",
    "application_id": "the Azure connector's applicationId",
    "tenant_id": "the Azure connector's tenantId",
    "identity_client_id": "the client id of a user-assigned managed identity",
    "delegate_tags": "the tags of the delegate this run acts as, comma separated",
    "target_url": "the URL of the connector endpoint on the host named in the evidence",
    "resolver_address": "the address of the DNS resolver that was asked (not the system one)",
    "resolver_port": "the port of that resolver",
    "first_denied": "the first denied verb and resource pair, e.g. create deployments.apps",
    "caller_role_arn": "the IAM role of an assumed-role caller ARN",
    "vault_read_path": "the API path of a secret in Vault, without its #key",
    "vault_key": "the key of that secret",
}

#: Credential kinds a step can be limited to (``auths``), as the ``auth`` key names them.
AUTH_KINDS: tuple[str, ...] = (
    # Git providers (HTTP variants, apiAccess variants, SSH)
    "UsernameToken",
    "UsernamePassword",
    "Token",
    "OAuth",
    "GithubApp",
    "Anonymous",
    "Ssh",
    "Kerberos",
    # Kubernetes
    "ServiceAccount",
    "ClientKeyCert",
    "OpenIdConnect",
    # Cloud providers: static keys or key file, the delegate's own identity, OIDC
    "ManualConfig",
    "InheritFromDelegate",
    "Irsa",
    "OidcAuthentication",
    "Secret",
    "Certificate",
    # Vault
    "AppRole",
    "VaultAgent",
    "AwsIam",
    "K8sAuth",
    "Jwt",
)

#: Evidence keys that checks put in the context, with what each holds. Never a secret value.
EVIDENCE_KEYS: Mapping[str, str] = {
    # definition and references
    "field_path": "dotted path of the field at fault, e.g. spec.authentication.spec.tokenRef",
    "problem": "what is wrong, as a short phrase",
    "suggestion": "the corrected value or reference (did-you-mean)",
    "installation_id": "a GitHub App installation id",
    "credential_type": "the connector's credential type, when the error is in its credential",
    "expression": "the <+...> runtime expression as written",
    "reference": "a secret or connector reference as written (account.x, org.x, x)",
    "owner_scope": "the scope the referenced entity actually lives at",
    "pipeline": "identifier of the pipeline that holds the reference",
    "candidates": "close matches (connectors or delegates), comma separated",
    "sources": "the secret sources that were asked, comma separated",
    "env_var": "the environment variable that would provide the secret",
    "expected": "the content the secret should hold, e.g. PEM certificate",
    "delegate": "the delegate name of the host running the checks",
    # connectivity
    "host": "the target host name",
    "port": "the target TCP port",
    "resolver": "the DNS resolver that was asked (address[:port])",
    "reason": "the low-level reason: NXDOMAIN, SERVFAIL, connection refused, ...",
    "elapsed_s": "seconds the operation took",
    "phase": "where a request overran its deadline: connect, TLS, headers or body",
    "timeout_s": "the configured timeout, in seconds",
    "budget_s": "the latency budget, in seconds",
    "via_proxy": "the proxy URL when the connection went through a proxy; empty or False if direct",
    "proxy": "the delegate's proxy URL, without credentials",
    "status": "the HTTP status the proxy answered with",
    "url": "the URL as configured or derived for the connector",
    "load_per_core": "load average divided by the number of CPU cores",
    "available_memory_pct": "available memory, in percent of the total",
    # TLS
    "subject": "the leaf certificate's subject",
    "issuer": "the leaf certificate's issuer",
    "sans": "the DNS names and IP addresses in the certificate's subjectAltName",
    "not_after": "the certificate's expiry date (UTC)",
    "ca_source": "where the trust anchors came from (caCertRef, CA bundle, system store)",
    "days_left": "whole days until expiry (negative once expired)",
    # authentication and authorization
    "provider_error": "the provider's error code or message, e.g. InvalidClientTokenId",
    "expires_at": "when the credential expires or expired (UTC)",
    "missing": "the scopes, capabilities or permissions that are missing, comma separated",
    "granted": "the scopes or capabilities the credential has, comma separated",
    "denied": "the denied verb and resource pairs, e.g. create deployments.apps",
    "namespace": "the Kubernetes namespace checked, empty for cluster-wide",
    "rbac_yaml": "a Role/ClusterRole and binding granting exactly the denied pairs",
    "remaining": "requests left in the current rate-limit window",
    "limit": "requests allowed per rate-limit window",
    "reset_at": "when the rate-limit window resets (UTC)",
    "retry_after": "seconds to wait, from the Retry-After header",
    "failed": "how many of the parallel requests failed",
    "attempted": "how many parallel requests were made",
    # cloud providers
    "role_arn": "the crossAccountRoleArn to assume",
    "caller_arn": "the ARN sts:GetCallerIdentity returned for the delegate's credentials",
    "external_id": "the externalId the connector sends",
    "region": "the AWS region whose STS endpoint was used",
    "endpoint": "the STS endpoint URL that failed",
    "project": "the GCP project the connector is expected to use",
    "key_project": "the project_id in the service-account key",
    "client_email": "the service account's e-mail address",
    "tenant_id": "the Azure tenant (directory) id",
    "subscription_id": "the Azure subscription id",
    "application_id": "the Azure application (client) id of the service principal",
    "aadsts": "the AADSTS error code returned by Microsoft Entra ID",
    "manager": "reference of the secret-manager connector",
    "vault_url": "the secret manager's base URL",
    "state": "the health state reported: sealed, uninitialised, standby, unreachable",
    "vault_path": "the path a secret reference names inside the Vault connector's engine",
    "vault_problem": "what Vault answered when the secret was read",
}

#: Connector types that have live checks; a type-limited step may only name these.
CONNECTOR_TYPES: tuple[str, ...] = SUPPORTED_TYPES

DEFINITION = "Definition and references"
CONNECTIVITY = "Connectivity"
TLS = "TLS"
AUTH = "Authentication and authorization"
CLOUD = "Cloud providers"
#: The groups of the contract, in the order the docs page lists them.
GROUPS: tuple[str, ...] = (DEFINITION, CONNECTIVITY, TLS, AUTH, CLOUD)

DOCS_PAGE = "docs/failure-modes.md"

_FORMATTER = string.Formatter()
#: A ``<name>`` for the reader to fill in; ``<+...>`` is a Harness expression, not one of these.
_LITERAL_PLACEHOLDER = re.compile(r"<[A-Za-z][\w-]*>")


def _present(value: object) -> bool:
    # 0 is evidence (0 requests remaining); None, False and empty values are not.
    if value is None or value is False:
        return False
    if isinstance(value, Sized):
        return len(value) > 0
    return True


@dataclass(frozen=True)
class Step:
    """One remediation step: a template, optionally limited to connector types, credential
    kinds, or to the evidence and details at hand."""

    text: str
    types: frozenset[str] = frozenset()
    requires: tuple[str, ...] = ()
    auths: frozenset[str] = frozenset()
    #: Shown only when none of these keys is present (the other branch of a ``requires``).
    unless: tuple[str, ...] = ()

    def applies(self, context: Mapping[str, object]) -> bool:
        if self.types and context.get("type") not in self.types:
            return False
        if self.auths and context.get("auth") not in self.auths:
            return False
        if any(_present(context.get(key)) for key in self.unless):
            return False
        return all(_present(context.get(key)) for key in self.requires)

    @property
    def placeholders(self) -> frozenset[str]:
        """The field names the template uses."""
        return frozenset(name for _, name, _, _ in _FORMATTER.parse(self.text) if name is not None)


class _Lenient(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def render_template(text: str, context: Mapping[str, object]) -> str:
    """Fill ``text`` from ``context``; unknown placeholders render as ``<name>``."""
    return _FORMATTER.vformat(text, (), _Lenient(context))


@dataclass(frozen=True)
class FailureMode:
    id: str
    title: str
    severity: Severity
    seed_section: str
    summary: str
    steps: tuple[Step, ...] = field(default=())
    #: Evidence keys the check that reports this mode supplies (see :data:`EVIDENCE_KEYS`).
    evidence: tuple[str, ...] = ()
    #: One of :data:`GROUPS`; set by :func:`_group`.
    group: str = ""

    @property
    def anchor(self) -> str:
        return f"{DOCS_PAGE}#{self.id}"

    def remediation(self, context: Mapping[str, object]) -> list[str]:
        """The numbered steps (without numbers) for this connector and this run's evidence."""
        return [render_template(s.text, context) for s in self.steps if s.applies(context)]


def _validate(mode: FailureMode) -> None:
    def fail(why: str) -> None:
        raise ValueError(f"failure mode {mode.id}: {why}")

    if mode.group not in GROUPS:
        fail(f"unknown group {mode.group!r}")
    for key in mode.evidence:
        if key not in EVIDENCE_KEYS:
            fail(f"evidence key {key!r} is not described in EVIDENCE_KEYS")
    for step in mode.steps:
        for name in step.placeholders:
            if name not in PLACEHOLDERS and name not in step.requires:
                fail(f"step uses {{{name}}} without listing it in requires: {step.text!r}")
        for key in (*step.requires, *step.unless):
            if key not in mode.evidence and key not in DERIVED_KEYS:
                fail(f"step needs {key!r}, which is neither the mode's evidence nor derived")
        if step.types - set(CONNECTOR_TYPES):
            fail(f"step names unknown types {sorted(step.types - set(CONNECTOR_TYPES))}")
        if step.auths - set(AUTH_KINDS):
            fail(f"step names unknown credential kinds {sorted(step.auths - set(AUTH_KINDS))}")
        if step.text.count("`") % 2:
            fail(f"unbalanced backticks in {step.text!r}")
        if _LITERAL_PLACEHOLDER.search(step.text):
            fail(f"a <placeholder> the reader must fill in: {step.text!r}")


def _group(group: str, *modes: FailureMode) -> tuple[FailureMode, ...]:
    return tuple(replace(mode, group=group) for mode in modes)


def _modes(*modes: FailureMode) -> dict[str, FailureMode]:
    table: dict[str, FailureMode] = {}
    for mode in modes:
        if mode.id in table:
            raise ValueError(f"duplicate failure mode {mode.id}")
        _validate(mode)
        table[mode.id] = mode
    return table


E, W = Severity.ERROR, Severity.WARNING


_GIT = frozenset({"Github", "Gitlab", "Bitbucket", "Git"})
_SCM_API = frozenset({"Github", "Gitlab"})
_INHERITABLE = frozenset({"K8sCluster", "Aws", "Gcp"})
_TLS_EVIDENCE = ("host", "port", "subject", "issuer", "sans", "not_after", "ca_source", "days_left")
_CREDENTIAL_EVIDENCE = ("reference", "provider_error", "expires_at", "days_left")
_RATE_EVIDENCE = ("remaining", "limit", "reset_at", "retry_after")
_AZURE_EVIDENCE = ("tenant_id", "subscription_id", "application_id", "aadsts")
_GCP_EVIDENCE = ("project", "key_project", "client_email", "missing")

# Steps shared by several modes.
_K8S_MANUAL = frozenset({"ServiceAccount", "ClientKeyCert", "UsernamePassword", "OpenIdConnect"})
_TOKENS = frozenset({"UsernameToken", "UsernamePassword", "Token", "OAuth"})
_FROM_DELEGATE = frozenset({"InheritFromDelegate", "Irsa"})
_K8S = frozenset({"K8sCluster"})

_RERUN_OFFLINE = Step(
    "Run this connector's static checks again, from the directory this run started in; they "
    "need no network: `{rerun_offline}`."
)
_RERUN = Step(
    "Once fixed, run this connector's checks again from the directory this run started in: "
    "`{rerun}`."
)
_K8S_AS_CONNECTOR = (
    Step(
        "To act as the connector from a shell, read its token without echoing it "
        "(`read -rs TOKEN`) and save a `caCertRef` it has, decoded, as `ca.crt`: then "
        "`{kubectl}` is kubectl with the connector's server and credential.",
        types=_K8S,
        requires=("kubectl",),
        auths=frozenset({"ServiceAccount"}),
    ),
    Step(
        "To act as the connector from a shell, save its client certificate and key, decoded, as "
        "`client.crt` and `client.key` (and a `caCertRef` it has as `ca.crt`): then "
        "`{kubectl}` is kubectl with the connector's server and credential.",
        types=_K8S,
        requires=("kubectl",),
        auths=frozenset({"ClientKeyCert"}),
    ),
    Step(
        "To act as the connector from a shell, read its user name and password without echoing "
        "the password (`read -r K8S_USER; read -rs K8S_PASSWORD`) and save a `caCertRef` it "
        "has, decoded, as `ca.crt`: then `{kubectl}` is kubectl with the connector's server "
        "and credential. Most clusters stopped accepting passwords in Kubernetes 1.19.",
        types=_K8S,
        requires=("kubectl",),
        auths=frozenset({"UsernamePassword"}),
    ),
)
_RATE_GITHUB_APP = Step(
    "Authenticate {ref} as a GitHub App rather than with a personal token: every installation "
    "gets an allowance of its own that grows with the organisation (15,000 requests an hour on "
    "GitHub Enterprise Cloud) instead of sharing the 5,000 an hour of the token's user.",
    types=frozenset({"Github"}),
)
_RATE_SPLIT = Step(
    "Stop clones and API calls from drawing on one allowance: give codebase clones in CI a "
    "connector with a token of its own, and keep this connector's `apiAccess` token for "
    "triggers, Git Experience and PR status.",
    types=_SCM_API,
)
_RATE_POLLING = Step(
    "Replace polling triggers on these repositories with webhook triggers, which cost no API "
    "calls; where polling has to stay, make its interval longer.",
    types=_SCM_API,
)
_RATE_DOCKER_HUB = Step(
    "Docker Hub caps pulls per account, and anonymous pulls lower still: authenticate the "
    "connector, move to a paid plan, or pull through a mirror.",
    types=frozenset({"DockerRegistry"}),
)
_EXPIRY_GITHUB = Step(
    "Create a new personal access token with the same scopes, or move {ref} to GitHub App "
    "authentication: Harness then mints short-lived installation tokens itself, so nothing "
    "needs rotating by hand.",
    types=frozenset({"Github"}),
)
_EXPIRY_GITLAB = Step(
    "GitLab tokens normally carry an expiry date: create the replacement with the `api` (or at "
    "least `read_repository`) scope and an expiry that fits your rotation schedule.",
    types=frozenset({"Gitlab"}),
)
_EXPIRY_K8S = Step(
    "Tokens made by `kubectl create token` and projected tokens (the default since Kubernetes "
    "1.21) expire by design. Prefer `credential.type: InheritFromDelegate`, where the cluster "
    "rotates the delegate's own token (it needs `delegateSelectors`); a Secret of type "
    "`kubernetes.io/service-account-token` never expires but is a poor choice for production.",
    types=frozenset({"K8sCluster"}),
)
_EXPIRY_AZURE = Step(
    "In Microsoft Entra ID, open App registrations, then the app, then Certificates & secrets; "
    "add a new client secret, put its value (not its secret id) into {secret_refs}, and delete "
    "the old secret once pipelines work.",
    types=frozenset({"Azure"}),
)
_EXPIRY_AUTOMATIC = Step(
    "Prefer credentials the platform renews by itself where the type offers them (GitHub App, "
    "`InheritFromDelegate`, AppRole), and record the new expiry date with whoever owns rotation."
)
_VERIFY_CA_FILE = Step(
    "Check a CA file against the live server before handing it over: with the file saved as "
    "`ca.pem`, `openssl s_client -connect {host}:{port} -servername {host} -CAfile ca.pem "
    "</dev/null` must end with `Verify return code: 0 (ok)`.",
    requires=("host", "port"),
)
_EXPIRY_VAULT = Step(
    "Use a renewable Vault token and set `renewalIntervalMinutes` well under its TTL so Harness "
    "keeps renewing it, or switch to AppRole (`appRoleId` plus `secretId`) so Harness can log in "
    "again by itself.",
    types=frozenset({"Vault"}),
)

CATALOGUE: Mapping[str, FailureMode] = _modes(
    *_group(
        DEFINITION,
        FailureMode(
            id="definition-invalid",
            title="Connector definition is invalid",
            severity=E,
            seed_section="-",
            summary=(
                "The YAML cannot be read, or a field breaks Harness's schema, an enum, or the "
                "naming rules, so Harness would reject the connector before testing it."
            ),
            evidence=("field_path", "problem", "suggestion", "credential_type"),
            steps=(
                Step(
                    "Open {file} at line {line} and fix `{field_path}`: {problem}.",
                    requires=("field_path", "problem"),
                ),
                Step("Did you mean `{suggestion}`?", requires=("suggestion",)),
                Step(
                    "Compare the document with the `{type}` layout in Harness's connector YAML "
                    "reference: enum values are case-sensitive, and an identifier starts with a "
                    "letter or `_`, continues with letters, digits, `_` or `$`, is at most 128 "
                    "characters long and is not a reserved word such as `account` or `org`.",
                    types=frozenset(CONNECTOR_TYPES),
                ),
                Step(
                    "Credentials of type `InheritFromDelegate` or `Irsa` carry no "
                    "`credential.spec`, and need at least one tag in `spec.delegateSelectors`.",
                    types=_INHERITABLE,
                    requires=("credential_type",),
                ),
                _RERUN_OFFLINE,
            ),
        ),
        FailureMode(
            id="runtime-expression",
            title="Runtime expression in the connector",
            severity=E,
            seed_section="Pipeline vs Test → Variable Resolution",
            summary=(
                "The connector spec contains a `<+...>` expression. Harness only evaluates such "
                "expressions inside a running pipeline, so a connection test sees the raw text "
                "and the connector can pass in one place and fail in the other."
            ),
            evidence=("field_path", "expression"),
            steps=(
                Step(
                    "In {file}, replace `{expression}` at `{field_path}` with a fixed value.",
                    requires=("field_path", "expression"),
                ),
                Step(
                    "If the value is sensitive, store it as a Harness secret and point the "
                    "matching `...Ref` field at that secret instead of computing it."
                ),
                Step(
                    "If the value must differ per environment, define one connector per variant "
                    "and let the pipeline choose one through its `connectorRef`, which may itself "
                    "be a runtime input."
                ),
                _RERUN_OFFLINE,
            ),
        ),
        FailureMode(
            id="unknown-field",
            title="Key that Harness ignores",
            severity=W,
            seed_section="-",
            summary=(
                "The document holds a key that Harness does not know at that place. Harness "
                "drops unknown keys without a word, so whatever that key was meant to configure "
                "is lost: the connector is saved and tested without it."
            ),
            evidence=("field_path", "suggestion", "problem"),
            steps=(
                Step(
                    "Move `{field_path}` to `{suggestion}` in {file}: that is where Harness "
                    "reads it.",
                    requires=("field_path", "suggestion"),
                ),
                Step(
                    "`{field_path}` belongs to another variant ({problem}): check the `type` "
                    "next to it in {file}, and either change the type or use the keys of the "
                    "type you chose.",
                    requires=("field_path", "problem"),
                ),
                Step(
                    "If `{field_path}` is a typo or left over from another connector type, "
                    "delete it from {file}; if it is meant to configure something, find the key "
                    "Harness uses for that in the `{type}` connector YAML reference.",
                    requires=("field_path",),
                ),
                Step(
                    "Export the connector from Harness (the YAML view of the connector page) "
                    "and compare it with {file}: keys that Harness dropped are missing there."
                ),
                _RERUN_OFFLINE,
            ),
        ),
        FailureMode(
            id="scope-mismatch",
            title="Reference uses the wrong scope prefix",
            severity=E,
            seed_section="Pipeline vs Test → Scope Mismatch; Not Found",
            summary=(
                "A reference's scope prefix cannot work: the entity lives at another scope "
                "than the prefix says, or the referring entity's scope may not use it."
            ),
            evidence=("field_path", "reference", "suggestion", "owner_scope"),
            steps=(
                Step(
                    "In {file}, change `{field_path}` from `{reference}` to `{suggestion}`.",
                    requires=("field_path", "reference", "suggestion"),
                ),
                Step(
                    "`{reference}` lives at {owner_scope} scope. A connector may only use "
                    "secrets from its own scope or above (an account connector only account "
                    "secrets, an org connector no project secrets), so either recreate the "
                    "secret at a scope {ref} can see or define the connector lower down.",
                    requires=("reference", "owner_scope"),
                ),
                Step(
                    "Harness reads a reference that starts with `account.` as account scope, "
                    "one that starts with `org.` as organisation scope, and one without a "
                    "prefix as the referring entity's own project; `project.` and any other "
                    "prefix are invalid."
                ),
                _RERUN_OFFLINE,
            ),
        ),
        FailureMode(
            id="connector-not-found",
            title="Referenced connector does not exist",
            severity=E,
            seed_section="Not Found Errors",
            summary=(
                "A pipeline's `connectorRef` resolves to no connector at any scope among the "
                "loaded definitions, so the pipeline would fail when it reaches that step."
            ),
            evidence=("reference", "pipeline", "candidates"),
            steps=(
                Step(
                    "Check the spelling of `{reference}` in pipeline `{pipeline}`; identifiers "
                    "are case-sensitive.",
                    requires=("reference", "pipeline"),
                ),
                Step(
                    "Known connectors with a similar name: {candidates}. If one of them is "
                    "meant, reference it with its scope prefix.",
                    requires=("candidates",),
                ),
                Step(
                    "A connector defined at account or organisation level needs the "
                    "`account.` or `org.` prefix; a bare identifier is only looked up in the "
                    "pipeline's own project."
                ),
                Step(
                    "Identifiers cannot be changed once created: if the old connector was "
                    "removed, or replaced by one with another identifier, update every pipeline, "
                    "template and input set that still uses the old one."
                ),
                Step(
                    "If the connector exists but is defined elsewhere, add its YAML to the "
                    "paths given to `--connectors` so the reference can be resolved."
                ),
            ),
        ),
        FailureMode(
            id="secret-not-found",
            title="Secret reference cannot be resolved",
            severity=E,
            seed_section="Diagnostic Step 5",
            summary=(
                "No configured secret source returned a non-empty value for a secret the "
                "connector references, so the connector cannot authenticate."
            ),
            evidence=("reference", "sources", "env_var", "manager", "vault_path", "vault_problem"),
            steps=(
                Step(
                    "Make sure `{reference}` exists in Harness at the scope its prefix names "
                    "(`account.`, `org.`, or none for the project) and was not renamed or "
                    "deleted.",
                    requires=("reference",),
                ),
                Step(
                    "Sources asked in this run: {sources}. Give the value to one of them, e.g. "
                    "an entry `{reference}: ...` in the `--connectors-secrets` file.",
                    requires=("sources", "reference"),
                ),
                Step(
                    "Or export `{env_var}` in the environment of the test run (from your CI's "
                    "secret store, never committed).",
                    requires=("env_var",),
                ),
                Step(
                    "The `secret:` document points at `{vault_path}` in the Vault connector "
                    "`{manager}`, which answered: {vault_problem}. With `VAULT_ADDR` and "
                    "`VAULT_TOKEN` set to that connector's server and token, "
                    "`vault read {vault_read_path}` must show the key `{vault_key}`.",
                    requires=(
                        "manager",
                        "vault_path",
                        "vault_problem",
                        "vault_read_path",
                        "vault_key",
                    ),
                ),
                Step(
                    "The `secret:` document points at `{vault_path}` in the Vault connector "
                    "`{manager}`, which answered: {vault_problem}. A Vault secret's value is "
                    "written `path#key`, relative to the connector's secret engine.",
                    requires=("manager", "vault_path", "vault_problem"),
                    unless=("vault_read_path",),
                ),
                Step(
                    "If the value is kept in an external secret manager (`valueType: Reference`), "
                    "load the `secret:` document and the manager's connector too, so the value "
                    "can be fetched from there."
                ),
                Step(
                    "If the secret was rotated lately, confirm the copy Harness holds was "
                    "updated as well and is not empty."
                ),
            ),
        ),
        FailureMode(
            id="secret-format-invalid",
            title="Secret content has the wrong format",
            severity=E,
            seed_section="Diagnostic Step 5; GCP key; K8s CA",
            summary=(
                "A secret resolved, but its content is not what the connector needs, for "
                "example a GCP key that is not JSON or a CA certificate that is not PEM."
            ),
            evidence=("reference", "expected", "problem"),
            steps=(
                Step(
                    "Replace the content of `{reference}` with {expected}; found: {problem}.",
                    requires=("reference", "expected", "problem"),
                ),
                Step(
                    "Upload the service-account key JSON exactly as GCP produced it, as a file "
                    "secret; it must contain `private_key`, `client_email` and `project_id`.",
                    types=frozenset({"Gcp"}),
                ),
                Step(
                    "`caCertRef`, `clientCertRef` and `clientKeyRef` hold PEM data, base64 "
                    "encoded the way Harness stores it, while `serviceAccountTokenRef` holds the "
                    "plain token. With the certificate saved as `ca.pem`, "
                    "`openssl x509 -in ca.pem -noout -subject` must print its subject.",
                    types=frozenset({"K8sCluster"}),
                ),
                Step(
                    "SSH keys must be PEM, and GitHub expects ECDSA or Ed25519 keys. Save a key "
                    "that starts with `BEGIN OPENSSH PRIVATE KEY` as `harness_key` (outside any "
                    "repository) and convert it in place with "
                    "`ssh-keygen -p -m PEM -f harness_key`.",
                    types=_GIT,
                ),
                Step(
                    "A GitHub App private key is the `.pem` file GitHub generated for the app, "
                    "stored unchanged as a file secret.",
                    types=frozenset({"Github"}),
                ),
                Step(
                    "A certificate credential is a PEM file holding both the certificate and "
                    "its private key.",
                    types=frozenset({"Azure"}),
                ),
                Step(
                    "Check the secret's kind as well: keys and certificates go in file secrets, "
                    "tokens and passwords in text secrets, and Git SSH keys in `SSHKey` secrets."
                ),
                _RERUN_OFFLINE,
            ),
        ),
        FailureMode(
            id="delegate-selector-missing",
            title="No delegate selector",
            severity=W,
            seed_section="Pipeline vs Test → Different Delegate",
            summary=(
                "The connector has no `delegateSelectors`, so Harness may use any delegate: "
                "a connection test and a pipeline can land on different delegates with "
                "different network access."
            ),
            steps=(
                Step(
                    "Add `delegateSelectors` under `spec` in {file} (connector at line {line}), "
                    "listing the tags of delegates that can reach the target; for delegates "
                    "like the one this run acts as: `delegateSelectors: [{delegate_tags}]`.",
                    requires=("delegate_tags",),
                ),
                Step(
                    "Add `delegateSelectors` under `spec` in {file} (connector at line {line}), "
                    "listing the tags of delegates that can reach the target.",
                    unless=("delegate_tags",),
                ),
                Step(
                    "Choose tags only suitable delegates carry: a delegate answers to its name, "
                    "its group name and the tags in `DELEGATE_TAGS`, and it must carry every "
                    "selector listed."
                ),
                Step(
                    "Run this suite on one of those delegates, named with `--delegate` or "
                    "`DELEGATE_NAME` in the environment, so the network checks see what "
                    "pipelines will see."
                ),
            ),
        ),
        FailureMode(
            id="delegate-unavailable",
            title="No usable delegate for the connector",
            severity=E,
            seed_section="Delegate Issues",
            summary=(
                "No connected, healthy delegate carries all of the connector's selectors, or "
                "the delegate running these checks does not qualify for the connector."
            ),
            evidence=("delegate", "candidates", "problem"),
            steps=(
                Step(
                    "In Harness, open the delegate list under Account Settings and check that "
                    "a delegate carrying all of `{selectors}` shows as connected."
                ),
                Step(
                    "Closest delegates: {candidates}. Either add the missing tags to one of "
                    "them (`DELEGATE_TAGS` or the delegate group's tags) or change "
                    "`delegateSelectors` in {file} to tags they carry.",
                    requires=("candidates",),
                ),
                Step(
                    "If a matching delegate is disconnected or unhealthy, read its logs for "
                    "crashes and memory or CPU pressure. Delegate pods carry the label "
                    "`harness.io/name`: `kubectl get pods --all-namespaces -l harness.io/name` "
                    "lists them with their namespaces and restart counts."
                ),
                Step(
                    "This host runs as delegate `{delegate}`, which does not carry all of "
                    "`{selectors}`: run the suite on a qualifying delegate, or run the network "
                    "checks from here anyway: `{rerun_any_delegate}`.",
                    requires=("delegate",),
                ),
                Step(
                    "Keep the delegate inventory current: each entry of "
                    "`pytestConnectors.delegates` needs its `name`, `tags` and `connected` state."
                ),
            ),
        ),
    ),
    *_group(
        CONNECTIVITY,
        FailureMode(
            id="dns-resolution-failed",
            title="Host name does not resolve",
            severity=E,
            seed_section="Network Connectivity; Diagnostic Step 3",
            summary=(
                "The delegate's resolvers did not turn the endpoint's host name into an "
                "address: the name does not exist, the resolver failed, the answer was empty, "
                "or no answer came in time."
            ),
            evidence=("host", "resolver", "reason", "elapsed_s"),
            steps=(
                Step(
                    "Ask the same resolver from the delegate host: "
                    "`dig @{resolver_address} -p {resolver_port} {host}` "
                    "(or `nslookup -port={resolver_port} {host} {resolver_address}`).",
                    requires=("host", "resolver_address", "resolver_port"),
                ),
                Step(
                    "This run asked the host's own resolver configuration; ask it the same way "
                    "from the delegate host with `getent ahosts {host}`, and see the DNS answer "
                    "itself with `dig {host}`.",
                    requires=("host",),
                    unless=("resolver_address",),
                ),
                Step(
                    "NXDOMAIN or an empty answer means no record is visible for `{host}`: "
                    "check the host name in {file} for typos, and remember that private zones "
                    "are often visible only from inside their own network or VPC.",
                    requires=("host",),
                ),
                Step(
                    "This run got {reason} after {elapsed_s} s (asked: {resolver}). SERVFAIL or "
                    "a timeout points at the resolver or its upstream rather than the name: "
                    "check that this is the resolver the delegate really uses "
                    "(`/etc/resolv.conf`, or the cluster DNS for a Kubernetes delegate) and that "
                    "it is answering.",
                    requires=("reason", "elapsed_s", "resolver"),
                ),
                Step(
                    "Make this suite ask the resolvers your delegates use: give their addresses "
                    "to `--connectors-dns` (comma separated, a port other than 53 after a colon) "
                    "or list them under `resolvers:` in the delegate inventory."
                ),
                _RERUN,
            ),
        ),
        FailureMode(
            id="port-unreachable",
            title="Port is closed or the host is unreachable",
            severity=E,
            seed_section="Network Connectivity",
            summary=(
                "The host name resolved, but the TCP connection was refused, or there is no "
                "route from the delegate to the host."
            ),
            evidence=("host", "port", "reason", "timeout_s", "via_proxy"),
            steps=(
                Step(
                    "Reproduce from the delegate host: `nc -vz {host} {port}`.",
                    requires=("host", "port"),
                ),
                Step(
                    "The error was `{reason}`. A refusal means the host answered but nothing "
                    "listens on port {port}: check the port in the connector URL in {file} and "
                    "that the service is running.",
                    requires=("reason", "port"),
                ),
                Step(
                    "No route to host or network unreachable means routing or filtering: "
                    "review the routes, firewall rules, security groups and network ACLs on the "
                    "path from the delegate to {host}.",
                    requires=("host",),
                ),
                Step(
                    "The attempt went through the proxy {via_proxy}; if {host} is only "
                    "reachable directly, add its domain suffix to `NO_PROXY` on the delegate.",
                    requires=("via_proxy", "host"),
                ),
                Step(
                    "If a machine outside the delegate's network reaches the service, the "
                    "difference is network policy: for a delegate in Kubernetes, check the "
                    "NetworkPolicy egress rules of its namespace too."
                ),
                _RERUN,
            ),
        ),
        FailureMode(
            id="connection-timeout",
            title="Connection timed out",
            severity=E,
            seed_section="Timeout Issues; Network Connectivity",
            summary=(
                "The TCP connection, the TLS handshake or the whole answer did not finish within "
                "the timeout. Packets are most likely being dropped silently by a firewall or "
                "security group; an answer that starts but never ends is a server or a middlebox "
                "that holds it."
            ),
            evidence=("host", "port", "reason", "timeout_s", "via_proxy", "phase", "elapsed_s"),
            steps=(
                Step(
                    "The request did not finish within {timeout_s} s: it stopped in its {phase} "
                    "phase after {elapsed_s} s (the timeout bounds the whole request, however "
                    "slowly bytes keep coming). A server that starts answering but never "
                    "finishes is overloaded, or something in between (a proxy, a load balancer, "
                    "a WAF) holds the answer: look there before raising the timeout.",
                    requires=("phase", "timeout_s", "elapsed_s"),
                ),
                Step(
                    "Reproduce with the same bound from the delegate host: "
                    "`timeout {timeout_s} nc -vz {host} {port}`.",
                    requires=("timeout_s", "host", "port"),
                ),
                Step(
                    "A silent drop is almost always a firewall, security group or network ACL "
                    "that discards traffic instead of rejecting it: allow outbound TCP from the "
                    "delegate to {host}:{port}, and the replies.",
                    requires=("host", "port"),
                ),
                Step(
                    "The attempt went through the proxy {via_proxy}: check that the proxy can "
                    "reach {host}, or exempt {host} with `NO_PROXY` if it must be reached "
                    "directly.",
                    requires=("via_proxy", "host"),
                ),
                Step(
                    "If the target is only reachable through your corporate proxy, set "
                    "`PROXY_HOST`, `PROXY_PORT` and `PROXY_SCHEME` on the delegate and make sure "
                    "`NO_PROXY` does not exempt the target."
                ),
                Step(
                    "Raise the timeout (`timeout` under `pytestConnectors.defaults`) only once "
                    "the path is known to be open and merely slow."
                ),
            ),
        ),
        FailureMode(
            id="proxy-misconfigured",
            title="Delegate proxy blocks or bypasses the target",
            severity=E,
            seed_section="Network Connectivity (proxy)",
            summary=(
                "The delegate's HTTP proxy refused or could not open the tunnel to the target, "
                "or the proxy settings send the target the wrong way (through a proxy it "
                "cannot pass, or around a proxy it needs)."
            ),
            evidence=("proxy", "host", "status", "reason"),
            steps=(
                Step(
                    "Reproduce from the delegate host: `curl -v -x {proxy} {target_url}` (add "
                    '`--proxy-user "$PROXY_USER:$PROXY_PASSWORD"` if the proxy takes '
                    "credentials).",
                    requires=("proxy", "target_url"),
                ),
                Step(
                    "The proxy answered {status}. A 407 means it wants credentials: set "
                    "`PROXY_USER` and `PROXY_PASSWORD` on the delegate from a secret. A 403 "
                    "means its allow list blocks {host} or the port: ask the proxy's owners to "
                    "allow it. A 5xx means the proxy itself cannot reach the target.",
                    requires=("status", "host"),
                ),
                Step(
                    "If {host} is internal and reachable only directly, add its domain suffix "
                    "(e.g. `.corp`) to `NO_PROXY` on the delegate and restart it; entries are "
                    "suffixes, and CIDR ranges are not supported.",
                    requires=("host",),
                ),
                Step(
                    "If the proxy itself cannot be reached, check `PROXY_HOST`, `PROXY_PORT` and "
                    "`PROXY_SCHEME` on the delegate (for this suite: `--connectors-proxy` or "
                    "`proxy.url` in the delegate inventory); "
                    "`env | grep -i proxy` inside the delegate container shows what it has."
                ),
                Step(
                    "The connector's own `proxy: true` field is Harness Secure Connect, not the "
                    "delegate proxy; changing it does not affect this check.",
                    types=frozenset(
                        {"Github", "Gitlab", "Bitbucket", "Git", "Aws", "Gcp", "DockerRegistry"}
                    ),
                ),
            ),
        ),
        FailureMode(
            id="incorrect-endpoint",
            title="Endpoint URL is wrong",
            severity=E,
            seed_section="Timeout Issues → Incorrect endpoint URL",
            summary=(
                "The URL is malformed, its scheme does not match the port, or the server that "
                "answers is not the service this connector type expects."
            ),
            evidence=("url", "problem"),
            steps=(
                Step(
                    "Fix `{url}` in {file} (line {line}): {problem}.",
                    requires=("url", "problem"),
                ),
                Step(
                    "Make the scheme match the port: `https://` sent to a port that speaks plain "
                    "HTTP fails the handshake, and the reverse gets an unreadable reply."
                ),
                Step(
                    "See who answers from the delegate host: `curl -sv {url}`, and check that "
                    "the server is the product and API path this connector type talks to.",
                    requires=("url",),
                ),
                Step(
                    "Harness tests the repository `{repo_url}` (for an Account connector, `url` "
                    "stops at the organisation or workspace and `validationRepo` names a "
                    "repository under it): `git ls-remote {repo_url}` must list its branches.",
                    types=_GIT,
                    requires=("repo_url",),
                ),
                Step(
                    "If the suite's connector expectations override the endpoint "
                    "(`endpointUrl`, `apiEndpoint` or `armEndpoint`), check that value too.",
                    types=frozenset({"Aws", "Gcp", "Azure"}),
                ),
                Step(
                    "An Account connector's `url` is the organisation, a Repo connector's the "
                    "repository. For this URL GitHub's API is `{api_url}` (GitHub Enterprise "
                    "Server serves it under `/api/v3` on your own host): `curl -sS {api_url}/meta` "
                    "must answer with JSON.",
                    types=frozenset({"Github"}),
                    requires=("api_url",),
                ),
                Step(
                    "For self-managed GitLab, set `apiAccess.spec.apiUrl` to the server root; "
                    "the API lives under `/api/v4` there, and "
                    "`curl -sS -o /dev/null -w '%{{http_code}}\\n' {api_url}/version` answers 401 "
                    "(an API that wants a token) rather than 404.",
                    types=frozenset({"Gitlab"}),
                    requires=("api_url",),
                ),
                Step(
                    "`masterUrl` is the API server's address with its port (often 6443 on "
                    "self-managed clusters); `kubectl config view --minify "
                    "-o jsonpath='{{.clusters[0].cluster.server}}'` prints the one your own "
                    "kubeconfig uses.",
                    types=frozenset({"K8sCluster"}),
                    auths=_K8S_MANUAL,
                ),
                Step(
                    "With `InheritFromDelegate` the API server is the one the delegate pod runs "
                    "in (`KUBERNETES_SERVICE_HOST`), or else the one of this host's kubeconfig: "
                    "`kubectl get --raw /version`, run inside the delegate pod, must answer.",
                    types=frozenset({"K8sCluster"}),
                    auths=frozenset({"InheritFromDelegate"}),
                ),
                Step(
                    "`vaultUrl` is the server root, without `/v1` or a secret path: "
                    "`curl -sS {vault_url}/v1/sys/health` must answer with Vault's JSON.",
                    types=frozenset({"Vault"}),
                    requires=("vault_url",),
                ),
                Step(
                    "`dockerRegistryUrl` is the registry root (for Docker Hub "
                    "`https://registry.hub.docker.com/v2/`): `curl -i {registry_url}/v2/` should "
                    "answer 200 or 401.",
                    types=frozenset({"DockerRegistry"}),
                    requires=("registry_url",),
                ),
            ),
        ),
        FailureMode(
            id="timeout-too-low",
            title="Timeout leaves little headroom",
            severity=W,
            seed_section="Timeout Issues",
            summary=(
                "The connection works, but its round trip uses more than 80% of the configured "
                "timeout, so a slightly slower moment will make it fail."
            ),
            evidence=("host", "elapsed_s", "timeout_s", "budget_s"),
            steps=(
                Step(
                    "The round trip to {host} took {elapsed_s} s of a {timeout_s} s timeout: "
                    "raise the timeout to at least twice the observed time.",
                    requires=("host", "elapsed_s", "timeout_s"),
                ),
                Step(
                    "Raise it on both sides: in the Harness delegate or step settings that "
                    "apply, and as `timeout` under `pytestConnectors.defaults` for this suite."
                ),
                Step(
                    "Give the AWS SDK more retries with `awsSdkClientBackOffStrategyOverride` "
                    "on the connector, to ride out occasional slow calls.",
                    types=frozenset({"Aws"}),
                ),
                Step(
                    "If the time is higher than expected, look at the `high-latency` and "
                    "`delegate-resource-constraints` results: a distant or overloaded delegate "
                    "slows every call."
                ),
            ),
        ),
        FailureMode(
            id="high-latency",
            title="High latency to the target",
            severity=W,
            seed_section="Timeout Issues",
            summary=(
                "Connecting, the TLS handshake and the first byte together take longer than the "
                "latency budget, which slows every pipeline step that uses this connector."
            ),
            evidence=("host", "elapsed_s", "timeout_s", "budget_s"),
            steps=(
                Step(
                    "{host} took {elapsed_s} s against a budget of {budget_s} s. See where the "
                    "time goes: `curl -so /dev/null -w '%{{time_connect}} %{{time_appconnect}} "
                    "%{{time_starttransfer}}\\n' {target_url}`.",
                    requires=("host", "elapsed_s", "budget_s", "target_url"),
                ),
                Step(
                    "{host} took {elapsed_s} s against a budget of {budget_s} s: compare it with "
                    "`ping -c 5 {host}` from the delegate host to see how much is the network.",
                    requires=("host", "elapsed_s", "budget_s"),
                    unless=("target_url",),
                ),
                Step(
                    "Run a delegate in the same region or VPC as the target and point "
                    "`delegateSelectors` in {file} at its tags."
                ),
                Step(
                    "If traffic detours through a proxy or VPN far from the target, and direct "
                    "access is allowed, exempt the target with `NO_PROXY`."
                ),
                Step(
                    "If this latency is expected (a cross-region link, say), raise "
                    "`latencyBudget` under `pytestConnectors.defaults` to accept it."
                ),
            ),
        ),
        FailureMode(
            id="delegate-resource-constraints",
            title="Delegate host is short of CPU or memory",
            severity=W,
            seed_section="Timeout Issues; Delegate Issues",
            summary=(
                "The host acting as the delegate was overloaded or low on memory during the "
                "run, which makes connections slow and results unreliable."
            ),
            evidence=("load_per_core", "available_memory_pct"),
            steps=(
                Step(
                    "Load per core was {load_per_core} (above 2 means work is queuing): find "
                    "what else runs there with `top`; for delegates in Kubernetes, "
                    "`kubectl top pod --all-namespaces -l harness.io/name` shows what their "
                    "pods use.",
                    requires=("load_per_core",),
                ),
                Step(
                    "Only {available_memory_pct}% of memory was available: look for memory "
                    "pressure and OOM kills (`kubectl describe pod`, `dmesg`) around the time of "
                    "the run.",
                    requires=("available_memory_pct",),
                ),
                Step(
                    "Give the delegate more room: raise the pod's CPU and memory requests and "
                    "limits (or the VM size), or add delegate replicas to spread the tasks."
                ),
                Step(
                    "Lower the concurrent work on this host while testing: fewer xdist workers "
                    "(`-n`) for this suite, less pipeline parallelism on the delegate."
                ),
            ),
        ),
    ),
    *_group(
        TLS,
        FailureMode(
            id="tls-untrusted-certificate",
            title="Server certificate is not trusted",
            severity=E,
            seed_section="K8s → Certificate Validation Failure",
            summary=(
                "The server's certificate comes from an authority the delegate does not trust, "
                "or is self-signed, and no CA given to the connector or the delegate covers it."
            ),
            evidence=_TLS_EVIDENCE,
            steps=(
                Step(
                    "Look at what the server presents: `openssl s_client -connect {host}:{port} "
                    "-servername {host} -showcerts </dev/null`.",
                    requires=("host", "port"),
                ),
                Step(
                    "The certificate for {subject} was issued by {issuer}: get that CA's "
                    "certificate in PEM form from whoever runs the server.",
                    requires=("subject", "issuer"),
                ),
                Step(
                    "Store the cluster CA (the kubeconfig's `certificate-authority-data` is "
                    "already base64 PEM) in a secret and set it as `caCertRef` in the "
                    "connector's `auth.spec` in {file}.",
                    types=frozenset({"K8sCluster"}),
                    auths=_K8S_MANUAL,
                ),
                Step(
                    "Otherwise install that CA in the delegate host's CA store; for this suite "
                    "pass the PEM file with `--connectors-ca-bundle` or `caBundle` in the "
                    "delegate inventory."
                ),
                _VERIFY_CA_FILE,
                Step(
                    "This check trusted {ca_source}; if that was meant to cover the server, it "
                    "does not sign this certificate, so compare its subject with the issuer.",
                    requires=("ca_source",),
                ),
            ),
        ),
        FailureMode(
            id="tls-incomplete-chain",
            title="Certificate chain is incomplete",
            severity=E,
            seed_section="K8s → Certificate Validation Failure",
            summary=(
                "The server sends its certificate without the intermediates that link it to a "
                "trusted root, or the CA bundle supplied for it lacks an intermediate."
            ),
            evidence=_TLS_EVIDENCE,
            steps=(
                Step(
                    "Count the certificates the server sends: `openssl s_client -connect "
                    "{host}:{port} -servername {host} -showcerts </dev/null`; a single one "
                    "means the intermediates are missing.",
                    requires=("host", "port"),
                ),
                Step(
                    "Fix it on the server: configure it to send the leaf followed by every "
                    "intermediate (a `fullchain.pem`, not only `cert.pem`)."
                ),
                Step(
                    "Until then, add the intermediate `{issuer}` to the CA material you supply "
                    "({ca_source}), next to the root.",
                    requires=("issuer", "ca_source"),
                ),
                Step(
                    "The secret behind `caCertRef` must hold the intermediates and the root, "
                    "concatenated as PEM and then base64 encoded.",
                    types=frozenset({"K8sCluster"}),
                    auths=_K8S_MANUAL,
                ),
                _VERIFY_CA_FILE,
            ),
        ),
        FailureMode(
            id="tls-hostname-mismatch",
            title="Certificate does not match the host name",
            severity=E,
            seed_section="Timeout Issues → Incorrect endpoint URL",
            summary=(
                "The certificate is otherwise valid, but it was not issued for the host name "
                "in the connector's URL."
            ),
            evidence=_TLS_EVIDENCE,
            steps=(
                Step(
                    "The certificate names {sans}, not {host}: if one of those is the same "
                    "service, use it in the URL in {file}.",
                    requires=("sans", "host"),
                ),
                Step(
                    "Connect by the DNS name the certificate carries rather than by IP address "
                    "or an internal alias; add a DNS record if needed."
                ),
                Step(
                    "If {host} is the right name, reissue the certificate with {host} in its "
                    "subjectAltName.",
                    requires=("host",),
                ),
                Step(
                    "For an API server, the extra name belongs in its certificate's SANs (with "
                    "kubeadm: `--apiserver-cert-extra-sans`; for a managed cluster, use its "
                    "published endpoint).",
                    types=frozenset({"K8sCluster"}),
                ),
                Step(
                    "Do not switch verification off: a wrong name is also what an "
                    "interception looks like."
                ),
            ),
        ),
        FailureMode(
            id="tls-certificate-expired",
            title="Certificate has expired",
            severity=E,
            seed_section="-",
            summary=(
                "A certificate the server presents is outside its validity period: past its "
                "expiry date, or not valid yet."
            ),
            evidence=_TLS_EVIDENCE,
            steps=(
                Step(
                    "The certificate for {subject} stopped being valid at {not_after}: renew "
                    "it on {host} and reload the service.",
                    requires=("subject", "not_after", "host"),
                ),
                Step(
                    "If the leaf is current but a chain certificate expired, replace the chain "
                    "file on the server with the issuer's current intermediates."
                ),
                Step(
                    "If the dates look wrong, check the delegate host's clock (`date -u`, "
                    "`timedatectl`): a skewed clock makes good certificates look expired or "
                    "not yet valid."
                ),
                Step(
                    "Automate renewal (cert-manager, ACME) and keep the "
                    "`tls-certificate-expiring` warning enabled so the next expiry shows up "
                    "early."
                ),
            ),
        ),
        FailureMode(
            id="tls-certificate-expiring",
            title="Certificate expires soon",
            severity=W,
            seed_section="-",
            summary=(
                "The server's certificate is valid today but expires within the warning window "
                "(14 days by default)."
            ),
            evidence=_TLS_EVIDENCE,
            steps=(
                Step(
                    "Renew the certificate of {host} before {not_after} ({days_left} days left).",
                    requires=("host", "not_after", "days_left"),
                ),
                Step(
                    "Install the renewed certificate together with its full chain, then run "
                    "this suite again to see the new expiry date."
                ),
                Step(
                    "If another team or a vendor runs {host}, tell them now.",
                    requires=("host",),
                ),
                Step(
                    "Automate renewal, and tune the warning window with "
                    "`certExpiryWarningDays` under `pytestConnectors.defaults` if needed."
                ),
            ),
        ),
    ),
    *_group(
        AUTH,
        FailureMode(
            id="invalid-credentials",
            title="Credentials are rejected",
            severity=E,
            seed_section="Invalid Credentials",
            summary=(
                "The provider turned the credential down: the secret (a token, a password or a "
                "key) is wrong, revoked, or belongs to another account."
            ),
            evidence=(*_CREDENTIAL_EVIDENCE, "application_id", "installation_id"),
            steps=(
                Step(
                    "Check that `{reference}` holds the current value (no stray newline or "
                    "spaces, not a revoked or superseded token) and rotate it if in doubt.",
                    requires=("reference",),
                ),
                Step(
                    "For a GitHub App: `{reference}` must be a current private key of app "
                    "{application_id} (keys are generated and revoked in the app's settings), "
                    "and installation {installation_id} must still exist on the organisation "
                    "or account that owns the repository.",
                    types=frozenset({"Github"}),
                    requires=("reference", "application_id", "installation_id"),
                ),
                Step(
                    "Try the token by hand without echoing it (`read -rs TOKEN`): "
                    "`curl -sS -o /dev/null -w '%{{http_code}}\\n' "
                    '-H "Authorization: token $TOKEN" {api_url}/user`; 200 means it is accepted.',
                    types=frozenset({"Github"}),
                    requires=("api_url",),
                    auths=_TOKENS,
                ),
                Step(
                    "If the organisation enforces SAML single sign-on, authorise the token for "
                    "it in GitHub's token settings.",
                    types=frozenset({"Github"}),
                ),
                Step(
                    "Try the token by hand without echoing it (`read -rs TOKEN`): "
                    "`curl -sS -o /dev/null -w '%{{http_code}}\\n' "
                    '-H "PRIVATE-TOKEN: $TOKEN" {api_url}/user`; 200 means it is accepted.',
                    types=frozenset({"Gitlab"}),
                    requires=("api_url",),
                    auths=_TOKENS - {"OAuth"},
                ),
                Step(
                    "Try the OAuth token by hand without echoing it (`read -rs TOKEN`): "
                    "`curl -sS -o /dev/null -w '%{{http_code}}\\n' "
                    '-H "Authorization: Bearer $TOKEN" {api_url}/user`; 200 means it is '
                    "accepted, 401 that it expired or was revoked.",
                    types=frozenset({"Gitlab"}),
                    requires=("api_url",),
                    auths=frozenset({"OAuth"}),
                ),
                Step(
                    "Try the same user name and password or app token with git itself: "
                    "`git ls-remote {repo_url}`; an authentication error confirms the credential "
                    "is at fault.",
                    types=frozenset({"Bitbucket", "Git"}),
                    requires=("repo_url",),
                ),
                *_K8S_AS_CONNECTOR,
                Step(
                    "Try the credential by hand: `{kubectl} get namespaces`; Unauthorized means "
                    "the cluster rejects it, Forbidden that it is accepted but lacks RBAC.",
                    types=_K8S,
                    requires=("kubectl",),
                    auths=_K8S_MANUAL,
                ),
                Step(
                    "Inside the delegate pod, where kubectl uses the pod's service account, "
                    "`kubectl auth whoami` must name that account; outside a pod the delegate "
                    "uses this host's kubeconfig: `kubectl config view --minify` shows which "
                    "user that is.",
                    types=frozenset({"K8sCluster"}),
                    auths=frozenset({"InheritFromDelegate"}),
                ),
                Step(
                    "Export the key pair as `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` and "
                    "run `aws sts get-caller-identity`: InvalidClientTokenId means the access key "
                    "is unknown or inactive, SignatureDoesNotMatch that the secret key is not "
                    "its partner.",
                    types=frozenset({"Aws"}),
                    auths=frozenset({"ManualConfig"}),
                ),
                Step(
                    "On the delegate host, with no `AWS_` key variables set, "
                    "`aws sts get-caller-identity` shows the identity the delegate passes on "
                    "(instance profile, task role or IRSA); an error there means the delegate "
                    "itself has none.",
                    types=frozenset({"Aws"}),
                    auths=_FROM_DELEGATE,
                ),
                Step(
                    "Save the key of {secret_refs} as `key.json` outside any repository, run "
                    "`gcloud auth activate-service-account --key-file=key.json` and then "
                    "`gcloud auth print-access-token`; invalid_grant means the key was deleted "
                    "or the account disabled.",
                    types=frozenset({"Gcp"}),
                    auths=frozenset({"ManualConfig"}),
                ),
                Step(
                    "On the delegate host, `gcloud auth print-access-token` must print a token "
                    "for the Google account the delegate passes on (`gcloud auth list` names "
                    "it).",
                    types=frozenset({"Gcp"}),
                    auths=frozenset({"InheritFromDelegate"}),
                ),
                Step(
                    "Run `az login --service-principal --username {application_id} "
                    '--password "$SECRET" --tenant {tenant_id}` with the secret read into SECRET '
                    "(`read -rs SECRET`): AADSTS7000215 means the secret is wrong (use the "
                    "secret's value, not its id), AADSTS700016 that the tenant has no "
                    "application with that id.",
                    types=frozenset({"Azure"}),
                    requires=("application_id", "tenant_id"),
                    auths=frozenset({"Secret"}),
                ),
                Step(
                    "Run `az login --service-principal --username {application_id} "
                    "--certificate harness.pem --tenant {tenant_id}` with the certificate and "
                    "key of {secret_refs} saved as `harness.pem`: AADSTS700027 means the app "
                    "does not have that certificate.",
                    types=frozenset({"Azure"}),
                    requires=("application_id", "tenant_id"),
                    auths=frozenset({"Certificate"}),
                ),
                Step(
                    "On the delegate host, `az login --identity --client-id {identity_client_id}` "
                    "must sign in with the user-assigned identity the connector names.",
                    types=frozenset({"Azure"}),
                    requires=("identity_client_id",),
                    auths=frozenset({"InheritFromDelegate"}),
                ),
                Step(
                    "On the delegate host, `az login --identity` must sign in with the "
                    "system-assigned identity of its VM or cluster.",
                    types=frozenset({"Azure"}),
                    auths=frozenset({"InheritFromDelegate"}),
                    unless=("identity_client_id",),
                ),
                Step(
                    "Look the token up by hand without echoing it (`read -rs VAULT_TOKEN; "
                    "export VAULT_TOKEN`): `vault token lookup {vault_flags}`; permission denied "
                    "means Vault does not accept the token (wrong, expired or revoked).",
                    types=frozenset({"Vault"}),
                    requires=("vault_flags",),
                    auths=frozenset({"Token"}),
                ),
                Step(
                    "Log in by hand the way Harness does: `vault write {vault_flags} "
                    "{vault_login_path} role_id={vault_role_id} secret_id=-`, then paste the "
                    "secret id and press Ctrl-D; invalid role or secret id means one of them is "
                    "wrong or the secret id expired.",
                    types=frozenset({"Vault"}),
                    requires=("vault_flags", "vault_login_path", "vault_role_id"),
                    auths=frozenset({"AppRole"}),
                ),
                Step(
                    "On the delegate host, check the agent's token: "
                    '`VAULT_TOKEN="$(cat {token_path})" vault token lookup {vault_flags}`; an '
                    "empty or missing file means the Vault Agent is not running or writes "
                    "elsewhere.",
                    types=frozenset({"Vault"}),
                    requires=("vault_flags", "token_path"),
                    auths=frozenset({"VaultAgent"}),
                ),
                Step(
                    "On the delegate pod, log in the way Harness does: `vault write "
                    "{vault_flags} {vault_login_path} role={vault_role} jwt=@{token_path}`; "
                    "Vault's answer says whether the role, or the service account and "
                    "namespace bound to it, is the problem.",
                    types=frozenset({"Vault"}),
                    requires=("vault_flags", "vault_login_path", "vault_role", "token_path"),
                    auths=frozenset({"K8sAuth"}),
                ),
                Step(
                    "Run `docker login {registry}` with the same user name and password; Docker "
                    "Hub accounts with two-factor authentication need an access token instead.",
                    types=frozenset({"DockerRegistry"}),
                    requires=("registry",),
                ),
                _RERUN,
            ),
        ),
        FailureMode(
            id="credentials-expired",
            title="Credentials have expired",
            severity=E,
            seed_section="Invalid Credentials; K8s SA token; Azure SP",
            summary=(
                "The credential is past its expiry: a token's `exp` claim, a GitLab token's "
                "`expires_at`, a Vault token's TTL, or an Azure client secret's end date."
            ),
            evidence=_CREDENTIAL_EVIDENCE,
            steps=(
                Step(
                    "Issue a new credential and replace the value of `{reference}` with it.",
                    requires=("reference",),
                ),
                _EXPIRY_GITHUB,
                _EXPIRY_GITLAB,
                _EXPIRY_K8S,
                _EXPIRY_AZURE,
                _EXPIRY_VAULT,
                _EXPIRY_AUTOMATIC,
                Step(
                    "Run this suite again after the update; `credentials-expiring` warns "
                    "before the next expiry (`credentialExpiryWarningDays`, 7 days by default)."
                ),
            ),
        ),
        FailureMode(
            id="credentials-expiring",
            title="Credentials expire soon",
            severity=W,
            seed_section="Invalid Credentials",
            summary=(
                "The credential works today but expires within the warning window "
                "(7 days by default)."
            ),
            evidence=_CREDENTIAL_EVIDENCE,
            steps=(
                Step(
                    "`{reference}` expires at {expires_at} ({days_left} days left): create its "
                    "successor now and update the secret before then.",
                    requires=("reference", "expires_at", "days_left"),
                ),
                _EXPIRY_GITHUB,
                _EXPIRY_GITLAB,
                _EXPIRY_K8S,
                _EXPIRY_AZURE,
                _EXPIRY_VAULT,
                _EXPIRY_AUTOMATIC,
                Step(
                    "Put the rotation date in your team's calendar, or tune the warning window "
                    "with `credentialExpiryWarningDays` under `pytestConnectors.defaults`."
                ),
            ),
        ),
        FailureMode(
            id="insecure-transport",
            title="Credentials would travel over plain HTTP",
            severity=W,
            seed_section="-",
            summary=(
                "The connector would send a credential unencrypted to a host that is not "
                "loopback, where anyone on the network path can read it."
            ),
            evidence=("url",),
            steps=(
                Step("Change `{url}` in {file} to `https://`.", requires=("url",)),
                Step(
                    "If the server has no TLS yet, enable it, or put a TLS-terminating proxy in "
                    "front of it, before any credential is sent there."
                ),
                Step(
                    "Treat the credentials already sent as exposed: rotate {secret_refs} once "
                    "HTTPS works."
                ),
                Step(
                    "Turn on TLS for Vault's listener (`tls_cert_file` and `tls_key_file`, no "
                    "`tls_disable`) and change `vaultUrl` to https.",
                    types=frozenset({"Vault"}),
                ),
            ),
        ),
        FailureMode(
            id="insufficient-permissions",
            title="Credential lacks required permissions",
            severity=E,
            seed_section="Insufficient Permissions",
            summary=(
                "The provider accepts the credential, but it is missing scopes or "
                "capabilities this connector needs."
            ),
            evidence=("missing", "reference", "granted"),
            steps=(
                Step(
                    "Missing: {missing}. Add them to the credential in `{reference}`, or "
                    "replace it with one that has them.",
                    requires=("missing", "reference"),
                ),
                Step(
                    "It currently has {granted}: add only what is missing rather than broad "
                    "admin rights.",
                    requires=("granted",),
                ),
                Step(
                    "A classic token needs the `repo`, `admin:repo_hook` and `user` scopes; "
                    "see what it has (after `read -rs TOKEN`) with "
                    '`curl -sI -H "Authorization: token $TOKEN" {api_url}/user | grep -i '
                    "x-oauth-scopes`. A fine-grained token must include the connector's "
                    "repositories, `validationRepo` too.",
                    types=frozenset({"Github"}),
                    requires=("api_url",),
                ),
                Step(
                    "Give the token the `api` scope (`read_repository` covers clones only); "
                    "GitLab does not let you edit scopes later, so create a new token.",
                    types=frozenset({"Gitlab"}),
                ),
                Step(
                    "Extend the token's Vault policy with "
                    '`path "{vault_data_path}/*" {{ capabilities = [{vault_capabilities}] }}` '
                    "and with `list` on `{vault_list_path}/*`, then "
                    "check it with the connector's token in `VAULT_TOKEN`: "
                    "`vault token capabilities {vault_flags} "
                    "{vault_data_path}/harness_vault_validation`.",
                    types=frozenset({"Vault"}),
                    requires=(
                        "vault_data_path",
                        "vault_capabilities",
                        "vault_list_path",
                        "vault_flags",
                    ),
                ),
                Step(
                    "Attach an IAM policy with the missing actions to the user or role; every "
                    "AWS connector needs at least `ec2:DescribeRegions`.",
                    types=frozenset({"Aws"}),
                ),
                Step(
                    "Permission changes can take a few minutes to apply (AWS IAM up to about "
                    "five); then run this connector's checks again: `{rerun}`."
                ),
            ),
        ),
        FailureMode(
            id="k8s-rbac-denied",
            title="Kubernetes RBAC denies required access",
            severity=E,
            seed_section="K8s → RBAC Permission Denied",
            summary=(
                "The cluster accepts the credential, but RBAC refuses some of the verbs and "
                "resources Harness needs to deploy."
            ),
            evidence=("denied", "namespace", "rbac_yaml"),
            steps=(
                *_K8S_AS_CONNECTOR,
                Step(
                    "Denied: {denied}. See who the connector is and what it may do: "
                    "`{kubectl} auth whoami`, then `{kubectl} auth can-i --list`.",
                    requires=("denied", "kubectl"),
                    auths=_K8S_MANUAL,
                ),
                Step(
                    "Denied: {denied}. Inside the delegate pod, where kubectl acts as the pod's "
                    "service account, `kubectl auth whoami` names the identity and "
                    "`kubectl auth can-i --list` shows what it may do.",
                    requires=("denied",),
                    auths=frozenset({"InheritFromDelegate"}),
                ),
                Step(
                    "Save the Role/ClusterRole and binding printed with this failure (they grant "
                    "exactly the denied pairs) as `harness-rbac.yaml`, check that their subject "
                    "is the identity the connector uses, and apply them as a cluster "
                    "administrator: `kubectl apply -f harness-rbac.yaml`.",
                    requires=("rbac_yaml",),
                ),
                Step(
                    "Check a pair afterwards, as the connector (inside the delegate pod for "
                    "`InheritFromDelegate`): `{kubectl} auth can-i {first_denied} -n {namespace}` "
                    "must answer yes.",
                    requires=("kubectl", "first_denied", "namespace"),
                ),
                Step(
                    "Check a pair afterwards, as the connector (inside the delegate pod for "
                    "`InheritFromDelegate`): `{kubectl} auth can-i {first_denied} "
                    "--all-namespaces` must answer yes.",
                    requires=("kubectl", "first_denied"),
                    unless=("namespace",),
                ),
                Step(
                    "If Harness deploys only to known namespaces, prefer a Role and RoleBinding "
                    "in each over a ClusterRole, and set `kubernetes.namespace` in the suite's "
                    "connector expectations so this check tests the same namespace."
                ),
                Step(
                    "With `InheritFromDelegate`, the rights come from the delegate pod's service "
                    "account: bind the role to that account.",
                    auths=frozenset({"InheritFromDelegate"}),
                ),
            ),
        ),
        FailureMode(
            id="rate-limited",
            title="Provider rate limit reached",
            severity=E,
            seed_section="Rate Limiting",
            summary=(
                "The provider is throttling this credential (HTTP 429, a rate-limit 403, or no "
                "requests left), so connector operations fail until its window resets."
            ),
            evidence=_RATE_EVIDENCE,
            steps=(
                Step(
                    "Requests are refused until {reset_at}: hold polling and bulk jobs that use "
                    "this credential until then.",
                    requires=("reset_at",),
                ),
                Step(
                    "Wait at least {retry_after} s before the next request, as the provider asked.",
                    requires=("retry_after",),
                ),
                _RATE_GITHUB_APP,
                _RATE_SPLIT,
                _RATE_POLLING,
                Step(
                    "Check the allowance without spending it (after `read -rs TOKEN`): "
                    '`curl -sS -H "Authorization: token $TOKEN" {api_url}/rate_limit`.',
                    types=frozenset({"Github"}),
                    requires=("api_url",),
                ),
                _RATE_DOCKER_HUB,
                Step(
                    "Let throttled calls back off instead of failing with "
                    "`awsSdkClientBackOffStrategyOverride` (e.g. `EqualJitterBackoffStrategy` "
                    "with more retries).",
                    types=frozenset({"Aws"}),
                ),
                Step(
                    "Find what else spends this allowance (other connectors, scripts or tools "
                    "using {secret_refs}) and spread or reduce that load.",
                    types=frozenset(CONNECTOR_TYPES) - {"Github"},
                ),
            ),
        ),
        FailureMode(
            id="rate-limit-low",
            title="Rate-limit headroom is low",
            severity=W,
            seed_section="Rate Limiting",
            summary=(
                "Less than 10% of the provider's rate limit is left, so a busy period will "
                "start throttling connector operations."
            ),
            evidence=_RATE_EVIDENCE,
            steps=(
                Step(
                    "Only {remaining} of {limit} requests are left in this window: find what "
                    "else spends this credential's allowance (other connectors, scripts, bots).",
                    requires=("remaining", "limit"),
                ),
                _RATE_GITHUB_APP,
                _RATE_SPLIT,
                _RATE_POLLING,
                _RATE_DOCKER_HUB,
                Step(
                    "If this headroom is normal for you, lower `rateLimitHeadroom` under "
                    "`pytestConnectors.defaults`."
                ),
            ),
        ),
        FailureMode(
            id="concurrent-connection-limit",
            title="Concurrent connection limit reached",
            severity=E,
            seed_section="Pipeline vs Test → Concurrent Connection Limits",
            summary=(
                "One request succeeds, but parallel ones to the same host are throttled, reset "
                "or refused: parallel pipeline stages will fail while a single test passes."
            ),
            evidence=("failed", "attempted", "host"),
            steps=(
                Step(
                    "{failed} of {attempted} parallel requests to {host} failed: look up the "
                    "service's concurrency or connection quota and compare it with your peak "
                    "parallelism.",
                    requires=("failed", "attempted", "host"),
                ),
                Step(
                    "Cap the parallelism of pipelines that use {ref}: fewer parallel stages or "
                    "steps, or `maxConcurrency` on looping strategies."
                ),
                Step(
                    "Reuse connections where the client allows it (keep-alive, pooling) rather "
                    "than opening one per request."
                ),
                Step(
                    "If the quota is per credential, spread the load over connectors with "
                    "credentials of their own, or ask the service's owner for a higher quota."
                ),
                Step(
                    "Find the highest safe level: run `{rerun}` again, lowering the number given "
                    "to `--connectors-concurrency` each time, until the check passes."
                ),
            ),
        ),
    ),
    *_group(
        CLOUD,
        FailureMode(
            id="aws-trust-policy",
            title="AWS role cannot be assumed",
            severity=E,
            seed_section="AWS → IAM Trust Policy",
            summary=(
                "`sts:AssumeRole` on the cross-account role is denied: the role's trust policy "
                "does not name the caller, or the external id does not match."
            ),
            evidence=("role_arn", "caller_arn", "external_id"),
            steps=(
                Step(
                    "Edit the trust policy of `{role_arn}` so its `Principal` names "
                    "`{caller_arn}`, the identity behind the delegate's credentials.",
                    requires=("role_arn", "caller_arn"),
                    unless=("caller_role_arn",),
                ),
                Step(
                    "Edit the trust policy of `{role_arn}` so its `Principal` names the role "
                    "`{caller_role_arn}`: the delegate's credentials are a session of it "
                    "(`{caller_arn}`), and a policy names the role, not the session.",
                    requires=("role_arn", "caller_arn", "caller_role_arn"),
                ),
                Step(
                    "The connector sends the external id `{external_id}`; the policy's "
                    "`sts:ExternalId` condition must equal it exactly. If the role needs none, "
                    "remove `externalId` from {file}.",
                    requires=("external_id",),
                ),
                Step(
                    "The caller's own IAM policy must allow `sts:AssumeRole` on `{role_arn}`.",
                    requires=("role_arn",),
                ),
                Step(
                    "Try it from the delegate: `aws sts assume-role --role-arn {role_arn} "
                    "--role-session-name harness-check --external-id {external_id}`; trust "
                    "policy changes can take a few minutes to apply.",
                    requires=("role_arn", "external_id"),
                ),
                Step(
                    "Try it from the delegate: `aws sts assume-role --role-arn {role_arn} "
                    "--role-session-name harness-check`; trust policy changes can take a few "
                    "minutes to apply.",
                    requires=("role_arn",),
                    unless=("external_id",),
                ),
                Step(
                    "Once the role can be assumed, give it `ec2:DescribeRegions`, which Harness "
                    "calls to test every AWS connector."
                ),
            ),
        ),
        FailureMode(
            id="aws-sts-regional-endpoint",
            title="AWS STS endpoint fails for the region",
            severity=E,
            seed_section="AWS → STS Regional Endpoint",
            summary=(
                "STS fails on the endpoint used for the connector's or delegate's region while "
                "the other endpoint (global or regional) works."
            ),
            evidence=("region", "endpoint"),
            steps=(
                Step(
                    "Call it from the delegate: "
                    "`aws sts get-caller-identity --region {region} --endpoint-url {endpoint}`.",
                    requires=("region", "endpoint"),
                ),
                Step(
                    "If {region} is an opt-in region, enable it for the account (AWS console, "
                    "Account page, AWS Regions); its STS endpoint answers only after that.",
                    requires=("region",),
                ),
                Step(
                    "In IAM account settings, make sure the STS endpoint for {region} is "
                    "active, or let the delegate use the global endpoint "
                    "`https://sts.amazonaws.com` instead.",
                    requires=("region",),
                ),
                Step(
                    "If egress is restricted (proxy allow list, VPC endpoints), allow "
                    "`sts.{region}.amazonaws.com` as well as the global endpoint.",
                    requires=("region",),
                ),
                Step(
                    "Set `credential.region` in {file} to the region you deploy to, so the "
                    "connection test and pipelines use the same STS endpoint."
                ),
            ),
        ),
        FailureMode(
            id="gcp-key-invalid",
            title="GCP service-account key is unusable",
            severity=E,
            seed_section="GCP → Service Account Key",
            summary=(
                "Google refuses the service-account key: the JSON is unusable, the key was "
                "deleted or revoked, or the service account is disabled."
            ),
            evidence=_GCP_EVIDENCE,
            steps=(
                Step(
                    "Check that the account exists and is enabled, and that the key's id is "
                    "still listed: `gcloud iam service-accounts describe {client_email}` and "
                    "`gcloud iam service-accounts keys list --iam-account={client_email}`.",
                    requires=("client_email",),
                ),
                Step(
                    "If the key or the account is gone, create a new key with `gcloud iam "
                    "service-accounts keys create key.json --iam-account={client_email}`, upload "
                    "it to {secret_refs}, and delete the local copy.",
                    requires=("client_email",),
                ),
                Step(
                    "If the key or the account is gone, create a new key in the Google Cloud "
                    "console (IAM, Service accounts, the account, Keys), upload it to "
                    "{secret_refs}, and delete the local copy.",
                    unless=("client_email",),
                ),
                Step(
                    "Upload the JSON unchanged as a file secret: a `service_account` key with "
                    "`private_key` and `client_email`."
                ),
                Step(
                    "If your organisation forbids service-account keys, switch the credential "
                    "to `InheritFromDelegate` (the delegate's own Google identity; needs "
                    "`delegateSelectors`) or to OIDC."
                ),
                _RERUN,
            ),
        ),
        FailureMode(
            id="gcp-project-mismatch",
            title="Service account belongs to another GCP project",
            severity=E,
            seed_section="GCP → Project ID Mismatch",
            summary=(
                "The key's service account lives in a different project from the target, and "
                "has no access to the target project."
            ),
            evidence=_GCP_EVIDENCE,
            steps=(
                Step(
                    "The key comes from `{key_project}` but the target is `{project}`: use a "
                    "service account of `{project}`, or give `{client_email}` access to it.",
                    requires=("key_project", "project", "client_email"),
                ),
                Step(
                    "Let it see the target project (`roles/browser`), then add the roles its "
                    "pipelines need the same way: `gcloud projects add-iam-policy-binding "
                    "{project} --member=serviceAccount:{client_email} --role=roles/browser`.",
                    requires=("project", "client_email"),
                ),
                Step(
                    "Confirm it can read the project: `gcloud projects describe {project} "
                    "--impersonate-service-account={client_email}` (you need the Service "
                    "Account Token Creator role to impersonate).",
                    requires=("project", "client_email"),
                ),
                Step(
                    "If `{project}` itself is wrong, correct `gcp.project` in the suite's "
                    "connector expectations.",
                    requires=("project",),
                ),
                Step(
                    "Or create a service account in the target project, and upload its key to "
                    "{secret_refs} as a file secret."
                ),
            ),
        ),
        FailureMode(
            id="gcp-missing-iam-roles",
            title="GCP service account lacks IAM roles",
            severity=E,
            seed_section="GCP → Missing IAM Roles",
            summary=(
                "The service account reaches the project but lacks IAM permissions the "
                "connector needs."
            ),
            evidence=_GCP_EVIDENCE,
            steps=(
                Step(
                    "`{client_email}` lacks {missing} on `{project}`: grant the narrowest role "
                    "that includes them.",
                    requires=("client_email", "missing", "project"),
                ),
                Step(
                    "Usual choices: `roles/container.developer` to deploy to GKE "
                    "(`roles/container.clusterAdmin` to manage clusters), "
                    "`roles/storage.objectViewer` to read artifacts from Cloud Storage, "
                    "`roles/secretmanager.secretAccessor` to read Secret Manager secrets."
                ),
                Step(
                    "Grant the role you chose, for example for GKE deployments: `gcloud "
                    "projects add-iam-policy-binding {project} "
                    "--member=serviceAccount:{client_email} --role=roles/container.developer`.",
                    requires=("project", "client_email"),
                ),
                Step(
                    "See what is bound now: `gcloud projects get-iam-policy {project} "
                    "--flatten=bindings[].members --filter=bindings.members:{client_email}`; "
                    "new bindings can take a few minutes to apply.",
                    requires=("project", "client_email"),
                ),
            ),
        ),
        FailureMode(
            id="azure-tenant-subscription",
            title="Azure tenant or subscription is wrong",
            severity=E,
            seed_section="Azure → Subscription and Tenant ID",
            summary=(
                "The tenant or subscription id is not a GUID, the tenant does not exist, or the "
                "subscription is unknown or invisible to the service principal."
            ),
            evidence=_AZURE_EVIDENCE,
            steps=(
                Step(
                    "Compare `tenantId` in {file} with the tenant id shown in Microsoft Entra "
                    "ID (Overview) or by `az account show --query tenantId`; it is a GUID."
                ),
                Step(
                    "Entra ID answered {aadsts}; AADSTS90002 means no tenant has that id or "
                    "domain, so copy it again.",
                    requires=("aadsts",),
                ),
                Step(
                    "Check that subscription `{subscription_id}` belongs to tenant "
                    "`{tenant_id}`: `az account show --subscription {subscription_id} "
                    "--query tenantId`.",
                    requires=("subscription_id", "tenant_id"),
                ),
                Step(
                    "Let the service principal see the subscription by giving it at least "
                    "Reader there: `az role assignment create --assignee {application_id} "
                    "--role Reader --scope /subscriptions/{subscription_id}`.",
                    requires=("application_id", "subscription_id"),
                ),
                Step(
                    "For Azure Government, set `azureEnvironmentType: AZURE_US_GOVERNMENT`; the "
                    "public-cloud setting cannot find government tenants."
                ),
            ),
        ),
        FailureMode(
            id="azure-service-principal",
            title="Azure service principal has no usable role",
            severity=E,
            seed_section="Azure → Service Principal",
            summary=(
                "The service principal signs in, but has no role assignment on the "
                "subscription, or none that allows an action the connector needs."
            ),
            evidence=_AZURE_EVIDENCE,
            steps=(
                Step(
                    "List its assignments: `az role assignment list --assignee "
                    "{application_id} --scope /subscriptions/{subscription_id} -o table`.",
                    requires=("application_id", "subscription_id"),
                ),
                Step(
                    "Assign a role covering the missing actions at subscription or "
                    "resource-group scope, e.g. `az role assignment create --assignee "
                    "{application_id} --role Contributor --scope "
                    "/subscriptions/{subscription_id}`, or a custom role with just those actions.",
                    requires=("application_id", "subscription_id"),
                ),
                Step(
                    "In Entra ID, under App registrations, check that the app's client secret "
                    "or certificate is still valid; if not, add a new one and update "
                    "{secret_refs}."
                ),
                Step(
                    "With `InheritFromDelegate` (managed identity), assign the role to the "
                    "identity of the delegate's VM or cluster instead."
                ),
                Step("Role assignments take a few minutes to spread; run the suite again then."),
            ),
        ),
        FailureMode(
            id="secret-manager-unhealthy",
            title="Secret manager is unhealthy",
            severity=E,
            seed_section="Diagnostic Step 5",
            summary=(
                "The secret manager holding the connector's secrets is sealed, not "
                "initialised, a standby that does not forward, or unreachable, so no secret "
                "can be read from it."
            ),
            evidence=("manager", "vault_url", "state"),
            steps=(
                Step(
                    "Ask it directly: `curl -sS -o /dev/null -w '%{{http_code}}\\n' "
                    "{vault_url}/v1/sys/health`; 200 is active, 429 standby, 501 not "
                    "initialised, 503 sealed.",
                    requires=("vault_url",),
                ),
                Step(
                    "`{manager}` reports {state}. If sealed, unseal it with enough key shares "
                    "(`vault operator unseal -address={vault_url}`, once per share) or repair "
                    "its auto-unseal (cloud KMS) setup.",
                    requires=("manager", "state", "vault_url"),
                ),
                Step(
                    "`{manager}` reports {state}. If sealed, unseal it with enough key shares "
                    "or repair its auto-unseal (cloud KMS) setup.",
                    requires=("manager", "state"),
                    unless=("vault_url",),
                ),
                Step(
                    "If it is not initialised, it is either new or has lost its storage: "
                    "initialise it only when it really is new, otherwise restore the storage."
                ),
                Step(
                    "If it is a standby that does not forward requests, point `vaultUrl` at the "
                    "active node or at the cluster's load-balanced address."
                ),
                Step(
                    "If it cannot be reached, read the dns, tcp and tls results of "
                    "`{manager}`'s own items in this run.",
                    requires=("manager",),
                ),
            ),
        ),
    ),
)


def get(mode_id: str) -> FailureMode:
    """Look a failure mode up by id; an unknown id is a programming error."""
    try:
        return CATALOGUE[mode_id]
    except KeyError:
        raise KeyError(f"unknown failure mode {mode_id!r}") from None
