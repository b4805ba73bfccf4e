"""HashiCorp Vault (and OpenBao): ``health``, ``auth``, ``permissions``, through ``hvac``.

* ``health``: ``GET /v1/sys/health`` — 200 active; 429 standby, 472/473 replication or
  performance standby, 501 not initialised, 503 sealed → ``secret-manager-unhealthy``.
* ``auth``: the token (``authToken``), an AppRole login (``appRoleId`` + ``secretId``) or the
  Vault Agent's sink file (``sinkPath`` on this host), then ``auth/token/lookup-self``: a
  refused token is ``invalid-credentials`` (Vault answers 403 alike for wrong, revoked and
  expired tokens); a TTL that ends before ``renewalIntervalMinutes`` or within the warning
  window is ``credentials-expiring``; an expiry in the past is ``credentials-expired``.
  Kubernetes auth posts the pod's service-account token (``serviceAccountTokenPath`` on this
  host) to ``auth/<k8sAuthEndpoint>/login``. JWT auth checks the mount and the role without
  the JWT Harness issues, then logs in only with a JWT this host was given (``vault_jwt``).
  AWS IAM needs the delegate's own AWS identity and is skipped with that reason.
* ``permissions``: ``sys/capabilities-self`` on the paths the connector uses — a probe secret
  under ``basePath`` in its engine (KV v2 through ``data/`` and ``metadata/``): ``read`` and
  ``list`` when ``readOnly``, else also ``create``, ``update`` and ``delete`` (Harness writes a
  validation secret there) — or the ``vault: {paths: {...}}`` expectation; missing ones are
  ``insufficient-permissions``, each named with its path. The engine's type and KV version
  (``sys/internal/ui/mounts``) are compared with ``secretEngineVersion``.

Every request goes to the connector's own host through :func:`~..probes.sessions.pinned_session`
(delegate resolvers, connector trust, proxy, no redirects). The namespace is sent as
``X-Vault-Namespace``. One login per connector per run is reused by ``permissions`` and by
:class:`VaultSecretSource`.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from ..endpoints import Endpoint
from ..masking import MASKER
from ..model import Connector, Credential, VaultSpec
from ..probes.deadline import NetworkLimit
from ..probes.prober import Prober
from ..results import Failure, Skip
from ..secrets import Secret
from .api import limit_failure, refuse_plain_credential, secret_of
from .context import CheckContext, CollectContext
from .network import applies_to_network, endpoints, trust

if TYPE_CHECKING:
    import hvac

EXTRA_HINT = "pip install 'pytest-connectors[vault]'"
#: Where a pod's service-account token is mounted (Harness's default serviceAccountTokenPath).
SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
#: Harness writes this secret under ``basePath`` to validate a read-write connector.
PROBE_SECRET = "harness_vault_validation"
_HEALTH_STATES = {
    429: "a standby node",
    472: "a disaster-recovery secondary",
    473: "a performance standby",
    501: "not initialised",
    503: "sealed",
}


def _hvac() -> Any:
    try:
        import hvac
    except ImportError:
        raise Skip(f"the Vault checks need the hvac package: {EXTRA_HINT}") from None
    return hvac


def _spec(connector: Connector) -> VaultSpec:
    spec = connector.spec
    assert isinstance(spec, VaultSpec)
    return spec


def applies(connector: Connector, collect: CollectContext) -> bool:
    return isinstance(connector.spec, VaultSpec) and applies_to_network(connector, collect)


def _endpoint(ctx: CheckContext) -> Endpoint:
    found = [e for e in endpoints(ctx) if e.role == "vault"]
    if not found:
        raise Skip("the connector has no vaultUrl to check")
    return found[0]


def _url(ctx: CheckContext) -> str:
    """The Vault address as Harness users write it (no trailing slash)."""
    return _endpoint(ctx).url.rstrip("/")


# -- talking to Vault ---------------------------------------------------------------------------


def client(
    ctx: CheckContext, token: str | None = None, namespace: bool = True, credential: bool = False
) -> hvac.Client:
    """An hvac client for the connector's Vault (``token`` only when one is to be sent;
    ``credential`` when a login credential — secret ID, service-account token — will be)."""
    hvac = _hvac()
    from ..probes.sessions import PinningError, pinned_session  # requests: with hvac only

    endpoint = _endpoint(ctx)
    if token is not None or credential:
        what = "Vault token" if token is not None else "login credential"
        refuse_plain_credential(ctx, endpoint, what)
    try:
        session = pinned_session(ctx.prober, endpoint, trust(ctx))
    except PinningError as exc:
        raise Failure(
            "dns-resolution-failed", str(exc), host=endpoint.host, reason=str(exc)
        ) from None
    spec = _spec(ctx.connector)
    return hvac.Client(
        url=endpoint.url.rstrip("/"),
        token=token,
        namespace=spec.namespace if namespace else None,
        session=session,
        timeout=ctx.prober.timeout,
        allow_redirects=False,
    )


@contextlib.contextmanager
def translated(ctx: CheckContext, doing: str) -> Iterator[None]:
    """Transport trouble and Vault's own error statuses become named failures."""
    hvac = _hvac()
    import requests  # installed with hvac

    endpoint = _endpoint(ctx)
    url = endpoint.url.rstrip("/")
    try:
        yield
    except hvac.exceptions.VaultDown as exc:
        raise Failure(
            "secret-manager-unhealthy",
            f"{url} is sealed: {doing} is refused",
            manager=ctx.connector.ref, vault_url=url, state="sealed", problem=str(exc).strip(),
        ) from None  # fmt: skip
    except hvac.exceptions.VaultNotInitialized as exc:
        raise Failure(
            "secret-manager-unhealthy",
            f"{url} is not initialised: {doing} is refused",
            manager=ctx.connector.ref, vault_url=url, state="not initialised",
            problem=str(exc).strip(),
        ) from None  # fmt: skip
    except hvac.exceptions.RateLimitExceeded as exc:
        raise Failure(
            "rate-limited",
            f"{url} throttles the requests ({_vault_errors(exc)}) while {doing}",
            url=url, problem=_vault_errors(exc),
        ) from None  # fmt: skip
    except hvac.exceptions.InternalServerError as exc:
        raise Failure(
            "secret-manager-unhealthy",
            f"{url} fails with an internal error while {doing}: {_vault_errors(exc)}",
            manager=ctx.connector.ref, vault_url=url, state="failing (500)",
            problem=_vault_errors(exc),
        ) from None  # fmt: skip
    except NetworkLimit as exc:  # the deadline or the body cap of the session
        raise limit_failure(exc, url, endpoint.host, endpoint.port, doing) from None
    except requests.exceptions.JSONDecodeError as exc:  # a 2xx body that is not JSON
        raise Failure(
            "incorrect-endpoint",
            f"{url} does not answer as the Vault API while {doing} (not JSON): is vaultUrl a"
            " Vault server?",
            url=url, problem=f"not a Vault API answer: {_short(exc)}",
        ) from None  # fmt: skip
    except requests.exceptions.Timeout:
        raise Failure(
            "connection-timeout",
            f"{url}: no answer within {ctx.prober.timeout:g} s while {doing}",
            host=endpoint.host, timeout_s=ctx.prober.timeout, reason="timeout",
        ) from None  # fmt: skip
    except requests.exceptions.TooManyRedirects:
        raise Failure(
            "incorrect-endpoint",
            f"{url} answers with a redirect; the token is never sent after one, so vaultUrl"
            " must name the real address",
            url=url, problem="redirect",
        ) from None  # fmt: skip
    except requests.exceptions.RequestException as exc:  # refused, reset, TLS, malformed ...
        raise Failure(
            "incorrect-endpoint", f"{url}: {doing} failed: {_short(exc)}", url=url,
            problem=_short(exc),
        ) from None  # fmt: skip


