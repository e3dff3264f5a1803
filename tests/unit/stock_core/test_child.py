"""stock_core.child: a call in a child process answers, raises, and dies with its caller."""

from __future__ import annotations

import asyncio
import math
import os
import time

import pytest

from stock_core.child import ChildDiedError
from stock_core.child import call_in_child


async def test_the_child_answers_and_sees_the_environment_it_was_given() -> None:
    assert await call_in_child(math.factorial, 20) == 2432902008176640000
    env = await call_in_child(os.getenv, "STOCKD_CHILD_TEST", env={"STOCKD_CHILD_TEST": "1"})
    assert env == "1"


async def test_the_childs_exception_is_raised_in_the_caller() -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        await call_in_child(int, "not a number")


async def test_a_child_that_dies_is_an_error_not_a_hang() -> None:
    with pytest.raises(ChildDiedError, match="status 3"):
        await call_in_child(os._exit, 3)


async def test_cancelling_the_caller_kills_the_child_at_once() -> None:
    task = asyncio.create_task(call_in_child(time.sleep, 60))
    await asyncio.sleep(1.0)  # the child is up and sleeping
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 2.0
    children = [p for p in os.listdir("/proc") if p.isdigit() and _parent(p) == os.getpid()]
    assert not [p for p in children if "stock_core.child" in _cmdline(p)]


def _parent(pid: str) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
