"""Run-level outputs: terminal summary, JSON report, Markdown summary, escalation bundles.

All of them are written by the process that saw every result (the xdist controller, or the only
process), from :class:`RunRecords`. Their free text goes through the masker (again: a worker
masked it already) and nothing else does: references, statuses, failure modes and counts are
never rewritten, whatever a secret is.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import catalogue
from ..masking import MASKER
from .records import RunRecords, SubjectRecord, scrub_check, scrub_record, scrub_subject

if TYPE_CHECKING:
    import pytest

    from ..options import ConnectorOptions

REPORT_VERSION = 1
_STATUS_WORD = {
    "passed": "ok",
    "failed": "FAILED",
    "warning": "warning",
    "incomplete": "incomplete",
}
_MARKUP = {"failed": {"red": True}, "warning": {"yellow": True}, "incomplete": {"yellow": True}}


def count_statuses(records: RunRecords) -> dict[str, int]:
    """The report's ``summary``: connectors by status, and how many had no check run at all."""
    summary = {
        "connectors": len(records.connectors),
        "passed": 0,
        "failed": 0,
        "warnings": 0,
        "incomplete": 0,
        "skipped": 0,
        "fully_checked": 0,
    }
    for record in records.connectors:
        summary["warnings" if record.status == "warning" else record.status] += 1
        if record.status == "incomplete" and record.nothing_ran:
            summary["skipped"] += 1
        if record.status in ("passed", "warning"):
            summary["fully_checked"] += 1
    return summary


def summary_line(records: RunRecords) -> str:
    counts = count_statuses(records)
    total = counts["connectors"]
    parts = [
        f"{counts['passed']} passed",
        f"{counts['warnings']} with warnings",
        f"{counts['failed']} failed",
        f"{counts['incomplete']} incomplete",
    ]
    return (
        f"{total} connector{'' if total == 1 else 's'}: {', '.join(parts)};"
        f" {counts['fully_checked']} of {total} fully checked"
    )


def terminal_summary(reporter: Any, records: RunRecords, strict: bool) -> None:
    connectors = records.connectors + records.pipelines
    if not connectors:
        return
    reporter.write_sep("=", "connector summary")
    width = max(len(r.info["ref"]) for r in connectors)
    for record in connectors:
        status = _STATUS_WORD[record.status]
        modes = ", ".join(record.failure_modes)
        kind = record.info["type"] or "unreadable"
        where = f"{record.info['file']}:{record.info['line']}"
        line = f"{record.info['ref']:<{width}}  {kind:<14} {status:<10} {where}  {modes}".rstrip()
        reporter.write_line(line, **_MARKUP.get(record.status, {}))
    incomplete = [r for r in records.connectors if r.status == "incomplete"]
    if incomplete:
        title = "connectors not fully checked" + (
            " (--connectors-strict: the run fails)" if strict else " (failing: --connectors-strict)"
        )
        reporter.write_sep("-", title)
        for record in incomplete:
            for name, reason in record.gaps:
                # some skip reasons already say so ("not checked: no secret source")
                reason = MASKER.scrub(reason)
                shown = reason if reason.startswith("not checked") else f"not checked: {reason}"
                reporter.write_line(f"{record.info['ref']}[{name}] {shown}", yellow=True)
    warnings = records.warnings()
    if warnings:
        title = (
            "connector warnings (failing: --connectors-strict)"
            if not strict
            else "connector warnings"
        )
        reporter.write_sep("-", title)
        for record, check in warnings:
            for finding in check.get("findings", []):
                if finding["severity"] == "warning":
                    reporter.write_line(
                        f"{record.info['ref']}[{check['name']}] [{finding['failure_mode']}]"
                        f" {MASKER.scrub(finding['message'])}",
                        yellow=True,
                    )
    if records.connectors:
        reporter.write_sep("-", summary_line(records), bold=True)


def build_report(records: RunRecords, delegate: dict[str, Any]) -> dict[str, Any]:
    report = {
        "version": REPORT_VERSION,
        "delegate": delegate,
        "summary": count_statuses(records),
        "connectors": [scrub_record(r.as_json()) for r in records.connectors],
        "pipelines": [scrub_record(r.as_json()) for r in records.pipelines],
    }
    return report


