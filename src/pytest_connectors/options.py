"""Command-line and ini options (``pytest --help`` lists them under "connectors")."""

from __future__ import annotations

import ipaddress
import math
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .checks.context import RunOptions
from .delegate import DelegateOptions, Resolver
from .yamlload import DEFAULT_MAX_FILE_BYTES


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("connectors", "connector health checks (pytest-connectors)")
    group.addoption(
        "--connectors",
        action="append",
        default=[],
        metavar="PATH",
        help="connector YAML file or folder (searched recursively); repeatable",
    )
    group.addoption("--connectors-secrets", metavar="FILE", help="YAML mapping reference -> value")
    group.addoption(
        "--connectors-config", metavar="FILE", help="a pytestConnectors settings document"
    )
    group.addoption(
        "--connectors-offline",
        action="store_true",
        help="run only definition-phase checks (no network)",
    )
    group.addoption(
        "--connectors-strict", action="store_true", help="connector warnings fail their item"
    )
    group.addoption(
        "--connectors-allow-insecure",
        action="store_true",
        help="send credentials over plain HTTP to hosts that are not loopback (default: never)",
    )
    group.addoption(
        "--connectors-any-delegate",
        action="store_true",
        help="run network checks even when this host does not match a connector's selectors",
    )
    group.addoption("--connectors-report", metavar="PATH", help="write the JSON report here")
    group.addoption(
        "--connectors-markdown",
        metavar="PATH",
        help="write a Markdown summary here ('auto': append to $GITHUB_STEP_SUMMARY if set)",
    )
    group.addoption(
        "--connectors-bundle", metavar="DIR", help="write an escalation bundle per failed connector"
    )
    group.addoption(
        "--connectors-concurrency",
        type=int,
        metavar="N",
        help="probe each connector with N parallel requests (capacity check)",
    )
    group.addoption(
        "--connectors-timeout",
        type=float,
        metavar="SECONDS",
        help="timeout of each network operation (overrides defaults.timeout)",
    )
    group.addoption(
        "--connectors-max-file-size",
        type=int,
        default=DEFAULT_MAX_FILE_BYTES,
        metavar="BYTES",
        help=f"refuse larger YAML files (default {DEFAULT_MAX_FILE_BYTES})",
    )
    group.addoption("--delegate", metavar="NAME", help="this host acts as delegate NAME")
    group.addoption("--delegate-tags", metavar="A,B", help="this delegate's tags")
    group.addoption(
        "--connectors-dns", metavar="HOST[:PORT]", help="resolvers to use (comma separated)"
    )
    group.addoption(
        "--connectors-proxy", metavar="URL", help="the delegate's HTTP proxy (overrides PROXY_*)"
    )
    group.addoption("--connectors-ca-bundle", metavar="PATH", help="extra CA bundle (PEM)")
    parser.addini(
        "connectors", type="paths", default=[], help="connector paths relative to the rootdir"
    )


@dataclass(frozen=True)
class ConnectorOptions:
    cli_paths: tuple[Path, ...]
    ini_paths: tuple[Path, ...]
    secrets_file: Path | None
    config_file: Path | None
    run: RunOptions
    delegate: DelegateOptions
    report: Path | None
    markdown: str | None
    bundle: Path | None
    timeout: float | None
    max_file_size: int
    invocation_dir: Path = Path()

    @property
    def paths(self) -> tuple[Path, ...]:
        return self.cli_paths or self.ini_paths

    @property
    def enabled(self) -> bool:
        return bool(self.paths)

    @property
    def markdown_path(self) -> Path | None:
        """The Markdown file, relative paths from where the run started (``auto``: None)."""
        if not self.markdown or self.markdown == "auto":
            return None
        return Path(self.invocation_dir, self.markdown)


def _path(config: pytest.Config, value: str | None) -> Path | None:
    return Path(config.invocation_params.dir, value) if value else None


