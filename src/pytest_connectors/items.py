"""Collectors and items: one YAML file, one item per (connector, check).

Items are ``pytest.Function`` s with a fixed function, so they take part in fixtures like any
test: a conftest.py can override ``connectors_delegate`` or ``connectors_secrets`` and add
autouse fixtures. Node ids are ``<file>::<ref>[<check>]``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .checks import CheckRegistry
from .checks.context import CollectContext
from .checks.coverage import coverage_gaps
from .checks.documents import broken_document_result, pipeline_result, settings_result
from .checks.engine import CheckEngine
from .inventory import Inventory, SettingsEntry
from .masking import MASKER
from .model import HARNESS_TYPES, BrokenDocument, Connector, PipelineDocument
from .reporting.records import Subject, check_payload, scrub_subject, subject_info
from .reporting.remediation import remediation_values
from .reporting.text import render_failure, render_line, render_not_checked, render_short
from .results import CheckResult, Outcome, Phase
from .stash import COLLECT_KEY, INVENTORY_KEY, REGISTRY_KEY


def build_registry(config: pytest.Config) -> CheckRegistry:
    """The checks of this run, registered once, at the first connectors file collected.

    Built that late so the ``pytest_connectors_register_checks`` hooks of conftest.py files
    between the rootdir and the connectors folder are loaded by then.
    """
    registry = config.stash.get(REGISTRY_KEY, None)
    if registry is None:
        registry = CheckRegistry()
        config.hook.pytest_connectors_register_checks(registry=registry)
        config.stash[REGISTRY_KEY] = registry
    return registry


@functools.cache
def _marker(name: str) -> pytest.MarkDecorator:
    """One decorator per marker name for the whole run (thousands of items share them)."""
    return getattr(pytest.mark, name)  # type: ignore[no-any-return]


#: Items an xdist worker probes ahead of the one it runs (its blocks are about this long).
PREFETCH_WINDOW = 200


class CheckFailed(Exception):
    """Raised by an item whose check failed; rendered by :meth:`ConnectorItem.repr_failure`
    in the run's ``--tb`` style: ``short`` and ``line`` shorten it."""

    def __init__(self, text: str, short: str | None = None, line: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.short = short or text
        self.line = line or text.splitlines()[0]


class _OneLine:
    """A failure under ``--tb=line``: pytest prints ``reprcrash`` as the failure's only line."""

    def __init__(self, line: str) -> None:
        self.reprcrash = self
        self.message = line

    def toterminal(self, tw: Any) -> None:
        """Nothing more than the crash line (which pytest writes itself)."""

    def __str__(self) -> str:
        return self.message


def _run_connector_check(request: pytest.FixtureRequest, connectors_engine: CheckEngine) -> None:
    item = request.node
    assert isinstance(item, ConnectorItem)
    item.run_check(connectors_engine)


class ConnectorItem(pytest.Function):
    subject: Subject
    info: dict[str, Any]
    check_name: str
    payload: dict[str, Any] | None = None

    @classmethod
    def create(
        cls,
        parent: ConnectorFile,
        subject: Subject,
        check: str,
        markers: list[pytest.MarkDecorator],
        info: dict[str, Any] | None = None,
    ) -> ConnectorItem:
        info = info or subject_info(subject)
        node = str(info.get("node") or info["ref"])
        item: ConnectorItem = cls.from_parent(
            parent,
            name=f"{node}[{check}]",
            callobj=_run_connector_check,
            fixtureinfo=parent.fixtureinfo,
        )
        item.subject = subject
        item.info = info
        item.check_name = check
        parent_id = getattr(parent, "id", None)
        if parent_id is not None and hasattr(parent_id, "with_params"):
            # pytest >= 9.2 keeps "[...]" apart from the name in its node ids; cached ids
            # (--lf, --ff, --sw) are parsed that way, so build ours the same way.
            item._id = type(parent_id)(
                path=parent_id.path, names=(*parent_id.names, node), params=check
            )

        for marker in markers:
            item.add_marker(marker)
        return item

    def _prefetch(self, engine: CheckEngine, connector: Connector) -> None:
        """Probe ahead, concurrently. A single process will run every item, so it probes every
        connector at once; an xdist worker gets blocks of consecutive items, so it probes the
        connectors of the items that follow this one (the rest are another worker's)."""
        if engine.prefetched(connector):
            return
        items = self.session.items
        if hasattr(self.config, "workerinput"):
            start = items.index(self)
            items = items[start : start + PREFETCH_WINDOW]
        engine.prefetch(
            item.subject
            for item in items
            if isinstance(item, ConnectorItem) and isinstance(item.subject, Connector)
        )

    def reportinfo(self) -> tuple[Path, int, str]:
        # The domain is also the failure headline. It must not be a suffix of the node id:
        # pytest -v would then rewrite the dots of "account.x" as "::" (meant for Class.method).
        info = self.info
        node = info.get("node") or info["ref"]  # a duplicate's is "<ref>-2"
        return self.path, max(info["line"] - 1, 0), f"{node} [{self.check_name}]"

    def result(self, engine: CheckEngine) -> CheckResult:
        subject = self.subject
        if isinstance(subject, Connector):
            return engine.result(subject, self.check_name)  # settings' skips included
        if isinstance(subject, PipelineDocument):
            return pipeline_result(engine.inventory, subject)
        if isinstance(subject, SettingsEntry):
            return settings_result(subject)
        return broken_document_result(subject)

    def run_check(self, engine: CheckEngine) -> None:
        info = self.info
        delegate = {"name": engine.delegate.name, "tags": list(engine.delegate.tags)}
        if isinstance(self.subject, Connector) and engine.registry[self.check_name].network:
            self._prefetch(engine, self.subject)
        try:
            result = self.result(engine)
        except Exception as exc:
            # A bug in a check: the item keeps its traceback; the reports must not say "passed".
            crash: dict[str, Any] = {
                "name": self.check_name,
                "outcome": "failed",
                "failure_mode": None,
                "severity": "error",
                "message": MASKER.scrub(f"internal error: {type(exc).__name__}: {exc}"),
                "remediation": [],
                "evidence": {},
                "duration_s": 0.0,
                "findings": [],
            }
            self.payload = {"subject": scrub_subject(info), "check": crash, "delegate": delegate}
            raise
        values = None
        if result.primary is not None:  # remediation: commands with this connector's values
            node = str(info.get("node") or info["ref"])  # a duplicate's node is "<ref>-2"
            values = remediation_values(self.config, self.path, node, self.subject, engine)
        check = check_payload(info, result, strict=engine.options.strict, values=values)
        self.payload = {"subject": scrub_subject(info), "check": check, "delegate": delegate}
        self.user_properties.extend(
            [
                ("connector", str(info["ref"])),
                ("connector_type", str(info["type"] or "")),
                ("check", self.check_name),
            ]
        )
        if check["failure_mode"]:
            self.user_properties.append(("failure_mode", check["failure_mode"]))
            self.user_properties.append(("severity", check["severity"]))
        if result.outcome is Outcome.SKIPPED:
            self.user_properties.append(("skip_kind", check["skip_kind"]))
            self.user_properties.append(("skip_reason", check["skip_reason"]))
            if result.not_checked and engine.options.strict:
                text = render_not_checked(info, check)
                raise CheckFailed(text, text, render_line(info, check))
            pytest.skip(result.skip_reason or "skipped")
        failing = result.outcome is Outcome.FAILED or (
            result.outcome is Outcome.WARNING and engine.options.strict
        )
        if failing:
            raise CheckFailed(
                render_failure(info, check), render_short(info, check), render_line(info, check)
            )

    def repr_failure(  # type: ignore[override]
        self, excinfo: pytest.ExceptionInfo[BaseException]
    ) -> Any:
        failed = excinfo.value
        if isinstance(failed, CheckFailed):
            style = self.config.getoption("tbstyle", "auto")
            if style == "line":
                return _OneLine(failed.line)
            return failed.short if style == "short" else failed.text
        return super().repr_failure(excinfo)


class ConnectorFile(pytest.File):
    """A YAML file under a connectors path."""

    _fixtureinfo: Any = None

    @property
    def fixtureinfo(self) -> Any:
        """Every item of a file runs the same function with the same fixtures: resolve once.

        This is what pytest itself does for the items of one parametrized function, and it
        keeps collection of thousands of connectors close to pytest's own floor.
        """
        if self._fixtureinfo is None:
            manager = self.session._fixturemanager
            self._fixtureinfo = manager.getfixtureinfo(
                node=self,  # type: ignore[arg-type]  # only nodeid and markers are read
                func=_run_connector_check,
                cls=None,
            )
        return self._fixtureinfo

    def collect(self) -> Iterator[pytest.Item]:
        inventory: Inventory = self.config.stash[INVENTORY_KEY]
        registry = build_registry(self.config)
        collect: CollectContext = self.config.stash[COLLECT_KEY]
        xdist = self.config.pluginmanager.hasplugin("xdist")
        entries = [
            entry
            for entry in inventory.entries.get(self.path.resolve(), [])
            if not (isinstance(entry, SettingsEntry) and not entry.document.errors)
        ]
        infos = [subject_info(entry) for entry in entries]
        taken = {str(info["ref"]) for info in infos}
        seen: set[str] = set()
        for entry, info in zip(entries, infos, strict=True):
            # Two documents of one file with the same name (a duplicate identifier) still get
            # distinct node ids, the same on every worker: the second is "<ref>-2" (or the
            # next number no other document of the file is called).
            if info["ref"] in seen:
                number = 2
                while f"{info['ref']}-{number}" in taken:
                    number += 1
                info["node"] = f"{info['ref']}-{number}"
                taken.add(info["node"])
            seen.add(info["ref"])
            if isinstance(entry, Connector):
                yield from self._connector_items(entry, info, registry, collect, xdist)
            elif isinstance(entry, PipelineDocument):
                marks = [pytest.mark.definition, pytest.mark.pipeline]
                yield ConnectorItem.create(self, entry, "references", marks, info)
            elif isinstance(entry, (BrokenDocument, SettingsEntry)):
                marks = [pytest.mark.definition]
                yield ConnectorItem.create(self, entry, "definition", marks, info)

    def _connector_items(
        self,
        connector: Connector,
        info: dict[str, Any],
        registry: CheckRegistry,
        collect: CollectContext,
        xdist: bool,
    ) -> Iterator[pytest.Item]:
        checks = [
            check
            for check in registry
            if not (
                collect.options.offline and (check.network or check.phase is not Phase.DEFINITION)
            )
            and check.applies_to(connector, collect)
        ]
        info["expected_checks"] = [check.name for check in checks]
        info["coverage_gaps"] = coverage_gaps(connector, collect)
        common = [_marker(connector.type.lower())] if connector.type in HARNESS_TYPES else []
        if xdist:
            common.append(pytest.mark.xdist_group(name=connector.ref))
        for check in checks:
            marks = [_marker(check.phase.value), *common]
            if check.network:
                marks.append(_marker("network"))
            yield ConnectorItem.create(self, connector, check.name, marks, info)
