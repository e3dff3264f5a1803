"""The spool directory on a temporary directory: appends, replay, the checkpoint,
damage, the cap and the lock."""

from __future__ import annotations

import logging
import os
import struct
import zlib
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from scanner_gateway.errors import SpoolFormatError
from scanner_gateway.errors import SpoolFullError
from scanner_gateway.errors import SpoolLockedError
from scanner_gateway.spool import SEGMENT_HEADER_SIZE
from scanner_gateway.spool import Spool
from scanner_gateway.spool import encode_record
from scanner_gateway.spool import encode_segment_header
from scanner_gateway.spool import pending_records
from stock_core.domain.movement import Count
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Line
from tests.failing_disk import FailingDiskSpool
from tests.unit.scanner_gateway.spool.records import A01
from tests.unit.scanner_gateway.spool.records import WIDGET
from tests.unit.scanner_gateway.spool.records import legacy_record
from tests.unit.scanner_gateway.spool.records import record
from tests.unit.scanner_gateway.spool.records import stream


def envelopes(numbers: range) -> list[Envelope]:
    return [record(n).envelope for n in numbers]


async def drain(spool: Spool, batch: int = 100) -> list[Envelope]:
    out: list[Envelope] = []
    while spool.pending:
        records = await spool.head(batch)
        out += [r.envelope for r in records]
        spool.reported(spool.unreported())
        await spool.remove_head(len(records))
    return out


async def opened(directory: Path, holding: int = 0, **options: Any) -> Spool:
    """The spool in ``directory`` (with ``options``), opened (made if there is none),
    ``envelopes(range(holding))`` appended."""
    spool = Spool(directory, **options)
    await spool.open()
    if holding:
        await spool.append(envelopes(range(holding)))
    return spool


async def append_batches(spool: Spool, count: int, batch: int) -> None:
    """``envelopes(range(count))`` appended ``batch`` at a time."""
    for start in range(0, count, batch):
        await spool.append(envelopes(range(start, start + batch)))


async def appends_follow_the_good(directory: Path, spool: Spool, good: int) -> None:
    """A record appended to ``spool`` (then closed) is read back right after the first
    ``good`` records: nothing lost or half-written stands between them."""
    await spool.append(envelopes(range(3, 4)))
    await spool.close()
    assert pending(directory) == envelopes(range(good)) + envelopes(range(3, 4))


async def segment_of(directory: Path, records: int) -> Path:
    """A spool in ``directory`` given ``records`` records and closed: its one segment file."""
    spool = await opened(directory, holding=records)
    await spool.close()
    return only_segment(directory)


def pending(directory: Path) -> list[Envelope]:
    """What the spool in ``directory`` still holds to post, read from its files."""
    return [r.envelope for r in pending_records(directory)]


def segments(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("segment-*.wal"))


def only_segment(directory: Path) -> Path:
    (path,) = directory.glob("segment-*.wal")
    return path


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.glob("segment-*.wal")}


def temporary_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.glob("*.tmp"))


async def test_appended_records_are_there_after_reopening(tmp_path: Path) -> None:
    spool = await opened(tmp_path, holding=2)
    await spool.append(envelopes(range(2, 3)))
    assert spool.pending == 3
    await spool.close()

    again = await opened(tmp_path)
    assert [r.envelope for r in await again.head(10)] == envelopes(range(3))
    await again.close()
    assert pending(tmp_path) == envelopes(range(3))


async def test_remove_head_passes_over_the_oldest_for_good(tmp_path: Path) -> None:
    spool = await opened(tmp_path, holding=5)
    assert [r.envelope for r in await spool.head(2)] == envelopes(range(2))
    await spool.remove_head(2)
    await spool.append(envelopes(range(5, 6)))
    assert spool.pending == 4
    await spool.close()

    again = await opened(tmp_path)
    assert again.pending == 4
    assert await drain(again) == envelopes(range(2, 6))
    await again.close()
    assert pending_records(tmp_path) == []


