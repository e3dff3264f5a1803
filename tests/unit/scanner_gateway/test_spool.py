"""The spool: its pure record codec, then the files on a temporary directory."""

from __future__ import annotations

import json
import logging
import os
import struct
import zlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner_gateway.errors import SpoolFormatError, SpoolFullError, SpoolLockedError
from scanner_gateway.spool import (
    MAX_PAYLOAD,
    RECORD_HEADER_SIZE,
    SEGMENT_HEADER_SIZE,
    Damage,
    Frame,
    SegmentHeader,
    Spool,
    SpoolRecord,
    claim_epoch,
    decode_payload,
    decode_segment_header,
    encode_payload,
    encode_record,
    encode_segment_header,
    pending_records,
    read_frames,
    salvage,
    spool_identity,
)
from stock_core.domain.codec import envelope_to_dict
from stock_core.domain.movement import (
    Command,
    Count,
    Envelope,
    Line,
    Move,
    Pick,
    ProductRef,
    Receive,
    Undo,
)
from stock_core.types import IdempotencyKey, LocationCode, ScannerId, Sku
from tests.failing_disk import FailingDiskSpool

AT = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
WIDGET = ProductRef(barcode="05012345678900")
A01, B01 = LocationCode("A-01"), LocationCode("B-01")

COMMANDS: list[Command] = [
    Receive(WIDGET, A01, 3, lot="L1", expiry=date(2026, 1, 31)),
    Pick(ProductRef(sku=Sku("GADGET")), A01, 1),
    Count(A01, (Line(WIDGET, 12), Line(ProductRef(sku=Sku("BOLT")), 0, lot="X"))),
    Move(A01, B01, (Line(WIDGET, 2, lot="L1", expiry=date(2026, 1, 31)),)),
    Undo(scanner=ScannerId("dock-1")),
]


def record(n: int, command: Command | None = None, at: datetime = AT) -> SpoolRecord:
    envelope = Envelope(
        IdempotencyKey(f"dock-1:{1_000_000_000 + n}"),
        command if command is not None else Receive(WIDGET, A01, 1, lot=f"LOT{n}"),
        actor="scanner:dock-1",
        scanner=ScannerId("dock-1"),
        scan_seq=1_000_000_000 + n,
    )
    return SpoolRecord(envelope, at)


def stream(records: list[SpoolRecord]) -> bytes:
    return b"".join(encode_record(r) for r in records)


def legacy_record(rec: SpoolRecord) -> bytes:
    """A record as the single-file spool of earlier versions wrote it (``spool.log``)."""
    payload = json.dumps(
        {"envelope": envelope_to_dict(rec.envelope), "at": rec.spooled_at.isoformat()},
        separators=(",", ":"),
    ).encode()
    return b"SP" + struct.pack(">II", len(payload), zlib.crc32(payload)) + payload


def frames_of(items: list[Frame | Damage]) -> list[SpoolRecord]:
    return [decode_payload(i.payload) for i in items if isinstance(i, Frame)]


def damage_of(items: list[Frame | Damage]) -> list[Damage]:
    return [i for i in items if isinstance(i, Damage)]


def read_in_chunks(data: bytes, cuts: list[int]) -> list[Frame | Damage]:
    """What a reader fed ``data`` a chunk at a time finds (offsets absolute)."""
    items: list[Frame | Damage] = []
    offset = 0
    bounds = sorted({c for c in cuts if 0 < c < len(data)} | {len(data)})
    while offset < len(data):
        end = next(b for b in bounds if b > offset)
        got, rest = read_frames(data[offset:end], final=end == len(data))
        for item in got:
            if isinstance(item, Frame):
                items.append(Frame(offset + item.start, offset + item.end, item.payload))
            elif items and isinstance(items[-1], Damage) and items[-1].end == offset + item.start:
                last = items[-1]
                items[-1] = Damage(last.start, offset + item.end, last.reason)
            else:
                items.append(Damage(offset + item.start, offset + item.end, item.reason))
        if rest == 0 and not got:  # a record longer than the chunk: take the next cut too
            bounds = [b for b in bounds if b != end]
            continue
        offset += rest
    return items


# -- the pure codec ----------------------------------------------------------------


def test_every_command_kind_round_trips() -> None:
    records = [record(n, c) for n, c in enumerate(COMMANDS)]
    data = stream(records)
    items, rest = read_frames(data, final=True)
    assert rest == len(data)
    assert all(isinstance(i, Frame) for i in items)
    assert frames_of(items) == records


