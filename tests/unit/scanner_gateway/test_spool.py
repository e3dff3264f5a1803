"""The spool: its pure record codec, then the file on a temporary directory."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner_gateway.spool import (
    Spool,
    SpoolRecord,
    claim_epoch,
    decode_records,
    encode_record,
    spool_identity,
)
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


def record(n: int, command: Command | None = None) -> SpoolRecord:
    envelope = Envelope(
        IdempotencyKey(f"dock-1:{1_000_000_000 + n}"),
        command if command is not None else Receive(WIDGET, A01, 1, lot=f"LOT{n}"),
        actor="scanner:dock-1",
        scanner=ScannerId("dock-1"),
        scan_seq=1_000_000_000 + n,
    )
    return SpoolRecord(envelope, AT)


def stream(records: list[SpoolRecord]) -> bytes:
    return b"".join(encode_record(r) for r in records)


# -- the pure codec ----------------------------------------------------------------


def test_every_command_kind_round_trips() -> None:
    records = [record(n, c) for n, c in enumerate(COMMANDS)]
    data = stream(records)
    assert decode_records(data) == (records, len(data))


def test_nothing_decodes_to_nothing() -> None:
    assert decode_records(b"") == ([], 0)


def test_record_layout_is_magic_length_crc_payload() -> None:
    blob = encode_record(record(1))
    magic, length, crc = struct.unpack(">2sII", blob[:10])
    assert magic == b"SP"
    assert length == len(blob) - 10
    assert crc == zlib.crc32(blob[10:])


def test_a_torn_tail_is_left_out_at_every_cut() -> None:
    records = [record(n) for n in range(3)]
    whole = stream(records)
    complete = len(stream(records[:2]))
    for cut in range(complete, len(whole)):
        assert decode_records(whole[:cut]) == (records[:2], complete), cut


def test_a_bad_crc_stops_decoding_there() -> None:
    records = [record(n) for n in range(3)]
    first = len(encode_record(records[0]))
    data = bytearray(stream(records))
    data[first + 20] ^= 0x01  # one bit flipped in the second record's payload
    assert decode_records(bytes(data)) == (records[:1], first)


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: b"XX" + blob[2:],  # not a record
        lambda blob: blob[:2] + struct.pack(">I", (1 << 20) + 1) + blob[6:],  # too long
        lambda blob: (  # checksummed, but not an envelope
            b"SP" + struct.pack(">II", 2, zlib.crc32(b"{}")) + b"{}"
        ),
        lambda blob: b"SP" + struct.pack(">II", 3, zlib.crc32(b"{x]")) + b"{x]",  # not JSON
    ],
    ids=["bad-magic", "oversized", "not-an-envelope", "not-json"],
)
def test_a_damaged_record_stops_decoding_without_raising(damage: Callable[[bytes], bytes]) -> None:
    good = encode_record(record(0))
    bad = damage(encode_record(record(1)))
    assert decode_records(good + bad + encode_record(record(2))) == ([record(0)], len(good))


@given(st.integers(min_value=0, max_value=10_000))
def test_any_prefix_decodes_to_a_prefix_of_the_records(cut: int) -> None:
    records = [record(n, COMMANDS[n % len(COMMANDS)]) for n in range(8)]
    data = stream(records)[:cut]
    decoded, valid = decode_records(data)
    assert decoded == records[: len(decoded)]
    assert valid == len(stream(decoded)) <= len(data)


@given(st.binary(max_size=300))
def test_garbage_never_raises(data: bytes) -> None:
    decoded, valid = decode_records(data)
    assert 0 <= valid <= len(data)
    assert valid == len(stream(decoded))


# -- the file ----------------------------------------------------------------------


async def test_appended_records_are_there_after_reopening(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    await spool.open()
    await spool.append([record(0).envelope, record(1).envelope])
    await spool.append([record(2).envelope])
    assert spool.pending == 3
    await spool.close()

    again = Spool(tmp_path)
    await again.open()
    assert [r.envelope for r in again.head(10)] == [record(n).envelope for n in range(3)]
    await again.close()


async def test_remove_head_drops_the_oldest_for_good(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    await spool.open()
    await spool.append([record(n).envelope for n in range(5)])
    assert [r.envelope for r in spool.head(2)] == [record(0).envelope, record(1).envelope]
    await spool.remove_head(2)
    await spool.append([record(5).envelope])  # appends still land after a rewrite
    assert spool.pending == 4
    await spool.close()

    again = Spool(tmp_path)
    await again.open()
    assert [r.envelope for r in again.head(10)] == [record(n).envelope for n in range(2, 6)]
    await again.remove_head(4)
    assert again.pending == 0
    await again.close()
    assert again.path.stat().st_size == 0


async def test_a_torn_tail_on_disk_is_cut_off_and_appends_follow_the_good_records(
    tmp_path: Path,
) -> None:
    good = stream([record(0), record(1)])
    (tmp_path / Spool.FILE).write_bytes(good + encode_record(record(2))[:-7])
    spool = Spool(tmp_path)
    await spool.open()
    assert spool.pending == 2
    assert spool.path.stat().st_size == len(good)
    await spool.append([record(3).envelope])
    await spool.close()

    again = Spool(tmp_path)
    await again.open()
    assert [r.envelope for r in again.head(10)] == [record(n).envelope for n in (0, 1, 3)]
    await again.close()


async def test_close_twice_is_harmless(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "new" / "dir")
    await spool.open()
    assert spool.pending == 0
    await spool.close()
    await spool.close()


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
