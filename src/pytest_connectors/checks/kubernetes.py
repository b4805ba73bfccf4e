"""K8sCluster: ``auth`` (the API server accepts the credential) and ``rbac`` (RBAC grants what
Harness needs to deploy), through the official ``kubernetes`` client (the ``[k8s]`` extra,
imported only when a K8sCluster connector is checked).

Credentials, as Harness uses them:

* ``ServiceAccount``: ``serviceAccountTokenRef`` as a bearer token (its JWT ``exp`` is read
  locally by the ``secrets`` check, which blocks this one when it has passed);
* ``ClientKeyCert``: ``clientCertRef`` / ``clientKeyRef`` (PEM, or base64 of PEM as Harness
  stores them), the key optionally encrypted with ``clientKeyPassphraseRef``;
* ``UsernamePassword``: HTTP Basic (``username`` or ``usernameRef``, ``passwordRef``);
* ``OpenIdConnect``: not checked yet (skipped with a reason);
* ``InheritFromDelegate``: what a delegate pod has — the in-cluster service account
  (``KUBERNETES_SERVICE_HOST`` and the token under ``/var/run/secrets/kubernetes.io/
  serviceaccount``), else this host's kubeconfig (``KUBECONFIG``, else ``~/.kube/config``).

Trust is the connector's ``caCertRef`` alone, else the delegate's CA bundle with the system
store (as the ``tls`` check verifies); for a kubeconfig, its certificate authority. The client
connects only to the addresses the ``dns`` check saw (the name stays the TLS server name, for
SNI and certificate verification), or through the delegate's proxy; it never retries nor
follows a redirect.

``auth``: ``GET /version``, then ``POST selfsubjectreviews`` (who the server says we are, as
``kubectl auth whoami``; clusters before 1.28 fall back to one SelfSubjectAccessReview).
``rbac``: one SelfSubjectAccessReview per (API group, resource, verb) of the rule set — the
settings' ``kubernetes: {namespace, rules}`` or the deployer set below — cluster-wide unless a
namespace is given, a few at a time on a thread pool. Denied pairs fail ``k8s-rbac-denied``
with a Role/ClusterRole and binding that grant exactly them.

The default rule set is the deployer role of Harness's troubleshooting guide, each resource
under the API group that serves it today: core pods, services, configmaps, secrets,
namespaces, events; apps deployments, replicasets, statefulsets, daemonsets; batch jobs;
networking.k8s.io ingresses — each with get, list, watch, create, update, patch and delete.
The guide also lists the ``extensions`` group, which serves none of these since Kubernetes
1.16 (ingresses since 1.22); add it through ``rules`` for an older cluster.
"""

from __future__ import annotations

import os
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from cryptography.exceptions import UnsupportedAlgorithm

from ..endpoints import Endpoint, EndpointError, parse_url
from ..masking import MASKER
from ..model import Connector, KubernetesSpec
from ..probes.deadline import NetworkLimit
from ..probes.tls import Trust, classify_tls_error
from ..results import Failure, Skip
from .api import limit_failure, refuse_plain_credential, secret_of
from .context import CheckContext, CollectContext
from .network import applies_to_network, endpoints, trust
from .shapes import decode_jwt_claims, pem_or_base64
from .tls import TLS_MODES

