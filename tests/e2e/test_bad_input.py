"""End to end: hostile or broken input never crashes the run.

Each bad file yields exactly one failing ``[definition]`` item named ``definition-invalid``,
with a message naming the file and line; the connectors of every other file are still
collected and run; and no traceback from the plugin's code reaches the output. Problems with
the run's own configuration (``--connectors-config``, ``--connectors-secrets``) are usage
errors (exit code 4) that name the problem.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest

# Two small healthy connectors (each file under 100 bytes, for --connectors-max-file-size=100).
OTHER_FILES = {
    "connectors/other_a.yaml": (
        "connector: {name: a, identifier: other_a, type: Jira, spec: {delegateSelectors: [x]}}\n"
    ),
    "connectors/other_b.yaml": (
        "connector: {name: b, identifier: other_b, type: Jira, spec: {delegateSelectors: [x]}}\n"
    ),
}
OTHER_ITEMS = {
    f"connectors/{name}.yaml::account.{name}[{check}]": "PASSED"
    for name in ("other_a", "other_b")
    for check in ("definition", "expressions", "delegate")
}
FIRST_CONNECTOR = """\
connector:
  name: first
  identifier: first
  type: Jira
  spec: {delegateSelectors: [x]}
"""


@pytest.fixture
def others(write_yaml: Callable[..., Path]) -> None:
    for relative, text in OTHER_FILES.items():
        path = write_yaml(relative, text)
        assert path.stat().st_size < 100


@pytest.fixture
def run_bad(
    pytester: pytest.Pytester,
    others: None,
    outcomes_of: Callable[[pytest.RunResult], dict[str, str]],
    assert_no_traceback: Callable[[pytest.RunResult], None],
) -> Callable[..., pytest.RunResult]:
    """Run on the bad input plus the healthy files; check what every bad input must give."""

    def run(failing_item: str, *args: str, extra: dict[str, str] | None = None) -> pytest.RunResult:
        result = pytester.runpytest("--connectors=connectors", "-rA", *args)
        outcomes = outcomes_of(result)
        assert [n for n, o in outcomes.items() if o != "PASSED"] == [failing_item]
        assert outcomes[failing_item] == "FAILED"
        assert failing_item.endswith("[definition]")
        expected_passing = {**OTHER_ITEMS, **(extra or {})}
        assert {n: outcomes.get(n) for n in expected_passing} == expected_passing
        result.stdout.fnmatch_lines(["[[]definition-invalid[]] Connector definition is invalid"])
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        assert_no_traceback(result)
        return result

    return run


def test_yaml_syntax_error(run_bad: Callable[..., pytest.RunResult], write_yaml) -> None:
    write_yaml(
        "connectors/broken.yaml",
        FIRST_CONNECTOR + "---\nconnector:\n  name: [unclosed\n  identifier: second\n",
    )
    first = {
        f"connectors/broken.yaml::account.first[{c}]": "PASSED"
        for c in ("definition", "expressions", "delegate")
    }
    result = run_bad("connectors/broken.yaml::document-2[definition]", extra=first)
    result.stdout.fnmatch_lines(
        [
            "document-2 (unreadable document): connectors/broken.yaml:9: YAML syntax error:*"
            "(documents after this point in the file were not read)",
            "At: connectors/broken.yaml:9",
        ]
    )


def test_unknown_connector_type_suggests_the_right_one(
    run_bad: Callable[..., pytest.RunResult], write_yaml
) -> None:
    write_yaml(
        "connectors/gh.yaml",
        """
        connector:
          name: gh
          identifier: gh
          type: GitHub
          spec:
            delegateSelectors: [x]
        """,
    )
    extra = {
        "connectors/gh.yaml::account.gh[expressions]": "PASSED",
        "connectors/gh.yaml::account.gh[delegate]": "PASSED",
    }
    result = run_bad("connectors/gh.yaml::account.gh[definition]", extra=extra)
    result.stdout.fnmatch_lines(
        [
            "account.gh (GitHub): type (line 4): 'GitHub' is not a Harness connector type",
            "*suggestion: Github",
            "*Did you mean `Github`?",
            "At: connectors/gh.yaml:2",
        ]
    )


def test_oversize_file(run_bad: Callable[..., pytest.RunResult], write_yaml) -> None:
    path = write_yaml("connectors/big.yaml", FIRST_CONNECTOR + "# padding\n" * 20)
    size = path.stat().st_size
    result = run_bad(
        "connectors/big.yaml::document-1[definition]", "--connectors-max-file-size=100"
    )
    result.stdout.fnmatch_lines(
        [
            f"document-1 (unreadable document): connectors/big.yaml:1: file is {size} bytes,"
            " over the 100-byte cap (--connectors-max-file-size)",
            "At: connectors/big.yaml:1",
        ]
    )


def test_alias_bomb(run_bad: Callable[..., pytest.RunResult], write_yaml) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    write_yaml("connectors/bomb.yaml", "\n".join(lines) + "\n")
    result = run_bad("connectors/bomb.yaml::document-1[definition]")
    result.stdout.fnmatch_lines(
        [
            "document-1 (unreadable document): connectors/bomb.yaml:*: document expands to"
            " more than 200000 nodes (alias expansion cap)",
        ]
    )


def test_non_utf8_file(run_bad: Callable[..., pytest.RunResult], write_yaml) -> None:
    write_yaml("connectors/latin1.yaml", b"connector:\n  name: caf\xe9\n  identifier: cafe\n")
    result = run_bad("connectors/latin1.yaml::document-1[definition]")
    result.stdout.fnmatch_lines(
        [
            "document-1 (unreadable document): connectors/latin1.yaml:2: not UTF-8 text:"
            " byte 0xe9 at offset 22 cannot be decoded; save the file as UTF-8",
            "At: connectors/latin1.yaml:2",
        ]
    )


def test_binary_bytes_after_a_utf16_bom(
    run_bad: Callable[..., pytest.RunResult], write_yaml
) -> None:
    # b"\xff\xfe" is the UTF-16 LE byte-order mark, so YAML reads the rest as UTF-16 text: the
    # result is one unreadable document rather than an encoding error, but never a crash
    write_yaml("connectors/binary.yaml", b"\xff\xfe\x00bad")
    result = run_bad("connectors/binary.yaml::document-1[definition]")
    result.stdout.fnmatch_lines(["document-1 (unreadable document): connectors/binary.yaml:1: *"])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- connector\n- secret\n", "the document is a list; expected a mapping*"),
        ("just a string\n", "the document is a single value (str); expected a mapping*"),
        ("42\n", "the document is a single value (int); expected a mapping*"),
    ],
    ids=["list", "string", "number"],
)
def test_document_that_is_not_a_mapping(
    run_bad: Callable[..., pytest.RunResult], write_yaml, text: str, problem: str
) -> None:
    write_yaml("connectors/odd.yaml", text)
    result = run_bad("connectors/odd.yaml::document-1[definition]")
    result.stdout.fnmatch_lines(
        [f"document-1 (unreadable document): connectors/odd.yaml:1: {problem}"]
    )


def test_connector_without_identifier(run_bad: Callable[..., pytest.RunResult], write_yaml) -> None:
    write_yaml(
        "connectors/noid.yaml",
        FIRST_CONNECTOR + "---\nconnector:\n  name: nameless\n  type: Jira\n",
    )
    first = {
        f"connectors/noid.yaml::account.first[{c}]": "PASSED"
        for c in ("definition", "expressions", "delegate")
    }
    result = run_bad("connectors/noid.yaml::document-2[definition]", extra=first)
    result.stdout.fnmatch_lines(
        [
            "document-2 (unreadable document): connectors/noid.yaml:8: the connector has no"
            " 'identifier'",
            "*field_path: connector.identifier",
        ]
    )


def test_connector_that_is_not_a_mapping(
    run_bad: Callable[..., pytest.RunResult], write_yaml
) -> None:
    write_yaml("connectors/flat.yaml", "connector: [a, b]\n")
    result = run_bad("connectors/flat.yaml::document-1[definition]")
    result.stdout.fnmatch_lines(["*connectors/flat.yaml:1: 'connector' must be a mapping"])


def test_duplicate_identifier(run_bad: Callable[..., pytest.RunResult], write_yaml) -> None:
    write_yaml(
        "connectors/zdup.yaml",
        """
        connector:
          name: copy
          identifier: other_a
          type: Jira
          spec: {delegateSelectors: [x]}
        """,
    )
    extra = {
        "connectors/zdup.yaml::account.other_a[expressions]": "PASSED",
        "connectors/zdup.yaml::account.other_a[delegate]": "PASSED",
    }
    result = run_bad("connectors/zdup.yaml::account.other_a[definition]", extra=extra)
    result.stdout.fnmatch_lines(
        [
            "account.other_a (Jira): identifier (line *): connector 'account.other_a' (account)"
            " is already defined at connectors/other_a.yaml:1; identifiers are unique within a"
            " scope",
            "At: connectors/zdup.yaml:2",
        ]
    )


def test_duplicate_identifier_error_points_at_the_identifier_line(
    pytester: pytest.Pytester, others: None, write_yaml
) -> None:
    write_yaml(
        "connectors/zdup.yaml",
        "connector:\n  name: copy\n  identifier: other_a\n  type: Jira\n  spec: {}\n",
    )
    result = pytester.runpytest("--connectors=connectors")
    result.stdout.fnmatch_lines(["account.other_a (Jira): identifier (line 3): *"])


def test_same_identifier_at_another_scope_is_no_duplicate(
    pytester: pytest.Pytester,
    others: None,
    write_yaml,
    outcomes_of: Callable[[pytest.RunResult], dict[str, str]],
) -> None:
    write_yaml(
        "connectors/org.yaml",
        """
        connector:
          name: org copy
          identifier: other_a
          orgIdentifier: eng
          type: Jira
          spec: {delegateSelectors: [x]}
        """,
    )
    result = pytester.runpytest("--connectors=connectors", "-rA")
    assert set(outcomes_of(result).values()) == {"PASSED"}


def test_unknown_key_in_settings_document(
    run_bad: Callable[..., pytest.RunResult], write_yaml
) -> None:
    write_yaml(
        "connectors/settings.yaml",
        """
        pytestConnectors:
          defaults:
            timout: 5
        """,
    )
    result = run_bad("connectors/settings.yaml::pytestConnectors[definition]")
    result.stdout.fnmatch_lines(
        [
            "pytestConnectors (pytestConnectors): pytestConnectors.defaults.timout (line 3):"
            " unknown key 'timout'; did you mean 'timeout'?",
            "At: connectors/settings.yaml:1",
        ]
    )


def test_unknown_top_level_key_in_settings_document(
    run_bad: Callable[..., pytest.RunResult], write_yaml
) -> None:
    write_yaml("connectors/settings.yaml", "pytestConnectors:\n  delegate: []\n")
    result = run_bad("connectors/settings.yaml::pytestConnectors[definition]")
    result.stdout.fnmatch_lines(["*unknown key 'delegate'; did you mean 'delegates'?"])


def test_unrelated_documents_are_ignored(
    pytester: pytest.Pytester,
    others: None,
    write_yaml,
    outcomes_of: Callable[[pytest.RunResult], dict[str, str]],
) -> None:
    write_yaml("connectors/service.yaml", "service:\n  identifier: web\n---\n# only a comment\n")
    write_yaml("connectors/empty.yaml", "")
    result = pytester.runpytest("--connectors=connectors", "-rA")
    assert outcomes_of(result) == OTHER_ITEMS
    assert result.ret == pytest.ExitCode.OK


# -- the run's own configuration: usage errors ---------------------------------------------


def _assert_usage_error(result: pytest.RunResult, *fragments: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR == 4
    errors = "\n".join(result.errlines)
    for fragment in fragments:
        assert fragment in errors, errors
    assert "Traceback" not in errors + result.stdout.str()


def test_config_file_with_an_unknown_key_is_a_usage_error(
    pytester: pytest.Pytester, others: None, write_yaml
) -> None:
    write_yaml("config.yaml", "pytestConnectors:\n  defaults:\n    timout: 5\n")
    result = pytester.runpytest("--connectors=connectors", "--connectors-config=config.yaml")
    _assert_usage_error(
        result,
        "ERROR: --connectors-config:",
        "config.yaml:3: pytestConnectors.defaults.timout: unknown key 'timout'"
        " (did you mean 'timeout'?)",
    )


def test_config_file_applies_its_settings(
    pytester: pytest.Pytester,
    others: None,
    write_yaml,
    outcomes_of: Callable[[pytest.RunResult], dict[str, str]],
) -> None:
    write_yaml(
        "config.yaml",
        "pytestConnectors:\n  connectors:\n    account.other_a: {skip: [delegate]}\n",
    )
    result = pytester.runpytest("--connectors=connectors", "--connectors-config=config.yaml")
    result.assert_outcomes(passed=len(OTHER_ITEMS) - 1, skipped=1)


def test_config_file_with_a_syntax_error_is_a_usage_error(
    pytester: pytest.Pytester, others: None, write_yaml
) -> None:
    write_yaml("config.yaml", "pytestConnectors:\n  defaults: [\n")
    result = pytester.runpytest("--connectors=connectors", "--connectors-config=config.yaml")
    _assert_usage_error(result, "--connectors-config:", "config.yaml:", "YAML syntax error")


def test_missing_config_file_is_a_usage_error(pytester: pytest.Pytester, others: None) -> None:
    result = pytester.runpytest("--connectors=connectors", "--connectors-config=nope.yaml")
    _assert_usage_error(result, "--connectors-config:", "nope.yaml does not exist")


def test_missing_secrets_file_is_a_usage_error(pytester: pytest.Pytester, others: None) -> None:
    result = pytester.runpytest("--connectors=connectors", "--connectors-secrets=missing.yaml")
    _assert_usage_error(result, "ERROR: --connectors-secrets:", "missing.yaml does not exist")


def test_secrets_file_that_is_not_a_mapping_is_a_usage_error(
    pytester: pytest.Pytester, others: None, write_yaml
) -> None:
    write_yaml("secrets.yaml", "- account.gh_pat\n")
    result = pytester.runpytest("--connectors=connectors", "--connectors-secrets=secrets.yaml")
    _assert_usage_error(
        result, "--connectors-secrets:", "secrets.yaml:1: the secrets file must map references"
    )


# -- bad secret contents -------------------------------------------------------------------

K8S_SA = """
connector:
  name: cluster
  identifier: cluster
  type: K8sCluster
  spec:
    credential:
      type: ManualConfig
      spec:
        masterUrl: https://10.0.0.1:6443
        auth:
          type: ServiceAccount
          spec:
            serviceAccountTokenRef: account.sa_token
    delegateSelectors: [x]
