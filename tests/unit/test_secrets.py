"""Secret values and their sources: order, file keys, the environment, the hook, and hiding."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from pytest_connectors.refs import ScopeId
from pytest_connectors.secrets import (
    EnvironmentSource,
    HookSource,
    Secret,
    SecretAddress,
    SecretChain,
    SecretNotFound,
    SecretsFileSource,
    env_var_name,
)

ACCOUNT = ScopeId()
ORG = ScopeId("eng")
PROJECT = ScopeId("eng", "web")


class DictSource:
    """A source backed by a dict keyed by ``SecretAddress.ref``, which records every lookup."""

    def __init__(self, name: str, values: dict[str, str]) -> None:
        self.name = name
        self.values = values
        self.asked: list[str] = []

    def lookup(self, address: SecretAddress) -> str | None:
        self.asked.append(address.ref)
        return self.values.get(address.ref)

    def describe(self, address: SecretAddress) -> str:
        return f"dict {self.name}"


def _secrets_file(tmp_path: Path, text: str, name: str = "secrets.yaml") -> SecretsFileSource:
    path = tmp_path / name
    path.write_text(text)
    return SecretsFileSource.load(path)


# -- the chain -------------------------------------------------------------------------------


def test_first_source_with_a_value_wins() -> None:
    first = DictSource("first", {"account.a": "from-first-9e1"})
    second = DictSource("second", {"account.a": "from-second-9e1", "account.b": "b-second-9e1"})
    chain = SecretChain([first, second])

    a = chain.resolve("account.a")
    assert (a.reveal(), a.source, a.reference) == ("from-first-9e1", "first", "account.a")
    assert second.asked == []  # never asked once the first source answered

    b = chain.resolve("account.b")
    assert (b.reveal(), b.source) == ("b-second-9e1", "second")
    assert first.asked == ["account.a", "account.b"]


def test_not_found_lists_every_source_in_order() -> None:
    chain = SecretChain([DictSource("one", {}), DictSource("two", {})])
    with pytest.raises(SecretNotFound) as caught:
        chain.resolve("account.nope")
    assert caught.value.asked == ["dict one", "dict two"]
    assert caught.value.address == SecretAddress(ACCOUNT, "nope")
    assert str(caught.value) == "secret 'nope' at account not found; asked: dict one; dict two"


def test_empty_value_is_not_found_and_the_source_is_listed() -> None:
    chain = SecretChain([DictSource("blank", {"account.a": ""})])
    with pytest.raises(SecretNotFound) as caught:
        chain.resolve("account.a")
    assert caught.value.asked == ["dict blank: empty value"]


def test_empty_value_falls_through_to_the_next_source() -> None:
    chain = SecretChain(
        [DictSource("blank", {"account.a": ""}), DictSource("full", {"account.a": "val-77c2"})]
    )
    assert chain.resolve("account.a").source == "full"


def test_results_are_cached_until_a_source_is_added() -> None:
    source = DictSource("one", {"account.a": "cached-4d1"})
    chain = SecretChain([source])
    chain.resolve("account.a")
    chain.resolve("account.a")
    assert source.asked == ["account.a"]
    with pytest.raises(SecretNotFound):
        chain.resolve("account.b")
    with pytest.raises(SecretNotFound):
        chain.resolve("account.b")
    assert source.asked == ["account.a", "account.b"]

    chain.add_source(DictSource("first", {"account.b": "late-4d1"}), index=0)
    assert chain.resolve("account.b").source == "first"


def test_reference_is_resolved_from_the_holders_scope() -> None:
    source = DictSource("one", {})
    chain = SecretChain([source])
    for ref in ("x", "org.x", "account.x"):
        with pytest.raises(SecretNotFound):
            chain.resolve(ref, PROJECT)
    assert chain.address("x", PROJECT) == SecretAddress(PROJECT, "x")
    assert chain.address("org.x", PROJECT) == SecretAddress(ORG, "x")
    assert chain.address("account.x", PROJECT) == SecretAddress(ACCOUNT, "x")
    assert source.asked == ["x", "org.x", "account.x"]


def test_invalid_reference_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"prefix 'project\.'"):
        SecretChain([]).address("project.x", PROJECT)


# -- the secrets file ------------------------------------------------------------------------


def test_secrets_file_plain_values(tmp_path: Path) -> None:
    source = _secrets_file(tmp_path, "account.a: plain-81aa\naccount.n: 12345\n")
    chain = SecretChain([source])
    assert chain.resolve("account.a").reveal() == "plain-81aa"
    assert chain.resolve("account.n").reveal() == "12345"
    assert chain.resolve("account.a").source == "secrets file"


@pytest.mark.parametrize(
    ("holder", "ref", "keys"),
    [
        (ORG, "org.x", ["eng/x", "org.x"]),
        (PROJECT, "org.x", ["eng/x", "org.x"]),
        (PROJECT, "x", ["eng/web/x", "x"]),
    ],
)
def test_qualified_keys_win_over_scope_keys(
    tmp_path: Path, holder: ScopeId, ref: str, keys: list[str]
) -> None:
    qualified, plain = keys
    both = _secrets_file(tmp_path, f"{plain}: plain-key-6b\n{qualified}: qualified-key-6b\n")
    assert SecretChain([both]).resolve(ref, holder).reveal() == "qualified-key-6b"

    only_plain = _secrets_file(tmp_path, f"{plain}: plain-key-6b\n", "plain.yaml")
    assert SecretChain([only_plain]).resolve(ref, holder).reveal() == "plain-key-6b"

    address = SecretChain([]).address(ref, holder)
    assert both.describe(address).endswith(f"(keys {', '.join(keys)})")


def test_qualified_keys_keep_orgs_apart(tmp_path: Path) -> None:
    source = _secrets_file(tmp_path, "eng/x: eng-value-2f\nops/x: ops-value-2f\n")
    chain = SecretChain([source])
    assert chain.resolve("org.x", ScopeId("eng")).reveal() == "eng-value-2f"
    assert chain.resolve("org.x", ScopeId("ops", "p")).reveal() == "ops-value-2f"


def test_file_value_is_relative_to_the_secrets_file(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    (folder / "keys").mkdir(parents=True)
    (folder / "keys" / "sa.json").write_text('{"type": "service_account-1c"}\n')
    absolute = tmp_path / "abs.txt"
    absolute.write_text("absolute-file-1c")
    source = _secrets_file(
        folder, f"account.sa: {{file: keys/sa.json}}\naccount.abs: {{file: {absolute}}}\n"
    )
    chain = SecretChain([source])
    assert chain.resolve("account.sa").reveal() == '{"type": "service_account-1c"}\n'
    assert chain.resolve("account.abs").reveal() == "absolute-file-1c"


def test_unusable_file_entries_are_listed_not_raised(tmp_path: Path) -> None:
    source = _secrets_file(
        tmp_path,
        "account.gone: {file: missing.txt}\naccount.odd: {path: x}\naccount.none: null\n"
        "account.list: [a, b]\naccount.blank: ''\n",
    )
    chain = SecretChain([source, EnvironmentSource({})])
    expected = {
        "gone": "'account.gone' names",
        "odd": "'account.odd' must be a value or {file: path}",
        "none": "'account.none' has no usable value",
        "list": "'account.list' has no usable value",
        "blank": "empty value",
    }
    for identifier, fragment in expected.items():
        with pytest.raises(SecretNotFound) as caught:
            chain.resolve(f"account.{identifier}")
        first, second = caught.value.asked
        assert first.startswith(f"secrets file {tmp_path / 'secrets.yaml'} (keys ")
        assert fragment in first
        assert second == f"environment variable CONNECTOR_SECRET_ACCOUNT_{identifier}"


def test_secrets_file_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match="the secrets file must map references to values"):
        SecretsFileSource.load(path)


def test_secrets_file_with_a_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text("a: [\n")
    with pytest.raises(ValueError, match="YAML syntax error"):
        SecretsFileSource.load(path)


def test_secrets_file_documents_merge(tmp_path: Path) -> None:
    source = _secrets_file(tmp_path, "account.a: one-55\n---\naccount.b: two-55\n---\n")
    assert set(source.values) == {"account.a", "account.b"}


# -- environment and hook --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "name"),
    [
        (SecretAddress(ACCOUNT, "gh_pat"), "CONNECTOR_SECRET_ACCOUNT_gh_pat"),
        (SecretAddress(ORG, "gh_pat"), "CONNECTOR_SECRET_ORG_gh_pat"),
        (SecretAddress(PROJECT, "gh_pat"), "CONNECTOR_SECRET_PROJECT_gh_pat"),
    ],
)
def test_environment_variable_names(address: SecretAddress, name: str) -> None:
    assert env_var_name(address) == name
    source = EnvironmentSource({name: "env-value-0b"})
    assert source.lookup(address) == "env-value-0b"
    assert source.describe(address) == f"environment variable {name}"


def test_environment_source_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONNECTOR_SECRET_ACCOUNT_unit_env", "os-env-value-3c")
    secret = SecretChain([EnvironmentSource()]).resolve("account.unit_env")
    assert (secret.reveal(), secret.source) == ("os-env-value-3c", "environment")


def test_hook_source_gets_the_ref_and_the_scope_it_lives_in() -> None:
    calls: list[tuple[str, ScopeId]] = []

    def hook(ref: str, scope: ScopeId) -> str | None:
        calls.append((ref, scope))
        return "hook-value-8d" if ref == "org.x" else None

    chain = SecretChain([HookSource(hook)])
    assert chain.resolve("org.x", PROJECT).source == "hook"
    with pytest.raises(SecretNotFound) as caught:
        chain.resolve("x", PROJECT)
    assert calls == [("org.x", ORG), ("x", PROJECT)]
    assert caught.value.asked == ["hook pytest_connectors_resolve_secret"]


def test_file_then_environment_then_hook(tmp_path: Path) -> None:
    file_source = _secrets_file(tmp_path, "account.both: from-file-12\n")
    environ = {
        "CONNECTOR_SECRET_ACCOUNT_both": "from-env-12",
        "CONNECTOR_SECRET_ACCOUNT_env_only": "env-only-12",
    }
    chain = SecretChain(
        [file_source, EnvironmentSource(environ), HookSource(lambda ref, scope: "from-hook-12")]
    )
    assert chain.resolve("account.both").source == "secrets file"
    assert chain.resolve("account.env_only").source == "environment"
    assert chain.resolve("account.hook_only").source == "hook"


# -- Secret never shows its value ------------------------------------------------------------


def test_secret_hides_its_value() -> None:
    secret = Secret("do-not-print-4e7f", "account.gh_pat", "environment")
    assert secret.reveal() == "do-not-print-4e7f"
    assert "do-not-print-4e7f" not in repr(secret)
    assert "do-not-print-4e7f" not in str(secret)
    assert "do-not-print-4e7f" not in f"{secret} {secret!r} {[secret]}"
    assert repr(secret) == "Secret('account.gh_pat', value=***, source='environment')"
    assert str(secret) == "***"


def test_secret_cannot_be_pickled_or_copied() -> None:
    secret = Secret("no-pickle-4e7f", "account.x", "hook")
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)
    with pytest.raises(TypeError):
        copy.copy(secret)


def test_secret_has_no_instance_dict() -> None:
    secret = Secret("slots-only-4e7f", "account.x", "hook")
    assert not hasattr(secret, "__dict__")
    with pytest.raises(AttributeError):
        secret.extra = 1  # type: ignore[attr-defined]


def test_a_resolved_secret_is_registered_with_the_masker() -> None:
    from pytest_connectors.masking import MASKER

    Secret("registered-value-4e7f", "account.x", "hook")
    assert MASKER.scrub("token=registered-value-4e7f;") == "token=***;"
