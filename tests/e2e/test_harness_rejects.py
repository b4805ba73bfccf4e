"""End to end: "What Harness rejects, we reject — and say where it belongs" (issue 8, rule 3).

* an inherited credential (``InheritFromDelegate``, ``Irsa``) with ``spec: {}`` is refused;
* a key Harness would drop silently warns ``unknown-field`` with where it belongs, and
  ``--connectors-strict`` fails it;
* keys Harness itself writes in exports never warn.

Connectors are shaped like Harness's published YAML (``project_connector``); every run is static
and without secret values (``no_secret_source``), so the verdicts come from the YAML alone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# -- what Harness rejects, we reject ------------------------------------------------------------

#: Credentials that are the delegate's own identity, each with an empty ``spec``. Harness's
#: deserializers throw "No spec should be provided with the inherit from delegate type" for any
#: spec node that is not null (harness-core KubernetesCredentialDTODeserializer,
#: AwsCredentialDTODeserializer for InheritFromDelegate and Irsa, GcpCredentialDTODeserializer).
INHERIT_WITH_EMPTY_SPEC = {
    "K8sCluster InheritFromDelegate": ("K8sCluster", "InheritFromDelegate"),
    "Aws InheritFromDelegate": ("Aws", "InheritFromDelegate"),
    "Aws Irsa": ("Aws", "Irsa"),
    "Gcp InheritFromDelegate": ("Gcp", "InheritFromDelegate"),
}


@pytest.mark.no_secret_source
@pytest.mark.parametrize("variant", sorted(INHERIT_WITH_EMPTY_SPEC))
def test_inherit_from_delegate_with_an_empty_spec_fails_definition(
    write_yaml: Callable[..., Path],
    run_connectors: Callable[..., Any],
    project_connector: Callable[[str, str, str], str],
    outcomes_of: Callable[..., dict[str, str]],
    variant: str,
) -> None:
    """Done means: "`InheritFromDelegate` with `spec: {}` fails"; rule 3: "an empty spec is
    still a spec". The same credential without ``spec`` (Harness's own examples, e.g. the GCR
    connector of developer-hub's "CD artifact sources") is the control and passes."""
    connector_type, credential = INHERIT_WITH_EMPTY_SPEC[variant]
    spec = f"""
        credential:
          type: {credential}{{spec}}
        delegateSelectors:
          - docs-delegate
        executeOnDelegate: true
    """
    if connector_type == "K8sCluster":  # K8sCluster always runs on a delegate
        spec = spec.replace("        executeOnDelegate: true\n", "")
    write_yaml(
        "connectors/inherit.yaml",
        project_connector(
            "empty_spec", connector_type, spec.replace("{spec}", "\n          spec: {}")
        )
        + "---\n"
        + project_connector("no_spec", connector_type, spec.replace("{spec}", "")),
    )
    result, report = run_connectors()
    assert outcomes_of(result)["connectors/inherit.yaml::empty_spec[definition]"] == "FAILED"
    definition = report.checks("empty_spec")["definition"]
    assert definition["failure_mode"] == "definition-invalid"
    assert definition["evidence"]["field_path"] == "spec.credential.spec"
    assert f"credential type {credential} takes no 'spec'" in definition["message"]
    assert report.failures() == [
        "connectors/inherit.yaml::empty_spec[definition] definition-invalid"
    ]


#: ``crossAccountAccess`` one level too high: Harness reads it from the credential
#: (AwsCredentialDTO's field, read by AwsCredentialDTODeserializer from the ``credential`` node),
#: so under ``spec`` it is dropped and the role is never assumed.
CROSS_ACCOUNT_UNDER_SPEC = """
    credential:
      type: ManualConfig
      spec:
        accessKey: AKIAIOSFODNN7EXAMPLE
        secretKeyRef: awssecretkey
      region: us-east-1
    crossAccountAccess:
      crossAccountRoleArn: arn:aws:iam::123456789012:role/deploy
      externalId: ext-123
    delegateSelectors:
      - aws-delegate
    executeOnDelegate: true
"""


