"""The delegate this run acts as: selectors, NO_PROXY, and where each setting comes from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pytest_connectors.checks.context import CheckContext, RunOptions
from pytest_connectors.checks.delegate import check_delegate
from pytest_connectors.delegate import (
    DelegateContext,
    DelegateOptions,
    ProxyConfig,
    Resolver,
    build_delegate_context,
    parse_proxy_url,
)
from pytest_connectors.inventory import Inventory
from pytest_connectors.masking import MASKER
from pytest_connectors.model import Connector
from pytest_connectors.secrets import EnvironmentSource, Secret, SecretChain
from pytest_connectors.settings import DelegateEntry, ProxySettings, Settings, read_settings

NO_SECRETS = SecretChain([])
UNKNOWN_DELEGATE = DelegateContext()


# -- selector matching -----------------------------------------------------------------------


def test_selectors_are_tags_plus_name_lower_cased() -> None:
    delegate = DelegateContext(name="K8s-DMZ", tags=("Prod", "aws"))
    assert delegate.selectors == frozenset({"k8s-dmz", "prod", "aws"})
    assert delegate.identity_known


@pytest.mark.parametrize(
    ("selectors", "qualifies"),
    [
        ((), True),
        (("prod",), True),
        (("PROD", "AWS"), True),  # case-insensitive
        (("k8s-dmz",), True),  # the delegate's name is a selector
        (("K8S-DMZ", "prod"), True),
        (("prod", "gcp"), False),  # all selectors are needed
        (("k8s",), False),  # no prefix matching
    ],
)
def test_qualifies(selectors: tuple[str, ...], qualifies: bool) -> None:
    delegate = DelegateContext(name="K8s-DMZ", tags=("Prod", "aws"))
    assert delegate.qualifies(selectors) is qualifies


def test_unknown_delegate_has_only_its_tags() -> None:
    delegate = DelegateContext(tags=("a",))
    assert not delegate.identity_known
    assert delegate.selectors == frozenset({"a"})


def test_inventory_entry_selectors_include_its_name() -> None:
    assert DelegateEntry("Edge", ("X",)).selectors == frozenset({"edge", "x"})


# -- NO_PROXY -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "host", "exempt"),
    [
        ((".corp",), "git.corp", True),
        ((".corp",), "a.b.corp", True),
        ((".corp",), "corp", True),
        (("corp",), "git.corp", True),  # a bare entry is a domain suffix too
        (("corp",), "notcorp", False),  # ... on a label boundary
        (("*.corp",), "git.corp", True),
        (("git.corp",), "git.corp", True),
        (("git.corp",), "other.corp", False),
        ((".CORP",), "Git.Corp.", True),  # case and a trailing dot do not matter
        ((" .corp ", ""), "git.corp", True),
        (("",), "git.corp", False),
        ((".corp", "10.0.0.1"), "10.0.0.1", True),
        (("10.0.0.0/8",), "10.1.2.3", False),  # CIDR is not supported, as on the delegate
        ((), "git.corp", False),
    ],
)
def test_no_proxy_is_a_list_of_domain_suffixes(
    entries: tuple[str, ...], host: str, exempt: bool
) -> None:
    proxy = ProxyConfig("http", "proxy.corp", 3128, no_proxy=entries)
    assert proxy.exempts(host) is exempt


# -- proxy URL and resolvers -----------------------------------------------------------------


def test_proxy_url_credentials_become_secrets() -> None:
    proxy = parse_proxy_url("http://bob:s%40uce-77@proxy.corp:8080", ("corp",))
    assert (proxy.scheme, proxy.host, proxy.port) == ("http", "proxy.corp", 8080)
    assert proxy.url == "http://proxy.corp:8080"
    assert proxy.user is not None and proxy.user.reveal() == "bob"
    assert proxy.password is not None and proxy.password.reveal() == "s@uce-77"
    assert "s@uce-77" not in repr(proxy)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("proxy.corp", "http://proxy.corp:3128"),
        ("https://proxy.corp", "https://proxy.corp:443"),
        ("http://proxy.corp:81", "http://proxy.corp:81"),
    ],
)
def test_proxy_url_defaults(url: str, expected: str) -> None:
    assert parse_proxy_url(url).url == expected


def test_proxy_url_without_host() -> None:
    with pytest.raises(ValueError, match="names no host"):
        parse_proxy_url("http://:8080")


@pytest.mark.parametrize(
    ("text", "resolver"),
    [
        ("10.0.0.2", Resolver("10.0.0.2", 53)),
        ("10.0.0.2:5353", Resolver("10.0.0.2", 5353)),
        ("[::1]:5353", Resolver("::1", 5353)),
        ("[::1]", Resolver("::1", 53)),
        ("::1", Resolver("::1", 53)),
    ],
)
def test_resolver_parse(text: str, resolver: Resolver) -> None:
    assert Resolver.parse(text) == resolver
    assert str(resolver) == f"{resolver.address}:{resolver.port}"


# -- precedence: command line > inventory > environment ---------------------------------------


def _settings(*entries: DelegateEntry) -> Settings:
    return Settings(delegates=entries)


ENTRY = DelegateEntry(
    "edge",
    tags=("inv-tag",),
    proxy=ProxySettings("http://inv-proxy:3128", no_proxy=(".inv",)),
    resolvers=("10.9.9.9",),
    ca_bundle="/inv/ca.pem",
    region="eu-west-1",
    connected=False,
    healthy=True,
)
ENVIRON = {
    "DELEGATE_NAME": "edge",
    "DELEGATE_TAGS": "env-a, env-b",
    "PROXY_HOST": "env-proxy",
    "PROXY_PORT": "8888",
    "NO_PROXY": ".env",
}


def test_environment_alone() -> None:
    context = build_delegate_context(DelegateOptions(), Settings(), ENVIRON, NO_SECRETS)
    assert context.name == "edge"
    assert context.tags == ("env-a", "env-b")
    assert context.proxy is not None and context.proxy.url == "http://env-proxy:8888"
    assert context.proxy.no_proxy == (".env",)
    assert context.resolvers == ()
    assert (context.connected, context.healthy) == (None, None)


def test_inventory_beats_the_environment() -> None:
    context = build_delegate_context(DelegateOptions(), _settings(ENTRY), ENVIRON, NO_SECRETS)
    assert context.name == "edge"  # the name selects the inventory entry
    assert context.tags == ("inv-tag",)
    assert context.proxy is not None and context.proxy.url == "http://inv-proxy:3128"
    assert context.proxy.no_proxy == (".inv",)
    assert context.resolvers == (Resolver("10.9.9.9"),)
    assert (context.ca_bundle, context.region) == ("/inv/ca.pem", "eu-west-1")
    assert (context.connected, context.healthy) == (False, True)


def test_command_line_beats_inventory_and_environment() -> None:
    options = DelegateOptions(
        name="EDGE",
        tags="cli-a,cli-b",
        dns="1.1.1.1:53,8.8.8.8",
        proxy="http://cli-proxy:9000",
        ca_bundle="/cli/ca.pem",
    )
    context = build_delegate_context(options, _settings(ENTRY), ENVIRON, NO_SECRETS)
    assert context.name == "EDGE"
    assert context.tags == ("cli-a", "cli-b")
    assert context.resolvers == (Resolver("1.1.1.1"), Resolver("8.8.8.8"))
    assert context.proxy is not None and context.proxy.url == "http://cli-proxy:9000"
    assert context.proxy.no_proxy == (".env",)  # a CLI proxy keeps the environment's NO_PROXY
    assert context.ca_bundle == "/cli/ca.pem"
    assert context.region == "eu-west-1"  # the entry still matches (case-insensitively)


def test_command_line_name_selects_the_inventory_entry() -> None:
    other = DelegateEntry("other", tags=("other-tag",))
    context = build_delegate_context(
        DelegateOptions(name="other"), _settings(ENTRY, other), ENVIRON, NO_SECRETS
    )
    assert context.tags == ("other-tag",)


def test_empty_tags_on_the_command_line_win() -> None:
    context = build_delegate_context(
        DelegateOptions(tags=""), _settings(ENTRY), ENVIRON, NO_SECRETS
    )
    assert context.tags == ()


def test_name_not_in_inventory_falls_back_to_the_environment() -> None:
    context = build_delegate_context(
        DelegateOptions(name="elsewhere"), _settings(ENTRY), ENVIRON, NO_SECRETS
    )
    assert context.tags == ("env-a", "env-b")
    assert context.proxy is not None and context.proxy.host == "env-proxy"


def test_environment_proxy_credentials_and_scheme() -> None:
    environ = {
        "PROXY_HOST": "p.corp",
        "PROXY_SCHEME": "https",
        "PROXY_USER": "alice",
        "PROXY_PASSWORD": "env-proxy-pw-61",
        "no_proxy": "a.corp,b.corp",
    }
    context = build_delegate_context(DelegateOptions(), Settings(), environ, NO_SECRETS)
    proxy = context.proxy
    assert proxy is not None
    assert proxy.url == "https://p.corp:443"
    assert proxy.user is not None and proxy.user.reveal() == "alice"
    assert proxy.password is not None and proxy.password.reveal() == "env-proxy-pw-61"
    assert proxy.no_proxy == ("a.corp", "b.corp")
    assert "env-proxy-pw-61" not in str(context.summary())


def test_inventory_proxy_credentials_come_from_secrets() -> None:
    entry = DelegateEntry(
        "edge",
        proxy=ProxySettings(
            "http://p.corp:3128",
            user_ref=read_settings_ref("account.proxy_user"),
            password_ref=read_settings_ref("account.proxy_pw"),
        ),
    )
    secrets = SecretChain(
        [EnvironmentSource({"CONNECTOR_SECRET_ACCOUNT_proxy_user": "inv-user-3a"})]
    )
    context = build_delegate_context(DelegateOptions(name="edge"), _settings(entry), {}, secrets)
    assert context.proxy is not None
    assert context.proxy.user is not None and context.proxy.user.reveal() == "inv-user-3a"
    assert context.proxy.password is None
    (problem,) = context.problems
    assert problem.startswith("proxy password account.proxy_pw: secret 'proxy_pw' at account")


def read_settings_ref(raw: str) -> Any:
    from pytest_connectors.refs import Reference

    return Reference.parse(raw)


def test_bad_proxy_is_a_problem_not_an_exception() -> None:
    context = build_delegate_context(DelegateOptions(proxy="http://:1"), Settings(), {}, NO_SECRETS)
    assert context.proxy is None
    assert context.problems == ("proxy: proxy URL 'http://:1' names no host",)


def test_summary_is_json_safe() -> None:
    context = DelegateContext(
        name="d",
        tags=("a",),
        proxy=ProxyConfig("http", "p", 1, no_proxy=(".x",)),
        resolvers=(Resolver("10.0.0.1"),),
    )
    assert context.summary() == {
        "name": "d",
        "tags": ["a"],
        "proxy": "http://p:1",
        "no_proxy": [".x"],
        "resolvers": ["10.0.0.1:53"],
        "ca_bundle": None,
    }


def test_delegates_in_a_settings_document(load_yaml: Callable[[str], list[Any]]) -> None:
    (document,) = load_yaml(
        """
        pytestConnectors:
          delegates:
            - name: edge
              tags: [a, b]
              connected: false
              resolvers: ["10.0.0.2:5353"]
              proxy: {url: "http://p.corp:3128", noProxy: [.corp], passwordRef: account.pw}
        """
    )
    parsed = read_settings(document.data["pytestConnectors"])
    assert parsed.errors == ()
    (entry,) = parsed.settings.delegates
    assert (entry.name, entry.tags, entry.connected, entry.healthy) == (
        "edge",
        ("a", "b"),
        False,
        True,
    )
    assert entry.proxy is not None and entry.proxy.no_proxy == (".corp",)
    assert entry.proxy.password_ref is not None and entry.proxy.password_ref.raw == "account.pw"


# -- the delegate check ---------------------------------------------------------------------


@pytest.fixture
def delegate_check(build: Callable[[str], Any]) -> Callable[..., list[tuple[str, str]]]:
    def run(
        selectors: str,
        delegate: DelegateContext = UNKNOWN_DELEGATE,
        inventory: tuple[DelegateEntry, ...] = (),
        any_delegate: bool = False,
        blocks: list[bool] | None = None,
        deferred: list[str] | None = None,
    ) -> list[tuple[str, str]]:
        connector = build(
            "connector:\n  name: c\n  identifier: c\n  type: Jira\n"
            f"  spec: {{delegateSelectors: {selectors}}}\n"
        )
        assert isinstance(connector, Connector)
        ctx = CheckContext(
            connector=connector,
            inventory=Inventory(),
            settings=_settings(*inventory),
            delegate=delegate,
            secrets=NO_SECRETS,
            options=RunOptions(any_delegate=any_delegate),
            result_of=lambda name: pytest.fail(name),
        )
        check_delegate(ctx)
        if blocks is not None:
            blocks.extend(f.blocks for f in ctx.findings)
        if deferred is not None and ctx.deferred:
            deferred.append(ctx.deferred)
        return [(f.mode, f.cause) for f in ctx.findings]

    return run


def test_no_selectors_warns(delegate_check: Callable[..., list[tuple[str, str]]]) -> None:
    ((mode, _),) = delegate_check("[]")
    assert mode == "delegate-selector-missing"


def test_unknown_host_with_no_inventory_is_not_judged(
    delegate_check: Callable[..., list[tuple[str, str]]],
) -> None:
    assert delegate_check("[a]") == []


def test_another_delegates_connector_is_not_failed_here(
    delegate_check: Callable[..., list[tuple[str, str]]],
) -> None:
    """One job per delegate: a connector whose selectors this host lacks belongs to another
    delegate; it passes here and its network checks are deferred to that delegate's run."""
    me = DelegateContext(name="x", tags=("a",))
    deferred: list[str] = []
    assert delegate_check("[a]", me, deferred=deferred) == []
    assert delegate_check("[X, A]", me, deferred=deferred) == []
    assert deferred == []
    # no inventory: the delegate that qualifies is not known
    assert delegate_check("[a, b]", me, deferred=deferred) == []
    assert deferred == [
        "runs on a delegate with the selectors a, b (no delegate inventory says which);"
        " this run is x"
    ]
    # the inventory names the delegates that qualify
    deferred.clear()
    other = DelegateEntry("other", ("a", "b"))
    assert delegate_check("[a, b]", me, inventory=(other,), deferred=deferred) == []
    assert deferred == ["runs on other; this run is x"]