"""


def _jwt(claims: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


def test_secret_of_the_wrong_shape_fails_the_secrets_item(
    pytester: pytest.Pytester,
    write_yaml,
    monkeypatch: pytest.MonkeyPatch,
    outcomes_of: Callable[[pytest.RunResult], dict[str, str]],
    assert_no_traceback: Callable[[pytest.RunResult], None],
) -> None:
    write_yaml("connectors/k8s.yaml", K8S_SA)
    token = _jwt({"sub": "system:serviceaccount:ci:deployer", "exp": 4102444800})
    encoded = base64.b64encode(token.encode()).decode()
    monkeypatch.setenv("CONNECTOR_SECRET_ACCOUNT_sa_token", encoded)
    result = pytester.runpytest("--connectors=connectors", "-rA")
    assert outcomes_of(result)["connectors/k8s.yaml::account.cluster[secrets]"] == "FAILED"
    result.stdout.fnmatch_lines(
        [
            "[[]secret-format-invalid[]] *",
            "*'account.sa_token' should hold a service-account token (JWT): the secret holds the"
            " token base64-encoded*",
        ]
    )
    assert encoded not in result.stdout.str()
    assert_no_traceback(result)


def test_token_with_out_of_range_expiry_does_not_crash(
    pytester: pytest.Pytester,
    write_yaml,
    monkeypatch: pytest.MonkeyPatch,
    outcomes_of: Callable[[pytest.RunResult], dict[str, str]],
    assert_no_traceback: Callable[[pytest.RunResult], None],
) -> None:
    write_yaml("connectors/k8s.yaml", K8S_SA)
    monkeypatch.setenv("CONNECTOR_SECRET_ACCOUNT_sa_token", _jwt({"exp": 10**20}))
    result = pytester.runpytest("--connectors=connectors", "-rA")
    assert_no_traceback(result)
    assert outcomes_of(result)["connectors/k8s.yaml::account.cluster[secrets]"] == "FAILED"
    result.stdout.fnmatch_lines(["[[]secret-format-invalid[]] *"])


# -- values YAML cannot construct --------------------------------------------------------------

#: Values that PyYAML parses but cannot construct (each crashed a run with INTERNALERROR before).
UNCONSTRUCTABLE = {
    "bool-maybe": "!!bool maybe",
    "int-hex-zz": "!!int 0xZZ",
    "int-08": "!!int 08",
    "float-nope": "!!float nope",
    "int-empty": '!!int ""',
    "map-scalar": "!!map 0",
    "seq-scalar": "!!seq 0",
    "plain-0x_": "0x_",
    "int-4301-digits": "9" * 4301,
    "sexagesimal-long": ":".join(["1"] + ["0"] * 3000),
    "int-binary-2": "!!int 0b2",
    "int-sexagesimal-x": "!!int 1:2:x",
}


@pytest.mark.parametrize("value", UNCONSTRUCTABLE.values(), ids=list(UNCONSTRUCTABLE))
def test_a_value_yaml_cannot_construct_fails_only_its_document(
    run_bad: Callable[..., pytest.RunResult], write_yaml: Callable[..., Path], value: str
) -> None:
    """Issue 9 item 1: the loader never raises past a document. The broken document is one
    failing [definition] item naming the line; the next document of the same file and every
    other file still run."""
    write_yaml(
        "connectors/bad.yaml",
        f"connector:\n  name: bad\n  identifier: bad\n  description: {value}\n  type: Jira\n"
        f"  spec: {{}}\n---\n{FIRST_CONNECTOR}",
    )
    extra = {f"connectors/bad.yaml::account.first[{c}]": "PASSED" for c in ("definition",)}
    result = run_bad("connectors/bad.yaml::document-1[definition]", extra=extra)
    result.stdout.fnmatch_lines(["*connectors/bad.yaml:4: the value * cannot be read as *"])


@pytest.mark.parametrize("option", ["--connectors-config", "--connectors-secrets"])
@pytest.mark.parametrize("value", ["!!int 08", "9" * 4301, "!!bool maybe"])
def test_a_value_yaml_cannot_construct_in_the_run_s_own_files_is_a_usage_error(
    pytester: pytest.Pytester,
    others: None,
    write_yaml: Callable[..., Path],
    option: str,
    value: str,
) -> None:
    body = "pytestConnectors:\n  defaults:\n    timeout: " if "config" in option else "account.x: "
    write_yaml("own.yaml", f"{body}{value}\n")
    result = pytester.runpytest("--connectors=connectors", f"{option}=own.yaml")
    _assert_usage_error(result, f"{option}:", "own.yaml:", "cannot be read as")