async def test_the_checkpoint_is_written_at_intervals_and_on_close(tmp_path: Path) -> None:
    spool = await opened(tmp_path, checkpoint_interval=3600)
    checkpoint = tmp_path / "checkpoint"
    first = checkpoint.read_bytes()
    await spool.append(envelopes(range(10)))
    await spool.remove_head(len(await spool.head(3)))
    await spool.remove_head(len(await spool.head(3)))
    assert checkpoint.read_bytes() == first  # a crash now replays six scans again
    assert pending(tmp_path) == envelopes(range(10))
    await spool.close()
    assert checkpoint.read_bytes() != first
    assert pending(tmp_path) == envelopes(range(6, 10))


async def test_head_reads_from_disk_a_batch_at_a_time(tmp_path: Path) -> None:
    spool = await opened(tmp_path)
    await append_batches(spool, 1000, 100)
    first = await spool.head(10)
    assert [r.envelope for r in first] == envelopes(range(10))
    assert len(spool._buffer) == 10  # never the whole spool in memory
    assert await spool.head(5) == first[:5]
    await spool.remove_head(5)
    assert [r.envelope for r in await spool.head(10)] == envelopes(range(5, 15))
    assert len(spool._buffer) == 10
    await spool.close()


async def test_segments_roll_and_drained_ones_are_deleted(tmp_path: Path) -> None:
    spool = await opened(tmp_path, segment_bytes=4096)
    await append_batches(spool, 100, 5)
    assert len(segments(tmp_path)) > 5
    assert await drain(spool, batch=7) == envelopes(range(100))
    # drained: the segment appends go to is left, emptied
    assert len(segments(tmp_path)) == 1
    assert spool.status().size_bytes == SEGMENT_HEADER_SIZE
    await spool.append(envelopes(range(100, 101)))
    await spool.close()
    again = await opened(tmp_path)
    assert await drain(again) == envelopes(range(100, 101))
    await again.close()


async def test_a_crash_between_checkpoint_and_deletion_deletes_on_open(tmp_path: Path) -> None:
    spool = await opened(tmp_path, segment_bytes=4096)
    await append_batches(spool, 40, 5)
    kept = snapshot(tmp_path)
    await spool.remove_head(len(await spool.head(20)))
    await spool.close()
    for name, data in kept.items():  # as if the deletions never happened
        (tmp_path / name).write_bytes(data)
    again = await opened(tmp_path)
    assert await drain(again) == envelopes(range(20, 40))
    await again.close()


