"""A small validating reader over a YAML mapping that records errors with field paths.

Type modules read their spec through :class:`SpecReader`; every rule violation is recorded (not
raised), every secret reference is collected with its field path and expected kind, and values
holding a runtime expression (``<+...>``) pass validation because their shape cannot be known.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..masking import redact_url, register_url_credentials
from ..model import Credential, DefinitionError, SecretKind, SecretRef
from ..refs import Reference, is_expression
from ..yamlload import YamlMap, YamlSeq


def did_you_mean(value: str, choices: Iterable[str]) -> str | None:
    options = list(choices)
    for option in options:
        if option.lower() == value.lower():
            return option
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    return close[0] if close else None


@dataclass
class Findings:
    """What reading one connector found: errors and the secret references on the way."""

    errors: list[DefinitionError] = field(default_factory=list)
    refs: list[SecretRef] = field(default_factory=list)


class SpecReader:
    def __init__(self, data: YamlMap, path: str, findings: Findings) -> None:
        self.data = data
        self.path = path
        self.findings = findings

    # -- plumbing -------------------------------------------------------------------------
    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def line(self, key: str | None = None) -> int:
        return self.data.line_of(key) if key is not None else self.data.line

    def error(self, key: str | None, problem: str, suggestion: str | None = None) -> None:
        path = self.field(key) if key is not None else self.path
        self.findings.errors.append(DefinitionError(path, self.line(key), problem, suggestion))

    def has(self, key: str) -> bool:
        return self.data.get(key) not in (None, "")

    def _missing(self, key: str) -> None:
        self.error(key, f"required field '{key}' is missing")

    # -- typed reads ----------------------------------------------------------------------
    def sub(self, key: str, *, required: bool = False) -> SpecReader | None:
        value = self.data.get(key)
        if value is None:
            if required:
                self._missing(key)
            return None
        if not isinstance(value, YamlMap):
            self.error(key, f"'{key}' must be a mapping, not {_kind(value)}")
            return None
        return SpecReader(value, self.field(key), self.findings)

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                self._missing(key)
            return None
        if isinstance(value, (YamlMap, YamlSeq)):
            self.error(key, f"'{key}' must be a single value, not {_kind(value)}")
            return None
        return str(value)

    def enum(self, key: str, choices: Iterable[str], *, required: bool = True) -> str | None:
        value = self.text(key, required=required)
        options = tuple(choices)
        if value is None or is_expression(value) or value in options:
            return value
        hint = did_you_mean(value, options)
        self.error(key, f"'{value}' is not one of {', '.join(options)}", hint)
        return None

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if value is None or is_expression(value):
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.error(key, f"'{key}' must be true or false, not {value!r}")
        return default

    def integer(self, key: str, *, minimum: int | None = None) -> int | None:
        value = self.data.get(key)
        if value is None or is_expression(value):
            return None
        try:
            number = int(str(value))
        except ValueError:
            self.error(key, f"'{key}' must be a whole number, not {value!r}")
            return None
        if minimum is not None and number < minimum:
            self.error(key, f"'{key}' must be at least {minimum}, not {number}")
        return number

    def url(self, key: str, *, required: bool = True, schemes: tuple[str, ...] = ()) -> str | None:
        value = self.text(key, required=required)
        if value is None or is_expression(value):
            return value
        register_url_credentials(value)  # masked before anything quotes the URL
        problem = url_problem(value, schemes or ("http", "https"))
        if problem:
            self.error(key, problem)
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.error(key, f"'{key}' must be a list of strings, not {_kind(value)}")
            return ()
        items = []
        for item in value:
            if isinstance(item, (YamlMap, YamlSeq)) or item is None or item == "":
                self.error(key, f"'{key}' holds an empty or non-text item")
                continue
            items.append(str(item))
        return tuple(items)

    def ref(
        self, key: str, kind: SecretKind = SecretKind.TEXT, *, required: bool = False
    ) -> SecretRef | None:
        raw = self.text(key, required=required)
        if raw is None:
            return None
        secret = SecretRef(Reference.parse(raw.strip()), self.field(key), self.line(key), kind)
        if not is_expression(raw):
            self.findings.refs.append(secret)
        return secret

    def plain_or_ref(self, key: str, credential: dict[str, Any], *, required: bool = True) -> None:
        """Harness's one-of pairs: ``username`` or ``usernameRef`` (exactly one)."""
        plain, ref_key = self.text(key), f"{key}Ref"
        secret = self.ref(ref_key)
        if plain is not None and secret is not None:
            self.error(key, f"give either '{key}' or '{ref_key}', not both")
        elif plain is None and secret is None and required:
            self.error(key, f"one of '{key}' or '{ref_key}' is required")
        if plain is not None:
            credential["values"][key] = plain
        if secret is not None:
            credential["refs"][ref_key] = secret

    def credential(
        self,
        kind: str,
        *,
        plain: Iterable[str] = (),
        plain_or_ref: Iterable[str] = (),
        optional_plain_or_ref: Iterable[str] = (),
        refs: Iterable[tuple[str, SecretKind, bool]] = (),
    ) -> Credential:
        """Read one auth variant: plain fields, one-of pairs and (field, kind, required) refs."""
        parts: dict[str, Any] = {"values": {}, "refs": {}}
        for key in plain:
            value = self.text(key, required=True)
            if value is not None:
                parts["values"][key] = value
        for key in plain_or_ref:
            self.plain_or_ref(key, parts)
        for key in optional_plain_or_ref:
            self.plain_or_ref(key, parts, required=False)
        for key, secret_kind, required in refs:
            secret = self.ref(key, secret_kind, required=required)
            if secret is not None:
                parts["refs"][key] = secret
        return Credential(kind, parts["values"], parts["refs"])


def url_problem(value: str, schemes: Iterable[str]) -> str | None:
    """What is wrong with the URL ``value``, quoting it without its credentials."""
    allowed = tuple(schemes)
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        return f"'{redact_url(value)}' is not a valid URL ({exc})"
    value = redact_url(value)
    if parts.scheme not in allowed:
        return f"'{value}' must start with {' or '.join(s + '://' for s in allowed)}"
    if not parts.hostname:
        return f"'{value}' names no host"
    if any(ch.isspace() for ch in value):
        return f"'{value}' contains whitespace"
    if port == 0:
        return f"'{value}' has port 0"
    return None


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"the {type(value).__name__} {value!r}"