def test_inventory_decides_availability(
    delegate_check: Callable[..., list[tuple[str, str]]],
) -> None:
    up = DelegateEntry("up", ("a",))
    down = DelegateEntry("down", ("b",), connected=False)
    sick = DelegateEntry("sick", ("c",), healthy=False)
    assert delegate_check("[a]", inventory=(up, down)) == []
    assert delegate_check("[UP]", inventory=(up, down)) == []
    ((mode, cause),) = delegate_check("[zz]", inventory=(up, down))
    assert mode == "delegate-unavailable"
    assert "no delegate in the inventory has all of the selectors zz" in cause
    ((_, cause),) = delegate_check("[b]", inventory=(up, down))
    assert "down (disconnected)" in cause
    ((_, cause),) = delegate_check("[c]", inventory=(sick,))
    assert "sick (unhealthy)" in cause


def test_any_delegate_checks_from_this_host(
    delegate_check: Callable[..., list[tuple[str, str]]],
) -> None:
    me = DelegateContext(name="x", tags=())
    deferred: list[str] = []
    assert delegate_check("[a]", me, deferred=deferred) == []
    assert len(deferred) == 1
    deferred.clear()
    assert delegate_check("[a]", me, any_delegate=True, deferred=deferred) == []
    assert deferred == []


