"""Source-code managers: Github, Gitlab, Bitbucket, generic Git and AzureRepo.

Github, Gitlab, Bitbucket and AzureRepo nest auth as ``authentication: {type: Http|Ssh, spec:
{type: <variant>, spec: {...}}}``; generic Git puts ``type``/``spec`` straight into its spec.
"""

from __future__ import annotations

from typing import Any

from ..masking import redact_url
from ..model import Credential, ScmSpec, SecretKind
from .reader import SpecReader

_R, _T = True, SecretKind.TEXT
_SSH = (("sshKeyRef", SecretKind.SSH_PRIVATE_KEY, True),)
_APP: dict[str, Any] = {
    "plain_or_ref": ("installationId", "applicationId"),
    "refs": (("privateKeyRef", SecretKind.PEM_PRIVATE_KEY, _R),),
}

# Per type: the HTTP variants and what each holds.
_Shape = dict[str, Any]

_HTTP_VARIANTS: dict[str, dict[str, _Shape]] = {
    "Github": {
        "UsernameToken": {"plain_or_ref": ("username",), "refs": (("tokenRef", _T, _R),)},
        "UsernamePassword": {"plain_or_ref": ("username",), "refs": (("passwordRef", _T, _R),)},
        "GithubApp": _APP,
        "OAuth": {"refs": (("tokenRef", _T, _R),)},
        "Anonymous": {},
    },
    "Gitlab": {
        "UsernamePassword": {"plain_or_ref": ("username",), "refs": (("passwordRef", _T, _R),)},
        "UsernameToken": {"plain_or_ref": ("username",), "refs": (("tokenRef", _T, _R),)},
        "Kerberos": {"refs": (("kerberosKeyRef", _T, _R),)},
        "OAuth": {"refs": (("tokenRef", _T, _R), ("refreshTokenRef", _T, False))},
    },
    "Bitbucket": {
        "UsernamePassword": {"plain_or_ref": ("username",), "refs": (("passwordRef", _T, _R),)},
    },
    "AzureRepo": {
        "UsernameToken": {"plain_or_ref": ("username",), "refs": (("tokenRef", _T, _R),)},
    },
}

_API_VARIANTS: dict[str, dict[str, _Shape]] = {
    "Github": {
        "Token": {"refs": (("tokenRef", _T, _R),)},
        "GithubApp": _APP,
        "OAuth": {"refs": (("tokenRef", _T, _R),)},
    },
    "Gitlab": {
        "Token": {"refs": (("tokenRef", _T, _R),)},
        "OAuth": {"refs": (("tokenRef", _T, _R), ("refreshTokenRef", _T, False))},
    },
    "Bitbucket": {
        "UsernameToken": {"plain_or_ref": ("username",), "refs": (("tokenRef", _T, _R),)},
        "OAuth": {"refs": (("tokenRef", _T, _R), ("refreshTokenRef", _T, False))},
        # A repository, project or workspace access token (Bearer), and an Atlassian API
        # token with the account e-mail (Basic): harness-go-sdk BitbucketAccessTokenApiAccess,
        # BitbucketEmailApiTokenApiAccess.
        "AccessToken": {"refs": (("tokenRef", _T, _R),)},
        "EmailAndApiToken": {"plain_or_ref": ("email",), "refs": (("tokenRef", _T, _R),)},
    },
    "AzureRepo": {"Token": {"refs": (("tokenRef", _T, _R),)}},
}

#: GitConnectionType (Account, Repo, Project; the UI offers Account and Repo); AzureRepo has no
#: Account.
_CONNECTION_TYPES = {
    "Github": ("Account", "Repo", "Project"),
    "Gitlab": ("Account", "Repo", "Project"),
    "Bitbucket": ("Account", "Repo", "Project"),
    "AzureRepo": ("Project", "Repo"),
}


def _read_variant(reader: SpecReader, kind: str, shape: _Shape) -> Credential:
    return reader.credential(
        kind, plain_or_ref=shape.get("plain_or_ref", ()), refs=shape.get("refs", ())
    )


def _read_auth(reader: SpecReader, connector_type: str) -> tuple[str | None, Credential | None]:
    auth = reader.sub("authentication", required=True)
    if auth is None:
        return None, None
    protocol = auth.enum("type", ("Http", "Ssh"))
    spec = auth.sub("spec", required=protocol is not None)
    if spec is None or protocol is None:
        return protocol, None
    if protocol == "Ssh":
        return protocol, spec.credential("Ssh", refs=_SSH)
    variants = _HTTP_VARIANTS[connector_type]
    kind = spec.enum("type", variants)
    if kind is None:
        return protocol, None
    shape = variants[kind]
    inner = spec.sub("spec", required=bool(shape))
    if inner is None:
        return protocol, Credential(kind)
    return protocol, _read_variant(inner, kind, shape)