def test_nothing_decodes_to_nothing() -> None:
    assert read_frames(b"", final=True) == ([], 0)
    assert read_frames(b"", final=False) == ([], 0)


def test_record_layout_is_marker_length_crcs_payload() -> None:
    rec = record(1)
    blob = encode_record(rec)
    marker, length, crc, header_crc = struct.unpack(">4sIII", blob[:RECORD_HEADER_SIZE])
    payload = blob[RECORD_HEADER_SIZE:]
    assert marker == b"\xf5REC"
    assert length == len(payload) == len(encode_payload(rec))
    assert crc == zlib.crc32(payload)
    assert header_crc == zlib.crc32(blob[:12])
    assert payload.isascii()  # so the marker's 0xF5 never occurs in it


def test_segment_header_round_trips_and_carries_the_version() -> None:
    blob = encode_segment_header(42)
    assert len(blob) == SEGMENT_HEADER_SIZE
    assert decode_segment_header(blob) == SegmentHeader(42, 1)
    assert decode_segment_header(encode_segment_header(7, version=9)) == SegmentHeader(7, 9)


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        (encode_segment_header(1)[:-1], "cut short"),
        (b"NOTSPOOL" + encode_segment_header(1)[8:], "not a spool segment"),
        (encode_segment_header(1)[:9] + b"\x07" + encode_segment_header(1)[10:], "checksum"),
    ],
    ids=["short", "magic", "version-byte-flipped"],
)
def test_a_damaged_segment_header_is_refused(blob: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        decode_segment_header(blob)


def test_every_single_byte_flip_in_a_record_is_detected_and_costs_only_that_record() -> None:
    before, victim, after = record(0), record(1, COMMANDS[0]), record(2)
    head, body, tail = encode_record(before), encode_record(victim), encode_record(after)
    for position in range(len(body)):
        for mask in range(1, 256):
            flipped = bytearray(body)
            flipped[position] ^= mask
            data = head + bytes(flipped) + tail
            items, rest = read_frames(data, final=True)
            assert rest == len(data)
            assert frames_of(items) == [before, after], (position, mask)
            (damage,) = damage_of(items)
            assert (damage.start, damage.end) == (len(head), len(head) + len(body))


def test_a_record_cut_short_in_the_middle_costs_only_that_record() -> None:
    records = [record(n) for n in range(4)]
    blobs = [encode_record(r) for r in records]
    for cut in (3, RECORD_HEADER_SIZE + 5, len(blobs[1]) - 40):
        # 20 bytes of the second record are gone (a hole, not a torn tail)
        holed = blobs[1][:cut] + blobs[1][cut + 20 :]
        data = blobs[0] + holed + blobs[2] + blobs[3]
        items, _ = read_frames(data, final=True)
        assert frames_of(items) == [records[0], records[2], records[3]], cut
        (damage,) = damage_of(items)
        assert (damage.start, damage.end) == (len(blobs[0]), len(blobs[0]) + len(holed))


def test_resync_finds_the_next_record_after_garbage() -> None:
    first, second = record(0), record(1)
    garbage = b"\x00\xff\xf5RE garbage \xf5REC\x00\x00\x00\x05" + bytes(40)
    data = encode_record(first) + garbage + encode_record(second)
    items, _ = read_frames(data, final=True)
    start = len(encode_record(first))
    assert items[1] == Damage(start, start + len(garbage), "no record marker")
    assert frames_of(items) == [first, second]


def test_a_torn_tail_is_damage_at_every_cut() -> None:
    records = [record(n) for n in range(3)]
    whole = stream(records)
    complete = len(stream(records[:2]))
    for cut in range(complete + 1, len(whole)):
        items, rest = read_frames(whole[:cut], final=True)
        assert frames_of(items) == records[:2], cut
        assert items[-1] == Damage(complete, cut, "incomplete record")
        assert items[-1].torn
        assert rest == cut


def test_without_final_an_unfinished_record_is_left_for_more_data() -> None:
    records = [record(n) for n in range(3)]
    whole = stream(records)
    complete = len(stream(records[:2]))
    for cut in range(complete, len(whole)):
        items, rest = read_frames(whole[:cut], final=False)
        assert frames_of(items) == records[:2]
        assert rest == complete
        assert not damage_of(items)


def test_damage_at_the_end_of_a_chunk_keeps_a_possible_marker_start() -> None:
    data = encode_record(record(0)) + b"junk-junk-junk-junk\xf5RE"
    items, rest = read_frames(data, final=False)
    assert rest == len(data) - 3  # the last three bytes may begin a marker
    assert damage_of(items) == [Damage(len(encode_record(record(0))), rest, "no record marker")]


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda blob: b"XXXX" + blob[4:], "no record marker"),
        (
            lambda blob: blob[:4] + struct.pack(">I", MAX_PAYLOAD + 1) + blob[8:],
            "header checksum mismatch",
        ),
        (lambda blob: blob[:-1] + bytes([blob[-1] ^ 0x20]), "payload checksum mismatch"),
    ],
    ids=["marker", "length", "payload"],
)
def test_the_reason_names_what_is_damaged(damage: object, reason: str) -> None:
    assert callable(damage)
    bad = damage(encode_record(record(1)))
    items, _ = read_frames(encode_record(record(0)) + bad + encode_record(record(2)), final=True)
    assert [d.reason for d in damage_of(items)] == [reason]