INSTALL_HINT = "pip install pytest-connectors[k8s]"
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
DEFAULT_RULES: tuple[Mapping[str, Any], ...] = (
    {
        "apiGroups": [""],
        "resources": ["pods", "services", "configmaps", "secrets", "namespaces", "events"],
        "verbs": list(VERBS),
    },
    {
        "apiGroups": ["apps"],
        "resources": ["deployments", "replicasets", "statefulsets", "daemonsets"],
        "verbs": list(VERBS),
    },
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": list(VERBS)},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": list(VERBS)},
)
#: Cluster-scoped resources (API group, resource): only a ClusterRole can grant them, so they
#: are reviewed cluster-wide even when the settings name a namespace.
CLUSTER_SCOPED = frozenset({
    ("", "namespaces"), ("", "nodes"), ("", "persistentvolumes"), ("", "componentstatuses"),
    ("rbac.authorization.k8s.io", "clusterroles"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("apiextensions.k8s.io", "customresourcedefinitions"),
    ("apiregistration.k8s.io", "apiservices"),
    ("storage.k8s.io", "storageclasses"), ("storage.k8s.io", "csidrivers"),
    ("storage.k8s.io", "csinodes"), ("storage.k8s.io", "volumeattachments"),
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
    ("scheduling.k8s.io", "priorityclasses"), ("networking.k8s.io", "ingressclasses"),
    ("node.k8s.io", "runtimeclasses"), ("certificates.k8s.io", "certificatesigningrequests"),
})  # fmt: skip
#: Verbs on one named namespace: the API server treats them as inside that namespace, so a
#: RoleBinding there grants them (list, watch and create stay cluster-scoped).
OWN_NAMESPACE_VERBS = frozenset({"get", "update", "patch", "delete"})
#: Where a pod's service-account token and cluster CA are mounted.
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
#: SelfSubjectAccessReviews in flight at once (and connections kept to the API server).
REVIEW_WORKERS = 8
_SA_PREFIX = "system:serviceaccount:"


# -- when the checks apply -------------------------------------------------------------------


def _spec(connector: Connector) -> KubernetesSpec:
    spec = connector.spec
    assert isinstance(spec, KubernetesSpec)
    return spec


def _inherits(connector: Connector) -> bool:
    spec = connector.spec
    return isinstance(spec, KubernetesSpec) and spec.credential_type == "InheritFromDelegate"


def applies(connector: Connector, collect: CollectContext) -> bool:
    spec = connector.spec
    if not isinstance(spec, KubernetesSpec) or not connector.supported:
        return False
    if _inherits(connector):
        return True
    return applies_to_network(connector, collect) and spec.auth is not None


def _client() -> Any:
    """The ``kubernetes.client`` module; a clear skip when the extra is not installed."""
    try:
        import kubernetes.client as k8s_client
    except ImportError:
        raise Skip(
            f"the kubernetes client is not installed: {INSTALL_HINT} to check K8sCluster connectors"
        ) from None
    return k8s_client


# -- the session: a client pinned to the DNS answers, with the connector's credential ---------


@dataclass(frozen=True)
class Subject:
    """Who RBAC sees: a ServiceAccount (``namespace``/``name``) or a User."""

    kind: str
    name: str
    namespace: str | None = None

    @classmethod
    def from_username(cls, username: str) -> Subject:
        if username.startswith(_SA_PREFIX):
            namespace, _, name = username[len(_SA_PREFIX) :].partition(":")
            if namespace and name:
                return cls("ServiceAccount", name, namespace)
        return cls("User", username)

    @property
    def known(self) -> bool:
        return not self.name.startswith("<")

    def describe(self) -> str:
        if self.kind == "ServiceAccount":
            return f"ServiceAccount {self.namespace}/{self.name}"
        return f"{self.kind} {self.name}"

    def as_binding_subject(self) -> dict[str, str]:
        if self.kind == "ServiceAccount":
            return {"kind": "ServiceAccount", "name": self.name, "namespace": self.namespace or ""}
        return {"kind": self.kind, "apiGroup": "rbac.authorization.k8s.io", "name": self.name}


UNKNOWN_SUBJECT = Subject("ServiceAccount", "<service-account>", "<namespace>")


@dataclass
class Session:
    k8s: Any  # the kubernetes.client module
    api: Any  # kubernetes.client.ApiClient
    url: str  # the API server as configured (not the pinned address)
    host: str
    port: int
    credential: str  # what authenticates, e.g. "ServiceAccount token account.k8s_token"
    reference: str | None  # the secret reference at fault when the server rejects it
    client_cert: bool = False
    identity: Subject | None = None  # who the credential should be, from its own content
    notes: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.api.close()


def _load_client_cert(
    context: ssl.SSLContext, cert_pem: bytes, key_pem: bytes, passphrase: str | None
) -> None:
    """Load the certificate and key into ``context``. ``ssl`` reads them only from files: the
    key is written re-encrypted with a one-time password, so no plain key touches the disk."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(key_pem, passphrase.encode() if passphrase else None)
    one_time = os.urandom(24).hex()
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(one_time.encode()),
    )
    with tempfile.TemporaryDirectory(prefix="connectors-k8s-") as folder:
        cert_file, key_file = Path(folder, "client.crt"), Path(folder, "client.key")
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(encrypted)
        context.load_cert_chain(str(cert_file), str(key_file), password=one_time)


def _cert_common_name(cert_pem: bytes) -> str | None:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        cert = x509.load_pem_x509_certificates(cert_pem)[0]
    except (ValueError, UnsupportedAlgorithm):
        return None
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def _connect(
    ctx: CheckContext,
    endpoint: Endpoint,
    context: ssl.SSLContext | None,
    *,
    verify: bool = True,
    server_name: str | None = None,
) -> tuple[Any, str, dict[str, str]]:
    """(urllib3 pool manager, base URL to request, extra headers): straight to the address the
    ``dns`` check saw, or through the delegate's proxy; each request finishes within the
    connector's timeout and reads at most the body cap (:mod:`..probes.bounded_urllib3`)."""
    import urllib3

    from ..probes.bounded_urllib3 import BoundedPoolManager, BoundedProxyManager

    kwargs: dict[str, Any] = {"retries": False, "maxsize": REVIEW_WORKERS, "block": False}
    kwargs["budget_s"] = ctx.prober.timeout
    if endpoint.tls:
        if context is not None and not verify:  # kubeconfig: insecure-skip-tls-verify
            context.check_hostname = False
        kwargs["ssl_context"] = context
        kwargs["cert_reqs"] = "CERT_REQUIRED" if verify else "CERT_NONE"
    path = endpoint.path.rstrip("/")
    proxy = ctx.prober.delegate.proxy if ctx.prober.proxied(endpoint.host) else None
    if proxy is not None:
        headers: dict[str, str] = {}
        credentials = proxy.basic_credentials()
        if credentials is not None:
            headers = urllib3.make_headers(proxy_basic_auth=credentials)
        if server_name:
            kwargs["server_hostname"] = server_name
        proxied = BoundedProxyManager(proxy.url, proxy_headers=headers, **kwargs)
        return proxied, endpoint.url.rstrip("/"), {}
    answer = ctx.prober.dns(endpoint.host).result()
    if not answer.ok:
        raise Failure(
            "dns-resolution-failed",
            f"{endpoint.host} does not resolve with {answer.resolver}: {answer.error}",
            host=endpoint.host, resolver=answer.resolver, reason=answer.error,
        )  # fmt: skip
    address = answer.addresses[0]
    shown = f"[{address}]" if ":" in address else address
    if endpoint.tls:
        kwargs["server_hostname"] = server_name or endpoint.host
    manager = BoundedPoolManager(**kwargs)
    host_header = endpoint.host if ":" not in endpoint.host else f"[{endpoint.host}]"
    return (
        manager,
        f"{endpoint.scheme}://{shown}:{endpoint.port}{path}",
        {"Host": f"{host_header}:{endpoint.port}"},
    )


def _api_client(
    ctx: CheckContext,
    k8s: Any,
    endpoint: Endpoint,
    context: ssl.SSLContext | None,
    authorization: str | None,
    *,
    verify: bool = True,
    server_name: str | None = None,
) -> Any:
    if authorization is not None:
        refuse_plain_credential(ctx, endpoint)
    manager, base, headers = _connect(
        ctx, endpoint, context, verify=verify, server_name=server_name
    )
    configuration = k8s.Configuration()
    configuration.host = base
    api = k8s.ApiClient(configuration)
    api.rest_client.pool_manager.clear()
    api.rest_client.pool_manager = manager
    api.user_agent = "pytest-connectors"
    for name, value in headers.items():
        api.set_default_header(name, value)
    if authorization is not None:
        api.set_default_header("Authorization", authorization)
    return api


def _manual_session(ctx: CheckContext, k8s: Any) -> Session:
    spec = _spec(ctx.connector)
    credential = spec.auth
    if credential is None:
        raise Skip("the connector has no auth: nothing to check")
    if credential.kind == "OpenIdConnect":
        raise Skip(
            "OpenIdConnect authentication is not checked yet: its token comes from the"
            " identity provider (oidcIssuerUrl), which this release does not call"
        )
    found = endpoints(ctx)
    if not found:
        raise Skip("the connector names no masterUrl")
    endpoint = found[0]
    connector_trust = trust(ctx)
    context = connector_trust.context() if endpoint.tls else None
    authorization: str | None = None
    client_cert = False
    identity: Subject | None = None
    if credential.kind == "ServiceAccount":
        ref, token = secret_of(ctx, credential, "serviceAccountTokenRef")
        authorization = f"Bearer {token.reveal().strip()}"
        claims = decode_jwt_claims(token.reveal())
        if claims and isinstance(claims.get("sub"), str):
            identity = Subject.from_username(claims["sub"])
        described, reference = f"ServiceAccount token {ref.raw}", ref.raw
    elif credential.kind == "UsernamePassword":
        import base64

        _, password = secret_of(ctx, credential, "passwordRef")
        username = credential.values.get("username")
        if username is None:  # a secret holds it: named by its reference, never its value
            user_ref, secret_username = secret_of(ctx, credential, "usernameRef")
            username, shown = secret_username.reveal(), f"<the username in {user_ref.raw}>"
        else:
            shown = username
        pair = f"{username}:{password.reveal()}".encode()
        authorization = "Basic " + base64.b64encode(pair).decode()
        MASKER.add(authorization.split(" ", 1)[1])
        identity = Subject("User", shown)
        reference = credential.refs["passwordRef"].raw
        described = f"user name and password {reference}"
    elif credential.kind == "ClientKeyCert":
        cert_ref, cert = secret_of(ctx, credential, "clientCertRef")
        key_ref, key = secret_of(ctx, credential, "clientKeyRef")
        passphrase = None
        if "clientKeyPassphraseRef" in credential.refs:
            passphrase = secret_of(ctx, credential, "clientKeyPassphraseRef")[1].reveal()
        cert_pem = pem_or_base64(cert.reveal())
        if context is None:
            raise Skip("a client certificate needs an https masterUrl")
        try:
            _load_client_cert(context, cert_pem, pem_or_base64(key.reveal()), passphrase)
        except ssl.SSLError as exc:
            # Each is well-formed (the secrets check passed) but they are no pair, or TLS
            # cannot use them together; the reason names no key material.
            mismatch = "mismatch" in str(exc).lower()
            problem = (
                f"the key does not match the certificate in {cert_ref.raw}"
                if mismatch
                else f"the certificate and key cannot be used together ({exc.reason or exc})"
            )
            raise Failure(
                "secret-format-invalid", f"{key_ref.raw}: {problem}", reference=key_ref.raw,
                expected=f"the private key of the certificate in {cert_ref.raw}", problem=problem,
            ) from None  # fmt: skip
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise Skip(
                f"the client certificate or key cannot be loaded ({type(exc).__name__}); see"
                " the secrets check"
            ) from None
        client_cert = True
        name = _cert_common_name(cert_pem)
        identity = Subject("User", name) if name else None
        described, reference = (
            f"client certificate {cert_ref.raw} (key {key_ref.raw})",
            cert_ref.raw,
        )
    else:
        raise Skip(f"{credential.kind} authentication is not checked yet")
    api = _api_client(ctx, k8s, endpoint, context, authorization)
    session = Session(k8s, api, endpoint.url, endpoint.host, endpoint.port, described, reference,
                      client_cert, identity)  # fmt: skip
    session.notes["ca_source"] = connector_trust.source
    return session


def _kubeconfig_path() -> str | None:
    value = os.environ.get("KUBECONFIG", "")
    paths = [p for p in value.split(os.pathsep) if p]
    if any(Path(p).expanduser().is_file() for p in paths):
        return value
    default = Path("~/.kube/config").expanduser()
    return str(default) if default.is_file() else None


class _NotChecked(Exception):
    """A kubeconfig credential that only an identity provider could give (a token refresh):
    that call would not go through the pinned connections, so it is not made."""


def _kubeconfig_loader(k8s_config: Any, path: str, folder: str) -> Any:
    """The client's kubeconfig loader (``load_kube_config`` without persisting), except that:
    an auth-provider token refresh (gcp through google-auth, oidc through the issuer) is not
    made, as it would resolve names with the system resolver; an exec plugin that gives no
    credential is an error (the client only logs it and goes on anonymously); the files the
    client decodes (CA, client certificate and *key*) go to ``folder``, not the system's
    temporary folder until the process exits."""
    kube_config = k8s_config.kube_config
    base: Any = kube_config.KubeConfigLoader

    class Loader(base):  # type: ignore[misc]
        def _refresh_gcp_token(self) -> None:
            raise _NotChecked(
                "its gcp auth-provider token is missing or expired, and refreshing it is a call"
                " to Google this check does not make (the gke-gcloud-auth-plugin exec plugin"
                " replaces that provider)"
            )

        def _refresh_oidc(self, provider: Any) -> None:
            issuer = provider["config"].safe_get("idp-issuer-url")
            raise _NotChecked(
                f"its oidc auth-provider id-token is expired, and refreshing it is a call to"
                f" the identity provider ({issuer}) this check does not make"
            )

        def _load_from_exec_plugin(self) -> Any:
            loaded = super()._load_from_exec_plugin()
            if not loaded and "exec" in self._user:
                command = self._user["exec"].safe_get("command")
                raise k8s_config.ConfigException(
                    f"its exec credential plugin ({command}) gave no credential (its error is"
                    " in the log)"
                )
            return loaded

    merged = kube_config.KubeConfigMerger(path)
    if merged.config is None:
        raise k8s_config.ConfigException("Invalid kube-config file. No configuration found.")
    return Loader(config_dict=merged.config, config_base_path=None, temp_file_path=folder)


def _inherited_session(ctx: CheckContext, k8s: Any) -> Session:
    """What a delegate pod (in-cluster service account) or this host (kubeconfig) has."""
    from kubernetes.config import kube_config

    with tempfile.TemporaryDirectory(prefix="connectors-k8s-") as folder:
        try:
            return _inherit(ctx, k8s, folder)
        finally:  # the client remembers the files it wrote by their content: forget ours
            cache = getattr(kube_config, "_temp_files", None)
            if isinstance(cache, dict):
                for key, name in cache.copy().items():
                    if str(name).startswith(folder + os.sep):
                        cache.pop(key, None)


def _inherit(ctx: CheckContext, k8s: Any, folder: str) -> Session:
    import kubernetes.config

    k8s_config: Any = kubernetes.config  # untyped module

    configuration = k8s.Configuration()
    token_file = SERVICE_ACCOUNT_DIR / "token"
    if os.environ.get("KUBERNETES_SERVICE_HOST") and token_file.is_file():
        source = f"in-cluster service account ({SERVICE_ACCOUNT_DIR})"
        loader = k8s_config.incluster_config.InClusterConfigLoader(
            token_filename=str(token_file), cert_filename=str(SERVICE_ACCOUNT_DIR / "ca.crt")
        )

        def load() -> None:
            loader.load_and_set(configuration)

    else:
        path = _kubeconfig_path()
        if path is None:
            raise Failure(
                "invalid-credentials",
                "InheritFromDelegate: this delegate has no Kubernetes credentials to inherit:"
                f" no in-cluster service account ({SERVICE_ACCOUNT_DIR}, KUBERNETES_SERVICE_HOST)"
                " and no kubeconfig (KUBECONFIG, ~/.kube/config)",
                provider_error="no in-cluster service account and no kubeconfig",
            )
        source = f"kubeconfig {path}"

        def load() -> None:
            _kubeconfig_loader(k8s_config, path, folder).load_and_set(configuration)

    try:
        load()
    except _NotChecked as exc:
        raise Skip(f"InheritFromDelegate: the {source} is not checked: {exc}") from None
    except (
        k8s_config.ConfigException, OSError, ValueError, TypeError, LookupError, AttributeError,
        yaml.YAMLError,
    ) as exc:  # fmt: skip  # the client's loader on a file of any shape
        raise Failure(
            "invalid-credentials",
            f"InheritFromDelegate: the {source} cannot be used: {exc}",
            provider_error=str(exc),
        ) from None
    try:
        endpoint = parse_url(str(configuration.host), "master")
    except EndpointError as exc:
        raise Failure(
            "incorrect-endpoint", f"the {source} names an unusable server: {exc.problem}",
            url=exc.url, problem=exc.problem,
        ) from None  # fmt: skip
    authorization = configuration.auth_settings().get("BearerToken", {}).get("value")
    identity: Subject | None = None
    if authorization:
        scheme, _, value = str(authorization).partition(" ")
        authorization = f"{scheme.capitalize()} {value.strip()}"
        MASKER.add(value.strip())
        claims = decode_jwt_claims(value)
        if claims and isinstance(claims.get("sub"), str):
            identity = Subject.from_username(claims["sub"])
    context: ssl.SSLContext | None = None
    ca_source = "none (plain HTTP)"
    client_cert = False
    if endpoint.tls:
        if configuration.ssl_ca_cert:
            try:
                cadata = Path(configuration.ssl_ca_cert).read_text("utf-8", errors="replace")
                delegate_trust = Trust(f"{source} certificate authority", cadata=cadata)
                context = delegate_trust.context()
            except (OSError, ValueError, ssl.SSLError) as exc:
                reason = " ".join(f"{type(exc).__name__}: {exc}".split())
                raise Failure(
                    "invalid-credentials",
                    f"InheritFromDelegate: the certificate authority of the {source} cannot be"
                    f" used ({reason})",
                    provider_error=f"unusable certificate authority ({reason})",
                ) from None
        else:
            delegate_trust = trust(ctx)
            context = delegate_trust.context()
        ca_source = delegate_trust.source
        if configuration.cert_file and configuration.key_file:
            try:
                cert_pem = Path(configuration.cert_file).read_bytes()
                key_pem = Path(configuration.key_file).read_bytes()
                _load_client_cert(context, cert_pem, key_pem, None)
            except (OSError, ValueError, TypeError, ssl.SSLError) as exc:
                raise Failure(
                    "invalid-credentials",
                    f"InheritFromDelegate: the client certificate of the {source} cannot be"
                    f" loaded ({type(exc).__name__})",
                    provider_error=f"unreadable client certificate or key ({type(exc).__name__})",
                ) from None
            client_cert = True
            name = _cert_common_name(cert_pem)
            identity = identity or (Subject("User", name) if name else None)
    api = _api_client(
        ctx, k8s, endpoint, context, authorization or None,
        verify=bool(configuration.verify_ssl),
        server_name=configuration.tls_server_name or None,
    )  # fmt: skip
    session = Session(k8s, api, endpoint.url, endpoint.host, endpoint.port,
                      f"InheritFromDelegate: {source}", None, client_cert, identity)  # fmt: skip
    session.notes.update(credential_source=source, ca_source=ca_source)
    return session


@contextmanager
def session_for(ctx: CheckContext) -> Iterator[Session]:
    k8s = _client()
    session = (
        _inherited_session(ctx, k8s) if _inherits(ctx.connector) else _manual_session(ctx, k8s)
    )
    try:
        yield session
    finally:
        session.close()


# -- calls and their failures ----------------------------------------------------------------


def _provider_error(exc: Any) -> str:
    import json

    try:
        body = json.loads(exc.body or "null")
    except (TypeError, ValueError):
        body = None
    if isinstance(body, dict) and body.get("message"):
        return f"{exc.status} {body.get('reason') or exc.reason}: {body['message']}"
    return f"{exc.status} {exc.reason}"


def _api_failure(session: Session, exc: Any, what: str) -> Failure:
    error = _provider_error(exc)
    if exc.status == 401:
        return Failure(
            "invalid-credentials",
            f"the API server at {session.url} rejected the {session.credential}: {error}",
            reference=session.reference, provider_error=error,
        )  # fmt: skip
    if exc.status == 403 and "system:anonymous" in error:
        # No credential reached the server (a client certificate a TLS-terminating proxy did
        # not pass on, an exec plugin that gave nothing): not a missing API.
        return Failure(
            "invalid-credentials",
            f"the API server at {session.url} treats the request as anonymous: the"
            f" {session.credential} was not accepted ({error})",
            reference=session.reference, provider_error=error,
        )  # fmt: skip
    if exc.status == 429:
        headers = exc.headers or {}
        return Failure(
            "rate-limited", f"the API server throttles requests ({what}): {error}",
            retry_after=headers.get("Retry-After"),
        )  # fmt: skip
    if exc.status == 404:
        return Failure(
            "incorrect-endpoint",
            f"{session.url} answers 404 to {what}: there is no Kubernetes API there",
            url=session.url, problem=f"404 for {what}",
        )  # fmt: skip
    return Failure(
        "incorrect-endpoint", f"the API server at {session.url} answered {what} with {error}",
        url=session.url, problem=error,
    )  # fmt: skip


def _verification_error(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification error inside what the client wrapped it in (ApiException,
    MaxRetryError, SSLError), if that is what went wrong."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        todo += [current.__cause__, current.__context__, getattr(current, "reason", None)]
        todo += list(current.args)
    return None


def _verify_kind(text: str) -> str:
    """The kind of verification failure, from OpenSSL's message (lower case)."""
    if "hostname mismatch" in text or "ip address mismatch" in text:
        return "hostname-mismatch"
    if "not yet valid" in text:
        return "not-yet-valid"
    if "expired" in text:
        return "expired"
    return "self-signed" if "self-signed" in text or "self signed" in text else "untrusted"


def _transport_failure(ctx: CheckContext, session: Session, exc: Exception, what: str) -> Failure:
    import urllib3

    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    lowered = text.lower()
    evidence = {"host": session.host, "port": session.port, "reason": text}
    if isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError)):
        return Failure(
            "connection-timeout",
            f"{session.url}: no answer to {what} within {ctx.prober.timeout:g} s",
            timeout_s=ctx.prober.timeout, **evidence,
        )  # fmt: skip
    # A server that rejects a client certificate sends an alert or, with TLS 1.3, may just
    # close the connection right after the handshake (EOF, reset) before any answer.
    hangup = ("alert", "reset", "eof occurred", "aborted", "remote end closed", "broken pipe")
    if session.client_cert and any(word in lowered for word in hangup):
        return Failure(
            "invalid-credentials",
            f"the API server at {session.url} refused the {session.credential} during the TLS"
            f" handshake ({text})",
            reference=session.reference, provider_error=text,
        )  # fmt: skip
    verify = _verification_error(exc)
    if verify is not None or "certificate verify failed" in lowered:
        # Named as the tls check names it (InheritFromDelegate has no tls item). The client
        # sometimes keeps only the text of the error: then the text says which it was.
        kind = classify_tls_error(verify)[0] if verify is not None else _verify_kind(lowered)
        ca_source = session.notes.get("ca_source")
        return Failure(TLS_MODES[kind], f"{session.url}: {text}", ca_source=ca_source, **evidence)
    if isinstance(exc, urllib3.exceptions.NewConnectionError) or "refused" in lowered:
        return Failure("port-unreachable", f"{session.url}: {text}", **evidence)
    return Failure(
        "incorrect-endpoint", f"{session.url}: {what} failed: {text}", url=session.url,
        problem=text,
    )  # fmt: skip