async def test_a_torn_tail_on_disk_is_cut_and_appends_follow_the_good_records(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = await segment_of(tmp_path, 2)
    good = path.stat().st_size
    with path.open("ab") as f:
        f.write(encode_record(record(2))[:-7])

    again = Spool(tmp_path)
    with caplog.at_level(logging.WARNING, "scanner_gateway.spool"):
        await again.open()
    assert "torn tail" in caplog.text
    assert path.stat().st_size == good
    assert again.status().quarantined == 0  # never acknowledged: nothing lost
    await appends_follow_the_good(tmp_path, again, 2)


async def test_a_flipped_byte_is_quarantined_and_costs_only_its_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = await segment_of(tmp_path, 10)
    data = bytearray(snapshot(tmp_path)[path.name])
    blob = len(encode_record(record(0)))
    data[SEGMENT_HEADER_SIZE + 4 * blob + 60] ^= 0x04  # inside the fifth record's payload
    path.write_bytes(bytes(data))

    again = Spool(tmp_path)
    with caplog.at_level(logging.ERROR, "scanner_gateway.spool"):
        await again.open()
    assert "payload checksum mismatch" in caplog.text
    assert again.pending == 9
    status = again.status()
    assert status.quarantined == 1
    (lost,) = again.unreported()
    assert lost.salvaged is not None
    assert lost.salvaged.envelope.key == record(4).envelope.key
    assert lost.path.read_bytes() == bytes(data[SEGMENT_HEADER_SIZE + 4 * blob :][:blob])
    survivors = await drain(again)
    assert survivors == envelopes(range(4)) + envelopes(range(5, 10))
    await again.close()


async def test_damage_found_while_replaying_is_reported_once(tmp_path: Path) -> None:
    spool = await opened(tmp_path, holding=6)
    path = only_segment(tmp_path)
    blob = len(encode_record(record(0)))
    with path.open("r+b") as f:  # rot while the gateway runs, after open() counted
        f.seek(SEGMENT_HEADER_SIZE + 2 * blob + 1)
        f.write(b"!")
    assert spool.pending == 6
    assert [r.envelope for r in await spool.head(10)] == envelopes(range(2)) + envelopes(
        range(3, 6)
    )
    assert spool.pending == 5  # recounted
    assert len(spool.unreported()) == 1
    assert await spool.head(10)  # read again: not reported twice
    assert len(spool.unreported()) == 1
    await spool.close()


async def test_records_and_damage_longer_than_a_read_are_read_whole(tmp_path: Path) -> None:
    big = Count(A01, tuple(Line(WIDGET, n, lot=f"LOT{n:06d}") for n in range(6000)))
    assert len(encode_record(record(1, big))) > 256 << 10  # longer than one read
    path = tmp_path / "segment-00000001.wal"
    path.write_bytes(
        encode_segment_header(1)
        + encode_record(record(0))
        + bytes(600 << 10)  # a zeroed stretch, over several reads
        + encode_record(record(1, big))
        + encode_record(record(2))
    )
    spool = await opened(tmp_path)
    assert spool.pending == 3
    (zeros,) = spool.unreported()
    assert zeros.size == 600 << 10
    assert zeros.path.stat().st_size == 600 << 10
    assert [r.envelope for r in await spool.head(10)] == [
        record(0).envelope,
        record(1, big).envelope,
        record(2).envelope,
    ]
    await spool.close()


async def test_a_checkpoint_past_deleted_segments_starts_at_the_next(tmp_path: Path) -> None:
    for seq, numbers in ((5, range(2)), (6, range(2, 4))):
        data = encode_segment_header(seq) + stream([record(n) for n in numbers])
        (tmp_path / f"segment-{seq:08d}.wal").write_bytes(data)
    (tmp_path / "checkpoint").write_bytes(b"stockd-spool-checkpoint 1 3 24 00000000\n")
    assert pending(tmp_path) == envelopes(range(4))
    spool = Spool(tmp_path)
    await spool.open()  # (with a checksum that does not match: from the oldest segment)
    assert spool.pending == 4
    await spool.close()
    body = b"3 24"
    (tmp_path / "checkpoint").write_bytes(
        b"stockd-spool-checkpoint 1 " + body + b" %08x\n" % zlib.crc32(body)
    )
    spool = await opened(tmp_path)
    assert await drain(spool) == envelopes(range(4))
    await spool.close()
    assert segments(tmp_path) == ["segment-00000006.wal"]  # drained, emptied in place
    assert only_segment(tmp_path).stat().st_size == SEGMENT_HEADER_SIZE
    assert pending_records(tmp_path / "nowhere") == []


async def test_an_undecodable_record_is_quarantined(tmp_path: Path) -> None:
    payload = b'{"envelope":{"type":"Teleport"},"at":"2025-01-01T00:00:00+00:00"}'
    fields = struct.pack(">4sII", b"\xf5REC", len(payload), zlib.crc32(payload))
    odd = fields + struct.pack(">I", zlib.crc32(fields)) + payload
    path = tmp_path / "segment-00000001.wal"
    path.write_bytes(encode_segment_header(1) + encode_record(record(0)) + odd)
    spool = await opened(tmp_path)
    assert spool.pending == 2  # counted by checksum ...
    assert [r.envelope for r in await spool.head(10)] == envelopes(range(1))
    assert spool.pending == 1  # ... found out on reading
    (found,) = spool.unreported()
    assert found.reason.startswith("undecodable")
    assert found.path.read_bytes() == payload
    await spool.close()


async def test_a_segment_of_an_unknown_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "segment-00000001.wal"
    path.write_bytes(encode_segment_header(1, version=2) + b"whatever comes in version 2")
    spool = Spool(tmp_path)
    with pytest.raises(SpoolFormatError, match="format version 2; this stockd reads version 1"):
        await spool.open()
    assert path.stat().st_size > SEGMENT_HEADER_SIZE  # untouched
    again = Spool(tmp_path)  # and the lock was let go
    with pytest.raises(SpoolFormatError):
        await again.open()


async def test_a_damaged_segment_header_is_quarantined_and_its_records_read(
    tmp_path: Path,
) -> None:
    header = bytearray(encode_segment_header(1))
    header[9] ^= 0x02  # the version byte: the header checksum catches it
    path = tmp_path / "segment-00000001.wal"
    path.write_bytes(bytes(header) + stream([record(0), record(1)]))
    spool = await opened(tmp_path)
    assert spool.status().quarantined == 1
    await spool.append(envelopes(range(2, 3)))  # not after a damaged header
    assert len(segments(tmp_path)) == 2
    assert await drain(spool) == envelopes(range(3))
    await spool.close()


async def test_a_damaged_checkpoint_replays_from_the_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = await opened(tmp_path, holding=4)
    await spool.remove_head(len(await spool.head(2)))
    await spool.close()
    checkpoint = tmp_path / "checkpoint"
    checkpoint.write_bytes(checkpoint.read_bytes().replace(b" 1 ", b" 7 ", 1))
    again = Spool(tmp_path)
    with caplog.at_level(logging.ERROR, "scanner_gateway.spool"):
        await again.open()
    assert "checkpoint" in caplog.text
    # already replayed ones again: their idempotency keys make that harmless
    assert await drain(again) == envelopes(range(4))
    await again.close()


async def test_leftover_temporary_files_are_removed(tmp_path: Path) -> None:
    (tmp_path / "checkpoint.tmp").write_bytes(b"half")
    (tmp_path / "segment-00000009.wal.tmp").write_bytes(b"half")
    (tmp_path / "epoch.tmp").write_bytes(b"someone else's")
    spool = await opened(tmp_path)
    await spool.close()
    assert temporary_files(tmp_path) == ["epoch.tmp"]


async def test_a_legacy_spool_is_replayed_first_and_then_deleted(tmp_path: Path) -> None:
    blobs = [legacy_record(record(n)) for n in range(5)]
    damaged = bytearray(blobs[2])
    damaged[30] ^= 0x10
    legacy = tmp_path / "spool.log"
    legacy.write_bytes(b"".join([*blobs[:2], bytes(damaged), *blobs[3:]]) + blobs[0][:9])
    spool = await opened(tmp_path)
    assert spool.pending == 4
    assert spool.status().quarantined == 1
    await spool.append(envelopes(range(10, 12)))  # appends go to a new segment
    assert legacy.exists()
    assert await drain(spool, batch=3) == envelopes(range(2)) + envelopes(range(3, 5)) + (
        envelopes(range(10, 12))
    )
    assert not legacy.exists()
    await spool.close()


async def test_an_empty_legacy_spool_is_removed(tmp_path: Path) -> None:
    (tmp_path / "spool.log").write_bytes(b"")
    spool = await opened(tmp_path)
    assert not (tmp_path / "spool.log").exists()
    await spool.close()


@pytest.mark.parametrize("failure", ["write", "sync"])
async def test_a_failed_append_leaves_nothing_behind(tmp_path: Path, failure: str) -> None:
    spool = FailingDiskSpool(tmp_path)
    await spool.open()
    await spool.append(envelopes(range(2)))
    path = only_segment(tmp_path)
    size = path.stat().st_size
    setattr(spool, f"{failure}_fails", 1)
    with pytest.raises(OSError, match=r"No space|Input/output"):
        await spool.append(envelopes(range(2, 3)))
    assert path.stat().st_size == size
    assert spool.pending == 2
    await appends_follow_the_good(tmp_path, spool, 2)


async def test_a_failed_append_that_cannot_be_cut_is_cut_before_the_next(tmp_path: Path) -> None:
    spool = FailingDiskSpool(tmp_path)
    await spool.open()
    await spool.append(envelopes(range(1)))
    path = only_segment(tmp_path)
    size = path.stat().st_size
    spool.sync_fails, spool.cut_fails = 1, 1
    with pytest.raises(OSError, match="Input/output"):
        await spool.append(envelopes(range(1, 2)))
    assert path.stat().st_size > size  # its bytes are still there ...
    spool.cut_fails = 1
    with pytest.raises(OSError, match="Input/output"):  # ... nothing goes after them
        await spool.append(envelopes(range(2, 3)))
    await appends_follow_the_good(tmp_path, spool, 1)


async def test_the_cap_refuses_appends_and_raises_the_alarm(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blob = len(encode_record(record(0)))
    cap = SEGMENT_HEADER_SIZE + 10 * blob + SEGMENT_HEADER_SIZE
    spool = await opened(tmp_path, cap_bytes=cap, alarm_ratio=0.5)
    with caplog.at_level(logging.WARNING, "scanner_gateway.spool"):
        await spool.append(envelopes(range(6)))
        status = spool.status()
        assert (status.alarm, status.full, status.cap_bytes) == (True, False, cap)
        await spool.append(envelopes(range(6, 10)))
        with pytest.raises(SpoolFullError, match="spool is full"):
            await spool.append(envelopes(range(10, 11)))
    assert "is full" in caplog.text
    assert "cap" in caplog.text
    assert spool.status().full
    assert spool.pending == 10
    assert await drain(spool) == envelopes(range(10))
    status = spool.status()
    assert (status.alarm, status.full, status.depth) == (False, False, 0)
    await spool.append(envelopes(range(10, 11)))
    await spool.close()


async def test_status_reports_depth_size_and_the_oldest_age(tmp_path: Path) -> None:
    spool = await opened(tmp_path)
    empty = spool.status()
    assert (empty.depth, empty.oldest_age_s, empty.replaying) == (0, None, False)
    assert empty.size_bytes == SEGMENT_HEADER_SIZE
    await spool.append(envelopes(range(3)))
    first = spool.status().oldest_age_s
    assert first is not None
    assert first < 5
    later = datetime.now(UTC) + timedelta(seconds=100)
    status = spool.status(later)
    assert status.depth == 3
    assert status.size_bytes == SEGMENT_HEADER_SIZE + 3 * len(encode_record(record(0)))
    assert status.oldest_age_s is not None
    assert 99 < status.oldest_age_s < 105
    await spool.close()
    again = Spool(tmp_path)
    await again.open()  # the age survives a restart: it is read from the oldest record
    reopened = again.status(later).oldest_age_s
    assert reopened is not None
    assert abs(reopened - status.oldest_age_s) < 0.01
    await again.close()


async def test_a_second_spool_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    first = await opened(tmp_path)
    second = Spool(tmp_path)
    with pytest.raises(SpoolLockedError) as refused:
        await second.open()
    message = str(refused.value)
    assert message == (
        f"spool {tmp_path} is in use by another gateway (pid {os.getpid()}):"
        " stop it or set STOCKD_HOME to another directory"
    )
    assert "\n" not in message
    assert refused.value.pid == os.getpid()
    await first.close()
    await second.open()  # let go on close
    await second.close()


async def test_a_record_can_be_copied_to_quarantine(tmp_path: Path) -> None:
    spool = await opened(tmp_path)
    path = await spool.quarantine_record(record(3), "it kept failing")
    assert path.read_bytes() == encode_record(record(3))
    assert spool.status().quarantined == 1
    await spool.close()


async def test_appending_to_a_closed_spool_is_misuse(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "new" / "dir")
    await spool.open()
    await spool.close()
    await spool.close()
    with pytest.raises(RuntimeError, match="not open"):
        await spool.append(envelopes(range(1)))
    with pytest.raises(ValueError, match="out of range"):
        Spool(tmp_path, cap_bytes=0)
