"""Generate ``docs/failure-modes.md`` from the failure-mode catalogue.

``python -m pytest_connectors.docs [PATH]`` rewrites the page (by default the one in the
repository this module lives in); a unit test fails when the committed page drifts from
:func:`render_failure_modes_markdown`.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path

from pytest_connectors.catalogue import (
    CATALOGUE,
    CONNECTOR_TYPES,
    DERIVED_KEYS,
    EVIDENCE_KEYS,
    GROUPS,
    PLACEHOLDERS,
    FailureMode,
    Step,
    render_template,
)

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "docs" / "failure-modes.md"

_INTRO = """\
# Failure modes

<!-- Generated from src/pytest_connectors/catalogue.py by `python -m pytest_connectors.docs`.
     Do not edit by hand. -->

Every check that does not pass names exactly one failure mode below by its id. The id appears in
the pytest failure message, in the JUnit property `failure_mode`, in the JSON report and in the
link to this page (`docs/failure-modes.md#<id>`). Ids never change.

An **error** fails the item. A **warning** passes it but is listed under "Connector warnings" in
the terminal summary; `--connectors-strict` turns warnings into failures.

The remediation steps are written for the connector at hand: the plugin fills each `<placeholder>`
with the connector's own details and the evidence of the run, so that every command can be pasted
as printed (secrets appear only as shell variables such as `$TOKEN`, or as file names). It leaves
out steps whose evidence is missing, and shows type-specific steps (marked "(Github only)" and so
on) and credential-specific ones only where they apply. `<rerun>` is this run's own command line
(connector paths, secrets, settings, delegate, resolvers, proxy without its credentials, CA
bundle, timeout) narrowed to the connector by its node id, `<file>::<ref>`.
The placeholders are listed at the [end of this page](#placeholders).
"""


def _escape_markdown(text: str) -> str:
    """Escape ``<`` outside code spans, so ``<ref>`` is shown instead of read as HTML."""
    parts = text.split("`")
    for index in range(0, len(parts), 2):
        parts[index] = parts[index].replace("<", "\\<")
    return "`".join(parts)


def _render_step(step: Step) -> str:
    names = set(PLACEHOLDERS) | set(step.requires) | step.placeholders
    text = _escape_markdown(render_template(step.text, {name: f"<{name}>" for name in names}))
    limits = []
    if step.types:
        limits.append(", ".join(name for name in CONNECTOR_TYPES if name in step.types))
    if step.auths:
        limits.append(", ".join(sorted(step.auths)) + " credentials")
    if limits:
        text += f" *({'; '.join(limits)} only)*"
    return text


def _title_line(mode: FailureMode) -> str:
    return f"[`{mode.id}`](#{mode.id}): {mode.title} ({mode.severity.value})"


def _render_mode(mode: FailureMode) -> list[str]:
    seed = "none" if mode.seed_section == "-" else mode.seed_section
    lines = [
        f'<a id="{mode.id}"></a>',
        "",
        f"### `{mode.id}`: {mode.title}",
        "",
        _escape_markdown(mode.summary),
        "",
        f"- Severity: **{mode.severity.value}**",
        f"- Troubleshooting guide section: {seed}",
    ]
    if mode.evidence:
        lines.append("- Evidence: " + ", ".join(f"`{key}`" for key in mode.evidence))
    lines += ["", "Remediation:", ""]
    lines += [f"{number}. {_render_step(step)}" for number, step in enumerate(mode.steps, 1)]
    lines.append("")
    return lines


def _modes_by_group() -> dict[str, list[FailureMode]]:
    grouped: dict[str, list[FailureMode]] = {group: [] for group in GROUPS}
    for mode in CATALOGUE.values():
        grouped[mode.group].append(mode)
    return grouped


def _anchor(heading: str) -> str:
    # GitHub's rule for heading anchors, enough for the plain group names used here.
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")


def render_failure_modes_markdown() -> str:
    """The whole ``docs/failure-modes.md`` page, generated from :data:`CATALOGUE`."""
    grouped = _modes_by_group()
    lines = [_INTRO, "## Contents", ""]
    for group, modes in grouped.items():
        lines.append(f"- [{group}](#{_anchor(group)})")
        lines += [f"  - {_title_line(mode)}" for mode in modes]
    lines.append("")
    for group, modes in grouped.items():
        lines += [f"## {group}", ""]
        for mode in modes:
            lines += _render_mode(mode)
    lines += [
        "## Placeholders",
        "",
        "Every step may use these details of the connector:",
        "",
        "| placeholder | meaning |",
        "|---|---|",
    ]
    lines += [
        f"| `<{name}>` | {_escape_markdown(meaning)} |" for name, meaning in PLACEHOLDERS.items()
    ]
    lines += [
        "",
        "Checks add evidence of the run; a step that uses an evidence key is shown only when the "
        "check supplied it. Evidence never contains a secret value.",
        "",
        "| evidence key | meaning |",
        "|---|---|",
    ]
    lines += [
        f"| `<{name}>` | {_escape_markdown(meaning)} |"
        for name, meaning in sorted(EVIDENCE_KEYS.items())
    ]
    lines += [
        "",
        "Some details exist only for some connectors or runs (a repository, an API base, a "
        "resolver's address); a step that uses one is shown only when it is known, and some "
        "steps are the alternative shown when it is not.",
        "",
        "| detail | meaning |",
        "|---|---|",
    ]
    lines += [
        f"| `<{name}>` | {_escape_markdown(meaning)} |"
        for name, meaning in sorted(DERIVED_KEYS.items())
    ]
    return "\n".join(lines) + "\n"


def write_failure_modes(path: Path = DEFAULT_PATH) -> bool:
    """Write the page to ``path``; return whether its content changed."""
    text = render_failure_modes_markdown()
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_connectors.docs",
        description="Regenerate the failure-mode reference page from the catalogue.",
    )
    parser.add_argument(
        "path", nargs="?", type=Path, default=DEFAULT_PATH, help=f"default: {DEFAULT_PATH}"
    )
    args = parser.parse_args(argv)
    changed = write_failure_modes(args.path)
    print(f"{'wrote' if changed else 'up to date:'} {args.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
