"""Per-item results as plain JSON data, so they survive xdist and feed every report.

The worker that ran an item attaches a payload (already secret-scrubbed) to its report; the
controller gathers payloads into :class:`RunRecords`, grouped per connector and per pipeline.

Scrubbing is field by field (:func:`scrub_check`, :func:`scrub_subject`): free text only. Keys,
names, enum values (``outcome``, ``severity``, ``skip_kind``, failure-mode ids), numbers and
references are never rewritten, whatever a secret is: a password ``pass`` leaves ``passed`` be.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import catalogue
from ..inventory import SettingsEntry
from ..masking import MASKER
from ..model import BrokenDocument, Connector, PipelineDocument
from ..results import CheckResult, Finding, Outcome, SkipKind
from .remediation import evidence_details

Subject = Connector | BrokenDocument | PipelineDocument | SettingsEntry


def subject_info(subject: Subject) -> dict[str, Any]:
    """The fields every report shows about what was checked."""
    if isinstance(subject, Connector):
        return {
            "kind": "connector",
            "ref": subject.ref,
            "identifier": subject.identifier,
            "scope": subject.scope.level.value,
            "type": subject.type,
            "file": subject.file,
            "line": subject.line,
            "selectors": list(subject.delegate_selectors),
            "secret_refs": sorted({r.raw for r in subject.secret_refs}),
        }
    if isinstance(subject, PipelineDocument):
        return {
            "kind": "pipeline",
            "ref": subject.identifier,
            "identifier": subject.identifier,
            "scope": subject.scope.level.value,
            "type": subject.kind,
            "file": subject.file,
            "line": subject.line,
        }
    if isinstance(subject, SettingsEntry):
        return {
            "kind": "document",
            "ref": "pytestConnectors",
            "identifier": "pytestConnectors",
            "scope": "account",
            "type": "pytestConnectors",
            "file": subject.file,
            "line": subject.line,
        }
    return {
        "kind": "document",
        "ref": subject.name,
        "identifier": subject.identifier or subject.name,
        "scope": None,
        "type": None,
        "file": subject.file,
        "line": subject.line,
    }


def _json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def remediation_context(
    info: Mapping[str, Any], finding: Finding, values: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """What the steps of ``finding``'s mode render with: the subject's fields, ``values``
    (connector details and re-run lines, see :mod:`.remediation`), the evidence, and what is
    read from the evidence. Without ``values`` the re-run lines name the file alone."""
    node = shlex.quote(f"{info['file']}::{info['ref']}")
    connectors = shlex.quote(f"--connectors={info['file']}")
    context: dict[str, Any] = {
        "ref": info["ref"],
        "identifier": info["identifier"],
        "type": info["type"] or "unknown",
        "file": info["file"],
        "line": info["line"],
        "scope": info["scope"] or "unknown",
        "selectors": ", ".join(info.get("selectors") or []) or "(none)",
        "secret_refs": ", ".join(info.get("secret_refs") or []) or "(none)",
        "rerun": f"pytest {connectors} {node}",
        "rerun_offline": f"pytest {connectors} --connectors-offline {node}",
        "rerun_any_delegate": f"pytest {connectors} --connectors-any-delegate {node}",
        **(values or {}),
    }
    for key, value in finding.evidence.items():
        if value not in (None, "", [], {}):
            context[key] = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
    context.update(evidence_details(context))
    return context


def check_payload(
    info: Mapping[str, Any],
    result: CheckResult,
    *,
    strict: bool = False,
    values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON shape of one check (the report's ``checks[]`` entry), scrubbed.

    Under ``--connectors-strict`` a warning fails its item, and is reported as failed too.
    ``values`` are what remediation renders with besides the subject and the evidence.
    """
    primary = result.primary
    outcome = result.outcome
    if strict and (outcome is Outcome.WARNING or result.not_checked):
        outcome = Outcome.FAILED  # what strict makes of the item, the report says too
    payload: dict[str, Any] = {
        "name": result.check,
        "outcome": outcome.value,
        "failure_mode": primary.mode if primary else None,
        "severity": primary.severity.value if primary else None,
        "message": "\n".join(f.cause for f in result.findings) or (result.skip_reason or ""),
        "remediation": (
            catalogue.get(primary.mode).remediation(remediation_context(info, primary, values))
            if primary
            else []
        ),
        "evidence": _json_safe({**result.evidence, **(primary.evidence if primary else {})}),
        "duration_s": round(result.duration_s, 4),
        "findings": [
            {"failure_mode": f.mode, "severity": f.severity.value, "message": f.cause}
            for f in result.findings
        ],
    }
    if result.outcome is Outcome.SKIPPED:
        payload["skip_reason"] = result.skip_reason or ""
        payload["skip_kind"] = (result.skip_kind or SkipKind.NOT_CHECKED).value
        if result.blocked_by:
            payload["blocked_by"] = result.blocked_by
    return scrub_check(payload)


