"""K8sCluster checks ``auth`` and ``rbac`` against ``FakeKubernetes`` with the official client.

The fake (``sb.kubernetes()``) is a kube-apiserver on a sandbox HTTPS server that asks for client
certificates; its name (``k8s.sandbox.test``) resolves only through the sandbox DNS server, so
every passing check here also shows that the client connected to the ``dns`` check's answer
(the network guard fails any system-resolver lookup). The first tests exercise the fake itself.
"""

from __future__ import annotations

import base64
import json
import ssl
import sys
import textwrap
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives import serialization

from pytest_connectors.checks import kubernetes as k8s_checks
from pytest_connectors.sandbox import Sandbox, SandboxRequest, SandboxResponse
from pytest_connectors.sandbox.kubernetes import (
    SSAR_PATH,
    FakeKubernetes,
    issue_client_cert,
    service_account_user,
)

from .conftest import Run, requires_tinyproxy

SA_USER = service_account_user("harness", "deployer")
TOKEN_REF = "account.k8s_token"
CANARY = "canary-k8s-token-9d1e44b0"
PASSWORD = "canary-k8s-password-51c7"
PASSPHRASE = "canary-k8s-passphrase-0a3f"
DEPLOYER_PAIRS = 12 * 7  # 12 resources of the deployer rule set, 7 verbs each


