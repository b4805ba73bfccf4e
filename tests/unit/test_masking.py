"""The masker scrubs every registered secret, and the forms it is commonly turned into."""

from __future__ import annotations

import base64
import logging

import pytest

from pytest_connectors.masking import MASK, MIN_LENGTH, Masker


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


def test_short_lines_of_a_multiline_secret_are_not_masked_alone(masker: Masker) -> None:
    masker.add("short\nlines-only-here\n")
    assert masker.scrub("a short word") == "a short word"


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
