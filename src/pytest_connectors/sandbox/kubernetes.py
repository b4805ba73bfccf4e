"""``FakeKubernetes``: the few kube-apiserver endpoints the K8sCluster connector checks call.

Served over TLS by a sandbox HTTPS server that asks for a client certificate: ``sb.kubernetes()``.

Authentication, as the API server does it (first match wins; a credential that is presented
but not accepted is ``401`` even where anonymous requests would be allowed):

* ``Authorization: Bearer <token>``: a token of the table (``add_token``); unknown, expired
  (``expire``) or revoked ones answer ``401``;
* ``Authorization: Basic base64(user:password)``: a password of the table (``add_password``;
  static password files were removed in Kubernetes 1.19, the fake still serves them for the
  ``UsernamePassword`` connectors that remain);
* a client certificate verified against the client CA (the sandbox CA unless another is
  given): its subject CN is the user name and its O entries the groups. The real server
  verifies the chain after the handshake and answers ``401`` for a certificate it cannot
  verify; Python's TLS server can only ask for a certificate it also verifies, so here an
  unknown issuer fails the handshake instead;
* nothing: ``system:anonymous`` (may read ``/version`` only, as ``system:public-info-viewer``).

Endpoints (anything else answers a ``404`` ``Status``):

* ``GET /version`` and ``/version/`` (the Python client asks for the latter): the full
  ``version.Info`` (major, minor, gitVersion, gitCommit, gitTreeState, buildDate, goVersion,
  compiler, platform) — kubernetes 37's strict models reject a partial one.
* ``GET /api/v1/namespaces``: a ``NamespaceList``; ``GET /api/v1/namespaces/{ns}``: one
  ``Namespace`` or ``404 NotFound``. RBAC applies (``list``/``get`` on ``namespaces``):
  ``403 Forbidden`` with the server's message (``namespaces is forbidden: User "x" cannot list
  resource "namespaces" in API group "" at the cluster scope``).
* ``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews``: ``201``, the review with
  its ``spec`` echoed and ``status.allowed`` / ``status.reason`` (or ``status.denied: false``
  absent) answered from the RBAC table of the requesting user. An empty ``namespace`` means
  "in all namespaces": only cluster-wide grants (ClusterRoleBindings) count; a namespace is
  allowed by cluster-wide grants and by grants bound in that namespace (RoleBindings).
* ``POST /apis/authentication.k8s.io/v1/selfsubjectreviews`` (``kubectl auth whoami``, GA in
  1.28): ``201`` with ``status.userInfo`` (username, uid, groups).

Errors are ``kind: Status`` bodies (``apiVersion: v1``, ``status: Failure``, ``message``,
``reason``, ``details``, ``code``) as the server returns them. Misbehaviour: ``expire(token)``
(``401``), ``revoke``, ``fail_with = 503`` (or 429 with ``Retry-After``; authenticated
endpoints), and the server's own ``latency``. ``requests`` lists ``(method, path, user)``:
credentials are never stored outside the tables.

RBAC table: ``grant(user, api_groups, resources, verbs, namespace=None)`` (``None``:
cluster-wide), or ``apply(yaml_text)`` with Role/ClusterRole and RoleBinding/
ClusterRoleBinding documents (subjects ``User``, ``Group`` and ``ServiceAccount``, which is the
user ``system:serviceaccount:<namespace>:<name>``). ``*`` matches any group, resource or verb.

Kubernetes documentation this follows:

* Authentication (X.509 CN as user name and O as groups, bearer tokens, ``401`` for rejected
  credentials, anonymous requests as ``system:anonymous``):
  https://kubernetes.io/docs/reference/access-authn-authz/authentication/
* SelfSubjectAccessReview ("not filling in a spec.namespace means in all namespaces") and
  ``kubectl auth can-i``:
  https://kubernetes.io/docs/reference/kubernetes-api/authorization-resources/self-subject-access-review-v1/
  and https://kubernetes.io/docs/reference/access-authn-authz/authorization/#checking-api-access
* SelfSubjectReview: https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/self-subject-review-v1/
* RBAC semantics (Role vs ClusterRole, RoleBinding vs ClusterRoleBinding, subjects):
  https://kubernetes.io/docs/reference/access-authn-authz/rbac/ and
  https://kubernetes.io/docs/reference/kubernetes-api/definitions/subject-v1-rbac/
* The ``Status`` kind and the meaning of 401/403:
  https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/status/ and
  https://github.com/kubernetes/community/blob/master/contributors/devel/sig-architecture/api-conventions.md#http-status-codes
* ``/version``: https://kubernetes.io/docs/reference/using-api/health-checks/ (the server's
  public info) and the ``version.Info`` fields of ``k8s.io/apimachinery/pkg/version``.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from .httpserver import SandboxRequest, SandboxResponse

ANONYMOUS = "system:anonymous"
SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SSR_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
NAMESPACES_PATH = "/api/v1/namespaces"
VERSION = {
    "major": "1",
    "minor": "30",
    "gitVersion": "v1.30.2",
    "gitCommit": "39683505b630ff2121012f3c5b16215a1449d5ed",
    "gitTreeState": "clean",
    "buildDate": "2024-06-11T20:21:00Z",
    "goVersion": "go1.22.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_CREATED = "2024-06-12T08:00:00Z"


@dataclass(frozen=True)
class KubeRule:
    """One RBAC rule, bound to a user cluster-wide (``namespace=None``) or in one namespace."""

    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    namespace: str | None = None

    def matches(self, group: str, resource: str, verb: str, namespace: str) -> bool:
        if self.namespace is not None and self.namespace != namespace:
            return False  # a RoleBinding grants nothing elsewhere, nor cluster-wide
        return (
            ("*" in self.api_groups or group in self.api_groups)
            and ("*" in self.resources or resource in self.resources)
            and ("*" in self.verbs or verb in self.verbs)
        )


@dataclass
class KubeUser:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))


def service_account_user(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def status(code: int, reason: str, message: str, **details: Any) -> SandboxResponse:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return SandboxResponse.json(body, status=code)


class FakeKubernetes:
    """A kube-apiserver fake: authentication, RBAC, namespaces, access and identity reviews."""

    def __init__(
        self,
        *,
        namespaces: Iterable[str] = ("default", "kube-system", "harness"),
        version: Mapping[str, str] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._tokens: dict[str, KubeUser] = {}
        self._expired: set[str] = set()
        self._passwords: dict[tuple[str, str], KubeUser] = {}
        self._rules: dict[str, list[KubeRule]] = {}
        self._group_rules: dict[str, list[KubeRule]] = {}
        self.namespaces = list(namespaces)
        self.version = dict(version or VERSION)
        self.fail_with: int | None = None
        self.retry_after = 1
        self.requests: list[tuple[str, str, str]] = []
        self.reviews: list[dict[str, Any]] = []  # resourceAttributes of every SSAR, in order

    # -- configuration ---------------------------------------------------------------------

    def add_token(self, token: str, user: str, groups: Iterable[str] = ()) -> KubeUser:
        """A bearer token (a service-account JWT, a static token, ...) for ``user``."""
        account = KubeUser(user, (*groups, "system:authenticated"))
        with self._lock:
            self._tokens[token] = account
        return account

    def add_password(self, username: str, password: str, groups: Iterable[str] = ()) -> KubeUser:
        account = KubeUser(username, (*groups, "system:authenticated"))
        with self._lock:
            self._passwords[(username, password)] = account
        return account

    def expire(self, token: str) -> None:
        """The token stops working (its ``exp`` passed, or its Secret was deleted): 401."""
        with self._lock:
            self._expired.add(token)

    revoke = expire

    def grant(
        self,
        user: str,
        api_groups: Iterable[str],
        resources: Iterable[str],
        verbs: Iterable[str],
        namespace: str | None = None,
    ) -> None:
        """Bind a rule to ``user``: cluster-wide, or in ``namespace`` only."""
        rule = KubeRule(tuple(api_groups), tuple(resources), tuple(verbs), namespace)
        with self._lock:
            self._rules.setdefault(user, []).append(rule)

    def grant_group(
        self,
        group: str,
        api_groups: Iterable[str],
        resources: Iterable[str],
        verbs: Iterable[str],
        namespace: str | None = None,
    ) -> None:
        rule = KubeRule(tuple(api_groups), tuple(resources), tuple(verbs), namespace)
        with self._lock:
            self._group_rules.setdefault(group, []).append(rule)

    def grant_all(self, user: str, namespace: str | None = None) -> None:
        """cluster-admin (or admin of one namespace)."""
        self.grant(user, ["*"], ["*"], ["*"], namespace)

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()
            self._group_rules.clear()

    def apply(self, text: str) -> int:
        """``kubectl apply`` for RBAC documents: Roles/ClusterRoles and their bindings.

        Returns how many rules were bound. Unknown kinds are ignored; a binding to a role not
        in ``text`` binds nothing."""
        docs = [d for d in yaml.safe_load_all(text) if isinstance(d, dict)]
        roles: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
        for doc in docs:
            if doc.get("kind") in ("Role", "ClusterRole"):
                meta = doc.get("metadata") or {}
                scope = meta.get("namespace") if doc["kind"] == "Role" else None
                roles[(str(meta.get("name")), scope)] = list(doc.get("rules") or [])
        bound = 0
        for doc in docs:
            kind = doc.get("kind")
            if kind not in ("RoleBinding", "ClusterRoleBinding"):
                continue
            meta = doc.get("metadata") or {}
            namespace = meta.get("namespace") if kind == "RoleBinding" else None
            ref = doc.get("roleRef") or {}
            role_scope = namespace if ref.get("kind") == "Role" else None
            rules = roles.get((str(ref.get("name")), role_scope), [])
            for subject in doc.get("subjects") or []:
                for rule in rules:
                    bound += self._bind(subject, rule, namespace)
        return bound

    def _bind(self, subject: Mapping[str, Any], rule: Mapping[str, Any], ns: str | None) -> int:
        groups = [str(g) for g in rule.get("apiGroups") or []]
        resources = [str(r) for r in rule.get("resources") or []]
        verbs = [str(v) for v in rule.get("verbs") or []]
        kind = subject.get("kind")
        if kind == "ServiceAccount":
            user = service_account_user(str(subject.get("namespace")), str(subject.get("name")))
            self.grant(user, groups, resources, verbs, ns)
        elif kind == "User":
            self.grant(str(subject.get("name")), groups, resources, verbs, ns)
        elif kind == "Group":
            self.grant_group(str(subject.get("name")), groups, resources, verbs, ns)
        else:
            return 0
        return 1

    # -- decisions -------------------------------------------------------------------------

    def allowed(self, user: KubeUser, group: str, resource: str, verb: str, ns: str) -> bool:
        with self._lock:
            rules = list(self._rules.get(user.name, []))
            for name in user.groups:
                rules += self._group_rules.get(name, [])
        return any(rule.matches(group, resource, verb, ns) for rule in rules)

    def _authenticate(self, request: SandboxRequest) -> KubeUser | None:
        """The user of a request; ``None`` when a presented credential is not accepted."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        with self._lock:
            if scheme.lower() == "bearer":
                token = value.strip()
                if token in self._expired:
                    return None
                return self._tokens.get(token)
            if scheme.lower() == "basic":
                try:
                    decoded = base64.b64decode(value.strip(), validate=True).decode()
                except (binascii.Error, ValueError):
                    return None
                username, _, password = decoded.partition(":")
                return self._passwords.get((username, password))
        if header:
            return None
        subject = _cert_subject(request.peer_cert)
        if subject is not None:
            name, groups = subject
            return KubeUser(name, (*groups, "system:authenticated"), uid="")
        return KubeUser(ANONYMOUS, ("system:unauthenticated",), uid="")

    # -- the server ------------------------------------------------------------------------

    def __call__(self, request: SandboxRequest) -> SandboxResponse:
        path = request.path.split("?", 1)[0]
        user = self._authenticate(request)
        with self._lock:
            self.requests.append((request.method, path, user.name if user else "(rejected)"))
        if user is None:
            return status(401, "Unauthorized", "Unauthorized")
        if path.rstrip("/") == "/version" and request.method == "GET":
            return SandboxResponse.json(self.version)
        if user.name == ANONYMOUS:
            return self._forbidden_anonymous(request.method, path)
        if self.fail_with is not None:
            return self._failure(self.fail_with)
        if path == SSAR_PATH and request.method == "POST":
            return self._access_review(user, request)
        if path == SSR_PATH and request.method == "POST":
            return self._self_review(user)
        if path.rstrip("/") == NAMESPACES_PATH and request.method == "GET":
            return self._list_namespaces(user)
        if path.startswith(NAMESPACES_PATH + "/") and request.method == "GET":
            name = path[len(NAMESPACES_PATH) + 1 :].strip("/")
            if "/" not in name:
                return self._get_namespace(user, name)
        return status(404, "NotFound", "the server could not find the requested resource")

    def _failure(self, code: int) -> SandboxResponse:
        if code == 429:
            response = status(
                429, "TooManyRequests", "Too many requests, please try again later.",
                retryAfterSeconds=self.retry_after,
            )  # fmt: skip
            response.headers["Retry-After"] = str(self.retry_after)
            return response
        reasons = {500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout"}
        return status(code, reasons.get(code, "InternalError"), f"fake failure {code}")

    def _forbidden_anonymous(self, method: str, path: str) -> SandboxResponse:
        return status(
            403, "Forbidden",
            f'forbidden: User "{ANONYMOUS}" cannot {method.lower()} path "{path}"',
        )  # fmt: skip

    def _access_review(self, user: KubeUser, request: SandboxRequest) -> SandboxResponse:
        try:
            body = request.json()
        except ValueError:
            return status(400, "BadRequest", "the request body is not JSON")
        spec = body.get("spec") if isinstance(body, dict) else None
        attributes = spec.get("resourceAttributes") if isinstance(spec, dict) else None
        if not isinstance(attributes, dict):
            return status(
                422, "Invalid",
                "SelfSubjectAccessReview.authorization.k8s.io is invalid: spec: exactly one of"
                " nonResourceAttributes or resourceAttributes must be specified",
            )  # fmt: skip
        with self._lock:
            self.reviews.append(dict(attributes))
        group = str(attributes.get("group") or "")
        resource = str(attributes.get("resource") or "")
        if attributes.get("subresource"):
            resource = f"{resource}/{attributes['subresource']}"
        verb = str(attributes.get("verb") or "")
        namespace = str(attributes.get("namespace") or "")
        allowed = self.allowed(user, group, resource, verb, namespace)
        result: dict[str, Any] = {"allowed": allowed}
        if allowed:
            result["reason"] = f'RBAC: allowed for User "{user.name}"'
        else:
            result["reason"] = "no RBAC policy matched"
        review = {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": result,
        }
        return SandboxResponse.json(review, status=201)

    def _self_review(self, user: KubeUser) -> SandboxResponse:
        info: dict[str, Any] = {"username": user.name, "groups": list(user.groups)}
        if user.uid:
            info["uid"] = user.uid
        return SandboxResponse.json(
            {
                "kind": "SelfSubjectReview",
                "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"creationTimestamp": None},
                "status": {"userInfo": info},
            },
            status=201,
        )

    def _namespace(self, name: str) -> dict[str, Any]:
        return {
            "metadata": {
                "name": name,
                "uid": str(uuid.uuid5(uuid.NAMESPACE_DNS, name)),
                "resourceVersion": "1",
                "creationTimestamp": _CREATED,
                "labels": {"kubernetes.io/metadata.name": name},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }

    def _list_namespaces(self, user: KubeUser) -> SandboxResponse:
        if not self.allowed(user, "", "namespaces", "list", ""):
            return status(
                403, "Forbidden",
                f'namespaces is forbidden: User "{user.name}" cannot list resource "namespaces"'
                ' in API group "" at the cluster scope',
                kind="namespaces",
            )  # fmt: skip
        return SandboxResponse.json(
            {
                "kind": "NamespaceList",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": "1"},
                "items": [self._namespace(n) for n in self.namespaces],
            }
        )

    def _get_namespace(self, user: KubeUser, name: str) -> SandboxResponse:
        if not self.allowed(user, "", "namespaces", "get", name):
            return status(
                403, "Forbidden",
                f'namespaces "{name}" is forbidden: User "{user.name}" cannot get resource'
                f' "namespaces" in API group "" in the namespace "{name}"',
                name=name, kind="namespaces",
            )  # fmt: skip
        if name not in self.namespaces:
            return status(404, "NotFound", f'namespaces "{name}" not found', name=name,
                          kind="namespaces")  # fmt: skip
        body = {"kind": "Namespace", "apiVersion": "v1", **self._namespace(name)}
        return SandboxResponse(200, {"Content-Type": "application/json"}, json.dumps(body).encode())


def _cert_subject(peer: Mapping[str, Any] | None) -> tuple[str, tuple[str, ...]] | None:
    """(CN, O entries) of a verified client certificate, as ``ssl.getpeercert()`` gives it."""
    if not peer:
        return None
    common_name: str | None = None
    groups: list[str] = []
    for rdn in peer.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                common_name = str(value)
            elif key == "organizationName":
                groups.append(str(value))
    return (common_name, tuple(groups)) if common_name else None


def issue_client_cert(ca: Any, user: str, groups: Iterable[str] = ()) -> tuple[str, str]:
    """(certificate PEM, unencrypted private key PEM) for ``user`` (CN) in ``groups`` (O),
    signed by ``ca`` (a ``trustme.CA``, e.g. ``sb.ca``): what ``clientCertRef`` /
    ``clientKeyRef`` hold for the ``ClientKeyCert`` connectors of a cluster trusting ``ca``."""
    import trustme

    names = list(groups)
    leaf = ca.issue_cert(
        common_name=user,
        organization_name=names[0] if names else None,
        key_type=trustme.KeyType.RSA,
    )
    cert_pem = leaf.cert_chain_pems[0].bytes().decode()
    return cert_pem, leaf.private_key_pem.bytes().decode()