def test_a_checksummed_length_out_of_range_is_damage() -> None:
    fields = struct.pack(">4sII", b"\xf5REC", MAX_PAYLOAD + 1, 0)
    bad = fields + struct.pack(">I", zlib.crc32(fields)) + b"{}"
    items, _ = read_frames(bad + encode_record(record(2)), final=True)
    assert [d.reason for d in damage_of(items)] == ["length out of range"]
    assert frames_of(items) == [record(2)]


def test_payloads_that_are_not_records_are_refused_with_value_error() -> None:
    for payload in (b"{x]", b"{}", b'{"envelope": {}, "at": "now"}', b"[1]", b"\xff"):
        with pytest.raises(ValueError, match="undecodable"):
            decode_payload(payload)


def test_salvage_reads_a_record_whose_checksum_failed_but_not_garbage() -> None:
    rec = record(7)
    blob = bytearray(encode_record(rec))
    blob[10] ^= 0xFF  # its payload CRC: the JSON is intact
    assert salvage(bytes(blob)) == rec
    assert salvage(b"\x00" * 100) is None
    assert salvage(b'{"envelope": {"key": 1}') is None


def test_salvage_restores_a_record_with_any_one_byte_of_its_payload_flipped() -> None:
    rec = record(5, COMMANDS[3])
    blob = encode_record(rec)
    for position in range(RECORD_HEADER_SIZE, len(blob)):
        for mask in (0x01, 0x22, 0x80, 0xFF):
            flipped = bytearray(blob)
            flipped[position] ^= mask
            assert salvage(bytes(flipped)) == rec, (position, mask)


def test_salvage_gives_up_on_a_payload_it_cannot_explain() -> None:
    blob = bytearray(encode_record(record(5)))
    blob[RECORD_HEADER_SIZE] ^= 0x01  # the opening brace ...
    blob[-1] ^= 0x01  # ... and the closing one: two bytes, and no JSON
    assert salvage(bytes(blob)) is None


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=80), min_size=1, max_size=6))
def test_arbitrary_garbage_between_records_never_yields_a_wrong_record(
    garbage: list[bytes],
) -> None:
    records = [record(n, COMMANDS[n % len(COMMANDS)]) for n in range(len(garbage) + 1)]
    data = encode_record(records[0]) + b"".join(
        junk + encode_record(rec) for junk, rec in zip(garbage, records[1:], strict=True)
    )
    items, rest = read_frames(data, final=True)
    assert rest == len(data)
    assert frames_of(items) == records  # every record, in order, and nothing else


@settings(max_examples=200)
@given(
    st.lists(st.binary(max_size=60), min_size=3, max_size=3),
    st.lists(st.integers(min_value=0, max_value=2000), max_size=8),
)
def test_reading_in_chunks_finds_what_reading_whole_finds(
    garbage: list[bytes], cuts: list[int]
) -> None:
    records = [record(n, COMMANDS[n % len(COMMANDS)]) for n in range(3)]
    data = b"".join(g + encode_record(r) for g, r in zip(garbage, records, strict=True))
    data += encode_record(record(9))[:25]  # and a torn tail
    whole, _ = read_frames(data, final=True)
    assert read_in_chunks(data, cuts) == whole


@given(st.binary(max_size=400), st.booleans(), st.booleans())
def test_any_bytes_are_tiled_by_records_and_damage_without_raising(
    data: bytes, final: bool, legacy: bool
) -> None:
    items, rest = read_frames(data, final=final, legacy=legacy)
    position = 0
    for item in items:
        assert item.start == position < item.end
        position = item.end
    assert position == rest <= len(data)
    if final:
        assert rest == len(data)


