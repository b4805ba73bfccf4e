"""End to end: "Harness accepts it → we accept it" (issue 8, rule 2), table-driven.

Each connector is shaped like Harness's published YAML (developer-hub
create-a-connector-using-yaml.md and the "CD artifact sources" page: ``orgIdentifier:
default``, ``projectIdentifier: CD_Docs``, ``executeOnDelegate``, ...) with hosts that are
never contacted: these runs are static (``--connectors-offline``, from ``tests/e2e``). Runs
marked ``no_secret_source`` have no secret values at all, so ``secrets`` is not judged and the
verdicts below come from the YAML alone. (What Harness rejects: ``test_harness_rejects.py``.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# -- validationRepo is optional -----------------------------------------------------------------

#: Account connectors without ``validationRepo``: the DTOs put no constraint on it
#: (GithubConnectorDTO, GitlabConnectorDTO, BitbucketConnectorDTO, GitConfigDTO), and Harness's
#: connection test then tries no repository (GitCommandTaskHandler#handleGitValidation).
ACCOUNT_WITHOUT_VALIDATION_REPO = {
    "Github": """
        url: https://github.com/johndoe
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
        delegateSelectors: []
        executeOnDelegate: true
        type: Account
    """,
    "Gitlab": """
        url: https://gitlab.com/johndoe
        authentication:
          type: Http
          spec:
            type: UsernameToken
            spec:
              username: johndoe
              tokenRef: gitlabpat
        apiAccess:
          type: Token
          spec:
            tokenRef: gitlabpat
        delegateSelectors: []
        executeOnDelegate: true
        type: Account
    """,
    "Bitbucket": """
        url: https://bitbucket.org/johndoe
        authentication:
          type: Http
          spec:
            type: UsernamePassword
            spec:
              username: johndoe
              passwordRef: bitbucketpwd
        apiAccess:
          type: UsernameToken
          spec:
            username: johndoe
            tokenRef: bitbucketpwd
        delegateSelectors: []
        executeOnDelegate: true
        type: Account
    """,
    "Git": """
        connectionType: Account
        url: https://git.example.com/johndoe
        type: Http
        spec:
          username: johndoe
          passwordRef: gitpwd
        delegateSelectors: []
        executeOnDelegate: true
    """,
}


@pytest.mark.no_secret_source
@pytest.mark.parametrize("connector_type", sorted(ACCOUNT_WITHOUT_VALIDATION_REPO))
def test_account_connector_without_validation_repo_passes_definition(
    write_yaml: Callable[..., Path],
    run_connectors: Callable[..., Any],
    project_connector: Callable[[str, str, str], str],
    connector_type: str,
) -> None:
    """Done means: "Account connectors without `validationRepo` (Github, Gitlab, Bitbucket,
    Git) pass `definition`"; rule 2: nothing fails or warns for its absence."""
    spec = ACCOUNT_WITHOUT_VALIDATION_REPO[connector_type]
    write_yaml("connectors/scm.yaml", project_connector("scm_account", connector_type, spec))
    _, report = run_connectors()
    definition = report.checks("scm_account")["definition"]
    assert (definition["outcome"], definition["findings"]) == ("passed", [])
    assert report.failures() == []
    assert "validationRepo" not in json.dumps(report.data)


# -- executeOnDelegate: false -------------------------------------------------------------------