@pytest.mark.no_secret_source
@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
def test_cross_account_access_under_spec_warns_where_it_belongs(
    write_yaml: Callable[..., Path],
    run_connectors: Callable[..., Any],
    project_connector: Callable[[str, str, str], str],
    outcomes_of: Callable[..., dict[str, str]],
    strict: bool,
) -> None:
    """Done means: "a spec-level `crossAccountAccess` warns `unknown-field` naming
    `spec.credential`"; rule 3: Harness drops unknown keys silently, so configuration is lost.
    A warning passes its item unless ``--connectors-strict``."""
    write_yaml(
        "connectors/aws.yaml", project_connector("aws_deploy", "Aws", CROSS_ACCOUNT_UNDER_SPEC)
    )
    result, report = run_connectors(*(["--connectors-strict"] if strict else []))
    node = "connectors/aws.yaml::aws_deploy[definition]"
    assert outcomes_of(result)[node] == ("FAILED" if strict else "PASSED")
    definition = report.checks("aws_deploy")["definition"]
    outcome = "failed" if strict else "warning"  # the report says what the item did
    assert (definition["outcome"], definition["failure_mode"]) == (outcome, "unknown-field")
    (finding,) = definition["findings"]
    assert finding["message"].startswith("spec.crossAccountAccess (line ")
    assert "(it belongs at spec.credential.crossAccountAccess)" in finding["message"]
    assert definition["evidence"]["suggestion"] == "spec.credential.crossAccountAccess"
    assert result.ret == (pytest.ExitCode.TESTS_FAILED if strict else pytest.ExitCode.OK)


#: Connectors as Harness hands them back (GET /ng/api/connectors/{identifier}, Terraform's
#: harness_platform_connector_* state): ConnectorInfoDTO's ``accountIdentifier`` and ``tags``,
#: Harness's 2026 connector schema's ``ignoreTestConnection``, ``proxy`` of the WithProxy
#: DTOs, and the harness-go-sdk's ``connectorType`` discriminator (nextgen models).
EXPORTS = {
    "Github": """
        url: https://github.com/johndoe/myapp.git
        validationRepo: ""
        authentication:
          type: Http
          spec:
            type: UsernameToken
            spec:
              username: johndoe
              tokenRef: githubpat
        apiAccess:
          type: Token
          spec:
            tokenRef: githubpat
        delegateSelectors:
          - docs-delegate
        executeOnDelegate: true
        proxy: false
        ignoreTestConnection: false
        connectorType: GithubConnector
        type: Repo
    """,
    "Aws": """
        credential:
          type: ManualConfig
          spec:
            accessKey: AKIAIOSFODNN7EXAMPLE
            secretKeyRef: awssecretkey
          region: us-east-1
          crossAccountAccess:
            crossAccountRoleArn: arn:aws:iam::123456789012:role/deploy
            externalId: ext-123
        awsSdkClientBackOffStrategyOverride:
          type: EqualJitterBackoffStrategy
          spec:
            baseDelay: 100
            maxBackoffTime: 20000
            retryCount: 5
        delegateSelectors:
          - docs-delegate
        executeOnDelegate: true
        proxy: false
        ignoreTestConnection: false
        connectorType: AwsConnector
    """,
    "K8sCluster": """
        credential:
          type: ManualConfig
          spec:
            masterUrl: https://k8s.example.com:6443
            auth:
              type: ServiceAccount
              spec:
                serviceAccountTokenRef: k8stoken
                caCertRef: k8sca
        delegateSelectors:
          - docs-delegate
        ignoreTestConnection: false
        connectorType: KubernetesClusterConfig
    """,
    "Vault": """
        authToken: vaulttoken
        basePath: harness
        vaultUrl: https://vault.example.com:8200
        renewalIntervalMinutes: 10
        secretEngineManuallyConfigured: false
        secretEngineName: secret
        secretEngineVersion: 2
        useAwsIam: false
        useK8sAuth: false
        useVaultAgent: false
        useJwtAuth: false
        renewAppRoleToken: false
        enableCache: false
        delegateSelectors:
          - docs-delegate
        default: false
        readOnly: false
        ignoreTestConnection: false
        connectorType: VaultConnector
    """,
}


@pytest.mark.no_secret_source
@pytest.mark.parametrize("connector_type", sorted(EXPORTS))
def test_a_harness_export_raises_no_unknown_field(
    write_yaml: Callable[..., Path],
    run_connectors: Callable[..., Any],
    project_connector: Callable[[str, str, str], str],
    connector_type: str,
) -> None:
    """Rule 3: "Never warn on keys Harness itself writes in exports"."""
    text = project_connector("exported", connector_type, EXPORTS[connector_type]).replace(
        '  description: ""\n',
        '  description: ""\n  accountIdentifier: px7xd_BFRCi-pfWPYXVjvw\n  tags:\n    team: docs\n',
    )
    write_yaml("connectors/export.yaml", text)
    result, report = run_connectors()
    assert "unknown-field" not in report.modes()
    assert "unknown-field" not in result.stdout.str()
    definition = report.checks("exported")["definition"]
    assert (definition["outcome"], definition["findings"]) == ("passed", [])
    assert report.failures() == []
