"""The masker scrubs every registered secret, and the forms it is commonly turned into."""

from __future__ import annotations

import base64
import json
import logging
import random
import string
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from pytest_connectors import masking
from pytest_connectors.masking import (
    MASK,
    MIN_LENGTH,
    Masker,
    redact_url,
    register_url_credentials,
    url_credentials,
)


@pytest.fixture
def masker() -> Masker:
    return Masker()  # a private one: the process-wide MASKER is shared with the whole run


def test_nothing_registered_leaves_text_alone(masker: Masker) -> None:
    assert masker.scrub("anything at all") == "anything at all"
    assert not masker.contains_secret("anything at all")
    assert masker.scrub("") == ""


def test_registered_value_is_replaced_everywhere(masker: Masker) -> None:
    masker.add("hunter2-secret")
    assert masker.scrub("a hunter2-secret b hunter2-secret") == f"a {MASK} b {MASK}"
    assert masker.contains_secret("xx hunter2-secret xx")
    assert not masker.contains_secret("hunter2")


def test_surrounding_whitespace_is_ignored(masker: Masker) -> None:
    masker.add("  padded-value-11\n")
    assert masker.scrub("got padded-value-11.") == f"got {MASK}."


def test_base64_of_the_value_is_masked(masker: Masker) -> None:
    masker.add("plain-text-token")
    encoded = base64.b64encode(b"plain-text-token").decode()
    assert masker.scrub(f"Authorization: Basic {encoded}") == f"Authorization: Basic {MASK}"


def test_a_base64_value_masks_its_decoded_form(masker: Masker) -> None:
    decoded = "decoded-credential-value"
    masker.add(base64.b64encode(decoded.encode()).decode())
    assert masker.scrub(f"value={decoded}") == f"value={MASK}"


def test_binary_base64_is_not_decoded_into_noise(masker: Masker) -> None:
    value = base64.b64encode(bytes(range(200, 224))).decode()
    masker.add(value)
    assert masker.scrub("ordinary log line") == "ordinary log line"
    assert masker.scrub(value) == MASK


def test_long_lines_of_a_multiline_secret_are_masked_one_by_one(masker: Masker) -> None:
    body = ["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"]
    pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(body) + "\n-----END PRIVATE KEY-----\n"
    masker.add(pem)
    assert masker.scrub(f"line 2 is {body[1]}") == f"line 2 is {MASK}"
    assert masker.scrub(pem) == MASK
    # PEM armour is public boilerplate that error messages quote: it stays readable
    armour = "no '-----BEGIN PRIVATE KEY-----' block"
    assert masker.scrub(armour) == armour


def test_every_line_of_a_multiline_secret_is_masked_whatever_its_length(masker: Masker) -> None:
    masker.add("ab12\ncd34ef\nx\n")
    assert masker.scrub("[ab12] [cd34ef]") == f"[{MASK}] [{MASK}]"
    # a line shorter than MIN_LENGTH is not masked alone: "x" would mask every x
    assert masker.scrub("x marks") == "x marks"


def test_values_shorter_than_the_minimum_are_ignored(masker: Masker) -> None:
    short = "x" * (MIN_LENGTH - 1)
    masker.add(short)
    assert masker.scrub(f"a {short} b") == f"a {short} b"
    assert not masker.contains_secret(short)


def test_longest_value_wins_when_values_overlap(masker: Masker) -> None:
    masker.add("abcd-1234")
    masker.add("abcd-1234-efgh-5678")
    assert masker.scrub("[abcd-1234-efgh-5678]") == f"[{MASK}]"


def test_regex_metacharacters_are_literal(masker: Masker) -> None:
    masker.add("a.b*c+d?(e)")
    assert masker.scrub("aXbbbcd") == "aXbbbcd"
    assert masker.scrub("a.b*c+d?(e)") == MASK


def test_adding_twice_is_harmless(masker: Masker) -> None:
    masker.add("same-value-twice")
    masker.add("same-value-twice")
    assert masker.scrub("same-value-twice") == MASK


def test_scrub_data_walks_json_like_data(masker: Masker) -> None:
    masker.add("nested-secret-9")
    data = {
        "a": "x nested-secret-9",
        "nested-secret-9": 1,
        "list": ["nested-secret-9", 2, None, True],
        "tuple": ("nested-secret-9",),
        "deep": {"deeper": ["nested-secret-9"]},
    }
    assert masker.scrub_data(data) == {
        "a": f"x {MASK}",
        MASK: 1,
        "list": [MASK, 2, None, True],
        "tuple": [MASK],
        "deep": {"deeper": [MASK]},
    }


