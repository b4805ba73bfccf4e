"""The failure text of an item: what the terminal and JUnit show for a failed check.

Only free text goes through the masker (causes, evidence values, remediation steps, reasons):
titles, failure-mode ids, references and places are never rewritten, whatever a secret is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import catalogue
from ..masking import MASKER

_EVIDENCE_LIMIT = 400


def _evidence_lines(evidence: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, value in evidence.items():
        if value in (None, "", [], {}):
            continue
        text = MASKER.scrub(value if isinstance(value, str) else repr(value))
        if len(text) > _EVIDENCE_LIMIT:
            text = text[:_EVIDENCE_LIMIT] + " ..."
        lines.append(f"  {key}: {text}")
    return lines


def render_failure(info: Mapping[str, Any], check: Mapping[str, Any]) -> str:
    """``[mode] title``, cause, evidence, numbered remediation, docs link, ``file:line``."""
    mode = catalogue.get(check["failure_mode"])
    lines = [f"[{mode.id}] {mode.title}"]
    subject = f"{info['ref']} ({info['type'] or 'unreadable document'})"
    findings = check.get("findings") or []
    primary = next(f for f in findings if f["failure_mode"] == mode.id)
    lines.append(f"{subject}: {MASKER.scrub(primary['message'])}")
    others = [f for f in findings if f is not primary]
    if others:
        lines.append("Also found:")
        lines.extend(f"  [{f['failure_mode']}] {MASKER.scrub(f['message'])}" for f in others)
    evidence = _evidence_lines(check.get("evidence") or {})
    if evidence:
        lines.append("Evidence:")
        lines.extend(evidence)
    if check.get("remediation"):
        lines.append("Remediation:")
        lines.extend(
            f"  {n}. {MASKER.scrub(step)}" for n, step in enumerate(check["remediation"], 1)
        )
    lines.append(f"Docs: {mode.anchor}")
    lines.append(f"At: {info['file']}:{info['line']}")
    return "\n".join(lines)


def render_not_checked(info: Mapping[str, Any], check: Mapping[str, Any]) -> str:
    """What ``--connectors-strict`` shows for a check that could not run here."""
    lines = [
        f"[not checked] {info['ref']} ({info['type']}): the {check['name']} check did not run",
        f"Reason: {MASKER.scrub(check.get('skip_reason') or 'not given')}",
        "--connectors-strict fails a connector that is not fully checked; run where this check"
        " can run (the named extra installed, the secrets at hand, as the connector's delegate),"
        " or drop --connectors-strict.",
        f"At: {info['file']}:{info['line']}",
    ]
    return "\n".join(lines)


def render_short(info: Mapping[str, Any], check: Mapping[str, Any]) -> str:
    """``--tb=short``: the title, the cause, the first remediation step, the docs, the place."""
    mode = catalogue.get(check["failure_mode"])
    findings = check.get("findings") or []
    primary = next(f for f in findings if f["failure_mode"] == mode.id)
    cause = MASKER.scrub(primary["message"])
    lines = [f"[{mode.id}] {mode.title}", f"{info['ref']} ({info['type']}): {cause}"]
    remediation = check.get("remediation") or []
    if remediation:
        more = f" (and {len(remediation) - 1} more: --tb=long)" if len(remediation) > 1 else ""
        lines.append(f"1. {MASKER.scrub(remediation[0])}{more}")
    lines += [f"Docs: {mode.anchor}", f"At: {info['file']}:{info['line']}"]
    return "\n".join(lines)


def render_line(info: Mapping[str, Any], check: Mapping[str, Any]) -> str:
    """``--tb=line``: one line, ``file:line: [mode] ref [check]: cause``."""
    mode = check.get("failure_mode")
    label = f"[{mode}]" if mode else "[not checked]"
    cause = MASKER.scrub(check.get("message") or check.get("skip_reason") or "").splitlines()
    return (
        f"{info['file']}:{info['line']}: {label} {info['ref']} [{check['name']}]:"
        f" {cause[0] if cause else ''}"
    )
