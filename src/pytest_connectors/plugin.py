"""pytest hooks: thin adapters over the loader, the check engine and the reporters.

The stateful part, :class:`ConnectorsRun`, is registered only when connector paths are given
(``--connectors`` or the ``connectors`` ini option). Fixtures live here so a conftest.py can
override them by name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from . import hookspecs
from .checks import builtin as builtin_checks
from .checks.context import CollectContext, RunOptions
from .checks.engine import CheckEngine
from .checks.vault_source import VaultSecretSource
from .delegate import (
    DelegateContext,
    build_delegate_context,
    proxy_configured,
    register_proxy_credentials,
    without_missing_ca_bundle,
)
from .inventory import YAML_SUFFIXES, Inventory, SettingsEntry, load_inventory
from .items import ConnectorFile, ConnectorItem, build_registry
from .model import HARNESS_TYPES, Connector
from .options import ConnectorOptions, add_options, read_options, validate_options
from .refs import ScopeId
from .reporting import outputs
from .reporting.records import RunRecords
from .results import CheckResult, Phase
from .scrubbing import OutputScrubbing, install_log_scrubbing
from .secrets import EnvironmentSource, HookSource, SecretChain, SecretsFileSource, SecretSource
from .settings import SettingsDocument, merge_settings, read_settings
from .stash import COLLECT_KEY, INVENTORY_KEY, OPTIONS_KEY
from .yamlload import YamlMap, load_documents

SECRETS_FILE_KEY = pytest.StashKey[SecretsFileSource | None]()
CONFIG_DOCS_KEY = pytest.StashKey[list[SettingsDocument]]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for phase in Phase:
        config.addinivalue_line(
            "markers", f"{phase.value}: connector checks of the {phase.value} phase"
        )
    config.addinivalue_line("markers", "network: connector checks that leave this host")
    config.addinivalue_line("markers", "pipeline: pipeline/template/input-set reference checks")
    for connector_type in HARNESS_TYPES:
        config.addinivalue_line("markers", f"{connector_type.lower()}: {connector_type} connectors")
    install_log_scrubbing()
    if not config.pluginmanager.is_registered(builtin_checks):
        config.pluginmanager.register(builtin_checks, "connectors-builtin-checks")
    options = read_options(config)
    # Every secret value known at start-up is masked before anything is said or run.
    register_proxy_credentials(options.delegate.proxy, os.environ)
    EnvironmentSource().register_values()
    if not config.pluginmanager.has_plugin("connectors-scrubbing"):
        config.pluginmanager.register(OutputScrubbing(config), "connectors-scrubbing")
    validate_options(options)
    config.stash[OPTIONS_KEY] = options
    file_source = config.stash[SECRETS_FILE_KEY] = _load_secrets_file(options.secrets_file)
    if file_source is not None:
        file_source.register_values()
    ca_bundle = options.delegate.ca_bundle
    if ca_bundle and not Path(config.invocation_params.dir, ca_bundle).is_file():
        raise pytest.UsageError(f"--connectors-ca-bundle: {ca_bundle} does not exist")
    config.stash[CONFIG_DOCS_KEY] = _load_config_file(options.config_file)
    config.stash[INVENTORY_KEY] = Inventory()
    if options.enabled:
        config.pluginmanager.register(ConnectorsRun(config, options), "connectors-run")


def _load_secrets_file(path: Path | None) -> SecretsFileSource | None:
    if path is None:
        return None
    if not path.is_file():
        raise pytest.UsageError(f"--connectors-secrets: {path} does not exist")
    try:
        return SecretsFileSource.load(path)
    except ValueError as exc:
        raise pytest.UsageError(f"--connectors-secrets: {exc}") from None


def _load_config_file(path: Path | None) -> list[SettingsDocument]:
    if path is None:
        return []
    if not path.is_file():
        raise pytest.UsageError(f"--connectors-config: {path} does not exist")
    documents = []
    for document in load_documents(path):
        if document.problem is not None:
            raise pytest.UsageError(
                f"--connectors-config: {path}:{document.problem.line}: {document.problem.message}"
            )
        data = document.data
        if isinstance(data, YamlMap) and "pytestConnectors" in data:
            data = data["pytestConnectors"]
        if data is None:
            continue
        parsed = read_settings(data)
        if parsed.errors:
            problems = "; ".join(
                f"{path}:{e.line}: {e.field_path}: {e.problem}"
                + (f" (did you mean '{e.suggestion}'?)" if e.suggestion else "")
                for e in parsed.errors
            )
            raise pytest.UsageError(f"--connectors-config: {problems}")
        documents.append(parsed)
    return documents


def _covered(path: Path, args: list[str], base: Path) -> bool:
    resolved = path.resolve()
    for arg in args:
        candidate = Path(base, arg.split("::")[0]).resolve()
        if resolved == candidate or candidate in resolved.parents:
            return True
    return False


class ConnectorsRun:
    """The per-run state: inventory loading, collection, results and reports."""

    def __init__(self, config: pytest.Config, options: ConnectorOptions) -> None:
        self.config = config
        self.options = options
        self.paths = [p.resolve() for p in options.paths]
        self.records = RunRecords()
        self.delegate_seen: dict[str, Any] | None = None
        self.loaded = False
        self._adjust_args()

    def _adjust_args(self) -> None:
        """``pytest --connectors=DIR`` checks DIR; explicit test paths are checked too."""
        config = self.config
        explicit = config.args_source is pytest.Config.ArgsSource.ARGS
        base = config.invocation_params.dir
        if self.options.cli_paths and not explicit:
            config.args[:] = [str(p) for p in self.options.cli_paths]
            return
        if explicit and not self.options.cli_paths:
            return
        # An explicit path inside a connectors folder (a file, or a re-run line's file::ref)
        # narrows the run to it; the other connectors paths are still loaded, not collected.
        paths = [str(path) for path in self.options.paths]
        if any(_covered(Path(base, arg.split("::")[0]), paths, base) for arg in config.args):
            return
        for path in self.options.paths:
            if not _covered(path, config.args, base):
                config.args.append(str(path))

    def ensure_loaded(self) -> None:
        if self.loaded:
            return
        self.loaded = True
        config = self.config
        inventory = load_inventory(
            self.paths, config.rootpath, max_bytes=self.options.max_file_size
        )
        documents = [
            entry.document
            for entries in inventory.entries.values()
            for entry in entries
            if isinstance(entry, SettingsEntry)
        ]
        settings = merge_settings([*documents, *config.stash[CONFIG_DOCS_KEY]])
        if self.options.timeout is not None:
            settings = replace(
                settings, defaults=replace(settings.defaults, timeout=self.options.timeout)
            )
        inventory.settings = settings
        config.stash[INVENTORY_KEY] = inventory
        has_proxy = proxy_configured(self.options.delegate, settings, os.environ)
        config.stash[COLLECT_KEY] = CollectContext(inventory, settings, self.options.run, has_proxy)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        self.ensure_loaded()

    def pytest_collect_file(
        self, file_path: Path, parent: pytest.Collector
    ) -> pytest.Collector | None:
        if file_path.suffix not in YAML_SUFFIXES:
            return None
        resolved = file_path.resolve()
        if not any(resolved == p or p in resolved.parents for p in self.paths):
            return None
        self.ensure_loaded()
        return ConnectorFile.from_parent(parent, path=file_path)

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        shown = ", ".join(str(p) for p in self.options.paths)
        modes = [
            m
            for m, on in (
                ("offline", self.options.run.offline),
                ("strict", self.options.run.strict),
            )
            if on
        ]
        return [f"connectors: {shown}" + (f" ({', '.join(modes)})" if modes else "")]

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        inventory = self.config.stash[INVENTORY_KEY]
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None or self.config.option.verbose < 1 or not inventory.ignored:
            return
        for ignored in inventory.ignored:
            reporter.write_line(
                f"connectors: ignored '{ignored.key}:' document at {ignored.file}:{ignored.line}"
            )

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if not isinstance(item, ConnectorItem):
            return
        if report.skipped and isinstance(report.longrepr, tuple):
            # A skipped check is located at its connector's YAML line, not in our code.
            path, line, _ = item.reportinfo()
            report.longrepr = (str(path), line + 1, report.longrepr[2])
        if call.when == "call" and item.payload is not None:
            report.connectors = item.payload  # type: ignore[attr-defined]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        payload = getattr(report, "connectors", None)
        if payload and report.when == "call":
            self.records.add(payload)
            if payload.get("delegate") and self.delegate_seen is None:
                self.delegate_seen = payload["delegate"]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        outputs.terminal_summary(terminalreporter, self.records, self.options.run.strict)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput"):
            return  # the xdist controller writes the reports from every worker's results
        incomplete = any(r.status == "incomplete" for r in self.records.connectors)
        if self.options.run.strict and incomplete and session.exitstatus == pytest.ExitCode.OK:
            # gaps with no item of their own (a type without live checks) fail the run here
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        delegate = self.delegate_seen or _delegate_summary(self.config)
        outputs.write_outputs(self.config, self.options, self.records, delegate)


def _delegate_summary(config: pytest.Config) -> dict[str, Any]:
    options = config.stash[OPTIONS_KEY]
    name = options.delegate.name or os.environ.get("DELEGATE_NAME")
    tags = options.delegate.tags or os.environ.get("DELEGATE_TAGS") or ""
    return {"name": name, "tags": [t.strip() for t in tags.split(",") if t.strip()]}


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def connectors_secrets(pytestconfig: pytest.Config) -> SecretChain:
    """The secret sources in order: secrets file, environment, hook. Override to add your own."""
    sources: list[SecretSource] = []
    file_source = pytestconfig.stash[SECRETS_FILE_KEY]
    if file_source is not None:
        sources.append(file_source)
    sources.append(EnvironmentSource())

    def call_hook(ref: str, scope: ScopeId) -> str | None:
        value = pytestconfig.hook.pytest_connectors_resolve_secret(
            ref=ref, scope=scope, config=pytestconfig
        )
        return None if value is None else str(value)

    implemented = bool(pytestconfig.hook.pytest_connectors_resolve_secret.get_hookimpls())
    sources.append(HookSource(call_hook, configured=implemented))
    return SecretChain(sources)


@pytest.fixture(scope="session")
def connectors_delegate(
    pytestconfig: pytest.Config, connectors_secrets: SecretChain
) -> DelegateContext:
    """The delegate this run acts as (CLI > inventory > DELEGATE_* / PROXY_* environment)."""
    delegate = build_delegate_context(
        pytestconfig.stash[OPTIONS_KEY].delegate,
        pytestconfig.stash[INVENTORY_KEY].settings,
        os.environ,
        connectors_secrets,
    )
    return without_missing_ca_bundle(delegate)


@pytest.fixture(scope="session")
def connectors_engine(
    pytestconfig: pytest.Config,
    connectors_delegate: DelegateContext,
    connectors_secrets: SecretChain,
) -> Iterator[CheckEngine]:
    """Runs each check once per connector in this process; items ask it for their result."""
    inventory = pytestconfig.stash[INVENTORY_KEY]
    registry = build_registry(pytestconfig)
    options: RunOptions = pytestconfig.stash[OPTIONS_KEY].run
    engine = CheckEngine(
        registry,
        inventory,
        inventory.settings,
        connectors_delegate,
        connectors_secrets,
        options,
        has_proxy=connectors_delegate.proxy is not None,
    )
    connectors_secrets.add_source_before_hook(VaultSecretSource(engine))
    yield engine
    engine.close()


class ConnectorLookup:
    """What the ``connector`` fixture returns: find a connector, ask for a check's result."""

    def __init__(self, engine: CheckEngine) -> None:
        self.engine = engine

    def __call__(self, ref: str) -> Connector:
        found = self.engine.inventory.by_ref(ref)
        if not found:
            known = ", ".join(sorted(c.ref for c in self.engine.inventory.connectors)) or "none"
            raise LookupError(f"no connector {ref!r} was loaded (known: {known})")
        return found[0]

    def result(self, ref: str, check: str) -> CheckResult:
        return self.engine.result(self(ref), check)


@pytest.fixture
def connector(connectors_engine: CheckEngine) -> Callable[[str], Connector] | ConnectorLookup:
    """``connector("account.gh")`` gives the model; ``connector.result(ref, check)`` a result."""
    return ConnectorLookup(connectors_engine)