def call(
    ctx: CheckContext,
    session: Session,
    what: str,
    fn: Callable[[], Any],
    tolerate: tuple[int, ...] = (),
) -> Any:
    """``fn()`` with every failure of the client mapped to a failure mode; an answer with a
    status in ``tolerate`` returns None."""
    import urllib3

    try:
        answer = fn()
    except session.k8s.exceptions.ApiException as exc:
        if exc.status in tolerate:
            return None
        if not exc.status:  # the client wraps TLS errors as ApiException(status=0)
            reason = " ".join(str(exc.reason or "").split())
            raise _transport_failure(ctx, session, ssl.SSLError(reason), what) from None
        raise _api_failure(session, exc, what) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise _transport_failure(ctx, session, exc, what) from None
    except NetworkLimit as exc:  # the deadline or the body cap of the client's pool manager
        raise limit_failure(exc, session.url, session.host, session.port, what) from None
    except ValueError as exc:  # pydantic: the answer is not what a Kubernetes API returns
        raise Failure(
            "incorrect-endpoint",
            f"{session.url}: the answer to {what} is not a Kubernetes API answer"
            f" ({type(exc).__name__})",
            url=session.url, problem=f"unreadable answer to {what}",
        ) from None  # fmt: skip
    if answer is None:  # a 2xx whose body is JSON null (or empty)
        raise Failure(
            "incorrect-endpoint",
            f"{session.url}: the answer to {what} is empty, not a Kubernetes API answer",
            url=session.url, problem=f"empty answer to {what}",
        )  # fmt: skip
    return answer