def test_the_legacy_format_reads_and_resynchronises() -> None:
    records = [record(n) for n in range(4)]
    blobs = [legacy_record(r) for r in records]
    damaged = bytearray(blobs[1])
    damaged[len(damaged) // 2] ^= 0x01
    data = blobs[0] + bytes(damaged) + blobs[2] + blobs[3][:-5]
    items, rest = read_frames(data, final=True, legacy=True)
    assert frames_of(items) == [records[0], records[2]]
    assert [(d.start, d.torn) for d in damage_of(items)] == [
        (len(blobs[0]), False),
        (len(blobs[0]) + len(damaged) + len(blobs[2]), True),
    ]
    assert rest == len(data)


# -- the files -----------------------------------------------------------------------


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
    spool = Spool(tmp_path)
    await spool.open()
    await spool.append(envelopes(range(2)))
    await spool.append(envelopes(range(2, 3)))
    assert spool.pending == 3
    await spool.close()

    again = Spool(tmp_path)
    await again.open()
    assert [r.envelope for r in await again.head(10)] == envelopes(range(3))
    await again.close()
    assert [r.envelope for r in pending_records(tmp_path)] == envelopes(range(3))


async def test_remove_head_passes_over_the_oldest_for_good(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    await spool.open()
    await spool.append(envelopes(range(5)))
    assert [r.envelope for r in await spool.head(2)] == envelopes(range(2))
    await spool.remove_head(2)
    await spool.append(envelopes(range(5, 6)))
    assert spool.pending == 4
    await spool.close()

    again = Spool(tmp_path)
    await again.open()
    assert again.pending == 4
    assert await drain(again) == envelopes(range(2, 6))
    await again.close()
    assert pending_records(tmp_path) == []


async def test_the_checkpoint_is_written_at_intervals_and_on_close(tmp_path: Path) -> None:
    spool = Spool(tmp_path, checkpoint_interval=3600)
    await spool.open()
    checkpoint = tmp_path / "checkpoint"
    first = checkpoint.read_bytes()
    await spool.append(envelopes(range(10)))
    await spool.remove_head(len(await spool.head(3)))
    await spool.remove_head(len(await spool.head(3)))
    assert checkpoint.read_bytes() == first  # a crash now replays six scans again
    assert [r.envelope for r in pending_records(tmp_path)] == envelopes(range(10))
    await spool.close()
    assert checkpoint.read_bytes() != first
    assert [r.envelope for r in pending_records(tmp_path)] == envelopes(range(6, 10))


async def test_head_reads_from_disk_a_batch_at_a_time(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    await spool.open()
    for start in range(0, 1000, 100):
        await spool.append(envelopes(range(start, start + 100)))
    first = await spool.head(10)
    assert [r.envelope for r in first] == envelopes(range(10))
    assert len(spool._buffer) == 10  # never the whole spool in memory
    assert await spool.head(5) == first[:5]
    await spool.remove_head(5)
    assert [r.envelope for r in await spool.head(10)] == envelopes(range(5, 15))
    assert len(spool._buffer) == 10
    await spool.close()


async def test_segments_roll_and_drained_ones_are_deleted(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=4096)
    await spool.open()
    for start in range(0, 100, 5):
        await spool.append(envelopes(range(start, start + 5)))
    assert len(segments(tmp_path)) > 5
    assert await drain(spool, batch=7) == envelopes(range(100))
    # drained: the segment appends go to is left, emptied
    assert len(segments(tmp_path)) == 1
    assert spool.status().size_bytes == SEGMENT_HEADER_SIZE
    await spool.append(envelopes(range(100, 101)))
    await spool.close()
    again = Spool(tmp_path)
    await again.open()
    assert await drain(again) == envelopes(range(100, 101))
    await again.close()


async def test_a_crash_between_checkpoint_and_deletion_deletes_on_open(tmp_path: Path) -> None:
    spool = Spool(tmp_path, segment_bytes=4096)
    await spool.open()
    for start in range(0, 40, 5):
        await spool.append(envelopes(range(start, start + 5)))
    kept = snapshot(tmp_path)
    await spool.remove_head(len(await spool.head(20)))
    await spool.close()
    for name, data in kept.items():  # as if the deletions never happened
        (tmp_path / name).write_bytes(data)
    again = Spool(tmp_path)
    await again.open()
    assert await drain(again) == envelopes(range(20, 40))
    await again.close()


async def test_a_torn_tail_on_disk_is_cut_and_appends_follow_the_good_records(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path)
    await spool.open()
    await spool.append(envelopes(range(2)))
    await spool.close()
    path = only_segment(tmp_path)
    good = path.stat().st_size
    with path.open("ab") as f:
        f.write(encode_record(record(2))[:-7])

    again = Spool(tmp_path)
    with caplog.at_level(logging.WARNING, "scanner_gateway.spool"):
        await again.open()
    assert "torn tail" in caplog.text
    assert path.stat().st_size == good
    assert again.status().quarantined == 0  # never acknowledged: nothing lost
    await again.append(envelopes(range(3, 4)))
    await again.close()
    assert [r.envelope for r in pending_records(tmp_path)] == envelopes(range(2)) + envelopes(
        range(3, 4)
    )


async def test_a_flipped_byte_is_quarantined_and_costs_only_its_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path)
    await spool.open()
    await spool.append(envelopes(range(10)))
    await spool.close()
    path = only_segment(tmp_path)
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
    spool = Spool(tmp_path)
    await spool.open()
    await spool.append(envelopes(range(6)))
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
    spool = Spool(tmp_path)
    await spool.open()
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
    assert [r.envelope for r in pending_records(tmp_path)] == envelopes(range(4))
    spool = Spool(tmp_path)
    await spool.open()  # (with a checksum that does not match: from the oldest segment)
    assert spool.pending == 4
    await spool.close()
    body = b"3 24"
    (tmp_path / "checkpoint").write_bytes(
        b"stockd-spool-checkpoint 1 " + body + b" %08x\n" % zlib.crc32(body)
    )
    spool = Spool(tmp_path)
    await spool.open()
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
    spool = Spool(tmp_path)
    await spool.open()
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
    spool = Spool(tmp_path)
    await spool.open()
    assert spool.status().quarantined == 1
    await spool.append(envelopes(range(2, 3)))  # not after a damaged header
    assert len(segments(tmp_path)) == 2
    assert await drain(spool) == envelopes(range(3))
    await spool.close()


async def test_a_damaged_checkpoint_replays_from_the_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spool = Spool(tmp_path)
    await spool.open()
    await spool.append(envelopes(range(4)))
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
    spool = Spool(tmp_path)
    await spool.open()
    await spool.close()
    assert temporary_files(tmp_path) == ["epoch.tmp"]


async def test_a_legacy_spool_is_replayed_first_and_then_deleted(tmp_path: Path) -> None:
    blobs = [legacy_record(record(n)) for n in range(5)]
    damaged = bytearray(blobs[2])
    damaged[30] ^= 0x10
    legacy = tmp_path / "spool.log"
    legacy.write_bytes(b"".join([*blobs[:2], bytes(damaged), *blobs[3:]]) + blobs[0][:9])
    spool = Spool(tmp_path)
    await spool.open()
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
    spool = Spool(tmp_path)
    await spool.open()
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
    await spool.append(envelopes(range(3, 4)))
    await spool.close()
    assert [r.envelope for r in pending_records(tmp_path)] == envelopes(range(2)) + envelopes(
        range(3, 4)
    )


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
    await spool.append(envelopes(range(3, 4)))
    await spool.close()
    assert [r.envelope for r in pending_records(tmp_path)] == envelopes(range(1)) + envelopes(
        range(3, 4)
    )


async def test_the_cap_refuses_appends_and_raises_the_alarm(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blob = len(encode_record(record(0)))
    cap = SEGMENT_HEADER_SIZE + 10 * blob + SEGMENT_HEADER_SIZE
    spool = Spool(tmp_path, cap_bytes=cap, alarm_ratio=0.5)
    await spool.open()
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
    spool = Spool(tmp_path)
    await spool.open()
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
    first = Spool(tmp_path)
    await first.open()
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
    spool = Spool(tmp_path)
    await spool.open()
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


def test_claim_epoch_increases_every_time_and_survives(tmp_path: Path) -> None:
    assert [claim_epoch(tmp_path) for _ in range(3)] == [1, 2, 3]
    assert (tmp_path / "epoch").read_text() == "3\n"
    assert claim_epoch(tmp_path) == 4
    assert not (tmp_path / "epoch.tmp").exists()


def test_claim_epoch_refuses_a_corrupt_file(tmp_path: Path) -> None:
    (tmp_path / "epoch").write_text("seven\n")
    with pytest.raises(ValueError, match="corrupt"):
        claim_epoch(tmp_path)


def test_spool_identity_is_made_once_and_kept(tmp_path: Path) -> None:
    first = spool_identity(tmp_path)
    assert len(first) == 12
    assert spool_identity(tmp_path) == first
    assert spool_identity(tmp_path / "elsewhere") != first  # a lost directory: a new name