def render_markdown(records: RunRecords) -> str:
    connectors = records.connectors
    failed = [r for r in connectors if r.status == "failed"]
    incomplete = [r for r in connectors if r.status == "incomplete"]
    lines = [
        "## Connector health",
        "",
        summary_line(records) + "." if connectors else "No connectors.",
        "",
        "| connector | type | status | failure modes | file |",
        "|---|---|---|---|---|",
    ]
    for record in connectors + records.pipelines:
        modes = ", ".join(f"`{m}`" for m in record.failure_modes)
        info = record.info
        lines.append(
            f"| `{info['ref']}` | {info['type'] or '-'} | {record.status} | {modes} |"
            f" {info['file']}:{info['line']} |"
        )
    for record in failed:
        lines += ["", f"### `{record.info['ref']}` ({record.info['type'] or 'document'})", ""]
        for check in record.checks:
            if check["outcome"] != "failed":
                continue
            check = scrub_check(check)
            if not check["failure_mode"]:  # a crashed check: no failure mode to link
                lines.append(f"- **{check['name']}**: {check['message']}")
                continue
            mode = catalogue.get(check["failure_mode"])
            lines.append(f"- **{check['name']}**: [`{mode.id}`]({mode.anchor}) {check['message']}")
            lines.extend(f"  {n}. {step}" for n, step in enumerate(check["remediation"], 1))
    if incomplete:
        lines += ["", "### Not fully checked", ""]
        for record in incomplete:
            lines.extend(
                f"- `{record.info['ref']}` **{check}**: {MASKER.scrub(reason)}"
                for check, reason in record.gaps
            )
    return "\n".join(lines) + "\n"


def _safe_name(ref: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", ref)


def bundle_for(record: SubjectRecord, delegate: dict[str, Any]) -> dict[str, Any]:
    """What support needs about one failed connector, its free text masked."""
    checks = [scrub_check(c) for c in record.checks]
    failing = [c for c in checks if c["outcome"] == "failed"]
    return {
        "connector": scrub_subject({k: v for k, v in record.info.items() if k != "kind"}),
        "status": record.status,
        "errors": [
            {"check": c["name"], "failure_mode": c["failure_mode"], "message": c["message"]}
            for c in failing
        ],
        "checks": checks,
        "delegate": delegate,
        "pipeline_execution_id": os.environ.get("HARNESS_EXECUTION_ID")
        or os.environ.get("PIPELINE_EXECUTION_ID"),
    }


def _bundle_markdown(data: dict[str, Any]) -> str:
    info = data["connector"]
    lines = [
        f"# Escalation: {info['ref']} ({info['type']})",
        "",
        f"Defined at {info['file']}:{info['line']}."
        f" Delegate: {data['delegate'].get('name') or '(unknown)'}.",
        "",
        "## Errors",
    ]
    lines += [f"- `{e['failure_mode']}` on `{e['check']}`: {e['message']}" for e in data["errors"]]
    lines += ["", "## Every check"]
    for check in data["checks"]:
        lines.append(
            f"- {check['name']}: {check['outcome']} {check.get('failure_mode') or ''}".rstrip()
        )
        if check.get("evidence"):
            lines.append(f"  evidence: `{json.dumps(check['evidence'], sort_keys=True)}`")
    return "\n".join(lines) + "\n"


def write_bundle(directory: Path, records: RunRecords, delegate: dict[str, Any]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for record in records.connectors:
        if record.status != "failed":
            continue
        data = bundle_for(record, delegate)
        node = record.info.get("node") or record.info["ref"]  # duplicates: "<ref>-2"
        stem = directory / _safe_name(f"{record.info['file']}__{node}")
        # not with_suffix(): a ref such as account.x has a dot of its own
        Path(f"{stem}.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        Path(f"{stem}.md").write_text(_bundle_markdown(data))
        written.append(stem)
    return written


def write_outputs(
    config: pytest.Config,
    options: ConnectorOptions,
    records: RunRecords,
    delegate: dict[str, Any],
) -> None:
    if options.report is not None:
        options.report.parent.mkdir(parents=True, exist_ok=True)
        options.report.write_text(
            json.dumps(build_report(records, delegate), indent=2, sort_keys=False) + "\n"
        )
    markdown_target: Path | None = None
    if options.markdown == "auto":
        summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
        markdown_target = Path(summary_file) if summary_file else None
        if markdown_target is not None:
            with markdown_target.open("a", encoding="utf-8") as handle:
                handle.write(render_markdown(records))
    elif options.markdown:
        markdown_target = Path(config.invocation_params.dir, options.markdown)
        markdown_target.parent.mkdir(parents=True, exist_ok=True)
        markdown_target.write_text(render_markdown(records))
    if options.bundle is not None:
        write_bundle(options.bundle, records, delegate)
