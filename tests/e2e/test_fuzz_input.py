"""Property: whatever a connector file is mutated into, the run ends with 0 or 1 (never an
internal error, 3) and every connector of the other files is still collected and checked.

The mutations are the ones that found crashes before (issue 9 item 1): a value replaced by a
tagged or odd scalar, characters inserted or deleted, lines duplicated or swapped, random text.
A fixed number of examples, derandomised, so CI time and outcome are stable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

VALID = """\
connector:
  name: GitHub main
  identifier: gh_main
  orgIdentifier: default
  projectIdentifier: docs
  description: the team's repositories
  tags: {team: platform}
  type: Github
  spec:
    type: Account
    url: https://github.com/acme
    validationRepo: app
    authentication:
      type: Http
      spec:
        type: UsernameToken
        spec:
          username: bot
          tokenRef: account.gh_pat
    apiAccess: {type: Token, spec: {tokenRef: account.gh_pat}}
    delegateSelectors: [dmz]
---
connector:
  name: cluster
  identifier: cluster
  type: K8sCluster
  spec:
    credential: {type: InheritFromDelegate}
    delegateSelectors: [k8s]
"""
OTHER = "connector: {name: o, identifier: other, type: Jira, spec: {delegateSelectors: [x]}}\n"
OTHER_ITEM = "connectors/other.yaml::account.other[definition]"

#: Scalars that YAML parses but that are odd to construct or to model.
ODD_SCALARS = [
    "!!bool maybe", "!!int 0xZZ", "!!int 08", "!!float nope", '!!int ""', "!!map 0", "!!seq 0",
    "0x_", "9" * 4301, ":".join(["1"] + ["0"] * 500), "!!binary '%%'", "!!timestamp x",
    "!!python/object:os.system x", "!!set 0", "!!omap 0", "*undefined", "&a [*a]", "~", "[]",
    "{}", "<+input>", "-", "'", '"\\x"', "!!str", "? a", "1e999", ".nan", "null", "yes", "0o9",
    "\t", "\x00", "\ufeff", "é" * 3, "- [", "{a: [b, {c: d}]}",
]  # fmt: skip

line_of = st.integers(min_value=0, max_value=VALID.count("\n"))


@st.composite
def mutations(draw: st.DrawFn) -> str:
    lines = VALID.splitlines()
    index = draw(line_of) % len(lines)
    kind = draw(st.sampled_from(["value", "insert", "delete", "duplicate", "swap", "text"]))
    if kind == "value" and ":" in lines[index]:
        head = lines[index].split(":", 1)[0]
        lines[index] = f"{head}: {draw(st.sampled_from(ODD_SCALARS))}"
    elif kind == "insert":
        column = draw(st.integers(min_value=0, max_value=len(lines[index])))
        extra = draw(st.text(min_size=1, max_size=6))
        lines[index] = lines[index][:column] + extra + lines[index][column:]
    elif kind == "delete":
        end = draw(st.integers(min_value=index, max_value=min(index + 3, len(lines) - 1)))
        del lines[index : end + 1]
    elif kind == "duplicate":
        lines.insert(index, lines[index])
    elif kind == "swap":
        other = draw(line_of) % len(lines)
        lines[index], lines[other] = lines[other], lines[index]
    else:
        lines[index] = draw(st.text(max_size=40))
    return "\n".join(lines) + "\n"


@pytest.mark.no_secret_source
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=mutations())
def test_no_mutation_of_a_connector_file_crashes_the_run(
    pytester: pytest.Pytester,
    write_yaml: Callable[..., Path],
    outcomes_of: Callable[[pytest.RunResult], dict[str, str]],
    text: str,
) -> None:
    write_yaml("connectors/other.yaml", OTHER)
    Path(pytester.path, "connectors", "mutated.yaml").write_text(text, encoding="utf-8")
    result = pytester.runpytest("--connectors=connectors", "-p", "no:cacheprovider", "-rA")
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED), result.stdout.str()
    assert outcomes_of(result).get(OTHER_ITEM) == "PASSED", result.stdout.str()
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