def _access_review(session: Session, group: str, resource: str, verb: str, namespace: str,
                   timeout: float) -> Any:  # fmt: skip
    k8s = session.k8s
    body = k8s.V1SelfSubjectAccessReview(
        spec=k8s.V1SelfSubjectAccessReviewSpec(
            resource_attributes=k8s.V1ResourceAttributes(
                group=group, resource=resource, verb=verb, namespace=namespace or None
            )
        )
    )
    return k8s.AuthorizationV1Api(session.api).create_self_subject_access_review(
        body, _request_timeout=timeout
    )


# -- auth ------------------------------------------------------------------------------------


def check_auth(ctx: CheckContext) -> None:
    timeout = ctx.prober.timeout
    with session_for(ctx) as session:
        k8s = session.k8s
        ctx.note(api=session.url, credential=session.credential, **session.notes)
        version = call(
            ctx, session, "GET /version",
            lambda: k8s.VersionApi(session.api).get_code(_request_timeout=timeout),
            tolerate=(403,),
        )  # fmt: skip
        if version is None:
            ctx.note(server_version="not readable (403): anonymous discovery is off")
        else:
            ctx.note(server_version=version.git_version, platform=version.platform)
        review = call(
            ctx, session, "POST selfsubjectreviews",
            lambda: k8s.AuthenticationV1Api(session.api).create_self_subject_review(
                k8s.V1SelfSubjectReview(), _request_timeout=timeout
            ),
            tolerate=(404,),
        )  # fmt: skip
        if review is None:
            # No SelfSubjectReview (before 1.28, or turned off): any authenticated user may
            # ask an access review, so one proves the credential is accepted.
            call(ctx, session, "POST selfsubjectaccessreviews",
                 lambda: _access_review(session, "", "namespaces", "get", "", timeout))  # fmt: skip
            ctx.note(identity_source="the credential itself (no SelfSubjectReview API)")
            if session.identity is not None:
                ctx.note(username=_username(session.identity))
            return
        info = review.status.user_info if review.status is not None else None
        username = getattr(info, "username", None)
        if username == "system:anonymous":
            raise Failure(
                "invalid-credentials",
                f"the API server at {session.url} treats the {session.credential} as"
                " anonymous: no credential was accepted",
                reference=session.reference, provider_error="authenticated as system:anonymous",
            )  # fmt: skip
        if session.identity is not None and not session.identity.known:
            username = session.identity.name  # the server echoes a secret user name
        ctx.note(username=username, groups=list(getattr(info, "groups", None) or []))


