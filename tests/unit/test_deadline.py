"""The operation deadline and the body cap on their own (``probes/deadline.py``): no network but
a socket pair."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from pytest_connectors.probes.deadline import (
    BODY_CAP,
    AnswerTooLarge,
    BoundedSocket,
    DeadlineExceeded,
    current,
    describe_size,
    operation,
    read_capped,
)


def test_the_cap_is_four_mebibytes() -> None:
    assert BODY_CAP == 4 * 1024 * 1024
    assert describe_size(BODY_CAP) == "4 MiB"
    assert describe_size(400 * 1024 * 1024) == "400 MiB"
    assert describe_size(1536) == "1.5 KiB"
    assert describe_size(12) == "12 bytes"


def test_a_declared_size_over_the_cap_is_refused_unread() -> None:
    def never() -> Iterator[bytes]:
        raise AssertionError("the body was read")
        yield b""

    with pytest.raises(AnswerTooLarge) as caught:
        read_capped(never(), declared=BODY_CAP + 1)
    assert caught.value.size == BODY_CAP + 1
    assert "over the 4 MiB a check reads" in str(caught.value)


def test_an_undeclared_size_stops_reading_past_the_cap() -> None:
    served: list[int] = []

    def chunks() -> Iterator[bytes]:
        for index in range(1000):
            served.append(index)
            yield b"x" * 65536

    with pytest.raises(AnswerTooLarge) as caught:
        read_capped(chunks(), declared=None, cap=1024 * 1024)
    assert caught.value.size is None and str(caught.value).startswith("the answer is more than")
    assert len(served) == 17  # 16 chunks fill the cap, the 17th goes past it: no more is read
    assert read_capped([b"ab", b"c"], declared=3) == b"abc"


def test_a_deadline_cuts_every_wait_and_names_the_phase() -> None:
    left, right = socket.socketpair()
    bounded = BoundedSocket.adopt(left)
    bounded.settimeout(30.0)  # the client's own per-read timeout
    try:
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded) as caught, operation(0.3) as deadline:
            deadline.enter("body")
            right.sendall(b"a")
            assert bounded.recv(1) == b"a"  # data in time passes through
            bounded.recv(1)  # nothing comes: cut to the 0.3 s left, not 30 s
        elapsed = time.monotonic() - started
        assert caught.value.phase == "body" and caught.value.budget_s == 0.3
        assert 0.25 < elapsed < 5.0
        assert "while reading the response body" in str(caught.value)
        assert bounded.gettimeout() == 30.0  # the client's wish is kept
        assert current() is None
        right.sendall(b"b")
        assert bounded.recv(1) == b"b"  # outside an operation: an ordinary socket
    finally:
        bounded.close()
        right.close()


def test_an_inner_operation_keeps_the_sooner_outer_deadline() -> None:
    with operation(1.0) as outer, operation(60.0) as inner:
        assert inner is outer
    with operation(60.0) as outer, operation(1.0) as inner:
        assert inner is not outer and inner.budget_s == 1.0
        assert current() is inner
    assert current() is None