#: One connector per type that can "Connect through Harness Platform" (the ManagerExecutable
#: DTOs among the types we check; developer-hub git-hub-connector-settings-reference.md,
#: *Connectivity Mode*). None has delegateSelectors: Harness ignores them in this mode.
#: The DockerRegistry one is developer-hub's "CD artifact sources" example as published.
THROUGH_HARNESS_PLATFORM = {
    "Github": """
        url: https://github.com/johndoe/myapp.git
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
        executeOnDelegate: {mode}
        type: Repo
    """,
    "Gitlab": """
        url: https://gitlab.com/johndoe/myapp.git
        authentication:
          type: Http
          spec:
            type: UsernameToken
            spec:
              username: johndoe
              tokenRef: gitlabpat
        executeOnDelegate: {mode}
        type: Repo
    """,
    "Bitbucket": """
        url: https://bitbucket.org/johndoe/myapp.git
        authentication:
          type: Http
          spec:
            type: UsernamePassword
            spec:
              username: johndoe
              passwordRef: bitbucketpwd
        executeOnDelegate: {mode}
        type: Repo
    """,
    "Git": """
        connectionType: Repo
        url: https://git.example.com/johndoe/myapp.git
        type: Http
        spec:
          username: johndoe
          passwordRef: gitpwd
        executeOnDelegate: {mode}
    """,
    "Aws": """
        credential:
          type: ManualConfig
          spec:
            accessKey: AKIAIOSFODNN7EXAMPLE
            secretKeyRef: awssecretkey
          region: us-east-1
        executeOnDelegate: {mode}
    """,
    "Gcp": """
        credential:
          type: ManualConfig
          spec:
            secretKeyRef: gcpserviceaccountkey
        executeOnDelegate: {mode}
    """,
    "Azure": """
        credential:
          type: ManualConfig
          spec:
            applicationId: 2fcf5b2a-4e3c-4b07-9a3e-0c2c1c4e7d11
            tenantId: b229b2bb-5f33-4d22-bce0-730f6474e906
            auth:
              type: Secret
              spec:
                secretRef: azureclientsecret
        azureEnvironmentType: AZURE
        executeOnDelegate: {mode}
    """,
    "DockerRegistry": """
        dockerRegistryUrl: https://index.docker.io/v2/
        providerType: DockerHub
        auth:
          type: UsernamePassword
          spec:
            username: johndoe
            passwordRef: Docker_Hub_Pwd
        executeOnDelegate: {mode}
    """,
}


@pytest.mark.no_secret_source
@pytest.mark.parametrize("connector_type", sorted(THROUGH_HARNESS_PLATFORM))
def test_connect_through_harness_platform_needs_no_delegate_selector(
    write_yaml: Callable[..., Path],
    run_connectors: Callable[..., Any],
    project_connector: Callable[[str, str, str], str],
    outcomes_of: Callable[..., dict[str, str]],
    connector_type: str,
) -> None:
    """Done means: "`executeOnDelegate: false` connectors of every supporting type raise no
    selector warning"; rule 2: "the `delegate` check passes saying so". The same connector
    run on a delegate (``true``) without selectors still warns: that is what the warning is
    for."""
    spec = THROUGH_HARNESS_PLATFORM[connector_type]
    write_yaml(
        "connectors/platform.yaml",
        project_connector("via_platform", connector_type, spec.replace("{mode}", "false"))
        + "---\n"
        + project_connector("via_delegate", connector_type, spec.replace("{mode}", "true")),
    )
    result, report = run_connectors("--delegate=docs-delegate")
    assert outcomes_of(result)["connectors/platform.yaml::via_platform[delegate]"] == "PASSED"
    delegate = report.checks("via_platform")["delegate"]
    assert (delegate["outcome"], delegate["findings"]) == ("passed", [])
    assert "Harness Platform (executeOnDelegate: false)" in delegate["evidence"]["connects_from"]
    assert report.checks("via_platform")["definition"]["outcome"] == "passed"

    control = report.checks("via_delegate")["delegate"]
    assert control["failure_mode"] == "delegate-selector-missing"
    assert result.stdout.str().count("[delegate-selector-missing]") == 1
    assert report.failures() == []


# -- built-in connectors ------------------------------------------------------------------------

#: A CI stage whose step image comes through Harness's built-in image registry connector
#: (developer-hub "Connect to the Harness container image registry": ``account.harnessImage``
#: exists in every account without a document).
PIPELINE_YAML = """
pipeline:
  name: {identifier}
  identifier: {identifier}
  projectIdentifier: CD_Docs
  orgIdentifier: default
  tags: {{}}
  stages:
    - stage:
        name: Build
        identifier: Build
        type: CI
        spec:
          cloneCodebase: false
          platform:
            os: Linux
            arch: Amd64
          runtime:
            type: Cloud
            spec: {{}}
          execution:
            steps:
              - step:
                  type: Run
                  name: Hello
                  identifier: Hello
                  spec:
                    connectorRef: {connector_ref}
                    image: alpine:3.20
                    shell: Sh
                    command: echo hello
"""