def _username(subject: Subject) -> str:
    if subject.kind == "ServiceAccount":
        return f"{_SA_PREFIX}{subject.namespace}:{subject.name}"
    return subject.name


# -- rbac ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    group: str
    resource: str
    verb: str

    def describe(self) -> str:
        resource = f"{self.resource}.{self.group}" if self.group else self.resource
        return f"{self.verb} {resource}"

    def review_namespace(self, namespace: str) -> str:
        """Where the request this pair stands for is authorised: ``namespace``, or cluster-wide
        ("") for cluster-scoped resources, whatever the settings say."""
        if not namespace:
            return ""
        if (self.group, self.resource) == ("", "namespaces"):
            return namespace if self.verb in OWN_NAMESPACE_VERBS else ""
        return "" if (self.group, self.resource) in CLUSTER_SCOPED else namespace


def _settings_error(ctx: CheckContext, problem: str) -> Failure:
    path = f"pytestConnectors.connectors.{ctx.connector.ref}.kubernetes"
    return Failure(
        "definition-invalid", f"{path}: {problem}", field_path=path, problem=problem,
    )  # fmt: skip


def _strings(ctx: CheckContext, value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not value:
        raise _settings_error(ctx, f"{where} must be a non-empty list of strings")
    return list(value)


def expectations(ctx: CheckContext) -> tuple[str, list[Pair]]:
    """(namespace, the pairs to review) from the settings, or cluster-wide deployer rules."""
    settings = ctx.expectations.provider.get("kubernetes", {})
    namespace = settings.get("namespace") or ""
    if not isinstance(namespace, str):
        raise _settings_error(ctx, "namespace must be a string")
    rules = settings.get("rules", DEFAULT_RULES)
    if not isinstance(rules, (list, tuple)) or not rules:
        raise _settings_error(ctx, "rules must be a non-empty list of rules")
    pairs: list[Pair] = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            raise _settings_error(ctx, f"rules[{index}] must be a mapping")
        unknown = set(rule) - {"apiGroups", "resources", "verbs"}
        if unknown:
            raise _settings_error(ctx, f"rules[{index}] has unknown keys {sorted(unknown)}")
        groups = _strings(ctx, rule.get("apiGroups"), f"rules[{index}].apiGroups")
        resources = _strings(ctx, rule.get("resources"), f"rules[{index}].resources")
        verbs = _strings(ctx, rule.get("verbs"), f"rules[{index}].verbs")
        pairs += [Pair(g, r, v) for g in groups for r in resources for v in verbs]
    return namespace, list(dict.fromkeys(pairs))


def _subject(ctx: CheckContext, session: Session) -> Subject:
    username = ctx.result_of("auth").evidence.get("username")
    if isinstance(username, str) and username:
        return Subject.from_username(username)
    return session.identity or UNKNOWN_SUBJECT


def _slug(text: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in ".-" else "-" for c in text.lower())
    return cleaned.strip("-.") or "connector"


def grouped_rules(denied: list[Pair]) -> list[dict[str, Any]]:
    """RBAC rules granting exactly ``denied``: per API group, resources that miss the same
    verbs share a rule."""
    order = {verb: index for index, verb in enumerate(VERBS)}
    by_group: dict[str, dict[str, list[str]]] = {}
    for pair in denied:
        verbs = by_group.setdefault(pair.group, {}).setdefault(pair.resource, [])
        if pair.verb not in verbs:
            verbs.append(pair.verb)
    rules: list[dict[str, Any]] = []
    for group, resources in by_group.items():
        by_verbs: dict[tuple[str, ...], list[str]] = {}
        for resource, verbs in resources.items():
            key = tuple(sorted(verbs, key=lambda v: (order.get(v, len(order)), v)))
            by_verbs.setdefault(key, []).append(resource)
        for verbs_key, names in by_verbs.items():
            rules.append({"apiGroups": [group], "resources": names, "verbs": list(verbs_key)})
    return rules


def _role_and_binding(
    denied: list[Pair], subject: Subject, namespace: str, name: str
) -> list[dict[str, Any]]:
    role_kind = "Role" if namespace else "ClusterRole"
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": role_kind,
        "metadata": dict(metadata),
        "rules": grouped_rules(denied),
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": f"{role_kind}Binding",
        "metadata": {**metadata, "name": f"{name}-binding"},
        "subjects": [subject.as_binding_subject()],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name},
    }
    return [role, binding]


