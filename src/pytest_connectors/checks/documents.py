"""Results for things that are not connectors: unreadable documents, settings, pipelines."""

from __future__ import annotations

from ..inventory import Inventory, SettingsEntry
from ..model import BrokenDocument, PipelineDocument
from ..pipelines import resolve_pipeline
from ..results import CheckResult, Finding
from .engine import finish


def broken_document_result(document: BrokenDocument) -> CheckResult:
    evidence = {"line": document.line, "field_path": document.field_path or "(document)"}
    finding = Finding(
        "definition-invalid",
        f"{document.file}:{document.line}: {document.problem}",
        {**evidence, "problem": document.problem, "suggestion": document.suggestion},
    )
    return finish("definition", [finding], evidence, 0.0)


def settings_result(entry: SettingsEntry) -> CheckResult:
    findings = [
        Finding(
            "definition-invalid",
            f"{error.field_path} (line {error.line}): {error.problem}"
            + (f"; did you mean '{error.suggestion}'?" if error.suggestion else ""),
            {
                "field_path": error.field_path,
                "line": error.line,
                "problem": error.problem,
                "suggestion": error.suggestion,
            },
        )
        for error in entry.document.errors
    ]
    return finish("definition", findings, {}, 0.0)


def pipeline_result(inventory: Inventory, pipeline: PipelineDocument) -> CheckResult:
    resolutions = resolve_pipeline(inventory, pipeline)
    findings = [r.finding for r in resolutions if r.finding is not None]
    evidence = {
        "resolved": {
            r.use.reference: r.connector.location
            for r in resolutions
            if r.connector is not None and r.finding is None
        },
        "runtime_inputs": [u.field_path for u in pipeline.uses if "<+" in u.reference],
    }
    return finish("references", findings, evidence, 0.0)