def test_process_log_records_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    from pytest_connectors.masking import MASKER
    from pytest_connectors.secrets import Secret

    Secret("logged-secret-value-62", "account.x", "hook")  # registers with the process masker
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").info("token is %s", "logged-secret-value-62")
    assert "logged-secret-value-62" not in caplog.text
    assert f"token is {MASK}" in caplog.text
    assert MASKER.contains_secret("logged-secret-value-62")


# -- derived forms ------------------------------------------------------------------------------

ESCAPED = "back\\slash'quote\nnew-line"


SHOWN = {
    "repr": repr(ESCAPED),  # '...\\...\'...\n...' once the value holds both quotes
    "repr-double-quoted": repr(ESCAPED.replace('"', "")),
    "list": repr([ESCAPED]),
    "repr-of-repr": repr(repr(ESCAPED)),  # a repr of a text that holds a repr
    "json": json.dumps(ESCAPED),
    "json-utf8": json.dumps({"v": ESCAPED}, ensure_ascii=False),
    "quoted": quote(ESCAPED, safe=""),
    "quoted-path": quote(ESCAPED),
    "quote-plus": quote_plus(ESCAPED),
}


@pytest.mark.parametrize("shown", SHOWN.values(), ids=SHOWN.keys())
def test_escaped_and_quoted_forms_are_masked(masker: Masker, shown: str) -> None:
    masker.add(ESCAPED + '"')
    masker.add(ESCAPED)
    scrubbed = masker.scrub(f"value: {shown}")
    for part in ("back", "slash", "quote", "new-line"):
        assert part not in scrubbed, scrubbed


def test_case_variants_only_when_asked(masker: Masker) -> None:
    masker.add("MixedCaseUser")
    assert masker.scrub("/users/mixedcaseuser") == "/users/mixedcaseuser"
    masker.add("MixedCaseUser", case_variants=True)
    assert masker.scrub("/users/mixedcaseuser MIXEDCASEUSER") == f"/users/{MASK} {MASK}"


def test_base64_anywhere_in_an_encoded_text_is_read(masker: Masker) -> None:
    masker.add("hunter2-password")
    for prefix in ("", "a", "ab"):  # every offset of the secret inside the encoded bytes
        pair = base64.b64encode(f"{prefix}user:hunter2-password".encode()).decode()
        assert masker.scrub(f"Authorization: Basic {pair}") == f"Authorization: Basic {MASK}"
    urlsafe = base64.urlsafe_b64encode(b"\xfb\xffhunter2-password").decode().rstrip("=")
    assert masker.scrub(f"?t={urlsafe}&x") == f"?t={MASK}&x"


def test_an_encoding_of_known_secrets_is_not_registered(masker: Masker) -> None:
    masker.add("hunter2-password")
    forms = len(masker._forms)
    masker.add(base64.b64encode(b"user:hunter2-password").decode())  # a Basic pair
    assert len(masker._forms) == forms


