"""The masker: every secret value revealed in this process is scrubbed from every output.

It is process-wide on purpose: a secret can surface anywhere (log records, tracebacks with
``--showlocals``, third-party exception text), so scrubbing must not depend on which object
happens to hold a reference to a per-run registry.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import threading
from collections.abc import Iterator
from typing import Any

MASK = "***"
MIN_LENGTH = 4
_MIN_LINE = 16


class Masker:
    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        """Register a secret value (and the forms it is commonly transformed into)."""
        forms = {value, value.strip()}
        forms.update(_secret_lines(value))
        forms.add(base64.b64encode(value.encode()).decode())
        decoded = _maybe_base64(value)
        if decoded:
            forms.add(decoded)
            forms.update(_secret_lines(decoded))
        forms = {f for f in forms if len(f) >= MIN_LENGTH}
        with self._lock:
            if forms <= self._values:
                return
            self._values |= forms
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def scrub(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def scrub_data(self, data: Any) -> Any:
        """Scrub every string inside JSON-like data (dicts, lists, tuples, strings)."""
        if isinstance(data, str):
            return self.scrub(data)
        if isinstance(data, dict):
            return {self.scrub(str(k)): self.scrub_data(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.scrub_data(v) for v in data]
        return data

    @contextlib.contextmanager
    def isolated(self) -> Iterator[None]:
        """Values registered inside the block are forgotten when it ends. For test suites whose
        in-process runs (pytester) share this process: one run's secrets must not mask another
        run's output."""
        with self._lock:
            values, pattern = set(self._values), self._pattern
        try:
            yield
        finally:
            with self._lock:
                self._values, self._pattern = values, pattern

    def contains_secret(self, text: str) -> bool:
        return self._pattern is not None and self._pattern.search(text) is not None


def _secret_lines(value: str) -> set[str]:
    """Long lines of a multi-line secret, except PEM armour (``-----BEGIN ...-----``), which is
    public boilerplate that our own messages quote."""
    lines = (line.strip() for line in value.splitlines())
    return {line for line in lines if len(line) >= _MIN_LINE and not line.startswith("-----")}


def _maybe_base64(value: str) -> str | None:
    compact = "".join(value.split())
    if len(compact) < 16 or len(compact) % 4:
        return None
    try:
        decoded = base64.b64decode(compact, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return decoded if decoded.isprintable() or "\n" in decoded else None


MASKER = Masker()