def _read_api_access(
    reader: SpecReader, connector_type: str
) -> tuple[Credential | None, str | None]:
    api = reader.sub("apiAccess")
    if api is None:
        return None, None
    variants = _API_VARIANTS[connector_type]
    kind = api.enum("type", variants)
    spec = api.sub("spec", required=kind is not None)
    if kind is None or spec is None:
        return None, None
    # Only GitLab's Token variant carries apiUrl (GitlabTokenSpecDTO); with OAuth Harness drops
    # it and derives the API from the URL (the unknown-field check says so).
    with_url = connector_type == "Gitlab" and kind == "Token"
    api_url = spec.url("apiUrl", required=False) if with_url else None
    credential = _read_variant(spec, kind, variants[kind])
    if connector_type == "Bitbucket" and kind == "UsernameToken":
        _check_username_forms(reader, spec)
    return credential, api_url


def _username_form(data: Any) -> str | None:
    """``username`` or ``usernameRef``: which one a (raw) credential spec gives, if exactly one."""
    if not isinstance(data, dict):
        return None
    given = [key for key in ("username", "usernameRef") if data.get(key) not in (None, "")]
    return given[0] if len(given) == 1 else None


def _check_username_forms(reader: SpecReader, api_spec: SpecReader) -> None:
    """Harness refuses a Bitbucket connector whose HTTP username and API username are of
    different kinds ("Both usernames should be set either as secret or plain text")."""
    auth = reader.data.get("authentication")
    http = auth.get("spec") if isinstance(auth, dict) and auth.get("type") == "Http" else None
    if not isinstance(http, dict) or http.get("type") != "UsernamePassword":
        return
    http_form, api_form = _username_form(http.get("spec")), _username_form(api_spec.data)
    if http_form is None or api_form is None or http_form == api_form:
        return
    kinds = {"username": "plain text", "usernameRef": "a secret reference"}
    api_spec.error(
        api_form,
        f"the API username is {kinds[api_form]} but the HTTP username is {kinds[http_form]}:"
        " Harness requires both as plain text or both as secret references",
    )


def _check_url_shape(reader: SpecReader, url: str | None, protocol: str | None) -> None:
    if url is None or protocol is None or "<+" in url:
        return
    ssh_like = url.startswith(("git@", "ssh://")) or (":" in url and "://" not in url)
    shown = redact_url(url)
    if protocol == "Ssh" and not ssh_like:
        reader.error(
            "url", f"SSH authentication needs an SSH URL (git@host:org/repo), not '{shown}'"
        )
    elif protocol == "Http" and not url.startswith(("http://", "https://")):
        reader.error("url", f"HTTP authentication needs an http(s):// URL, not '{shown}'")


def build_hosted_scm(reader: SpecReader, connector_type: str) -> ScmSpec:
    """Github, Gitlab, Bitbucket and AzureRepo."""
    connection_type = reader.enum("type", _CONNECTION_TYPES[connector_type])
    url = reader.text("url", required=True)
    validation_repo = reader.text("validationRepo")
    protocol, auth = _read_auth(reader, connector_type)
    _check_url_shape(reader, url, protocol)
    api_access, api_url = _read_api_access(reader, connector_type)
    # validationRepo is optional (no constraint in the DTOs): without it Harness's connection
    # test skips the repository and tests the API credentials only.
    return ScmSpec(url, connection_type, validation_repo, protocol, auth, api_access, api_url)


def build_git(reader: SpecReader) -> ScmSpec:
    """Generic Git: connection and auth type sit directly in the spec."""
    connection_type = reader.enum("connectionType", ("Account", "Repo", "Project"))
    url = reader.text("url", required=True)
    validation_repo = reader.text("validationRepo")
    protocol = reader.enum("type", ("Http", "Ssh"))
    auth: Credential | None = None
    inner = reader.sub("spec", required=protocol is not None)
    if inner is not None and protocol == "Http":
        auth = inner.credential(
            "UsernamePassword",
            plain_or_ref=("username",),
            refs=(("passwordRef", SecretKind.TEXT, True),),
        )
    elif inner is not None and protocol == "Ssh":
        auth = inner.credential("Ssh", refs=_SSH)
    _check_url_shape(reader, url, protocol)
    return ScmSpec(url, connection_type, validation_repo, protocol, auth)
