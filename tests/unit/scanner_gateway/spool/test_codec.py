"""The spool's pure record codec: bytes in, values out; no files."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from scanner_gateway.spool.codec import MAX_PAYLOAD
from scanner_gateway.spool.codec import RECORD_HEADER_SIZE
from scanner_gateway.spool.codec import SEGMENT_HEADER_SIZE
from scanner_gateway.spool.codec import Damage
from scanner_gateway.spool.codec import Frame
from scanner_gateway.spool.codec import SegmentHeader
from scanner_gateway.spool.codec import SpoolRecord
from scanner_gateway.spool.codec import decode_payload
from scanner_gateway.spool.codec import decode_segment_header
from scanner_gateway.spool.codec import encode_payload
from scanner_gateway.spool.codec import encode_record
from scanner_gateway.spool.codec import encode_segment_header
from scanner_gateway.spool.codec import read_frames
from scanner_gateway.spool.codec import salvage
from stock_core.domain.movement import Receive
from tests.unit.scanner_gateway.spool.records import A01
from tests.unit.scanner_gateway.spool.records import COMMANDS
from tests.unit.scanner_gateway.spool.records import WIDGET
from tests.unit.scanner_gateway.spool.records import legacy_record
from tests.unit.scanner_gateway.spool.records import record
from tests.unit.scanner_gateway.spool.records import stream


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


def test_salvage_reads_a_payload_too_long_to_repair_as_it_stands() -> None:
    rec = record(6, Receive(WIDGET, A01, 1, note="x" * 70_000))  # past the 64 KiB repair cap
    blob = bytearray(encode_record(rec))
    at = blob.index(b"xxxx")
    blob[at] = ord("y")  # the payload's CRC fails; its JSON still reads
    salvaged = salvage(bytes(blob))
    assert salvaged is not None
    assert salvaged.envelope.key == rec.envelope.key
    assert isinstance(salvaged.envelope.command, Receive)
    assert salvaged.envelope.command.note == "y" + "x" * 69_999  # not repaired


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