def jwt(sub: str = SA_USER, exp: float | None = None, marker: str = CANARY) -> str:
    """A service-account token shaped like the API server's (unsigned: the fake only looks
    it up); ``marker`` goes into the signature part so that the value is recognisable."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    claims: dict[str, Any] = {"iss": "https://kubernetes.default.svc", "sub": sub}
    if exp is not None:
        claims["exp"] = int(exp)
    signature = base64.urlsafe_b64encode(marker.encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256', 'kid': 'k1'})}.{part(claims)}.{signature}"


def k8s(identifier: str, url: str, auth_type: str, auth_spec: str) -> str:
    """A ManualConfig K8sCluster connector; ``auth_spec`` is the YAML under ``auth.spec``."""
    spec = textwrap.indent(textwrap.dedent(auth_spec).strip(), " " * 12)
    head = textwrap.dedent(
        f"""\
        connector:
          name: {identifier}
          identifier: {identifier}
          type: K8sCluster
          spec:
            credential:
              type: ManualConfig
              spec:
                masterUrl: {url}
                auth:
                  type: {auth_type}
                  spec:
        """
    )
    return head + spec + "\n    delegateSelectors: [demo]\n"


def service_account(identifier: str, url: str, ca: bool = False) -> str:
    ca_line = "\ncaCertRef: account.k8s_ca" if ca else ""
    return k8s(identifier, url, "ServiceAccount", f"serviceAccountTokenRef: {TOKEN_REF}{ca_line}")


def inherit(identifier: str) -> str:
    return textwrap.dedent(
        f"""\
        connector:
          name: {identifier}
          identifier: {identifier}
          type: K8sCluster
          spec:
            credential:
              type: InheritFromDelegate
            delegateSelectors: [demo]
        """
    )


def settings(ref: str, **kubernetes: Any) -> str:
    body = {"pytestConnectors": {"connectors": {ref: {"kubernetes": kubernetes}}}}
    return yaml.safe_dump(body)


def _never_leaks(run: Run, *values: str) -> None:
    report = json.dumps(run.report)
    for value in values:
        assert value not in run.text
        assert value not in report


def _cluster_admin(fake: FakeKubernetes, token: str = CANARY, user: str = SA_USER) -> None:
    fake.add_token(jwt(user, marker=token), user)
    fake.grant_all(user)


def _expand(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def _denied(evidence: dict[str, Any]) -> set[tuple[str, str, str]]:
    pairs = set()
    for item in evidence["denied"].split(", "):
        verb, resource = item.split(" ")
        name, _, group = resource.partition(".")
        pairs.add((group, name, verb))
    return pairs


# -- the fake on its own ----------------------------------------------------------------------


def _call(fake: FakeKubernetes, method: str, path: str, headers=None, body=None):
    data = json.dumps(body).encode() if body is not None else b""
    answer = fake(SandboxRequest(method, path, headers or {}, data))
    return answer.status, json.loads(answer.body)


def _ssar(verb: str, resource: str, group: str = "", namespace: str = "") -> dict[str, Any]:
    attributes = {"verb": verb, "resource": resource, "group": group, "namespace": namespace}
    return {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
            "spec": {"resourceAttributes": attributes}}  # fmt: skip


def test_fake_version_authentication_and_status_bodies():
    fake = FakeKubernetes()
    fake.add_token("good", SA_USER)
    fake.add_token("old", SA_USER)
    fake.expire("old")
    bearer = {"authorization": "Bearer good"}

    for path in ("/version", "/version/"):
        code, body = _call(fake, "GET", path)  # anonymous may read the version
        assert code == 200
        assert set(body) >= {"major", "minor", "gitVersion", "gitCommit", "gitTreeState",
                             "buildDate", "goVersion", "compiler", "platform"}  # fmt: skip
    for token in ("old", "unknown"):
        code, body = _call(fake, "GET", "/version", {"authorization": f"Bearer {token}"})
        assert (code, body["kind"], body["reason"], body["code"]) == (
            401, "Status", "Unauthorized", 401,
        )  # fmt: skip
    code, body = _call(fake, "GET", "/api/v1/namespaces", bearer)
    assert (code, body["reason"]) == (403, "Forbidden")
    assert body["message"] == (
        f'namespaces is forbidden: User "{SA_USER}" cannot list resource "namespaces" in API'
        ' group "" at the cluster scope'
    )
    code, body = _call(fake, "GET", "/api/v1/namespaces")
    assert code == 403 and "system:anonymous" in body["message"]

    fake.grant(SA_USER, [""], ["namespaces"], ["get", "list"])
    code, body = _call(fake, "GET", "/api/v1/namespaces", bearer)
    assert code == 200 and [i["metadata"]["name"] for i in body["items"]] == fake.namespaces
    assert _call(fake, "GET", "/api/v1/namespaces/harness", bearer)[0] == 200
    code, body = _call(fake, "GET", "/api/v1/namespaces/nope", bearer)
    assert (code, body["reason"]) == (404, "NotFound")
    assert all("good" not in repr(entry) for entry in fake.requests)


def test_fake_access_reviews_cluster_wide_and_namespaced():
    fake = FakeKubernetes()
    fake.add_token("t", SA_USER)
    fake.grant(SA_USER, ["apps"], ["deployments"], ["get", "list"])  # ClusterRoleBinding
    fake.grant(SA_USER, [""], ["pods"], ["*"], namespace="prod")  # RoleBinding in prod
    bearer = {"authorization": "Bearer t"}

    def allowed(*args: str) -> bool:
        code, body = _call(fake, "POST", SSAR_PATH, bearer, _ssar(*args))
        assert code == 201 and body["spec"] == _ssar(*args)["spec"]  # the spec is echoed
        return bool(body["status"]["allowed"])

    assert allowed("list", "deployments", "apps")
    assert allowed("list", "deployments", "apps", "prod")  # cluster-wide covers namespaces
    assert not allowed("create", "deployments", "apps")
    assert allowed("delete", "pods", "", "prod")
    assert not allowed("delete", "pods", "", "dev")  # the RoleBinding is in prod only
    assert not allowed("delete", "pods")  # ... and grants nothing cluster-wide
    assert _call(fake, "POST", SSAR_PATH, {}, _ssar("get", "pods"))[0] == 403  # anonymous

    fake.apply(
        """
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: r}
        rules: [{apiGroups: [batch], resources: [jobs], verbs: [create]}]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: r-binding}
        subjects: [{kind: ServiceAccount, name: deployer, namespace: harness}]
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
        """.replace("\n        ", "\n")
    )
    assert allowed("create", "jobs", "batch")


def test_fake_client_certificates_over_tls(sb: Sandbox):
    server, _ = sb.kubernetes()
    cert, key = issue_client_cert(sb.ca, "alice", ["devs"])
    folder = sb.dir / "alice"
    folder.mkdir()
    (folder / "c.pem").write_text(cert)
    (folder / "k.pem").write_text(key)
    context = ssl.create_default_context(cafile=str(sb.ca_file))
    context.check_hostname = False
    context.load_cert_chain(str(folder / "c.pem"), str(folder / "k.pem"))
    url = f"https://{server.host}:{server.port}/apis/authentication.k8s.io/v1/selfsubjectreviews"
    request = urllib.request.Request(url, data=b"{}", method="POST")
    with urllib.request.urlopen(request, context=context, timeout=5) as answer:
        info = json.load(answer)["status"]["userInfo"]
    assert info["username"] == "alice" and "devs" in info["groups"]

    plain = ssl.create_default_context(cafile=str(sb.ca_file))
    plain.check_hostname = False
    try:  # no certificate: anonymous
        namespaces = f"https://{server.host}:{server.port}/api/v1/namespaces"
        urllib.request.urlopen(namespaces, context=plain, timeout=5)
    except urllib.error.HTTPError as exc:
        assert exc.code == 403
    else:  # pragma: no cover
        raise AssertionError("expected 403")


# -- auth and rbac: healthy connectors of each credential type ---------------------------------


def test_service_account_token_passes_auth_and_rbac(sb: Sandbox, run_connectors):
    server, fake = sb.kubernetes()
    _cluster_admin(fake)
    pem = sb.ca_file.read_text()
    secrets = {TOKEN_REF: jwt(), "account.k8s_ca": base64.b64encode(pem.encode()).decode()}

    run = run_connectors(service_account("k8s", server.url, ca=True), secrets=secrets,
                         ca_bundle=False)  # fmt: skip

    evidence = run.assert_passed("k8s", "auth")
    assert evidence["username"] == SA_USER
    assert evidence["server_version"] == "v1.30.2"
    assert evidence["ca_source"] == "connector caCertRef account.k8s_ca"
    rbac = run.assert_passed("k8s", "rbac")
    assert rbac["reviews"] == DEPLOYER_PAIRS and rbac["allowed"] == DEPLOYER_PAIRS
    assert rbac["subject"] == "ServiceAccount harness/deployer"
    assert len(fake.reviews) == DEPLOYER_PAIRS  # one SSAR per pair, cluster-wide
    assert all(not review.get("namespace") for review in fake.reviews)
    assert {(r["group"], r["resource"]) for r in fake.reviews} >= {
        ("", "pods"),
        ("apps", "deployments"),
        ("batch", "jobs"),
        ("networking.k8s.io", "ingresses"),
    }
    assert "permissions" not in run.checks("k8s")  # rbac replaces it for K8sCluster
    _never_leaks(run, CANARY)


@pytest.mark.parametrize("encoding", ["pem", "base64"])
def test_client_certificate_passes(sb: Sandbox, run_connectors, encoding):
    server, fake = sb.kubernetes()
    fake.grant_all("alice")
    cert, key = issue_client_cert(sb.ca, "alice")
    if encoding == "base64":  # how Harness stores certificates and keys
        cert, key = (base64.b64encode(v.encode()).decode() for v in (cert, key))
    connector = k8s("cert", server.url, "ClientKeyCert", """
        clientCertRef: account.k8s_cert
        clientKeyRef: account.k8s_key
        clientKeyAlgo: RSA
    """)  # fmt: skip

    run = run_connectors(connector, secrets={"account.k8s_cert": cert, "account.k8s_key": key})

    assert run.assert_passed("cert", "auth")["username"] == "alice"
    assert run.assert_passed("cert", "rbac")["subject"] == "User alice"
    assert ("POST", SSAR_PATH, "alice") in fake.requests


def test_client_certificate_with_encrypted_key_and_passphrase(sb: Sandbox, run_connectors):
    server, fake = sb.kubernetes()
    fake.grant_all("bob")
    cert, key = issue_client_cert(sb.ca, "bob")
    private = serialization.load_pem_private_key(key.encode(), None)
    encrypted = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # "Proc-Type: 4,ENCRYPTED", as openssl
        serialization.BestAvailableEncryption(PASSPHRASE.encode()),
    ).decode()
    assert "ENCRYPTED" in encrypted
    connector = k8s("enc", server.url, "ClientKeyCert", """
        clientCertRef: account.k8s_cert
        clientKeyRef: account.k8s_key
        clientKeyPassphraseRef: account.k8s_pass
    """)  # fmt: skip
    secrets = {
        "account.k8s_cert": base64.b64encode(cert.encode()).decode(),
        "account.k8s_key": base64.b64encode(encrypted.encode()).decode(),
        "account.k8s_pass": PASSPHRASE,
    }

    run = run_connectors(connector, secrets=secrets)

    run.assert_passed("enc", "secrets")
    assert run.assert_passed("enc", "auth")["username"] == "bob"
    run.assert_passed("enc", "rbac")
    _never_leaks(run, PASSPHRASE)


def test_username_password_passes_and_a_wrong_password_fails(sb: Sandbox, run_connectors):
    server, fake = sb.kubernetes()
    fake.add_password("admin", PASSWORD)
    fake.grant_all("admin")
    spec = "username: admin\npasswordRef: account.k8s_pw"
    good = k8s("basic", server.url, "UsernamePassword", spec)
    bad = k8s("basic_bad", server.url, "UsernamePassword", spec.replace("k8s_pw", "k8s_pw2"))

    run = run_connectors(good, bad, secrets={"account.k8s_pw": PASSWORD,
                                             "account.k8s_pw2": PASSWORD + "-wrong"})  # fmt: skip

    assert run.assert_passed("basic", "auth")["username"] == "admin"
    run.assert_passed("basic", "rbac")
    evidence = run.assert_failed("basic_bad", "auth", "invalid-credentials")
    assert evidence["reference"] == "account.k8s_pw2"
    assert "401" in evidence["provider_error"]
    run.assert_blocked("basic_bad", "auth", "invalid-credentials", ["rbac"])
    _never_leaks(run, PASSWORD, base64.b64encode(f"admin:{PASSWORD}".encode()).decode())


def _kubeconfig(path: Path, server: str, ca_pem: str, token: str | dict[str, str]) -> Path:
    user = token if isinstance(token, dict) else {"token": token}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "sandbox", "cluster": {
            "server": server,
            "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(),
        }}],
        "users": [{"name": "deployer", "user": user}],
        "contexts": [{"name": "sandbox", "context": {"cluster": "sandbox", "user": "deployer"}}],
        "current-context": "sandbox",
    }  # fmt: skip
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def test_inherit_from_delegate_uses_this_hosts_kubeconfig(
    sb: Sandbox, run_connectors, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    server, fake = sb.kubernetes()
    _cluster_admin(fake)
    config = _kubeconfig(pytester.path / "kubeconfig", server.url, sb.ca_file.read_text(), jwt())
    monkeypatch.setenv("KUBECONFIG", str(config))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    run = run_connectors(inherit("inherited"), ca_bundle=False)

    evidence = run.assert_passed("inherited", "auth")
    assert evidence["credential_source"] == f"kubeconfig {config}"
    assert evidence["username"] == SA_USER
    run.assert_passed("inherited", "rbac")
    assert "dns" not in run.checks("inherited")  # no masterUrl: no connectivity items
    assert len(fake.reviews) == DEPLOYER_PAIRS
    _never_leaks(run, CANARY)


def test_inherit_from_delegate_kubeconfig_with_a_client_certificate(
    sb: Sandbox, run_connectors, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    server, fake = sb.kubernetes()
    fake.grant("dave", [""], ["pods"], ["get", "list"], namespace="ci")
    cert, key = issue_client_cert(sb.ca, "dave")
    user = {
        "client-certificate-data": base64.b64encode(cert.encode()).decode(),
        "client-key-data": base64.b64encode(key.encode()).decode(),
    }
    config = _kubeconfig(pytester.path / "kubeconfig", server.url, sb.ca_file.read_text(), user)
    monkeypatch.setenv("KUBECONFIG", str(config))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "delete"]}]

    run = run_connectors(
        inherit("inherited"), ca_bundle=False,
        settings=settings("account.inherited", namespace="ci", rules=rules),
    )  # fmt: skip

    assert run.assert_passed("inherited", "auth")["username"] == "dave"
    evidence = run.assert_failed("inherited", "rbac", "k8s-rbac-denied")
    assert evidence["denied"] == "delete pods"
    role, binding = yaml.safe_load_all(evidence["rbac_yaml"])
    assert binding["subjects"] == [
        {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "dave"}
    ]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}]


def test_inherit_from_delegate_kubeconfig_trust_is_judged_by_auth(
    sb: Sandbox, run_connectors, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    server, fake = sb.kubernetes()
    _cluster_admin(fake)
    other = sb.https("other.sandbox.test", variant="self-signed")
    config = _kubeconfig(pytester.path / "kubeconfig", server.url, other.chain_pems[0].decode(),
                         jwt())  # fmt: skip
    monkeypatch.setenv("KUBECONFIG", str(config))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    run = run_connectors(inherit("inherited"), ca_bundle=False)

    # No tls item runs for InheritFromDelegate (no masterUrl): auth names the TLS problem.
    evidence = run.assert_failed("inherited", "auth", "tls-untrusted-certificate")
    assert evidence["ca_source"] == f"kubeconfig {config} certificate authority"
    assert not fake.requests  # nothing was sent to a server the kubeconfig does not trust
    _never_leaks(run, CANARY)


@pytest.mark.parametrize(
    ("variant", "mode"),
    [
        ("not-yet-valid", "tls-certificate-expired"),
        ("expired", "tls-certificate-expired"),
        ("wrong-host", "tls-hostname-mismatch"),
    ],
)
def test_inherit_from_delegate_certificate_problems_are_named_as_the_tls_check_would(
    sb: Sandbox, run_connectors, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
    variant: str, mode: str,
):  # fmt: skip
    server, fake = sb.kubernetes(f"{variant}.k8s.sandbox.test", variant=variant)
    _cluster_admin(fake)
    config = _kubeconfig(pytester.path / "kubeconfig", server.url, sb.ca_file.read_text(), jwt())
    monkeypatch.setenv("KUBECONFIG", str(config))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    run = run_connectors(inherit("inherited"), ca_bundle=False)

    run.assert_failed("inherited", "auth", mode)
    assert not fake.requests


def test_inherit_from_delegate_in_cluster_service_account(
    sb: Sandbox, run_connectors, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    server, fake = sb.kubernetes()
    fake.add_token(jwt(marker=CANARY), SA_USER)
    fake.grant(SA_USER, ["*"], ["*"], ["get", "list", "watch"])
    mount = pytester.path / "serviceaccount"
    mount.mkdir()
    (mount / "token").write_text(jwt(marker=CANARY))
    (mount / "ca.crt").write_text(sb.ca_file.read_text())
    monkeypatch.setattr(k8s_checks, "SERVICE_ACCOUNT_DIR", mount)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", server.name)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(server.port))

    run = run_connectors(inherit("in_pod"), ca_bundle=False)

    assert run.assert_passed("in_pod", "auth")["credential_source"].startswith("in-cluster")
    evidence = run.assert_failed("in_pod", "rbac", "k8s-rbac-denied")  # read-only grants
    assert {verb for _, _, verb in _denied(evidence)} == {"create", "update", "patch", "delete"}
    _never_leaks(run, CANARY)


def test_inherit_from_delegate_without_credentials_fails(
    sb: Sandbox, run_connectors, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("KUBECONFIG", str(pytester.path / "missing-kubeconfig"))
    monkeypatch.setenv("HOME", str(pytester.path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    run = run_connectors(inherit("nothing"))

    run.assert_failed("nothing", "auth", "invalid-credentials")
    assert "no kubeconfig" in run.check("nothing", "auth")["message"]


@requires_tinyproxy
def test_through_the_delegates_proxy_with_credentials(sb: Sandbox, run_connectors):
    server, fake = sb.kubernetes()
    _cluster_admin(fake)
    proxy = sb.proxy(auth=("px-user", PASSWORD))

    run = run_connectors(
        service_account("k8s", server.url), secrets={TOKEN_REF: jwt()},
        proxy=proxy.url_with_auth(),
    )  # fmt: skip

    run.assert_passed("k8s", "proxy")
    assert run.assert_passed("k8s", "auth")["username"] == SA_USER
    run.assert_passed("k8s", "rbac")
    _never_leaks(run, CANARY, PASSWORD)


# -- failures ---------------------------------------------------------------------------------


def test_unknown_token_fails_auth(sb: Sandbox, run_connectors):
    server, fake = sb.kubernetes()
    _cluster_admin(fake, token="another-token")

    run = run_connectors(service_account("k8s", server.url), secrets={TOKEN_REF: jwt()})

    evidence = run.assert_failed("k8s", "auth", "invalid-credentials")
    assert evidence["reference"] == TOKEN_REF
    assert "401 Unauthorized" in evidence["provider_error"]
    run.assert_blocked("k8s", "auth", "invalid-credentials", ["rbac"])
    # the K8s remediation step, run against the connector's own API server
    assert f'kubectl --server={server.url} --token="$TOKEN"' in run.text
    _never_leaks(run, CANARY)


def test_expired_service_account_token_fails_secrets_and_blocks_auth(sb: Sandbox, run_connectors):
    server, fake = sb.kubernetes()
    expired = jwt(exp=time.time() - 3600)
    fake.add_token(expired, SA_USER)
    fake.expire(expired)  # the server agrees

    run = run_connectors(service_account("k8s", server.url), secrets={TOKEN_REF: expired})

    evidence = run.assert_failed("k8s", "secrets", "credentials-expired")
    assert evidence["reference"] == TOKEN_REF
    run.assert_blocked("k8s", "secrets", "credentials-expired", ["auth", "rbac"])
    assert not any(path == SSAR_PATH for _, path, _ in fake.requests)
    _never_leaks(run, CANARY)


def test_partial_rbac_prints_a_role_granting_exactly_the_denied_pairs(sb: Sandbox, run_connectors):
    server, fake = sb.kubernetes()
    fake.add_token(jwt(), SA_USER)
    fake.grant(SA_USER, ["", "batch", "networking.k8s.io"], ["*"], ["*"])
    fake.grant(SA_USER, ["apps"], ["deployments", "replicasets"], ["get", "list", "watch"])
    connector = service_account("k8s", server.url)

    run = run_connectors(connector, secrets={TOKEN_REF: jwt()})

    evidence = run.assert_failed("k8s", "rbac", "k8s-rbac-denied")
    denied = _denied(evidence)
    writes = {"create", "update", "patch", "delete"}
    expected = {("apps", r, v) for r in ("deployments", "replicasets") for v in writes}
    expected |= {("apps", r, v) for r in ("statefulsets", "daemonsets") for v in k8s_checks.VERBS}
    assert denied == expected
    assert evidence["namespace"] == ""
    documents = list(yaml.safe_load_all(evidence["rbac_yaml"]))
    role, binding = documents
    assert (role["kind"], binding["kind"]) == ("ClusterRole", "ClusterRoleBinding")
    assert _expand(role["rules"]) == denied  # exactly the denied pairs, nothing more
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "deployer", "namespace": "harness"}
    ]
    # The manifest is printed with the failure, whole, and the remediation points at it.
    assert "kind: ClusterRoleBinding" in run.text and "statefulsets" in run.text
    assert "harness-rbac.yaml" in run.text
    _never_leaks(run, CANARY)

    assert fake.apply(evidence["rbac_yaml"]) > 0  # kubectl apply -f harness-rbac.yaml
    again = run_connectors(connector, secrets={TOKEN_REF: jwt()})
    again.assert_passed("k8s", "rbac")


def test_namespace_setting_checks_that_namespace_and_prints_a_role(sb: Sandbox, run_connectors):
    server, fake = sb.kubernetes()
    fake.add_token(jwt(), SA_USER)
    fake.grant(SA_USER, ["*"], ["*"], ["*"], namespace="prod")  # a RoleBinding in prod only
    rules = [{"apiGroups": ["", "apps"], "resources": ["pods", "deployments"],
              "verbs": ["get", "create"]}]  # fmt: skip
    connector = service_account("k8s", server.url)
    secrets = {TOKEN_REF: jwt()}

    cluster_wide = run_connectors(connector, secrets=secrets, settings=settings("account.k8s"))
    evidence = cluster_wide.assert_failed("k8s", "rbac", "k8s-rbac-denied")
    assert len(_denied(evidence)) == DEPLOYER_PAIRS  # a RoleBinding grants nothing cluster-wide

    fake.reviews.clear()
    prod = run_connectors(
        connector, secrets=secrets, settings=settings("account.k8s", namespace="prod", rules=rules)
    )
    assert prod.assert_passed("k8s", "rbac")["namespace"] == "prod"
    assert len(fake.reviews) == 8  # 2 groups x 2 resources x 2 verbs, as RBAC expands a rule
    assert {review["namespace"] for review in fake.reviews} == {"prod"}

    dev = run_connectors(
        connector, secrets=secrets, settings=settings("account.k8s", namespace="dev", rules=rules)
    )
    evidence = dev.assert_failed("k8s", "rbac", "k8s-rbac-denied")
    assert evidence["namespace"] == "dev"
    role, binding = yaml.safe_load_all(evidence["rbac_yaml"])
    assert (role["kind"], role["metadata"]["namespace"]) == ("Role", "dev")
    assert (binding["kind"], binding["metadata"]["namespace"]) == ("RoleBinding", "dev")
    assert _expand(role["rules"]) == _denied(evidence) == {
        (g, r, v) for g in ("", "apps") for r in ("pods", "deployments") for v in ("get", "create")
    }  # fmt: skip
    assert "-n dev" in dev.text  # the can-i remediation names the namespace


def test_cluster_scoped_pairs_need_a_cluster_role_even_with_a_namespace(
    sb: Sandbox, run_connectors
):
    """A Role in the namespace cannot grant listing, watching or creating namespaces (nor any
    cluster-scoped resource): those pairs are reviewed cluster-wide and printed as a
    ClusterRole, while get/update/patch/delete of the namespace itself stay in it."""
    server, fake = sb.kubernetes()
    fake.add_token(jwt(), SA_USER)
    fake.grant(SA_USER, ["*"], ["*"], ["*"], namespace="prod")  # a RoleBinding in prod only
    rules = [
        {"apiGroups": [""], "resources": ["pods", "namespaces", "nodes"], "verbs": ["get", "list"]},
        {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get"]},
    ]
    connector = service_account("k8s", server.url)
    secrets = {TOKEN_REF: jwt()}
    prod = settings("account.k8s", namespace="prod", rules=rules)

    run = run_connectors(connector, secrets=secrets, settings=prod)

    evidence = run.assert_failed("k8s", "rbac", "k8s-rbac-denied")
    cluster_scoped = {
        ("", "namespaces", "list"), ("", "nodes", "get"), ("", "nodes", "list"),
        ("storage.k8s.io", "storageclasses", "get"),
    }  # fmt: skip
    assert _denied(evidence) == cluster_scoped  # pods and get namespaces/prod are allowed
    documents = list(yaml.safe_load_all(evidence["rbac_yaml"]))
    assert [d["kind"] for d in documents] == ["ClusterRole", "ClusterRoleBinding"]
    assert _expand(documents[0]["rules"]) == cluster_scoped
    reviewed = {(r["resource"], r["verb"]): r.get("namespace") for r in fake.reviews}
    assert reviewed[("pods", "get")] == reviewed[("namespaces", "get")] == "prod"
    assert not reviewed[("namespaces", "list")] and not reviewed[("nodes", "get")]

    assert fake.apply(evidence["rbac_yaml"]) > 0
    run_connectors(connector, secrets=secrets, settings=prod).assert_passed("k8s", "rbac")


def test_a_namespace_and_cluster_denials_print_both_kinds(sb: Sandbox, run_connectors):
    server, fake = sb.kubernetes()
    fake.add_token(jwt(), SA_USER)
    rules = [{"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get"]}]
    run = run_connectors(
        service_account("k8s", server.url), secrets={TOKEN_REF: jwt()},
        settings=settings("account.k8s", namespace="dev", rules=rules),
    )  # fmt: skip
    evidence = run.assert_failed("k8s", "rbac", "k8s-rbac-denied")
    documents = list(yaml.safe_load_all(evidence["rbac_yaml"]))
    kinds = [(d["kind"], d["metadata"].get("namespace")) for d in documents]
    assert kinds == [
        ("Role", "dev"),
        ("RoleBinding", "dev"),
        ("ClusterRole", None),
        ("ClusterRoleBinding", None),
    ]
    assert _expand(documents[0]["rules"]) == {("", "pods", "get")}
    assert _expand(documents[2]["rules"]) == {("", "nodes", "get")}
    assert documents[3]["roleRef"]["name"] == documents[2]["metadata"]["name"]
    assert "Role and RoleBinding and ClusterRole and ClusterRoleBinding" in run.text
    assert fake.apply(evidence["rbac_yaml"]) > 0


def test_bad_kubernetes_settings_are_named(sb: Sandbox, run_connectors):
    server, fake = sb.kubernetes()
    _cluster_admin(fake)
    bad = settings("account.k8s", rules=[{"apiGroups": [""], "resources": "pods"}])

    run = run_connectors(service_account("k8s", server.url), secrets={TOKEN_REF: jwt()},
                         settings=bad)  # fmt: skip

    run.assert_passed("k8s", "auth")
    evidence = run.assert_failed("k8s", "rbac", "definition-invalid")
    assert "rules[0].resources" in evidence["problem"]


def test_client_certificate_the_server_does_not_trust_is_invalid_credentials(
    sb: Sandbox, run_connectors, assert_no_traceback
):
    import trustme

    other = trustme.CA()  # the API server verifies client certificates against this CA only
    server, fake = sb.kubernetes(client_ca=other.cert_pem.bytes().decode())
    fake.grant_all("mallory")
    cert, key = issue_client_cert(sb.ca, "mallory")
    connector = k8s("cert", server.url, "ClientKeyCert", """
        clientCertRef: account.k8s_cert
        clientKeyRef: account.k8s_key
    """)  # fmt: skip

    run = run_connectors(connector, secrets={"account.k8s_cert": cert, "account.k8s_key": key})

    run.assert_passed("cert", "tls")  # the server itself is fine
    evidence = run.assert_failed("cert", "auth", "invalid-credentials")
    assert evidence["reference"] == "account.k8s_cert"
    assert "refused the client certificate" in run.check("cert", "auth")["message"]
    run.assert_blocked("cert", "auth", "invalid-credentials", ["rbac"])
    assert_no_traceback(run.result)


def test_no_credential_reaches_any_artefact(sb: Sandbox, run_connectors, pytester: pytest.Pytester):
    server, fake = sb.kubernetes()
    fake.add_token(jwt(), SA_USER)
    fake.grant(SA_USER, [""], ["pods"], ["get"])  # rbac fails: the failure text is long
    fake.add_password("admin", PASSWORD)
    cert, key = issue_client_cert(sb.ca, "carol")
    key_body = key.splitlines()[1]
    docs = [
        service_account("sa", server.url),
        k8s("basic", server.url, "UsernamePassword", "username: admin\npasswordRef: account.pw"),
        k8s("cert", server.url, "ClientKeyCert",
            "clientCertRef: account.crt\nclientKeyRef: account.key"),
    ]  # fmt: skip
    secrets = {TOKEN_REF: jwt(), "account.pw": PASSWORD, "account.crt": cert, "account.key": key}
    args = ["-vv", "-l", "--tb=long", "--log-level=DEBUG", "--junitxml=junit.xml",
            "--connectors-markdown=summary.md", "--connectors-bundle=bundle"]  # fmt: skip

    run = run_connectors(*docs, secrets=secrets, args=args)

    run.assert_failed("sa", "rbac", "k8s-rbac-denied")
    run.assert_failed("basic", "rbac", "k8s-rbac-denied")
    run.assert_failed("cert", "rbac", "k8s-rbac-denied")
    artefacts = [run.text, json.dumps(run.report)]
    artefacts += [(pytester.path / name).read_text() for name in ("junit.xml", "summary.md")]
    artefacts += [path.read_text() for path in sorted((pytester.path / "bundle").iterdir())]
    assert len(artefacts) > 4  # the bundles were written
    basic = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    for text in artefacts:
        for value in (CANARY, jwt().split(".")[2], PASSWORD, basic, key_body):
            assert value not in text


def test_api_server_throttling_is_rate_limited(sb: Sandbox, run_connectors):
    server, fake = sb.kubernetes()
    _cluster_admin(fake)
    fake.fail_with = 429

    run = run_connectors(service_account("k8s", server.url), secrets={TOKEN_REF: jwt()})

    evidence = run.assert_failed("k8s", "auth", "rate-limited")
    assert evidence["retry_after"] == "1"


def test_a_server_that_is_not_kubernetes_is_an_incorrect_endpoint(
    sb: Sandbox, run_connectors, assert_no_traceback
):
    server = sb.https("web.sandbox.test")  # answers {"ok": true} to everything

    run = run_connectors(service_account("k8s", server.url), secrets={TOKEN_REF: jwt()})

    run.assert_failed("k8s", "auth", "incorrect-endpoint")
    assert_no_traceback(run.result)


def test_open_id_connect_is_skipped_with_a_reason(sb: Sandbox, run_connectors):
    server, _ = sb.kubernetes()
    connector = k8s("oidc", server.url, "OpenIdConnect", """
        oidcIssuerUrl: https://login.sandbox.test
        oidcUsername: ci
        oidcClientIdRef: account.oidc_id
        oidcPasswordRef: account.oidc_pw
    """)  # fmt: skip

    run = run_connectors(connector, secrets={"account.oidc_id": "id", "account.oidc_pw": "pw"})

    auth = run.check("oidc", "auth")
    assert auth["outcome"] == "skipped"
    assert "OpenIdConnect authentication is not checked yet" in auth["message"]
    assert run.check("oidc", "rbac")["outcome"] == "skipped"


def test_without_the_kubernetes_client_the_checks_skip_naming_the_extra(
    sb: Sandbox, run_connectors, monkeypatch: pytest.MonkeyPatch
):
    server, fake = sb.kubernetes()
    _cluster_admin(fake)
    for name in [m for m in sys.modules if m == "kubernetes" or m.startswith("kubernetes.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "kubernetes", None)  # import kubernetes -> ImportError

    run = run_connectors(service_account("k8s", server.url), secrets={TOKEN_REF: jwt()})

    auth = run.check("k8s", "auth")
    assert auth["outcome"] == "skipped"
    assert "pip install pytest-connectors[k8s]" in auth["message"]
    assert [path for _, path, _ in fake.requests] in ([], ["/"])  # at most latency's HEAD /


# -- hardening: what a fleet of connectors and delegates runs into -------------------------------


def test_a_client_key_of_another_certificate_is_named(
    sb: Sandbox, run_connectors, assert_no_traceback
):
    server, fake = sb.kubernetes()
    fake.grant_all("alice")
    cert, _ = issue_client_cert(sb.ca, "alice")
    _, other_key = issue_client_cert(sb.ca, "bob")  # a well-formed key, of another certificate
    connector = k8s("cert", server.url, "ClientKeyCert", """
        clientCertRef: account.k8s_cert
        clientKeyRef: account.k8s_key
    """)  # fmt: skip

    run = run_connectors(
        connector, secrets={"account.k8s_cert": cert, "account.k8s_key": other_key}
    )

    evidence = run.assert_failed("cert", "auth", "secret-format-invalid")
    assert evidence["reference"] == "account.k8s_key"
    assert "does not match the certificate" in evidence["problem"]
    run.assert_blocked("cert", "auth", "secret-format-invalid", ["rbac"])
    assert [path for _, path, _ in fake.requests] in ([], ["/"])  # at most latency's HEAD /
    _never_leaks(run, other_key.splitlines()[1])
    assert_no_traceback(run.result)


def test_a_client_certificate_the_server_never_sees_is_invalid_credentials(
    sb: Sandbox, run_connectors, assert_no_traceback
):
    # The API server behind a TLS-terminating load balancer: the certificate is not asked for,
    # so the server sees an anonymous request (403 naming system:anonymous), not a missing API.
    fake = FakeKubernetes()
    fake.grant_all("alice")
    server = sb.https("k8s.sandbox.test", handler=fake)
    cert, key = issue_client_cert(sb.ca, "alice")
    connector = k8s("cert", server.url, "ClientKeyCert", """
        clientCertRef: account.k8s_cert
        clientKeyRef: account.k8s_key
    """)  # fmt: skip

    run = run_connectors(connector, secrets={"account.k8s_cert": cert, "account.k8s_key": key})

    evidence = run.assert_failed("cert", "auth", "invalid-credentials")
    assert evidence["reference"] == "account.k8s_cert"
    assert "anonymous" in run.check("cert", "auth")["message"]
    run.assert_blocked("cert", "auth", "invalid-credentials", ["rbac"])
    assert_no_traceback(run.result)


@pytest.mark.parametrize(
    "problem", ["not-yaml", "ca-not-pem", "exec-plugin-fails", "nameless-cluster"]
)
def test_an_unusable_kubeconfig_is_named(
    sb: Sandbox, run_connectors, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
    assert_no_traceback, problem,
):  # fmt: skip
    server, fake = sb.kubernetes()
    _cluster_admin(fake)
    path = _kubeconfig(pytester.path / "kubeconfig", server.url, sb.ca_file.read_text(), jwt())
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    if problem == "not-yaml":
        path.write_text("apiVersion: v1\nclusters: [\n  - {name: x", encoding="utf-8")
    elif problem == "ca-not-pem":
        garbage = base64.b64encode(b"not a certificate").decode()
        config["clusters"][0]["cluster"]["certificate-authority-data"] = garbage
    elif problem == "nameless-cluster":  # a second cluster without a name
        config["clusters"].append({"cluster": {"server": server.url}})
    else:  # e.g. aws eks get-token on a host without the aws CLI
        config["users"][0]["user"] = {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": str(pytester.path / "no-such-credential-plugin"),
        }}  # fmt: skip
    if problem != "not-yaml":
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    run = run_connectors(inherit("inherited"), ca_bundle=False)

    run.assert_failed("inherited", "auth", "invalid-credentials")
    message = run.check("inherited", "auth")["message"]
    assert f"kubeconfig {path}" in message
    if problem == "exec-plugin-fails":
        assert "exec" in message
    run.assert_blocked("inherited", "auth", "invalid-credentials", ["rbac"])
    assert_no_traceback(run.result)
    _never_leaks(run, CANARY)


def test_a_kubeconfig_oidc_token_refresh_is_not_made_through_the_system_resolver(
    sb: Sandbox, run_connectors, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
    assert_no_traceback,
):  # fmt: skip
    server, fake = sb.kubernetes()
    _cluster_admin(fake)
    idp = sb.https("idp.sandbox.test")  # resolvable through the sandbox DNS server only
    expired = jwt(exp=time.time() - 3600)
    user = {"auth-provider": {"name": "oidc", "config": {
        "idp-issuer-url": idp.url, "client-id": "kubectl", "client-secret": PASSWORD,
        "refresh-token": "refresh-" + CANARY, "id-token": expired,
    }}}  # fmt: skip
    path = _kubeconfig(pytester.path / "kubeconfig", server.url, sb.ca_file.read_text(), user)
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    run = run_connectors(inherit("inherited"), ca_bundle=False)

    auth = run.check("inherited", "auth")
    assert auth["outcome"] == "skipped"
    assert "oidc" in auth["message"] and idp.url in auth["message"]
    assert idp.requests == 0 and not fake.requests  # the network guard: no getaddrinfo either
    assert_no_traceback(run.result)
    _never_leaks(run, CANARY, PASSWORD)


def test_a_kubeconfig_client_key_is_not_left_in_a_temporary_file(
    sb: Sandbox,
    run_connectors,
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
):
    import tempfile

    server, fake = sb.kubernetes()
    fake.grant_all("erin")
    cert, key = issue_client_cert(sb.ca, "erin")
    user = {
        "client-certificate-data": base64.b64encode(cert.encode()).decode(),
        "client-key-data": base64.b64encode(key.encode()).decode(),
    }
    config = _kubeconfig(pytester.path / "kubeconfig", server.url, sb.ca_file.read_text(), user)
    monkeypatch.setenv("KUBECONFIG", str(config))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    scratch = tmp_path_factory.mktemp("tmpdir")
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where mkstemp() writes

    run = run_connectors(inherit("inherited"), ca_bundle=False)

    assert run.assert_passed("inherited", "auth")["username"] == "erin"
    key_body = key.splitlines()[1]
    left = [p for p in scratch.rglob("*") if p.is_file() and key_body in p.read_text("latin-1")]
    assert not left, f"the private key is still on disk: {left}"


def test_an_api_server_answering_null_is_an_incorrect_endpoint(
    sb: Sandbox, run_connectors, assert_no_traceback
):
    def null(request: SandboxRequest) -> SandboxResponse:
        return SandboxResponse(200, {"Content-Type": "application/json"}, b"null")

    server = sb.https("k8s.sandbox.test", handler=null)

    run = run_connectors(service_account("k8s", server.url), secrets={TOKEN_REF: jwt()})

    run.assert_failed("k8s", "auth", "incorrect-endpoint")
    assert_no_traceback(run.result)


def test_a_token_over_plain_http_to_a_named_host_is_insecure_transport(sb: Sandbox, run_connectors):
    fake = FakeKubernetes()
    _cluster_admin(fake)
    server = sb.http("k8s-plain.sandbox.test", handler=fake)
    connector = service_account("k8s", server.url)

    run = run_connectors(connector, secrets={TOKEN_REF: jwt()})

    evidence = run.assert_warning("k8s", "auth", "insecure-transport")
    assert evidence["url"].startswith("http://k8s-plain.sandbox.test:")
    assert not fake.reviews and not any(
        "authorization" in request.headers for request in server.received
    )  # the token never went out
    allowed = run_connectors(
        connector, secrets={TOKEN_REF: jwt()}, args=["--connectors-allow-insecure"]
    )
    allowed.assert_passed("k8s", "auth")
    allowed.assert_passed("k8s", "rbac")
    _never_leaks(run, CANARY)
