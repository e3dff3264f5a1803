"""Group commit: batches grow with load, every caller hears its own result."""

from __future__ import annotations

import asyncio

import pytest

from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.group_commit import GroupCommit
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku


def _envelope(key: str) -> Envelope:
    return Envelope(IdempotencyKey(key), Receive(ProductRef(sku=Sku("A")), LocationCode("L"), 1))


class _Recorder:
    """A ``post`` that records its batches and can be held open (``held``: until its
    ``gate`` is set) or made to fail."""

    def __init__(self, held: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        if not held:
            self.gate.set()
        self.fail: Exception | None = None

    async def post(self, envelopes: list[Envelope]) -> list[str]:
        self.batches.append([e.key for e in envelopes])
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return [f"ok:{e.key}" for e in envelopes]


async def test_a_lone_caller_goes_straight_through() -> None:
    recorder = _Recorder()
    group = GroupCommit(recorder.post)
    assert await group.submit(_envelope("a")) == "ok:a"
    assert recorder.batches == [["a"]]
    assert group._active == 0


async def test_callers_arriving_while_a_batch_posts_form_the_next_batch() -> None:
    recorder = _Recorder(held=True)
    group = GroupCommit(recorder.post, concurrency=1)
    first = asyncio.create_task(group.submit(_envelope("first")))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(group.submit(_envelope(f"k{n}"))) for n in range(5)]
    await asyncio.sleep(0)
    assert group.waiting == 5
    recorder.gate.set()
    results = await asyncio.gather(first, *rest)
    assert results == ["ok:first"] + [f"ok:k{n}" for n in range(5)]
    assert recorder.batches == [["first"], [f"k{n}" for n in range(5)]]
    assert group.batches == 2
    assert group.posted == 6


async def test_batches_are_capped_and_keep_arrival_order() -> None:
    recorder = _Recorder()
    group = GroupCommit(recorder.post, batch_max=2, concurrency=1)
    results = await asyncio.gather(*(group.submit(_envelope(f"k{n}")) for n in range(5)))
    assert results == [f"ok:k{n}" for n in range(5)]
    assert recorder.batches == [["k0", "k1"], ["k2", "k3"], ["k4"]]


async def test_one_key_twice_never_shares_a_batch() -> None:
    recorder = _Recorder()
    group = GroupCommit(recorder.post, concurrency=1)
    results = await asyncio.gather(group.submit(_envelope("same")), group.submit(_envelope("same")))
    assert list(results) == ["ok:same", "ok:same"]
    assert recorder.batches == [["same"], ["same"]]


async def test_a_failed_batch_fails_each_of_its_callers_and_the_next_batch_goes_on() -> None:
    recorder = _Recorder(held=True)
    recorder.fail = RuntimeError("database gone")
    group = GroupCommit(recorder.post, concurrency=1)
    failing = [asyncio.create_task(group.submit(_envelope(f"k{n}"))) for n in range(3)]
    await asyncio.sleep(0)
    recorder.gate.set()
    for task in failing:
        with pytest.raises(RuntimeError, match="database gone"):
            await task
    recorder.fail = None
    assert await group.submit(_envelope("after")) == "ok:after"


async def test_a_caller_that_stops_waiting_does_not_take_its_envelope_back() -> None:
    recorder = _Recorder(held=True)
    group = GroupCommit(recorder.post)
    task = asyncio.create_task(group.submit(_envelope("gone")))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    recorder.gate.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert recorder.batches == [["gone"]]
    assert group.posted == 1


async def test_close_cancels_whoever_still_waits() -> None:
    recorder = _Recorder(held=True)
    group = GroupCommit(recorder.post, concurrency=1)
    waiting = [asyncio.create_task(group.submit(_envelope(f"k{n}"))) for n in range(3)]
    await asyncio.sleep(0)
    await group.close()
    for task in waiting:
        with pytest.raises(asyncio.CancelledError):
            await task


def test_nonsense_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        GroupCommit(_Recorder().post, batch_max=0)


async def test_an_envelope_whose_keys_a_batch_in_flight_holds_waits_for_the_next() -> None:
    recorder = _Recorder(held=True)
    group = GroupCommit(recorder.post, concurrency=2, keys_of=lambda e: (e.key[0],))
    first = asyncio.create_task(group.submit(_envelope("a1")))  # holds "a"
    await asyncio.sleep(0)
    rest = [asyncio.create_task(group.submit(_envelope(k))) for k in ("a2", "b1", "a3")]
    for _ in range(3):
        await asyncio.sleep(0)
    assert recorder.batches == [["a1"], ["b1"]]  # the second batch leaves "a" alone
    recorder.gate.set()
    assert await asyncio.gather(first, *rest) == ["ok:a1", "ok:a2", "ok:b1", "ok:a3"]
    assert recorder.batches == [["a1"], ["b1"], ["a2", "a3"]]  # in their order
    assert group._active == 0
    assert not group._held
