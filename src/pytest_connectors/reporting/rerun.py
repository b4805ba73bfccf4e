"""The re-run line of a failure: this run's own options, narrowed to one connector.

``pytest <options> <file>::<ref>`` selects every ``<ref>[<check>]`` item of that file (pytest
matches a node id prefix against the name before ``[``), and the plugin narrows the run to an
explicit path inside a connectors folder, so the line checks that connector again the way this
run did: the same connector paths (all of them: the inventory is the same), secrets, settings,
delegate identity, resolvers, proxy, CA bundle, timeout and switches. Paths are shown relative
to the directory the run started in when they lie inside it.

Never a credential: proxy credentials given in ``--connectors-proxy`` are printed as the
``PROXY_USER`` and ``PROXY_PASSWORD`` shell variables, which the shell fills in.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..yamlload import DEFAULT_MAX_FILE_BYTES

if TYPE_CHECKING:
    from ..options import ConnectorOptions


def _shown(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base)) or "."
    except ValueError:
        return str(path)


def _option(name: str, value: object) -> str:
    return shlex.quote(f"{name}={value}")


def proxy_option(url: str) -> str | None:
    """``--connectors-proxy`` without the credentials of ``url``: those become shell variables.

    None when the URL names no host (the run then had no proxy either).
    """
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    host = f"[{host}]" if ":" in host else host
    address = f"{parts.scheme or 'http'}://{host}" + (f":{port}" if port else "")
    if parts.username is None and parts.password is None:
        return _option("--connectors-proxy", address)
    scheme, rest = address.split("://", 1)
    userinfo = "$PROXY_USER" + (":$PROXY_PASSWORD" if parts.password is not None else "")
    # Double quotes: the shell expands the variables but splits nothing.
    return f'"--connectors-proxy={scheme}://{userinfo}@{rest}"'


@dataclass(frozen=True)
class RerunCommand:
    """The options of one run, as quoted shell words, and where that run started."""

    invocation_dir: Path
    static: tuple[str, ...]  # what shapes every check: paths, secrets, settings, delegate
    network: tuple[str, ...]  # what only network checks use
    offline: bool = False
    any_delegate: bool = False

    @classmethod
    def from_options(cls, options: ConnectorOptions, invocation_dir: Path) -> RerunCommand:
        base = invocation_dir
        static = [_option("--connectors", _shown(path, base)) for path in options.paths]
        for name, file in (
            ("--connectors-secrets", options.secrets_file),
            ("--connectors-config", options.config_file),
        ):
            if file is not None:
                static.append(_option(name, _shown(file, base)))
        delegate = options.delegate
        if delegate.name:
            static.append(_option("--delegate", delegate.name))
        if delegate.tags is not None:
            static.append(_option("--delegate-tags", delegate.tags))
        if options.max_file_size != DEFAULT_MAX_FILE_BYTES:
            static.append(_option("--connectors-max-file-size", options.max_file_size))
        if options.run.strict:
            static.append("--connectors-strict")
        network = []
        if delegate.dns:
            network.append(_option("--connectors-dns", delegate.dns))
        proxy = proxy_option(delegate.proxy) if delegate.proxy else None
        if proxy:
            network.append(proxy)
        if delegate.ca_bundle:
            network.append(
                _option("--connectors-ca-bundle", _shown(Path(base, delegate.ca_bundle), base))
            )
        if options.timeout is not None:
            network.append(_option("--connectors-timeout", f"{options.timeout:g}"))
        if options.run.allow_insecure:
            network.append("--connectors-allow-insecure")
        if options.run.concurrency:
            network.append(_option("--connectors-concurrency", options.run.concurrency))
        return cls(
            invocation_dir=base,
            static=tuple(static),
            network=tuple(network),
            offline=options.run.offline,
            any_delegate=options.run.any_delegate,
        )

    def node(self, path: Path, ref: str) -> str:
        """The node id prefix that selects every item of ``ref`` in ``path``."""
        return shlex.quote(f"{_shown(path, self.invocation_dir)}::{ref}")

    def command(
        self, path: Path, ref: str, *, offline: bool = False, any_delegate: bool = False
    ) -> str:
        """This run's command for one connector; ``offline`` keeps only the static checks,
        ``any_delegate`` runs the network checks even here (and so is never offline)."""
        words = ["pytest", *self.static]
        if offline or (self.offline and not any_delegate):
            words.append("--connectors-offline")
        else:
            words.extend(self.network)
            if any_delegate or self.any_delegate:
                words.append("--connectors-any-delegate")
        return " ".join([*words, self.node(path, ref)])

    def context(self, path: Path, ref: str) -> dict[str, str]:
        """The re-run placeholders of the catalogue for one connector."""
        return {
            "rerun": self.command(path, ref),
            "rerun_offline": self.command(path, ref, offline=True),
            "rerun_any_delegate": self.command(path, ref, any_delegate=True),
        }
