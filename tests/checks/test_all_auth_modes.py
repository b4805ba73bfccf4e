"""No false alarms: a healthy connector of every supported auth mode, all in one run, passes
every check.

One sandbox holds a GitHub, a GitLab, a Bitbucket Server, a Bitbucket Cloud, a Git smart-HTTP
server and three Docker registries (Basic, bearer-token challenge, anonymous); each is set up
so that its connectors are healthy. The run's JSON report must then show no failed and no
warned item: only the one item that has nothing to check (``auth`` of an anonymous GitHub
connector) may be skipped, and every connector must have had its provider checks.
"""

from __future__ import annotations

import json
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pytest_connectors.sandbox import Sandbox

from .conftest import HOST_PRESSURE, SECRET_TOKEN
from .test_bitbucket import bitbucket, bitbucket_cloud, cloud_settings
from .test_git import git_repo
from .test_github import github_repo
from .test_github_app import APP_ID, INSTALLATION, KEY_REF, github_app_repo
from .test_gitlab import PROJECT, gitlab_repo
from .test_registry import registry_connector

REPO = "acme/app"  # GitHub and Bitbucket Cloud
PUBLIC_REPO = "acme/public"  # what the anonymous GitHub connector reads
GIT_REPO = "org/app.git"

#: Every secret value of the run, by reference (all distinct, so a leak names its source).
SECRETS = {
    "account.gh_classic": "ghp_AllModesClassicToken0123456789abcdefAB",
    "account.gh_fine": "github_pat_11ALLMODES0fineGrained_0123456789abcdef",
    "account.gh_oauth": "gho_AllModesOAuthToken0123456789abcdefABCD",
    "account.gh_password": "ghp_AllModesTokenAsPassword0123456789abcd",
    "account.gl_pat": "glpat-AllModesToken0123456789",
    "account.gl_oauth": "AllModesGitLabOAuthToken0123456789abcdef",
    "account.bb_secret": "Bb-AllModes-Passw0rd-xyz",
    "account.bb_token": "BBDC-AllModesRepositoryToken0123456789",
    "account.bbc_pw": "ATBB-AllModesAppPassw0rd-0123456789abcdef",
    "account.bbc_token": "ATCTT3xFfGN0-AllModesAccessToken-0123456789",
    "account.git_pw": "git-AllModes-Passw0rd-value",
    "account.reg_pw": "reg-AllModes-Passw0rd-value",
}

#: The provider checks each connector must have had (and passed, unless listed in SKIPPED).
PROVIDER_CHECKS = {
    "gh_classic": {"auth", "permissions", "rate_limit"},
    "gh_fine": {"auth", "permissions", "rate_limit"},
    "gh_oauth": {"auth", "permissions", "rate_limit"},
    "gh_password": {"auth", "permissions", "rate_limit"},
    "gh_app": {"auth", "permissions", "rate_limit"},
    "gh_anon": {"auth", "permissions", "rate_limit"},
    "gl_token": {"auth", "permissions", "rate_limit"},
    "gl_oauth": {"auth", "permissions", "rate_limit"},
    "bb_basic": {"auth", "permissions"},
    "bb_bearer": {"auth", "permissions"},
    "bbc_app": {"auth", "permissions"},
    "bbc_token": {"auth", "permissions"},
    "git_http": {"auth"},
    "reg_basic": {"auth"},
    "reg_bearer": {"auth"},
    "reg_anon": {"auth"},
}
#: Items with nothing to check, and why (the skip reason starts so).
SKIPPED = {("gh_anon", "auth"): "anonymous access: no credential to authenticate"}


def _github(identifier: str, url: str, authentication: str, api: str = "") -> str:
    """A Github Repo connector with the given ``authentication.spec`` and ``apiAccess``."""
    lines = [
        "connector:",
        f"  name: {identifier}",
        f"  identifier: {identifier}",
        "  type: Github",
        "  spec:",
        "    type: Repo",
        f"    url: {url}",
        "    authentication:",
        "      type: Http",
        f"      spec: {authentication}",
    ]
    if api:
        lines.append(f"    apiAccess: {api}")
    lines.append("    delegateSelectors: [demo]")
    return "\n".join(lines) + "\n"


def _renamed(doc: str, old: str, new: str) -> str:
    assert old in doc, (old, doc)
    return doc.replace(old, new)


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public.decode()