def test_the_values_of_a_json_secret_are_masked_but_its_public_fields(masker: Masker) -> None:
    body = "MIIEvQIBADANBgkq\nhkiG9w0BAQEFAASC"
    key = f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"
    document = {
        "type": "service_account",
        "project_id": "acme-prod",
        "private_key_id": "0123456789abcdef0123",
        "private_key": key,
        "client_email": "ci@acme-prod.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    masker.add(json.dumps(document, indent=2))
    shown = masker.scrub(repr(document))  # the parsed form, as --showlocals prints it
    assert "0123456789abcdef0123" not in shown
    assert "MIIEvQIBADANBgkq" not in shown and "hkiG9w0BAQEFAASC" not in shown
    assert "'service_account'" in shown and "'https://oauth2.googleapis.com/token'" in shown
    assert "ci@acme-prod.iam.gserviceaccount.com" in shown


def test_overlapping_secrets_are_masked_whole(masker: Masker) -> None:
    masker.add("abcdefgh")
    masker.add("efghijkl")  # pending, while the first is compiled
    masker.scrub("")
    assert masker.scrub("[abcdefghijkl]") == f"[{MASK}]"
    for n in range(40):  # compile both
        masker.add(f"filler-value-{n:03d}")
    masker.scrub("x")
    assert masker.scrub("[abcdefghijkl] [efgh-abcd]") == f"[{MASK}] [efgh-abcd]"


def test_pem_armour_stays_readable_once_compiled(masker: Masker) -> None:
    body = "".join(random.Random(5).choices(string.ascii_letters, k=64))
    masker.add(f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n")
    for n in range(40):
        masker.add(f"filler-value-{n:03d}")
    masker.scrub("x")
    assert masker.scrub("no '-----BEGIN PRIVATE KEY-----' block") == (
        "no '-----BEGIN PRIVATE KEY-----' block"
    )
    assert body not in masker.scrub(f"-----BEGIN PRIVATE KEY-----\\n{body}")


def test_a_long_secret_cut_short_is_masked_from_its_start(masker: Masker) -> None:
    value = "".join(random.Random(3).choices(string.ascii_letters, k=200))
    for n in range(40):
        masker.add(f"filler-value-{n:03d}")
    masker.add(value)
    masker.scrub("x")
    assert masker.scrub(f"'{value}'") == f"'{MASK}'"
    truncated = f"'{value[:118]}...{value[-119:]}'"  # what saferepr keeps of a long local
    assert masker.scrub(truncated) == f"'{MASK}...{value[-119:]}'"
    masker.add(json.dumps({"private_key_id": value[:40]}, indent=2))
    masker.scrub("x")
    line = f'  "private_key_id": "{value[:40]}",'
    cut = masker.scrub_cuts(masker.scrub(f"{line[:30]}..."))
    assert value[:9] not in cut and cut.endswith(f"{MASK}...")


# -- too short to mask --------------------------------------------------------------------------


def test_a_value_too_short_is_named_by_reference_once(masker: Masker) -> None:
    masker.add("abc", "account.x")
    masker.add("abc", "account.x")
    masker.add("abcd", "account.y")
    masker.add("ab")  # no reference: nothing to name
    assert masker.unmaskable() == ["account.x"]


# -- scale --------------------------------------------------------------------------------------


def test_the_pattern_is_built_once_for_values_added_together(
    masker: Masker, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    compile_forms = masking.compile_forms
    monkeypatch.setattr(
        masking, "compile_forms", lambda forms: built.append(1) or compile_forms(forms)
    )
    values = [f"token-{n:05d}-{'x' * (n % 7)}" for n in range(1000)]
    for value in values:
        masker.add(value)
    assert built == []  # lazily: nothing compiled while values arrive
    assert masker.scrub(f"a {values[500]} b") == f"a {MASK} b"
    assert len(built) == 1


def test_values_added_one_by_one_between_scrubs_do_not_rebuild_per_value(
    masker: Masker, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[int] = []
    compile_forms = masking.compile_forms
    monkeypatch.setattr(
        masking, "compile_forms", lambda forms: built.append(1) or compile_forms(forms)
    )
    values = [f"derived-{n:05d}-value" for n in range(1000)]
    for value in values:
        masker.add(value)
        assert masker.scrub(value) == MASK
    assert len(built) < 60  # one per few dozen values, not one per value
    assert len(masker._state[0]) < 12  # and a handful of patterns to run
    assert all(masker.scrub(f"<{v}>") == f"<{MASK}>" for v in values)


# -- credentials in URLs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "credentials", "redacted"),
    [
        ("https://user:pw@host/x", ("user", "pw"), "https://***@host/x"),
        ("https://TOKEN@host", ("TOKEN", None), "https://***@host"),
        ("http://u%40corp:p@ss@host:1/a?b=c@d", ("u%40corp", "p@ss"), "http://***@host:1/a?b=c@d"),
        ("https://host/path@x", (None, None), "https://host/path@x"),
        ("git@github.com:org/repo", (None, None), "git@github.com:org/repo"),
    ],
)
def test_url_credentials(url: str, credentials: tuple[str | None, ...], redacted: str) -> None:
    assert url_credentials(url) == credentials
    assert redact_url(url) == redacted


def test_url_credentials_are_registered_by_reference() -> None:
    from pytest_connectors.masking import MASKER

    register_url_credentials("https://bot:p%40ss-url-9@host", "account.gh spec.url")
    register_url_credentials("https://ab@host", "account.short spec.url")
    assert MASKER.scrub("pw p@ss-url-9 p%40ss-url-9") == f"pw {MASK} {MASK}"
    assert MASKER.scrub("bot") == "bot"  # the user of a user:password pair is no secret
    assert "account.short spec.url (user in the URL)" in MASKER.unmaskable()


# -- registered when the source yields them -------------------------------------------------------


def test_the_secrets_file_and_environment_are_registered_at_once(tmp_path: Path) -> None:
    from pytest_connectors.masking import MASKER
    from pytest_connectors.secrets import EnvironmentSource, SecretsFileSource, env_var_reference

    (tmp_path / "key.pem").write_text("file-content-value-31\n")
    (tmp_path / "secrets.yaml").write_text(
        "account.a: file-value-0001\naccount.b: {file: key.pem}\norg.c: xy\nbroken: {file: nope}\n"
    )
    SecretsFileSource.load(tmp_path / "secrets.yaml").register_values()
    EnvironmentSource(
        {"CONNECTOR_SECRET_PROJECT_p": "env-value-0002", "CONNECTOR_SECRET_ORG_o": "ab", "X": "1"}
    ).register_values()
    shown = MASKER.scrub("file-value-0001 file-content-value-31 env-value-0002 X=1")
    assert shown == f"{MASK} {MASK} {MASK} X=1"
    assert MASKER.unmaskable() == ["org.c", "org.o"]
    assert env_var_reference("CONNECTOR_SECRET_ACCOUNT_gh_pat") == "account.gh_pat"
    assert env_var_reference("CONNECTOR_SECRET_ELSE_x") == "CONNECTOR_SECRET_ELSE_x"


@pytest.mark.parametrize(
    "url", ["http://user:pr0xy-pass@", "http://user:pr0xy-pass@:3128", "user:pr0xy-pass@:x"]
)
def test_a_proxy_url_without_a_host_is_refused_without_its_password(url: str) -> None:
    from pytest_connectors.delegate import parse_proxy_url
    from pytest_connectors.masking import MASKER

    with pytest.raises(ValueError) as raised:
        parse_proxy_url(url)
    message = str(raised.value)
    assert "pr0xy-pass" not in message and "***@" in message and "user" not in message
    assert MASKER.scrub("pr0xy-pass") == MASK  # registered before anything was said


def test_connector_url_credentials_are_masked_as_the_connector_is_read(build: Any) -> None:
    from pytest_connectors.endpoints import EndpointError, parse_url
    from pytest_connectors.masking import MASKER

    connector = build(
        """
        connector:
          name: g
          identifier: g
          type: Git
          spec:
            url: https://bot:url-pass-0003@[bad
            connectionType: Repo
            type: Http
            spec: {username: bot, passwordRef: account.p}
        """
    )
    assert MASKER.scrub("url-pass-0003") == MASK
    assert "url-pass-0003" not in repr(connector.errors)
    with pytest.raises(EndpointError) as raised:
        parse_url("https://bot:url-pass-0003@[bad", "git")
    assert "url-pass-0003" not in str(raised.value) and raised.value.url.startswith("https://***@")


def test_the_parsed_forms_of_a_key_are_secrets_too() -> None:
    from pytest_connectors.checks.shapes import _key_document, _pem
    from pytest_connectors.secrets import Secret

    key = Secret(
        json.dumps(
            {"type": "service_account", "private_key_id": "id-0123456789", "private_key": "k"}
        ),
        "account.gcp",
        "file",
    )
    document = _key_document(key)
    assert document is not None
    shown = repr(document)  # what -l prints for the local
    assert "id-0123456789" not in shown and "'type': 'service_account'" in shown
    pem = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIBcert-body-line\n").decode()
    assert "MIIBcert" not in repr(_pem(Secret(pem, "account.ca", "file")))


def test_what_is_left_of_a_secret_around_a_cut_is_masked(masker: Masker) -> None:
    value = "".join(random.Random(9).choices(string.ascii_letters, k=300))
    masker.add(value)
    local = repr([value])
    cut = f"{local[:118]}...{local[-119:]}"  # saferepr's cut of a long local under -l
    assert masker.scrub_cuts(cut) == f"{local[:2]}{MASK}...{MASK}{local[-2:]}"
    local = repr({"before": 1, "key": value, "after": 2})
    cut = f"{local[:118]}...{local[-119:]}"
    assert masker.scrub_cuts(cut) == f"{local[:22]}{MASK}...{MASK}{local[-14:]}"
    assert masker.scrub_cuts("wait... and see") == "wait... and see"


def test_remediation_commands_quote_a_url_without_its_credentials(build: Any) -> None:
    from pytest_connectors.reporting.remediation import _scm

    connector = build(
        """
        connector:
          name: g
          identifier: g
          type: Git
          spec:
            url: https://bot:Ab1@git.example.com/acme/app.git
            connectionType: Repo
            type: Http
            spec: {username: bot, passwordRef: account.p}
        """
    )
    details = _scm(connector, connector.spec, {})
    assert details["repo_url"] == "'https://***@git.example.com/acme/app.git'"
