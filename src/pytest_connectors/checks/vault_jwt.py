"""Vault JWT auth (``useJwtAuth``): what ``auth`` can vouch for without Harness's JWT.

The delegate logs in at ``auth/<jwtAuthPath>/login`` with ``{role: jwtAuthRole, jwt}``, where
the JWT is one Harness signs while it runs a task; no such token exists on this host. So
``auth`` first asks the same login endpoint with a placeholder that is not a JWT: the JWT
method loads its configuration and looks the role up before it parses the token, so its answer
says how far a real login would get (as OpenBao 2.x and Vault's JWT plugin answer):

* ``403 permission denied``: no login route at that path — nothing mounted there (an
  unauthenticated request to an unknown path), or the role's bound CIDRs exclude this host. A
  second probe, with a role name that cannot exist, tells them apart: a mounted JWT method
  answers that one with 400 "could not be found";
* ``400 could not load configuration``: a JWT method with no keys, JWKS or discovery URL;
* ``400 role "<role>" could not be found``, or ``missing role`` when the connector names none
  and the mount has no ``default_role``;
* ``400 role with oidc role_type is not allowed``: a role for browser (OIDC) logins;
* ``400 error validating token: ...``: mount and role exist, only the placeholder was refused.

A missing or unconfigured mount, or anything that is not a JWT method, is
``incorrect-endpoint`` (``jwtAuthPath`` names the wrong place; no credential was judged); an
unusable role is ``invalid-credentials`` (the role is what the delegate logs in as, like an
AppRole's role ID). Then the login itself is skipped with that reason, unless this host has a
JWT for the connector: ``vault: {jwtFile: PATH}`` in the connector's settings names a file
holding one (read at each run, so a job can refresh it). With it, ``auth`` logs in for real and
``permissions`` runs as for any other token.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

from ..model import Credential
from ..results import Failure, Skip
from ..secrets import Secret
from .context import CheckContext
from .vault import (
    _client_token,
    _hvac,
    _json,
    _not_vault,
    _spec,
    _url,
    _vault_answer,
    _vault_errors,
    client,
    translated,
)

#: The mount ``bao auth enable jwt`` / ``vault auth enable jwt`` uses; Harness documents no
#: default for an empty ``jwtAuthPath``.
DEFAULT_MOUNT = "jwt"
#: Sent instead of a JWT by the probes: never a token (no dots, so no JWS to parse).
PLACEHOLDER = "pytest-connectors-placeholder-not-a-jwt"
NO_JWT = (
    "logging in needs a JWT that Harness issues to the delegate while it runs a task, and this"
    " host has none; to log in from here, put one in a file and name it with"
    " `vault: {jwtFile: PATH}` in this connector's pytestConnectors settings"
)


def mount_of(credential: Credential) -> str:
    return (credential.values.get("jwtAuthPath") or DEFAULT_MOUNT).strip("/") or DEFAULT_MOUNT


def _login_path(mount: str) -> str:
    return f"/v1/auth/{quote(mount, safe='/')}/login"


def _jwt_file(ctx: CheckContext) -> str | None:
    found = ctx.expectations.provider.get("vault", {}).get("jwtFile")
    return str(found) if found else None


# -- the probes ---------------------------------------------------------------------------------


def _ask(ctx: CheckContext, mount: str, role: str | None, doing: str) -> tuple[int, str]:
    """(status, Vault's errors) of one login with the placeholder; a sealed, uninitialised or
    throttling server and transport trouble fail here as for any Vault call."""
    hvac = _hvac()
    vault = client(ctx)  # the placeholder is no credential: nothing to keep off plain HTTP
    body = {"jwt": PLACEHOLDER, **({"role": role} if role is not None else {})}
    path = _login_path(mount)
    with translated(ctx, doing):
        response = vault.adapter.post(path, json=body, raise_exception=False)
        if isinstance(response, dict):  # 200: a real JWT method never accepts the placeholder
            _not_vault(ctx, doing, "a login answer for a placeholder that is not a JWT")
        status = int(response.status_code)
        if 300 <= status < 400:
            _vault_answer(ctx, response, doing)  # a redirect: incorrect-endpoint
        errors = _json(response).get("errors")
        text = "; ".join(str(e) for e in errors) if isinstance(errors, list) else ""
        if status in (429, 501, 503):
            hvac.utils.raise_for_error("post", path, status, errors=errors, text=response.text)
    return status, text or f"status {status}"


def _kind_of(status: int, errors: str) -> str:
    if status in (403, 404):
        return "no-route"
    if status != 400:
        return "other"
    if "could not load configuration" in errors:
        return "unconfigured"
    if "could not be found" in errors:
        return "no-role"
    if errors.strip() == "missing role":
        return "no-default-role"
    if "oidc role_type" in errors:
        return "oidc-role"
    if "token" in errors:
        return "token-refused"
    return "other"


def probe(ctx: CheckContext, credential: Credential) -> None:
    """Mount and role as far as they can be judged without a JWT; then the login, or a skip."""
    mount = mount_of(credential)
    role = credential.values.get("jwtAuthRole")
    shown_role = f"role '{role}'" if role else "the mount's default_role"
    url = f"{_url(ctx)}{_login_path(mount)}"
    facts: dict[str, Any] = {"method": "Jwt", "mount": mount, "role": role or "(default_role)"}
    namespace = _spec(ctx.connector).namespace
    if namespace:
        facts["namespace"] = namespace
    if not credential.values.get("jwtAuthPath"):
        facts["mount_assumed"] = f"no jwtAuthPath: assumed '{DEFAULT_MOUNT}'"
    status, errors = _ask(ctx, mount, role, f"asking auth/{mount}/login about {shown_role}")
    kind = _kind_of(status, errors)
    ctx.note(**facts, probe=f"{status} {errors}")
    if kind == "no-route":
        _mount_probe(ctx, mount, url, namespace)
        ctx.note(role_bound_cidrs=f"{shown_role} exists, but its bound CIDRs exclude this host")
    elif kind in ("no-role", "no-default-role", "oidc-role"):
        why = {
            "no-role": f"auth/{mount} has no {shown_role}",
            "no-default-role": f"the connector names no jwtAuthRole and auth/{mount} has no"
            " default_role",
            "oidc-role": f"{shown_role} is for browser (OIDC) logins; a JWT login needs a role"
            " of role_type jwt",
        }[kind]
        raise Failure(
            "invalid-credentials", f"{why} ({errors})", provider_error=errors, **facts
        )  # fmt: skip
    elif kind != "token-refused":
        _not_usable(mount, url, kind, status, errors)
    ctx.note(verified=f"auth/{mount} is a JWT auth method and {shown_role} exists")
    if _jwt_file(ctx) is None:
        raise Skip(f"auth/{mount} and {shown_role} exist (asked without a JWT), but {NO_JWT}")


def _mount_probe(ctx: CheckContext, mount: str, url: str, namespace: str | None) -> None:
    """The connector's role got 403: is a JWT method mounted there at all?"""
    unlikely = f"pytest-connectors-probe-{secrets.token_hex(4)}"
    status, errors = _ask(ctx, mount, unlikely, f"asking whether auth/{mount} is mounted")
    kind = _kind_of(status, errors)
    ctx.note(mount_probe=f"{status} {errors}")
    if kind != "no-role":
        where = f" in namespace '{namespace}'" if namespace and kind == "no-route" else ""
        _not_usable(mount, url, kind, status, errors, where)


_WHY_UNUSABLE = {
    "no-route": "no auth method is mounted at auth/{mount}{where}",
    "unconfigured": "the JWT method at auth/{mount} has no configuration (no JWKS or OIDC"
    " discovery URL, no public keys), so it accepts no JWT",
}


def _not_usable(
    mount: str, url: str, kind: str, status: int, errors: str, where: str = ""
) -> NoReturn:
    """``jwtAuthPath`` names no usable JWT method: the endpoint is wrong, not a credential."""
    template = _WHY_UNUSABLE.get(kind, "auth/{mount} is not a JWT auth method")
    why = template.format(mount=mount, where=where)
    raise Failure(
        "incorrect-endpoint",
        f"jwtAuthPath '{mount}': {why} (Vault answered {status} {errors})",
        url=url, problem=f"jwtAuthPath '{mount}': {why}",
    )  # fmt: skip


# -- the login ----------------------------------------------------------------------------------


def login_token(ctx: CheckContext, credential: Credential) -> str:
    """The token a login with this host's JWT (``vault.jwtFile``) gets; a skip without one."""
    hvac = _hvac()
    setting = _jwt_file(ctx)
    if setting is None:
        raise Skip(NO_JWT)
    mount = mount_of(credential)
    role = credential.values.get("jwtAuthRole")
    path = Path(setting).expanduser()
    facts = {"method": "Jwt", "mount": mount, "role": role or "(default_role)", "jwt_file": setting}
    try:
        jwt = Secret(path.read_text(encoding="utf-8").strip(), str(path), "file")
    except (OSError, UnicodeDecodeError) as exc:
        raise Failure(
            "invalid-credentials",
            f"the JWT file {path} (vault.jwtFile) cannot be read on this host"
            f" ({getattr(exc, 'strerror', None) or exc})",
            **facts,
        ) from None
    if not jwt.reveal():
        raise Failure("invalid-credentials", f"the JWT file {path} is empty", **facts)
    vault = client(ctx, token=None, credential=True)
    body = {"jwt": jwt.reveal(), **({"role": role} if role else {})}
    try:
        with translated(ctx, f"logging in at auth/{mount}"):
            answer = vault.adapter.post(_login_path(mount), json=body)
    except (hvac.exceptions.InvalidRequest, hvac.exceptions.Forbidden) as exc:
        raise Failure(
            "invalid-credentials",
            f"Vault refused the JWT from {path} at auth/{mount}: {_vault_errors(exc)}",
            provider_error=_vault_errors(exc), **facts,
        ) from None  # fmt: skip
    except hvac.exceptions.InvalidPath:
        raise Failure(
            "incorrect-endpoint", f"no auth method is mounted at auth/{mount} (jwtAuthPath)",
            url=f"{_url(ctx)}{_login_path(mount)}", problem=f"nothing at auth/{mount}/login",
        ) from None  # fmt: skip
    return _client_token(ctx, answer, f"the login at auth/{mount}")