@pytest.mark.no_secret_source
def test_a_pipeline_resolves_the_built_in_harness_image_connector(
    write_yaml: Callable[..., Path],
    run_connectors: Callable[..., Any],
    outcomes_of: Callable[..., dict[str, str]],
) -> None:
    """Done means: "a pipeline using `account.harnessImage` resolves"; rule 2: built-in
    connectors resolve without a document. From a project pipeline a bare ``harnessImage``
    names the project, where it does not exist: ``scope-mismatch`` with the right prefix
    (developer-hub "Reference existing connectors": ``account.`` / ``org.`` prefixes)."""
    write_yaml(
        "connectors/pipelines.yaml",
        PIPELINE_YAML.format(identifier="ci_build", connector_ref="account.harnessImage")
        + "---\n"
        + PIPELINE_YAML.format(identifier="ci_bare", connector_ref="harnessImage"),
    )
    result, report = run_connectors()
    outcomes = outcomes_of(result)
    assert outcomes["connectors/pipelines.yaml::ci_build[references]"] == "PASSED"
    assert outcomes["connectors/pipelines.yaml::ci_bare[references]"] == "FAILED"
    (bare,) = [p for p in report.data["pipelines"] if p["ref"] == "ci_bare"]
    (references,) = bare["checks"]
    assert references["failure_mode"] == "scope-mismatch"
    assert references["evidence"]["suggestion"] == "account.harnessImage"
    assert references["message"].endswith("write 'account.harnessImage'")
    assert report.failures() == ["connectors/pipelines.yaml::ci_bare[references] scope-mismatch"]


#: A Vault connector whose token a ``secret:`` document keeps in the org's built-in secret
#: manager (``org.harnessSecretManager``), and one whose token lives in another Vault.
SECRET_MANAGER_YAML = """
secret:
  type: SecretText
  name: vault_token
  identifier: vault_token
  orgIdentifier: default
  tags: {}
  spec:
    secretManagerIdentifier: org.harnessSecretManager
    valueType: Inline
---
secret:
  type: SecretText
  name: vault_token_elsewhere
  identifier: vault_token_elsewhere
  orgIdentifier: default
  tags: {}
  spec:
    secretManagerIdentifier: org.corp_vault
    valueType: Reference
    value: harness/vault#token
"""
VAULT_SPEC = """
    authToken: {token}
    basePath: harness
    vaultUrl: https://vault.example.com:8200
    renewalIntervalMinutes: 10
    secretEngineManuallyConfigured: false
    secretEngineName: secret
    secretEngineVersion: 2
    delegateSelectors:
      - docs-delegate
    default: false
    readOnly: false
"""


@pytest.mark.no_secret_source
def test_a_secret_in_the_org_built_in_secret_manager_is_fine(
    write_yaml: Callable[..., Path],
    run_connectors: Callable[..., Any],
    project_connector: Callable[[str, str, str], str],
) -> None:
    """Rule 2: ``harnessSecretManager`` is a secret manager "at every scope", so a ``secret:``
    document with ``secretManagerIdentifier: org.harnessSecretManager`` (what Harness writes for
    an org secret) keeps a Vault connector's own token where Harness wants it (developer-hub
    add-hashicorp-vault.md: a secret manager's credentials live in Harness's built-in one). The
    token kept in another Vault is the control: rule 3 refuses it."""
    write_yaml(
        "connectors/vault.yaml",
        SECRET_MANAGER_YAML
        + "---\n"
        + project_connector("docs_vault", "Vault", VAULT_SPEC.format(token="org.vault_token"))
        + "---\n"
        + project_connector(
            "other_vault", "Vault", VAULT_SPEC.format(token="org.vault_token_elsewhere")
        ),
    )
    _, report = run_connectors()
    references = report.checks("docs_vault")["references"]
    assert (references["outcome"], references["findings"]) == ("passed", [])
    assert report.checks("docs_vault")["definition"]["outcome"] == "passed"
    control = report.checks("other_vault")["references"]
    assert control["failure_mode"] == "definition-invalid"
    assert "harnessSecretManager" in control["message"]
    assert report.failures() == [
        "connectors/vault.yaml::other_vault[references] definition-invalid"
    ]
