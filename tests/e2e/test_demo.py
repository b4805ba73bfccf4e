"""The demo folder stays true: every healthy connector passes, every broken one fails as meant.

This is what ``scripts/demo`` runs; the README and ``examples/README.md`` describe its outcome.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: (file name, reference) -> the failure modes its checks name (empty: healthy).
EXPECTED: dict[tuple[str, str], tuple[str, ...]] = {
    ("aws.yaml", "account.aws_deploy"): (),
    ("aws.yaml", "org.aws_eks_irsa"): (),
    ("aws.yaml", "account.aws_sandbox"): ("scope-mismatch",),
    ("aws.yaml", "org.aws_irsa_no_selectors"): ("definition-invalid", "delegate-selector-missing"),
    ("azure.yaml", "account.azure_sp_secret"): (),
    ("azure.yaml", "org.azure_sp_cert"): (),
    ("azure.yaml", "azure_managed_identity"): (),
    ("azure.yaml", "org.azure_system_identity"): (),
    ("azure.yaml", "account.azure_dev"): ("definition-invalid",),
    ("azure.yaml", "account.azure_dr"): ("delegate-unavailable",),
    ("bitbucket.yaml", "account.acme_bitbucket"): (),
    ("bitbucket.yaml", "account.acme_bitbucket_old"): ("secret-not-found",),
    ("bitbucket.yaml", "account.acme_bitbucket_no_url"): ("definition-invalid",),
    ("broken-documents.yaml", "document-1"): ("definition-invalid",),
    ("broken-documents.yaml", "document-2"): ("definition-invalid",),
    ("broken-documents.yaml", "document-3"): ("definition-invalid",),
    ("broken-syntax.yaml", "document-1"): ("definition-invalid",),
    ("docker.yaml", "account.dockerhub_acme"): (),
    ("docker.yaml", "account.quay_public"): (),
    ("docker.yaml", "org.dockerhub_mirror"): ("delegate-selector-missing",),
    ("docker.yaml", "org.harbor_per_env"): ("runtime-expression",),
    ("gcp.yaml", "account.gcp_demo_project"): (),
    ("gcp.yaml", "org.gcp_inherit"): (),
    ("gcp.yaml", "account.gcp_analytics"): ("secret-format-invalid",),
    ("gcp.yaml", "account.gcp_data_lake"): ("definition-invalid",),
    ("git.yaml", "org.internal_git_http"): (),
    ("git.yaml", "ledger_git_ssh"): (),
    ("git.yaml", "pipeline_repo_git"): ("runtime-expression",),
    ("git.yaml", "ledger_git_http"): ("scope-mismatch",),
    ("github.yaml", "account.acme_github"): (),
    ("github.yaml", "org.acme_github_app"): (),
    ("github.yaml", "acme_github_ssh"): (),
    ("github.yaml", "account.acme_github_public"): (),
    ("github.yaml", "account.acme_github_typo"): ("definition-invalid",),
    ("github.yaml", "account.acme-github-legacy"): ("definition-invalid",),
    ("gitlab.yaml", "org.acme_gitlab"): (),
    ("gitlab.yaml", "org.acme_gitlab_enum_typo"): ("definition-invalid",),
    ("gitlab.yaml", "account.acme_gitlab_ssh"): ("secret-format-invalid",),
    ("kubernetes.yaml", "account.k8s_prod_sa"): (),
    ("kubernetes.yaml", "org.k8s_staging_cert"): (),
    ("kubernetes.yaml", "k8s_in_cluster"): (),
    ("kubernetes.yaml", "account.k8s_expired_token"): ("credentials-expired",),
    ("kubernetes.yaml", "account.k8s_bad_ca"): ("secret-format-invalid",),
    ("kubernetes.yaml", "k8s_inherit_with_spec"): ("definition-invalid",),
    ("other-types.yaml", "account.bitnami_charts"): (),
    ("other-types.yaml", "account.acme_jira"): (),
    ("vault.yaml", "account.acme_vault"): (),
    ("vault.yaml", "org.platform_vault_approle"): (),
    ("vault.yaml", "account.legacy_vault"): ("delegate-unavailable",),
    ("vault.yaml", "account.vault_kv3"): ("definition-invalid",),
    ("pipelines.yaml", "payments_deploy"): ("connector-not-found",),
    ("pipelines.yaml", "platform_infra"): (),
}


def test_demo_outcome(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        f"--connectors={EXAMPLES / 'connectors'}",
        f"--connectors-secrets={EXAMPLES / 'secrets.yaml'}",
        "--delegate=demo-delegate",
        "--connectors-offline",
        "--connectors-report=report.json",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = json.loads((pytester.path / "report.json").read_text())
    seen = {
        (Path(c["file"]).name, c["ref"]): tuple(
            sorted({k["failure_mode"] for k in c["checks"] if k["failure_mode"]})
        )
        for c in report["connectors"] + report["pipelines"]
    }
    assert seen == EXPECTED
    healthy = [c for c in report["connectors"] if not EXPECTED[(Path(c["file"]).name, c["ref"])]]
    assert len(healthy) >= 10
    assert all(c["status"] == "passed" for c in healthy)
