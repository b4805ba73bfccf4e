"""Command-line and ini options (``pytest --help`` lists them under "connectors")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from .checks.context import RunOptions
from .delegate import DelegateOptions
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

    @property
    def paths(self) -> tuple[Path, ...]:
        return self.cli_paths or self.ini_paths

    @property
    def enabled(self) -> bool:
        return bool(self.paths)


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
    )