def rbac_manifest(denied: list[Pair], subject: Subject, namespace: str, identifier: str) -> str:
    """YAML documents granting exactly ``denied`` to ``subject``: a Role + RoleBinding in
    ``namespace`` for the namespaced pairs, and a ClusterRole + ClusterRoleBinding for the
    rest (every pair when no namespace is given; cluster-scoped resources otherwise)."""
    name = f"harness-{_slug(identifier)}"
    local = [pair for pair in denied if pair.review_namespace(namespace)]
    cluster = [pair for pair in denied if not pair.review_namespace(namespace)]
    documents: list[dict[str, Any]] = []
    if local:
        documents += _role_and_binding(local, subject, namespace, name)
    if cluster:
        documents += _role_and_binding(cluster, subject, "", f"{name}-cluster" if local else name)
    return yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=None)


def _summary(denied: list[Pair]) -> str:
    by_resource: dict[str, list[str]] = {}
    for pair in denied:
        resource = f"{pair.resource}.{pair.group}" if pair.group else pair.resource
        by_resource.setdefault(resource, []).append(pair.verb)
    return "; ".join(f"{resource}: {', '.join(verbs)}" for resource, verbs in by_resource.items())


def check_rbac(ctx: CheckContext) -> None:
    namespace, pairs = expectations(ctx)
    timeout = ctx.prober.timeout
    with session_for(ctx) as session:
        subject = _subject(ctx, session)
        where = f"in namespace {namespace}" if namespace else "cluster-wide"
        ctx.note(namespace=namespace, subject=subject.describe(), reviews=len(pairs))
        lock = threading.Lock()
        errors: list[Failure] = []

        def review(pair: Pair) -> bool | None:
            with lock:
                if errors:  # one failure names the problem: don't wait on the others too
                    return None
            try:
                answer = call(
                    ctx, session, f"the access review '{pair.describe()}'",
                    lambda: _access_review(session, pair.group, pair.resource, pair.verb,
                                           pair.review_namespace(namespace), timeout),
                )  # fmt: skip
            except Failure as failure:
                with lock:
                    errors.append(failure)
                return None
            return bool(answer.status is not None and answer.status.allowed)

        workers = max(1, min(REVIEW_WORKERS, len(pairs)))
        with ThreadPoolExecutor(workers, thread_name_prefix="connectors-k8s-ssar") as pool:
            answers = list(pool.map(review, pairs))
        if errors:
            raise errors[0]
        denied = [pair for pair, allowed in zip(pairs, answers, strict=True) if not allowed]
        ctx.note(allowed=len(pairs) - len(denied))
        if not denied:
            return
        manifest = rbac_manifest(denied, subject, namespace, ctx.connector.identifier)
        kinds = [doc["kind"] for doc in yaml.safe_load_all(manifest) if doc]
        role = " and ".join(dict.fromkeys(kinds))
        unknown = "" if subject.known else " (set the subject: the identity is unknown)"
        ctx.fail(
            "k8s-rbac-denied",
            f"RBAC denies {len(denied)} of {len(pairs)} required permissions {where} to"
            f" {subject.describe()}: {_summary(denied)}.\n"
            f"This {role} grant exactly them{unknown} (save as harness-rbac.yaml, then"
            f" kubectl apply -f harness-rbac.yaml):\n{manifest}",
            denied=", ".join(pair.describe() for pair in denied),
            namespace=namespace,
            rbac_yaml=manifest,
        )


PROVIDES = {"auth": check_auth, "rbac": check_rbac}
APPLIES = applies
