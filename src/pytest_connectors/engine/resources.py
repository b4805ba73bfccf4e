"""Run-scoped resources: what several checks of one run share, made once.

Sessions and clients per endpoint and trust, minted tokens, logins and caller identities live
here, owned by the run's engine, instead of in module-level caches. ``get`` makes a value once
per key, even when several threads ask at the same moment (the others wait for it); a maker
that raises is asked again by the next caller, so one failed attempt is not remembered as the
run's answer. ``close`` closes every value that can be closed, newest first.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class RunResources:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[Hashable, Any] = {}
        self._making: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value kept under ``key``, made by ``make()`` the first time it is asked for."""
        with self._lock:
            if key in self._values:
                return self._values[key]  # type: ignore[no-any-return]
            making = self._making.setdefault(key, threading.Lock())
        with making:
            with self._lock:
                if key in self._values:
                    return self._values[key]  # type: ignore[no-any-return]
            value = make()
            with self._lock:
                self._values[key] = value
                self._making.pop(key, None)
            return value

    def peek(self, key: Hashable) -> Any:
        """The value kept under ``key``, or None when none was made yet."""
        with self._lock:
            return self._values.get(key)

    def put(self, key: Hashable, value: T) -> T:
        """Keep ``value`` under ``key`` (replacing what was there: e.g. a renewed token)."""
        with self._lock:
            self._values[key] = value
        return value

    def close(self) -> None:
        with self._lock:
            values = list(self._values.values())
            self._values.clear()
        for value in reversed(values):
            close = getattr(value, "close", None)
            if callable(close):
                # closing is best effort; the run's results are kept
                with contextlib.suppress(Exception):
                    close()


__all__ = ["RunResources"]
