"""Every channel pytest writes to goes through the masker.

* log records, when they are made: the message, and the traceback of ``exc_info`` and the
  ``stack_info`` formatted at once, so captured logs, ``--log-cli-level`` and ``--log-file``
  get the same masked text;
* test and collection reports: the failure text at any ``--tb`` style and verbosity (with the
  locals of ``-l``, what is left of a secret where pytest cut a long local short too),
  captured output and logs, skip and xfail reasons, and the
  ``user_properties`` JUnit writes (their free text: a connector reference stays as it is);
* the warnings summary (a warning's message);
* ``--debug``'s log, whose first lines quote the command line (a proxy URL's password): its
  writer is wrapped, and the file is scrubbed again at the end for values learnt since.

:class:`OutputScrubbing` is registered for every run, with or without connectors: a test of
the user's own may resolve secrets through the fixtures too. It also gathers the references of
secrets too short to be masked (from xdist workers as well) for one warning in the summary.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import Any, TextIO

import pytest

from .items import CheckFailed, ConnectorItem
from .masking import MASKER

#: user_properties that are identifiers, enum values or references, never free text.
STRUCTURED_PROPERTIES = frozenset(
    {"connector", "connector_type", "check", "failure_mode", "severity", "skip_kind"}
)


def install_log_scrubbing() -> None:
    """Mask every log record of the process as it is made (once per process)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_connectors_scrubbing", False):
        return

    def scrubbing_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        _scrub_record(record)
        return record

    scrubbing_factory._connectors_scrubbing = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(scrubbing_factory)


def _scrub_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is the caller's problem, not ours
        return
    if MASKER.contains_secret(message):
        record.msg, record.args = MASKER.scrub(message), None
    if record.exc_info and not record.exc_text:
        # formatters format the traceback once and keep it in exc_text: format it masked now
        record.exc_text = MASKER.scrub(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = MASKER.scrub(record.stack_info)


def scrub_report(
    report: pytest.TestReport | pytest.CollectReport, *, failure_text: bool = True
) -> None:
    """Mask the free text of a report in place, before any reporter (terminal, JUnit, xdist)
    sees it. ``failure_text=False`` leaves a failure text that was masked field by field as
    it was built (a connector check's: its references and titles are not free text)."""
    longrepr = report.longrepr
    if not failure_text:
        pass
    elif isinstance(longrepr, tuple) and len(longrepr) == 3:
        report.longrepr = (longrepr[0], longrepr[1], MASKER.scrub(longrepr[2]))
    elif isinstance(longrepr, str):
        report.longrepr = MASKER.scrub_cuts(MASKER.scrub(longrepr))
    elif longrepr is not None:
        text = str(longrepr)
        scrubbed = MASKER.scrub_cuts(MASKER.scrub(text))  # -l cuts long locals short
        if scrubbed != text:
            report.longrepr = scrubbed  # the text, without its markup
    report.sections = [(title, MASKER.scrub(body)) for title, body in report.sections]
    if isinstance(report, pytest.TestReport):
        report.user_properties = [
            (name, value if name in STRUCTURED_PROPERTIES else MASKER.scrub_data(value))
            for name, value in report.user_properties
        ]
        if isinstance(getattr(report, "wasxfail", None), str):
            report.wasxfail = MASKER.scrub(report.wasxfail)


class DebugLog:
    """``--debug``'s ``pytestdebug.log``: masked as it is written and, at the end, again.

    pytest writes it through pluggy's tracer, whose writer is the open file's ``write``; the
    file is reached through it (pluggy keeps the writer private: without it, nothing is done).
    """

    def __init__(self, config: pytest.Config) -> None:
        self.handle: TextIO | None = None
        root = config.trace.root
        writer = getattr(root, "_writer", None)
        handle = getattr(writer, "__self__", None)
        if writer is None or not hasattr(handle, "seek") or not hasattr(handle, "name"):
            return
        self.handle = handle
        root.setwriter(lambda text: writer(MASKER.scrub(text)))
        self.rescrub()  # what was written before this plugin was configured

    def rescrub(self) -> None:
        handle = self.handle
        if handle is None or handle.closed:
            return
        handle.flush()
        text = Path(handle.name).read_text(encoding="utf-8", errors="replace")
        scrubbed = MASKER.scrub(text)
        if scrubbed != text:
            handle.seek(0)
            handle.write(scrubbed)
            handle.truncate()


class OutputScrubbing:
    """The hooks that mask pytest's own outputs (see the module docstring)."""

    def __init__(self, config: pytest.Config) -> None:
        self.unmaskable: dict[str, None] = {}
        self.debug_log = DebugLog(config) if config.option.debug else None

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        built = call.excinfo is not None and isinstance(call.excinfo.value, CheckFailed)
        scrub_report(report, failure_text=not built)
        unmaskable = MASKER.unmaskable()
        if unmaskable and isinstance(item, ConnectorItem):
            # what a worker learnt (a hook's secret, a URL's) travels to the xdist controller
            report.connectors_unmaskable = unmaskable  # type: ignore[attr-defined]

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_make_collect_report(self) -> Generator[None, Any, None]:
        outcome = yield
        scrub_report(outcome.get_result())

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for reference in getattr(report, "connectors_unmaskable", ()):
            self.unmaskable.setdefault(reference)

    @pytest.hookimpl(tryfirst=True)
    def pytest_warning_recorded(self, warning_message: warnings.WarningMessage) -> None:
        text = str(warning_message.message)
        if MASKER.contains_secret(text):
            try:
                warning_message.message = warning_message.category(MASKER.scrub(text))
            except Exception:  # a warning class with a constructor of its own
                warning_message.message = UserWarning(MASKER.scrub(text))
        if warning_message.line:
            warning_message.line = MASKER.scrub(warning_message.line)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        references = {**self.unmaskable, **dict.fromkeys(MASKER.unmaskable())}
        if not references:
            return
        terminalreporter.write_sep("-", "secrets that cannot be masked")
        for reference in references:
            terminalreporter.write_line(
                f"`{reference}` is too short to be masked in output", yellow=True
            )

    def pytest_unconfigure(self) -> None:
        if self.debug_log is not None:
            self.debug_log.rescrub()