def test_every_auth_mode_healthy_together_raises_no_false_alarm(
    sb: Sandbox, run_connectors, app_key: rsa.RSAPrivateKey
):
    s = SECRETS
    docs: list[str] = []

    # GitHub: classic PAT, fine-grained PAT, OAuth, UsernamePassword (a token), App, Anonymous
    github, gh = sb.github()
    gh.add_token(s["account.gh_classic"], login="classic-bot", repos={REPO})
    gh.add_token(s["account.gh_fine"], login="fine-bot", scopes=None, repos={REPO})
    gh.add_token(s["account.gh_oauth"], login="oauth-user", repos={REPO})
    gh.add_token(s["account.gh_password"], login="ci-bot", repos={REPO})
    gh.add_app(APP_ID, _public_pem(app_key), {INSTALLATION: {"repos": {REPO}}})
    gh.public_repos.add(PUBLIC_REPO)
    repo_url = f"{github.url}/{REPO}"
    docs += [
        github_repo("gh_classic", repo_url, token_ref="account.gh_classic"),
        github_repo("gh_fine", repo_url, token_ref="account.gh_fine"),
        _github(
            "gh_oauth",
            repo_url,
            "{type: OAuth, spec: {tokenRef: account.gh_oauth}}",
            "{type: OAuth, spec: {tokenRef: account.gh_oauth}}",
        ),
        _github(
            "gh_password",
            repo_url,
            "{type: UsernamePassword, spec: {username: ci-bot, passwordRef: account.gh_password}}",
        ),
        github_app_repo("gh_app", repo_url),
        _github("gh_anon", f"{github.url}/{PUBLIC_REPO}", "{type: Anonymous}"),
    ]

    # GitLab: personal access token (PRIVATE-TOKEN) and OAuth (Bearer)
    gitlab, gl = sb.gitlab()
    gl.add_token(s["account.gl_pat"], username="bot", scopes=["api"], projects={PROJECT})
    gl.add_token(s["account.gl_oauth"], username="oauth-bot", scopes=["api"], projects={PROJECT})
    docs += [
        gitlab_repo("gl_token", gitlab.url, token_ref="account.gl_pat"),
        # an OAuth apiAccess has no apiUrl (GitlabOauthDTO): the API comes from the URL's host
        re.sub(
            r"\n *apiUrl: .*",
            "",
            _renamed(
                gitlab_repo("gl_oauth", gitlab.url, token_ref="account.gl_oauth"),
                "apiAccess:\n      type: Token",
                "apiAccess:\n      type: OAuth",
            ),
        ),
    ]

    # Bitbucket Server: username + password (Basic) and a repository HTTP access token (Bearer)
    server, bb = sb.bitbucket()
    bb.add_user("bot", password=s["account.bb_secret"], repositories={"PROJ/app"})
    bb.add_repository_token(s["account.bb_token"], {"PROJ/app"})
    server_repo = f"{server.url}/scm/proj/app.git"
    docs += [
        bitbucket("bb_basic", server_repo),
        _renamed(
            bitbucket("bb_bearer", server_repo, api="oauth"),
            "tokenRef: account.bb_secret",
            "tokenRef: account.bb_token",
        ),
    ]

    # Bitbucket Cloud: username + app password (Basic) and an access token (Bearer)
    cloud, bbc = sb.bitbucket_cloud()
    bbc.add_user("bot", s["account.bbc_pw"], repositories={REPO})
    bbc.add_access_token(s["account.bbc_token"], {REPO})
    docs += [
        bitbucket_cloud("bbc_app", cloud.url, password_ref="account.bbc_pw"),
        _renamed(
            bitbucket_cloud("bbc_token", cloud.url, password_ref="account.bbc_pw", api="oauth"),
            "tokenRef: account.bb_secret",
            "tokenRef: account.bbc_token",
        ),
    ]

    # Generic Git over HTTP (what git ls-remote does)
    git, git_fake = sb.git_http()
    git_fake.add_user("ci", s["account.git_pw"], repos={GIT_REPO})
    docs.append(git_repo("git_http", f"{git.url}/{GIT_REPO}"))

    # Docker registries: Basic, the bearer-token challenge, anonymous
    basic, reg_basic = sb.registry("registry-basic.sandbox.test", token_server=False)
    bearer, reg_bearer = sb.registry("registry-bearer.sandbox.test")
    anon, _ = sb.registry("registry-anon.sandbox.test", anonymous=True)
    reg_basic.add_user("bot", s["account.reg_pw"])
    reg_bearer.add_user("bot", s["account.reg_pw"])
    docs += [
        registry_connector("reg_basic", basic.url),
        registry_connector("reg_bearer", bearer.url),
        registry_connector("reg_anon", anon.url, anonymous=True),
    ]

    run = run_connectors(
        *docs,
        settings=cloud_settings(cloud.url, "bbc_app", "bbc_token"),
        secrets={**s, KEY_REF: _pem(app_key)},
        timeout=5.0,  # sixteen connectors on a shared machine: no timeout-too-low by load
    )

    # every connector was checked, with the provider checks of its type and auth mode
    outcomes = run.outcomes()
    checked = {identifier for identifier, _ in outcomes}
    assert checked == set(PROVIDER_CHECKS), sorted(checked ^ set(PROVIDER_CHECKS))
    for identifier, expected in PROVIDER_CHECKS.items():
        present = {check for (who, check) in outcomes if who == identifier}
        assert expected <= present, (identifier, sorted(expected - present))

    # ... and nothing failed or warned; only the anonymous GitHub auth had nothing to check
    alarms = {
        key: value
        for key, value in outcomes.items()
        if value[0] != "passed" and not (key in SKIPPED and value[0] == "skipped")
    }
    assert not alarms, json.dumps({f"{k[0]}[{k[1]}]": v for k, v in alarms.items()}, indent=1)
    for key, reason in SKIPPED.items():
        assert str(outcomes[key][2]).startswith(reason), outcomes[key]
    summary = run.report["summary"]
    assert summary["failed"] == 0 and summary["connectors"] == len(PROVIDER_CHECKS)
    warned = [
        c["name"]
        for record in run.report["connectors"]
        for c in record["checks"]
        if c["outcome"] == "warning"
        and any(f["failure_mode"] != HOST_PRESSURE for f in c.get("findings") or [])
    ]
    assert not warned  # a warning about this host's load is not about a connector
    assert run.result.ret == 0
    assert "failed" not in run.counts

    # the credentials were used where they belong, and appear in no output
    assert gh.authorized_requests("/user") >= 4  # classic, fine-grained, OAuth, password
    assert gh.authorized_requests("/app") >= 1
    assert bbc.authorized_requests(f"/repositories/{REPO}") >= 2
    # the anonymous connector sent no credential for the public repository
    assert not [r for r in gh.requests if PUBLIC_REPO in r[1] and r[2]]
    report = json.dumps(run.report)
    for value in [*s.values(), SECRET_TOKEN, *gh.installation_tokens]:
        assert value not in run.text
        assert value not in report
    key_line = _pem(app_key).splitlines()[1]  # a line of the GitHub App's private key
    assert key_line not in run.text and key_line not in report