def scrub_values(data: Any) -> Any:
    """Every string inside JSON-like data masked; mapping keys (names, references) kept."""
    if isinstance(data, str):
        return MASKER.scrub(data)
    if isinstance(data, Mapping):
        return {key: scrub_values(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [scrub_values(value) for value in data]
    return data


def scrub_check(check: Mapping[str, Any]) -> dict[str, Any]:
    """A ``checks[]`` entry with its free text masked: the message, the skip reason, each
    remediation step, the evidence's values and the findings' messages."""
    scrubbed = dict(check)
    for key in ("message", "skip_reason"):
        if isinstance(scrubbed.get(key), str):
            scrubbed[key] = MASKER.scrub(scrubbed[key])
    if scrubbed.get("remediation"):
        scrubbed["remediation"] = [MASKER.scrub(step) for step in scrubbed["remediation"]]
    if scrubbed.get("evidence"):
        scrubbed["evidence"] = scrub_values(scrubbed["evidence"])
    if scrubbed.get("findings"):
        scrubbed["findings"] = [
            {**finding, "message": MASKER.scrub(finding["message"])}
            for finding in scrubbed["findings"]
        ]
    return scrubbed


def scrub_subject(info: Mapping[str, Any]) -> dict[str, Any]:
    """Subject fields (references, names, type, file, line) as they are; the reasons of its
    coverage gaps masked."""
    scrubbed = dict(info)
    if scrubbed.get("coverage_gaps"):
        scrubbed["coverage_gaps"] = [
            {**gap, "reason": MASKER.scrub(gap["reason"])} for gap in scrubbed["coverage_gaps"]
        ]
    return scrubbed


def scrub_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A report's ``connectors[]`` / ``pipelines[]`` entry (:meth:`SubjectRecord.as_json`)."""
    scrubbed = scrub_subject(record)
    scrubbed["checks"] = [scrub_check(check) for check in record.get("checks", [])]
    if "not_checked" in record:
        scrubbed["not_checked"] = [
            {**gap, "reason": MASKER.scrub(gap["reason"])} for gap in record["not_checked"]
        ]
    return scrubbed


#: Why a collected check has no result: pytest did not run its item.
NOT_RUN = "not run in this session (deselected, or the run stopped before it)"


@dataclass
class SubjectRecord:
    info: dict[str, Any]
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def gaps(self) -> list[tuple[str, str]]:
        """(check, reason) for every check that applies to the connector and was not checked.

        Checks skipped because a dependency failed are not gaps: the failure is reported.
        """
        found = [
            (c["name"], c.get("skip_reason") or "")
            for c in self.checks
            if c.get("skip_kind") == "not-checked"  # failed under --connectors-strict
        ]
        reported = {c["name"] for c in self.checks}
        expected = self.info.get("expected_checks", ())
        found += [(name, NOT_RUN) for name in expected if name not in reported]
        found += [(g["check"], g["reason"]) for g in self.info.get("coverage_gaps", ())]
        return found

    @property
    def status(self) -> str:
        """failed > incomplete > warning > passed: ``passed`` and ``warning`` both vouch that
        every check that applies ran; ``incomplete`` says something could not be checked."""
        outcomes = {c["outcome"] for c in self.checks}
        # a check blocked by a failure is proof of that failure, even when -k left it out
        if "failed" in outcomes or any(c.get("skip_kind") == "blocked" for c in self.checks):
            return "failed"
        if self.gaps:
            return "incomplete"
        if "warning" in outcomes:
            return "warning"
        return "passed"

    @property
    def nothing_ran(self) -> bool:
        return all(c["outcome"] == "skipped" for c in self.checks)

    @property
    def failure_modes(self) -> list[str]:
        modes = [c.get("failure_mode") or c.get("blocked_by") for c in self.checks]
        return list(dict.fromkeys(m for m in modes if m))

    def as_json(self) -> dict[str, Any]:
        hidden = ("kind", "selectors", "secret_refs", "expected_checks", "coverage_gaps", "node")
        info = {k: v for k, v in self.info.items() if k not in hidden}
        data = {**info, "status": self.status, "checks": self.checks}
        if self.info.get("kind") == "connector":
            data["not_checked"] = [{"check": c, "reason": r} for c, r in self.gaps]
        return data


@dataclass
class RunRecords:
    subjects: dict[tuple[str, str, int], SubjectRecord] = field(default_factory=dict)

    def add(self, payload: Mapping[str, Any]) -> None:
        info = dict(payload["subject"])
        key = (info["kind"], info["file"], int(info["line"]))
        record = self.subjects.setdefault(key, SubjectRecord(info))
        record.checks.append(dict(payload["check"]))

    def of_kind(self, *kinds: str) -> list[SubjectRecord]:
        return sorted(
            (r for k, r in self.subjects.items() if k[0] in kinds),
            key=lambda r: (r.info["file"], r.info["line"]),
        )

    @property
    def connectors(self) -> list[SubjectRecord]:
        return self.of_kind("connector", "document")

    @property
    def pipelines(self) -> list[SubjectRecord]:
        return self.of_kind("pipeline")

    def warnings(self) -> list[tuple[SubjectRecord, dict[str, Any]]]:
        """Each check with at least one warning, once."""
        return [
            (record, check)
            for record in self.of_kind("connector", "document", "pipeline")
            for check in record.checks
            if any(f["severity"] == "warning" for f in check.get("findings", []))
        ]