def read_options(config: pytest.Config) -> ConnectorOptions:
    get = config.getoption
    return ConnectorOptions(
        cli_paths=tuple(Path(config.invocation_params.dir, p) for p in get("connectors")),
        ini_paths=tuple(Path(p) for p in config.getini("connectors")),
        secrets_file=_path(config, get("connectors_secrets")),
        config_file=_path(config, get("connectors_config")),
        run=RunOptions(
            offline=bool(get("connectors_offline")),
            strict=bool(get("connectors_strict")),
            any_delegate=bool(get("connectors_any_delegate")),
            allow_insecure=bool(get("connectors_allow_insecure")),
            concurrency=get("connectors_concurrency"),
        ),
        delegate=DelegateOptions(
            name=get("delegate"),
            tags=get("delegate_tags"),
            dns=get("connectors_dns"),
            proxy=get("connectors_proxy"),
            ca_bundle=get("connectors_ca_bundle"),
        ),
        report=_path(config, get("connectors_report")),
        markdown=get("connectors_markdown"),
        bundle=_path(config, get("connectors_bundle")),
        timeout=get("connectors_timeout"),
        max_file_size=int(get("connectors_max_file_size")),
        invocation_dir=Path(config.invocation_params.dir),
    )


def validate_options(options: ConnectorOptions) -> None:
    """Refuse unusable option values where pytest refuses options: before collection, naming
    the option and the value (a proxy password masked), never a traceback after the run."""
    problems: list[str] = []
    if options.timeout is not None and not (math.isfinite(options.timeout) and options.timeout > 0):
        problems.append(f"--connectors-timeout: {options.timeout:g} is not a positive number")
    concurrency = options.run.concurrency
    if concurrency is not None and concurrency < 1:
        problems.append(f"--connectors-concurrency: {concurrency} is not at least 1")
    if options.max_file_size < 1:
        problems.append(f"--connectors-max-file-size: {options.max_file_size} is not positive")
    if options.delegate.dns is not None:
        problems.extend(_resolver_problems(options.delegate.dns))
    if options.delegate.proxy is not None:
        problem = _proxy_problem(options.delegate.proxy)
        if problem:
            problems.append(problem)
    for option, path in (("--connectors-report", options.report), ("--connectors-markdown",
                         _markdown_path(options))):  # fmt: skip
        if path is not None:
            problems.extend(_output_problems(option, path, folder=False))
    if options.bundle is not None:
        problems.extend(_output_problems("--connectors-bundle", options.bundle, folder=True))
    if problems:
        raise pytest.UsageError("\n".join(problems))


def _markdown_path(options: ConnectorOptions) -> Path | None:
    if options.markdown is None or options.markdown == "auto":
        return None
    return options.markdown_path


def _resolver_problems(value: str) -> list[str]:
    problems = []
    for part in [p.strip() for p in value.split(",")]:
        try:
            resolver = Resolver.parse(part)
            ipaddress.ip_address(resolver.address)
            valid = 1 <= resolver.port <= 65535
        except ValueError:
            valid = False
        if not valid:
            problems.append(
                f"--connectors-dns: {part!r} is not ADDRESS[:PORT] (an IP address of a DNS"
                " server, [v6]:port for IPv6, port 1-65535)"
            )
    return problems


def _proxy_problem(value: str) -> str | None:
    parts = urlsplit(value if "://" in value else f"http://{value}")
    shown = value
    if parts.password:
        shown = value.replace(f":{parts.password}@", ":***@", 1)
    try:
        port = parts.port
    except ValueError:
        return f"--connectors-proxy: {shown!r} has a port that is not a number in 1-65535"
    if not parts.hostname:
        return f"--connectors-proxy: {shown!r} names no host (http://[user:password@]host:port)"
    if parts.scheme not in ("http", "https"):
        return f"--connectors-proxy: {shown!r} must start with http:// or https://"
    if port == 0:
        return f"--connectors-proxy: {shown!r} has port 0"
    return None


def _output_problems(option: str, path: Path, *, folder: bool) -> list[str]:
    if folder and path.is_file():
        return [f"{option}: {path} is a file; give a folder for the bundles"]
    if not folder and path.is_dir():
        return [f"{option}: {path} is a folder; give a file name"]
    parent = path if folder else path.parent
    existing = next((p for p in (parent, *parent.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        return [f"{option}: {path} cannot be created: {existing} is a file"]
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        return [f"{option}: {path} cannot be created: {existing} is not writable"]
    return []