def test_only_the_inventory_makes_a_delegate_unavailable(
    delegate_check: Callable[..., list[tuple[str, str]]],
) -> None:
    """delegate-unavailable needs an inventory that shows no connected, healthy delegate with
    every selector, whoever this host is."""
    me = DelegateContext(name="x", tags=("a",))
    down = DelegateEntry("down", ("z",), connected=False)
    ((mode, cause),) = delegate_check("[z]", me, inventory=(down,))
    assert mode == "delegate-unavailable"
    assert "down (disconnected)" in cause
    ((mode, _),) = delegate_check("[q]", me, inventory=(down,))
    assert mode == "delegate-unavailable"


def test_harness_platform_needs_no_delegate(build: Callable[[str], Any]) -> None:
    """``executeOnDelegate: false`` is "Connect through Harness Platform": no delegate is
    involved, so no selector is needed (developer-hub git-hub-connector-settings-reference.md,
    Connectivity Mode)."""
    connector = build(
        "connector:\n  name: c\n  identifier: c\n  type: Github\n  spec:\n"
        "    type: Repo\n    url: https://github.com/acme/app\n"
        "    authentication: {type: Http, spec: {type: Anonymous}}\n"
        "    executeOnDelegate: false\n"
    )
    assert isinstance(connector, Connector) and not connector.execute_on_delegate
    ctx = CheckContext(
        connector=connector,
        inventory=Inventory(),
        settings=_settings(),
        delegate=DelegateContext(name="x", tags=()),
        secrets=NO_SECRETS,
        options=RunOptions(),
        result_of=lambda name: pytest.fail(name),
    )
    check_delegate(ctx)
    assert ctx.findings == [] and ctx.deferred is None
    assert "Harness Platform" in ctx.evidence["connects_from"]