def _short(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Caused by ", "caused by "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return text.strip("()' ")[:300]


def _vault_answer(ctx: CheckContext, response: Any, doing: str) -> dict[str, Any]:
    """The JSON map Vault answers with; a redirect, an empty or a non-JSON-map body (what a
    web server or SSO gateway at vaultUrl answers) is ``incorrect-endpoint``."""
    if isinstance(response, dict):
        return response
    url = _url(ctx)
    status = getattr(response, "status_code", None)
    if isinstance(status, int) and 300 <= status < 400:
        raise Failure(
            "incorrect-endpoint",
            f"{url} answers {doing} with a redirect ({status}); the token is never sent after"
            " one, so vaultUrl must name the real address",
            url=url, problem=f"redirect ({status})",
        )  # fmt: skip
    data = _json(response)
    if not data:
        _not_vault(ctx, doing, f"status {status} and no JSON map")
    return data


def _not_vault(ctx: CheckContext, doing: str, what: str) -> NoReturn:
    url = _url(ctx)
    raise Failure(
        "incorrect-endpoint",
        f"{url} answers {doing} with {what}, not as Vault does: is vaultUrl a Vault server?",
        url=url, problem=f"not a Vault API answer: {what}",
    )  # fmt: skip


def _client_token(ctx: CheckContext, answer: Any, doing: str) -> str:
    """The ``auth.client_token`` of a login answer (registered with the masker)."""
    auth = _vault_answer(ctx, answer, doing).get("auth")
    token = auth.get("client_token") if isinstance(auth, dict) else None
    if not isinstance(token, str) or not token:
        _not_vault(ctx, doing, "no auth.client_token")
    return _issued(token)


def _issued(token: str) -> str:
    """A token Vault issued (or an agent left): a secret, though not from the secret chain."""
    MASKER.add(token)
    return token


def _json(response: Any) -> dict[str, Any]:
    if isinstance(response, dict):
        return response
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# -- health -------------------------------------------------------------------------------------


def check_health(ctx: CheckContext) -> None:
    hvac_client = client(ctx, namespace=False)  # sys/health lives in the root namespace
    url = _url(ctx)
    with translated(ctx, "reading sys/health"):
        response = hvac_client.sys.read_health_status(method="GET")
    status = 200 if isinstance(response, dict) else int(response.status_code)
    data = _json(response)
    if "initialized" not in data or "sealed" not in data:
        body = "" if isinstance(response, dict) else str(getattr(response, "text", ""))[:120]
        _not_vault(ctx, "sys/health", f"{status} {body}".strip() + " (no initialized/sealed state)")
    facts = {
        key: data[key]
        for key in ("version", "cluster_name", "initialized", "sealed", "standby")
        if key in data
    }
    ctx.note(status=status, **facts)
    if status == 200:
        return
    state = _HEALTH_STATES.get(status, f"answering {status}")
    if status in (429, 472, 473):
        cause = (
            f"{url} is {state}: it serves reads only if it forwards them to the active node,"
            " and writes not at all"
        )
    elif status in _HEALTH_STATES:
        cause = f"{url} is {state}: no secret can be read from it"
    else:
        raise Failure(
            "incorrect-endpoint",
            f"{url}/v1/sys/health answers {status}: is vaultUrl a Vault server?",
            url=url, problem=f"sys/health answered {status}",
        )  # fmt: skip
    raise Failure(
        "secret-manager-unhealthy", cause, manager=ctx.connector.ref, vault_url=url, state=state,
        status=status,
    )  # fmt: skip


# -- auth ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    token: str = field(repr=False)
    method: str  # Token | AppRole | VaultAgent | K8sAuth | Jwt
    lookup: dict[str, Any]


#: One login per connector per run (keyed on the run's prober, like GitHub App tokens).
_LOGINS: weakref.WeakKeyDictionary[Prober, dict[tuple[str, int], Login]] = (
    weakref.WeakKeyDictionary()
)


def _credential(connector: Connector) -> Credential:
    auth = _spec(connector).auth
    if auth is None:
        raise Skip("the connector has no Vault credential to check")
    return auth


def _token(ctx: CheckContext, credential: Credential) -> str:
    hvac = _hvac()
    if credential.kind == "Token":
        return secret_of(ctx, credential, "authToken")[1].reveal()
    if credential.kind == "AppRole":
        role_id = str(credential.values.get("appRoleId") or "")
        _, secret_id = secret_of(ctx, credential, "secretId")
        approle = client(ctx, token=None, credential=True)
        try:
            with translated(ctx, "logging in with AppRole"):
                answer = approle.auth.approle.login(
                    role_id=role_id, secret_id=secret_id.reveal(), use_token=False
                )
        except (hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden) as exc:
            raise Failure(
                "invalid-credentials",
                f"Vault refused the AppRole login of role id {role_id}: {_vault_errors(exc)}",
                method="AppRole", role_id=role_id, problem=_vault_errors(exc),
            ) from None  # fmt: skip
        return _client_token(ctx, answer, "the AppRole login")
    if credential.kind == "VaultAgent":
        sink = Path(str(credential.values.get("sinkPath") or ""))
        try:
            token = sink.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise Failure(
                "invalid-credentials",
                f"the Vault Agent sink file {sink} cannot be read on this host"
                f" ({exc.strerror or exc}): is the agent running next to the delegate?",
                method="VaultAgent", sink_path=str(sink),
            ) from None  # fmt: skip
        if not token:
            raise Failure(
                "invalid-credentials",
                f"the Vault Agent sink file {sink} is empty",
                method="VaultAgent", sink_path=str(sink),
            )  # fmt: skip
        return _issued(token)
    if credential.kind == "K8sAuth":
        return _kubernetes_login(ctx, credential)
    if credential.kind == "Jwt":
        from .vault_jwt import login_token

        return login_token(ctx, credential)
    raise Skip(
        f"{credential.kind} login needs the delegate's own AWS identity (a signed"
        " sts:GetCallerIdentity request); this run checks reachability, health and secrets only"
    )


def _kubernetes_login(ctx: CheckContext, credential: Credential) -> str:
    """What Harness does for Kubernetes auth: the delegate pod's service-account token from
    ``serviceAccountTokenPath``, posted to ``auth/<k8sAuthEndpoint>/login`` with the role."""
    hvac = _hvac()
    role = str(credential.values.get("vaultK8sAuthRole") or "")
    path = Path(str(credential.values.get("serviceAccountTokenPath") or SERVICE_ACCOUNT_TOKEN))
    mount = str(credential.values.get("k8sAuthEndpoint") or "kubernetes").strip("/")
    facts = {"method": "K8sAuth", "role": role, "token_path": str(path), "mount": mount}
    try:
        jwt = Secret(path.read_text(encoding="utf-8").strip(), str(path), "file")
    except (OSError, UnicodeDecodeError) as exc:
        raise Failure(
            "invalid-credentials",
            f"the service-account token file {path} cannot be read on this host"
            f" ({getattr(exc, 'strerror', None) or exc}): does the delegate run in a pod with"
            " that token mounted?",
            **facts,
        ) from None
    if not jwt.reveal():
        raise Failure("invalid-credentials", f"the token file {path} is empty", **facts)
    vault = client(ctx, token=None, credential=True)
    try:
        with translated(ctx, f"logging in at auth/{mount}"):
            answer = vault.auth.kubernetes.login(
                role=role, jwt=jwt.reveal(), use_token=False, mount_point=mount
            )
    except (hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden) as exc:
        raise Failure(
            "invalid-credentials",
            f"Vault refused the Kubernetes login of role '{role}' at auth/{mount}:"
            f" {_vault_errors(exc)}",
            problem=_vault_errors(exc), **facts,
        ) from None  # fmt: skip
    except hvac.exceptions.InvalidPath:
        raise Failure(
            "invalid-credentials",
            f"no auth method is mounted at auth/{mount} (k8sAuthEndpoint)",
            problem=f"nothing at auth/{mount}/login", **facts,
        ) from None  # fmt: skip
    return _client_token(ctx, answer, f"the login at auth/{mount}")


def _vault_errors(exc: BaseException) -> str:
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list) and errors:
        return "; ".join(str(e).strip() for e in errors)
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def login(ctx: CheckContext) -> Login:
    """The connector's token, checked with ``lookup-self`` (cached for the run)."""
    key = (ctx.connector.file, ctx.connector.line)
    cache = _LOGINS.setdefault(ctx.prober, {})
    if key in cache:
        return cache[key]
    hvac = _hvac()
    credential = _credential(ctx.connector)
    token = _token(ctx, credential)
    vault = client(ctx, token=token)
    try:
        with translated(ctx, "looking the token up"):
            lookup = vault.auth.token.lookup_self()
    except (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized) as exc:
        raise Failure(
            "invalid-credentials",
            f"Vault refused the {credential.kind} token on auth/token/lookup-self"
            f" ({_vault_errors(exc)}): it is wrong, revoked or expired — Vault does not say which",
            method=credential.kind, problem=_vault_errors(exc),
            namespace=_spec(ctx.connector).namespace,
        ) from None  # fmt: skip
    data = _vault_answer(ctx, lookup, "auth/token/lookup-self").get("data")
    if not isinstance(data, dict) or not any(k in data for k in ("policies", "accessor", "ttl")):
        _not_vault(ctx, "auth/token/lookup-self", "no token data")
    found = Login(token, credential.kind, data)
    cache[key] = found
    return found


