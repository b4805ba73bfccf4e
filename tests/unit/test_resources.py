"""RunResources: a value per key per run, made once even when threads ask together."""

from __future__ import annotations

import threading
import time

import pytest

from pytest_connectors.engine.resources import RunResources


def test_made_once_when_threads_ask_together() -> None:
    resources = RunResources()
    made: list[int] = []
    gate = threading.Event()

    def make() -> object:
        gate.wait(5)
        made.append(1)
        time.sleep(0.01)
        return object()

    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.append(resources.get("k", make))) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(10)
    assert len(made) == 1
    assert len(got) == 8 and all(value is got[0] for value in got)


def test_a_failed_maker_is_asked_again() -> None:
    resources = RunResources()

    def broken() -> object:
        raise OSError("peer gone")

    with pytest.raises(OSError):
        resources.get("k", broken)
    assert resources.get("k", lambda: "second") == "second"
    assert resources.peek("k") == "second"


def test_close_closes_what_can_be_closed_and_forgets() -> None:
    closed: list[str] = []

    class Client:
        def __init__(self, name: str) -> None:
            self.name = name

        def close(self) -> None:
            closed.append(self.name)
            if self.name == "a":
                raise RuntimeError("already closed")

    resources = RunResources()
    resources.get("a", lambda: Client("a"))
    resources.get("b", lambda: Client("b"))
    resources.get("plain", lambda: 3)
    resources.close()
    assert closed == ["b", "a"]
    assert resources.peek("a") is None