def test_proxy_credentials_are_quoted_in_the_url_and_plain_for_basic_auth() -> None:
    proxy = ProxyConfig(
        "http", "proxy.corp", 3128,
        user=Secret("svc@corp", "account.px_user", "test"),
        password=Secret("p@ss:w/rd", "account.px_pw", "test"),
    )  # fmt: skip
    assert proxy.url_with_credentials() == "http://svc%40corp:p%40ss%3Aw%2Frd@proxy.corp:3128"
    # a client error quoting the URL is masked too
    assert MASKER.scrub("proxy http://svc%40corp:p%40ss%3Aw%2Frd@x") == "proxy http://***:***@x"
    assert proxy.basic_credentials() == "svc@corp:p@ss:w/rd"
    assert proxy.url == "http://proxy.corp:3128"
    bare = ProxyConfig("http", "proxy.corp", 3128)
    assert (bare.url_with_credentials(), bare.basic_credentials()) == (bare.url, None)


def test_this_delegate_unlisted_in_the_inventory_but_qualifying_may_run_it(
    delegate_check: Callable[..., list[tuple[str, str]]],
) -> None:
    """The inventory shows no other delegate, but this run is a delegate that carries every
    selector: not unavailable (the inventory is older than this delegate)."""
    me = DelegateContext(name="new-1", tags=("z",))
    other = DelegateEntry("d1", ("a",))
    deferred: list[str] = []
    assert delegate_check("[z]", me, inventory=(other,), deferred=deferred) == []
    assert deferred == []