def _expiry(lookup: dict[str, Any]) -> datetime | None:
    raw = lookup.get("expire_time")
    if not isinstance(raw, str) or not raw:
        return None
    try:
        found = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=timezone.utc)


def _seconds(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _policies(lookup: dict[str, Any]) -> list[str]:
    policies = lookup.get("policies") or []
    return [str(p) for p in policies] if isinstance(policies, list) else [str(policies)]


def _hard_limit(lookup: dict[str, Any]) -> datetime | None:
    """When the token's ``explicit_max_ttl`` ends it: no renewal carries it past that."""
    max_ttl, created = (
        _seconds(lookup.get("explicit_max_ttl")),
        _seconds(lookup.get("creation_time")),
    )
    if max_ttl <= 0 or created <= 0:
        return None
    return datetime.fromtimestamp(created + max_ttl, timezone.utc)


def check_auth(ctx: CheckContext) -> None:
    credential = _credential(ctx.connector)
    if credential.kind == "Jwt":
        from .vault_jwt import probe

        probe(ctx, credential)  # mount and role, judged without a JWT; a skip if there is none
    found = login(ctx)
    lookup = found.lookup
    ttl = _seconds(lookup.get("ttl"))
    expires = _expiry(lookup)
    renewable = bool(lookup.get("renewable"))
    facts: dict[str, Any] = {
        "method": found.method,
        "policies": _policies(lookup),
        "ttl_s": ttl,
        "renewable": renewable,
        "expires_at": expires.isoformat() if expires else None,
        "namespace": lookup.get("namespace_path") or _spec(ctx.connector).namespace,
    }
    ctx.note(**facts)
    if expires is None:
        return  # no expiry (root or periodic-without-TTL tokens)
    now = datetime.now(timezone.utc)
    left_s = (expires - now).total_seconds()
    if left_s <= 0:
        ctx.fail(
            "credentials-expired", f"the Vault token expired at {expires.isoformat()}", **facts
        )
        return
    renewal = _spec(ctx.connector).renewal_interval_minutes
    if renewal and renewable and left_s < renewal * 60:
        ctx.warn(
            "credentials-expiring",
            f"the Vault token has {left_s:.0f} s left, less than renewalIntervalMinutes"
            f" ({renewal} min): it expires before Harness renews it",
            days_left=round(left_s / 86400, 3), **facts,
        )  # fmt: skip
        return
    warning_days = ctx.settings.defaults.credentialExpiryWarningDays
    if renewable and renewal:
        hard = _hard_limit(lookup)
        hard_left_s = (hard - now).total_seconds() if hard is not None else None
        if hard is not None and hard_left_s is not None and hard_left_s <= warning_days * 86400:
            ctx.warn(
                "credentials-expiring",
                f"the Vault token cannot be renewed past its explicit_max_ttl: it lapses at"
                f" {hard.isoformat()} ({hard_left_s / 86400:.1f} days left) however often"
                " Harness renews it",
                days_left=round(hard_left_s / 86400, 3), max_expires_at=hard.isoformat(),
                **facts,
            )  # fmt: skip
        return
    if left_s <= warning_days * 86400:
        ctx.warn(
            "credentials-expiring",
            f"the Vault token expires at {expires.isoformat()} ({left_s / 86400:.1f} days left)"
            + ("" if renewable else " and cannot be renewed"),
            days_left=round(left_s / 86400, 3), **facts,
        )  # fmt: skip


# -- permissions --------------------------------------------------------------------------------


def _engine(spec: VaultSpec) -> tuple[str, int]:
    return (spec.engine_name or "secret").strip("/"), spec.engine_version or 2


def required_paths(connector: Connector, expected: Any) -> dict[str, tuple[str, ...]]:
    """Path → capabilities the connector needs (the ``vault.paths`` expectation wins)."""
    if isinstance(expected, dict) and expected:
        return {
            str(path).lstrip("/"): tuple(str(c) for c in (caps or []))
            for path, caps in expected.items()
        }
    spec = _spec(connector)
    engine, version = _engine(spec)
    base = spec.base_path.strip("/")
    data_prefix = f"{engine}/data" if version == 2 else engine
    list_prefix = f"{engine}/metadata" if version == 2 else engine
    data_path = "/".join(p for p in (data_prefix, base, PROBE_SECRET) if p)
    list_path = "/".join(p for p in (list_prefix, base) if p) + "/"
    if spec.read_only:
        return {data_path: ("read",), list_path: ("list",)}
    return {data_path: ("create", "read", "update", "delete"), list_path: ("list",)}


def _granted(have: list[str], want: str) -> bool:
    if "deny" in have:
        return False
    return "root" in have or want in have


def check_permissions(ctx: CheckContext) -> None:
    hvac = _hvac()
    found = login(ctx)
    vault = client(ctx, token=found.token)
    spec = _spec(ctx.connector)
    expected = ctx.expectations.provider.get("vault", {}).get("paths")
    wanted = required_paths(ctx.connector, expected)
    try:
        with translated(ctx, "asking sys/capabilities-self"):
            answer = _json(
                vault.adapter.post("/v1/sys/capabilities-self", json={"paths": list(wanted)})
            )
    except hvac.exceptions.Forbidden:
        _capabilities_denied(ctx, found, wanted)
    inner = answer.get("data")
    data: dict[str, Any] = inner if isinstance(inner, dict) else answer
    capabilities = {path: list(data.get(path) or []) for path in wanted}
    missing = {
        path: [c for c in caps if not _granted(capabilities[path], c)]
        for path, caps in wanted.items()
    }
    missing = {path: caps for path, caps in missing.items() if caps}
    ctx.note(capabilities=capabilities, required=dict(wanted))
    if expected is None:
        _check_engine(ctx, vault, hvac)
    if missing:
        shown = "; ".join(f"{', '.join(caps)} on {path}" for path, caps in missing.items())
        raise Failure(
            "insufficient-permissions",
            f"the token's policies ({', '.join(_policies(found.lookup)) or 'none'})"
            f" lack {shown}"
            + (" (readOnly connector)" if spec.read_only and expected is None else ""),
            missing=[f"{path}: {', '.join(caps)}" for path, caps in missing.items()],
            capabilities=capabilities,
            policies=_policies(found.lookup),
        )


def _capabilities_denied(
    ctx: CheckContext, found: Login, wanted: dict[str, tuple[str, ...]]
) -> NoReturn:
    """Even ``sys/capabilities-self`` was refused: usually a token of another namespace."""
    spec = _spec(ctx.connector)
    token_ns = str(found.lookup.get("namespace_path") or "").strip("/")
    connector_ns = (spec.namespace or "").strip("/")
    hint = ""
    if token_ns != connector_ns:
        hint = (
            f": the token belongs to namespace '{token_ns or 'root'}' but the connector's"
            f" requests go to '{connector_ns or 'root'}' (namespace field)"
        )
    raise Failure(
        "insufficient-permissions",
        f"Vault refused sys/capabilities-self, so the token can do nothing on the connector's"
        f" paths{hint}",
        missing=[f"{path}: {', '.join(caps)}" for path, caps in wanted.items()],
        policies=_policies(found.lookup),
        token_namespace=token_ns or "root",
        namespace=connector_ns or "root",
    )


def _check_engine(ctx: CheckContext, vault: hvac.Client, hvac: Any) -> None:
    spec = _spec(ctx.connector)
    engine, version = _engine(spec)
    try:
        with translated(ctx, "reading the engine's mount"):
            mount = _json(vault.adapter.get(f"/v1/sys/internal/ui/mounts/{engine}"))
    except (hvac.exceptions.Forbidden, hvac.exceptions.InvalidPath, hvac.exceptions.InvalidRequest):
        ctx.note(engine={"path": engine, "visible": False})
        return  # no capability under the mount at all: the missing capabilities say so
    data: dict[str, Any] = mount.get("data") or {}
    kind = data.get("type")
    actual = str((data.get("options") or {}).get("version") or "1") if kind == "kv" else None
    ctx.note(engine={"path": engine, "type": kind, "kv_version": actual})
    if kind is not None and kind != "kv":
        raise Failure(
            "incorrect-endpoint",
            f"the secret engine '{engine}' is of type {kind}, not a KV engine",
            url=_url(ctx), problem=f"engine {engine} is {kind}",
        )  # fmt: skip
    if actual is not None and spec.engine_version and int(actual) != spec.engine_version:
        raise Failure(
            "incorrect-endpoint",
            f"the secret engine '{engine}' is KV v{actual}, but secretEngineVersion says"
            f" {spec.engine_version}: every read and write would use the wrong paths",
            url=_url(ctx), problem=f"KV v{actual} vs secretEngineVersion {version}",
        )  # fmt: skip


def _guarded(run: Callable[[CheckContext], None]) -> Callable[[CheckContext], None]:
    """Any other error status Vault answers with is named, never a traceback."""

    def guarded(ctx: CheckContext) -> None:
        hvac = _hvac()
        try:
            run(ctx)
        except hvac.exceptions.VaultError as exc:
            url = _url(ctx)
            raise Failure(
                "incorrect-endpoint",
                f"{url} answered {type(exc).__name__} ({_vault_errors(exc)}) on"
                f" {getattr(exc, 'method', None) or 'a request to'} {_path_of(exc)}",
                url=url, problem=f"{type(exc).__name__}: {_vault_errors(exc)}",
            ) from None  # fmt: skip

    guarded.__doc__ = run.__doc__
    return guarded


def _path_of(exc: BaseException) -> str:
    url = str(getattr(exc, "url", "") or "")
    return "/" + url.split("/", 3)[3] if url.count("/") >= 3 else "Vault"


PROVIDES = {
    "health": _guarded(check_health),
    "auth": _guarded(check_auth),
    "permissions": _guarded(check_permissions),
}
APPLIES = applies

__all__ = ["APPLIES", "PROVIDES", "Login", "client", "login", "required_paths"]
