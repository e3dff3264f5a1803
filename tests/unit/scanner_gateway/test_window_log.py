"""The replay window on disk: kept across a restart, two files at most, damage skipped."""

from __future__ import annotations

import asyncio
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from scanner_gateway.spool.window import WINDOW_FILE
from scanner_gateway.spool.window import WINDOW_OLD_FILE
from scanner_gateway.spool.window import WindowLog
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def scan(key: str) -> Envelope:
    return Envelope(IdempotencyKey(key), Receive(ProductRef(sku=Sku("S")), LocationCode("D"), 1))


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _flip_middle_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


async def test_what_was_committed_within_the_window_is_read_back_oldest_first(
    tmp_path: Path,
) -> None:
    log = WindowLog(tmp_path, 60)
    await log.append([scan("a"), scan("b")], T0)
    await log.append([scan("c")], T0 + timedelta(seconds=30))
    await log.append([], T0 + timedelta(seconds=31))
    again = WindowLog(tmp_path, 60)  # a restarted gateway
    records = await again.load(T0 + timedelta(seconds=61))
    assert [(r.envelope.key, r.spooled_at) for r in records] == [("c", T0 + timedelta(seconds=30))]
    records = await again.load(T0 + timedelta(seconds=45))
    assert [r.envelope for r in records] == [scan("a"), scan("b"), scan("c")]


async def test_the_log_rolls_over_once_a_window_old_and_keeps_two_files(tmp_path: Path) -> None:
    log = WindowLog(tmp_path, 10)
    for n in range(5):
        await log.append([scan(f"k{n}")], T0 + timedelta(seconds=6 * n))
    assert await asyncio.to_thread(_names, tmp_path) == sorted([WINDOW_FILE, WINDOW_OLD_FILE])
    records = await WindowLog(tmp_path, 10).load(T0 + timedelta(seconds=24))
    assert [r.envelope.key for r in records] == ["k3", "k4"]


async def test_a_damaged_record_is_skipped_and_the_rest_read(tmp_path: Path) -> None:
    log = WindowLog(tmp_path, 60)
    await log.append([scan("a"), scan("b"), scan("c")], T0)
    await asyncio.to_thread(_flip_middle_byte, tmp_path / WINDOW_FILE)
    records = await WindowLog(tmp_path, 60).load(T0)
    assert [r.envelope.key for r in records] == ["a", "c"]


async def test_nothing_kept_reads_as_an_empty_window(tmp_path: Path) -> None:
    assert await WindowLog(tmp_path / "none", 60).load(T0) == []