def test_this_delegate_listed_as_disconnected_leaves_it_to_the_connected_ones(
    delegate_check: Callable[..., list[tuple[str, str]]],
) -> None:
    """Harness routes to connected delegates only: a run as a delegate the inventory lists as
    disconnected checks nothing a connected delegate with the selectors would run."""
    me = DelegateContext(name="d1", tags=("a",))
    inventory = (DelegateEntry("d1", ("a",), connected=False), DelegateEntry("d5", ("a",)))
    deferred: list[str] = []
    assert delegate_check("[a]", me, inventory=inventory, deferred=deferred) == []
    assert deferred == ["runs on d5; this run is d1 (disconnected in the inventory)"]


def test_any_delegate_runs_even_an_unavailable_connector(
    delegate_check: Callable[..., list[tuple[str, str]]],
) -> None:
    """--connectors-any-delegate still runs everything: delegate-unavailable is reported but
    does not block the network checks."""
    down = DelegateEntry("down", ("z",), connected=False)
    blocks: list[bool] = []
    ((mode, _),) = delegate_check("[z]", inventory=(down,), blocks=blocks)
    assert (mode, blocks) == ("delegate-unavailable", [True])
    blocks.clear()
    ((mode, _),) = delegate_check("[z]", inventory=(down,), any_delegate=True, blocks=blocks)
    assert (mode, blocks) == ("delegate-unavailable", [False])
