"""The spool's pure record codec: bytes in, values out.

Segment headers, records (marker, length, CRC32s, ASCII JSON payload), the reader that
finds every whole record and every damaged stretch in a run of bytes, and
:func:`salvage`, which reads what it can of a damaged one. No files, no clock.
"""

from __future__ import annotations

import contextlib
import json
import struct
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import Final

from stock_core.domain.codec import envelope_from_dict
from stock_core.domain.codec import envelope_to_dict
from stock_core.domain.movement import Envelope

__all__ = [
    "DEFAULT_ALARM_RATIO",
    "DEFAULT_CAP_BYTES",
    "DEFAULT_CHECKPOINT_INTERVAL",
    "DEFAULT_SEGMENT_BYTES",
    "FORMAT_VERSION",
    "MAX_PAYLOAD",
    "MAX_RECORD",
    "RECORD_HEADER_SIZE",
    "SEGMENT_HEADER_SIZE",
    "Damage",
    "Frame",
    "SegmentHeader",
    "SpoolRecord",
    "decode_payload",
    "decode_segment_header",
    "encode_payload",
    "encode_record",
    "encode_segment_header",
    "read_frames",
    "salvage",
]

FORMAT_VERSION: Final = 1
"""The segment format this module writes and reads."""
MAX_PAYLOAD: Final = 1 << 20
DEFAULT_CAP_BYTES: Final = 1 << 30
DEFAULT_SEGMENT_BYTES: Final = 16 << 20
DEFAULT_ALARM_RATIO: Final = 0.8
DEFAULT_CHECKPOINT_INTERVAL: Final = 0.25

_CRC = struct.Struct(">I")
_SEGMENT_MAGIC = b"STKSPOOL"
_SEGMENT_FIELDS = struct.Struct(">8sHHQ")  # magic, version, flags, sequence
SEGMENT_HEADER_SIZE: Final = _SEGMENT_FIELDS.size + _CRC.size
_RECORD_MARK = b"\xf5REC"  # 0xF5 is in no JSON text (the payload is ASCII)
_RECORD_FIELDS = struct.Struct(">4sII")  # marker, payload length, payload CRC32
RECORD_HEADER_SIZE: Final = _RECORD_FIELDS.size + _CRC.size
MAX_RECORD: Final = RECORD_HEADER_SIZE + MAX_PAYLOAD
"""The most bytes one record takes."""
_LEGACY_MARK = b"SP"
_LEGACY_HEADER = struct.Struct(">2sII")  # marker, payload length, payload CRC32
_INCOMPLETE = "incomplete record"


@dataclass(frozen=True)
class SpoolRecord:
    envelope: Envelope
    spooled_at: datetime


@dataclass(frozen=True)
class SegmentHeader:
    sequence: int
    version: int = FORMAT_VERSION


@dataclass(frozen=True)
class Frame:
    """A whole record whose checksums hold: ``data[start:end]``; its payload."""

    start: int
    end: int
    payload: bytes


@dataclass(frozen=True)
class Damage:
    """``data[start:end]`` holds no whole record: damaged, or the tail of a torn append."""

    start: int
    end: int
    reason: str

    @property
    def torn(self) -> bool:
        """Only an unfinished record (a crash mid-append) and nothing after it."""
        return self.reason == _INCOMPLETE


def encode_segment_header(sequence: int, version: int = FORMAT_VERSION) -> bytes:
    fields = _SEGMENT_FIELDS.pack(_SEGMENT_MAGIC, version, 0, sequence)
    return fields + _CRC.pack(zlib.crc32(fields))


def decode_segment_header(data: bytes) -> SegmentHeader:
    """The header at the start of ``data``; ``ValueError`` if it is not one, or damaged.

    The version is returned as found: the caller refuses one it does not know.
    """
    if len(data) < SEGMENT_HEADER_SIZE:
        raise ValueError("segment header cut short")
    fields = data[: _SEGMENT_FIELDS.size]
    (crc,) = _CRC.unpack_from(data, _SEGMENT_FIELDS.size)
    magic, version, _flags, sequence = _SEGMENT_FIELDS.unpack(fields)
    if magic != _SEGMENT_MAGIC:
        raise ValueError("not a spool segment")
    if zlib.crc32(fields) != crc:
        raise ValueError("segment header checksum mismatch")
    return SegmentHeader(sequence, version)


def encode_payload(record: SpoolRecord) -> bytes:
    """ASCII JSON (``ensure_ascii``): the record marker's 0xF5 never occurs in it."""
    body = {"envelope": envelope_to_dict(record.envelope), "at": record.spooled_at.isoformat()}
    return json.dumps(body, separators=(",", ":")).encode("ascii")


def _record_from(body: Any) -> SpoolRecord:
    return SpoolRecord(envelope_from_dict(body["envelope"]), datetime.fromisoformat(body["at"]))


def decode_payload(payload: bytes) -> SpoolRecord:
    """The record in a payload; ``ValueError`` for anything that is not one."""
    try:
        return _record_from(json.loads(payload))
    except Exception as exc:  # untrusted bytes: any failure means "not a record"
        raise ValueError(f"undecodable spool record: {exc}") from exc


def encode_record(record: SpoolRecord) -> bytes:
    payload = encode_payload(record)
    fields = _RECORD_FIELDS.pack(_RECORD_MARK, len(payload), zlib.crc32(payload))
    return fields + _CRC.pack(zlib.crc32(fields)) + payload


def _header_at(data: bytes, pos: int, legacy: bool) -> tuple[int, int, int] | str:
    """(header size, payload length, payload CRC) of the record at ``pos``, or why
    there is none."""
    if legacy:
        mark, length, crc = _LEGACY_HEADER.unpack_from(data, pos)
        size = _LEGACY_HEADER.size
        if mark != _LEGACY_MARK:
            return "no record marker"
    else:
        mark, length, crc = _RECORD_FIELDS.unpack_from(data, pos)
        size = RECORD_HEADER_SIZE
        if mark != _RECORD_MARK:
            return "no record marker"
        (check,) = _CRC.unpack_from(data, pos + _RECORD_FIELDS.size)
        if zlib.crc32(data[pos : pos + _RECORD_FIELDS.size]) != check:
            return "header checksum mismatch"
    if not 0 < length <= MAX_PAYLOAD:
        return "length out of range"
    return size, length, crc


def read_frames(
    data: bytes, *, final: bool, legacy: bool = False
) -> tuple[list[Frame | Damage], int]:
    """Every whole record and every damaged stretch in ``data``, in order, and where the
    unread rest begins.

    Adjacent damage comes out as one :class:`Damage`. With ``final`` (``data`` runs to
    the end of the segment) everything is accounted for and the rest is empty; an
    unfinished record at the end is a :class:`Damage` whose ``torn`` is true. Without
    it, ``data[rest:]`` may begin a record that needs more bytes: call again with data
    from ``rest`` (a record is at most ``RECORD_HEADER_SIZE + MAX_PAYLOAD`` bytes).

    ``legacy`` reads the format of the single-file ``spool.log`` of earlier versions
    (``b"SP"``, length, CRC32, payload: no header checksum, so a length is checked
    only by its payload's CRC).
    """
    items: list[Frame | Damage] = []
    mark = _LEGACY_MARK if legacy else _RECORD_MARK
    header = _LEGACY_HEADER.size if legacy else RECORD_HEADER_SIZE
    size = len(data)
    pos = 0

    def damaged(start: int, end: int, reason: str) -> None:
        last = items[-1] if items else None
        if isinstance(last, Damage) and last.end == start:
            items[-1] = Damage(last.start, end, last.reason)
        else:
            items.append(Damage(start, end, reason))

    while pos < size:
        if size - pos < header:
            if not final:
                break
            damaged(pos, size, _INCOMPLETE)
            pos = size
            break
        found_header = _header_at(data, pos, legacy)
        if isinstance(found_header, str):
            reason = found_header
        else:
            head, length, crc = found_header
            end = pos + head + length
            if end > size:
                if not final:
                    break  # the rest of this record comes with more data
                reason = _INCOMPLETE
            else:
                payload = data[pos + head : end]
                if zlib.crc32(payload) == crc:
                    items.append(Frame(pos, end, payload))
                    pos = end
                    continue
                reason = "payload checksum mismatch"
                if not legacy:
                    # The header's checksum vouches for the length; but if the record
                    # was cut short, the next one's marker shows inside it.
                    cut = data.find(mark, pos + head, end)
                    stop = end if cut < 0 else cut
                    damaged(pos, stop, reason)
                    pos = stop
                    continue
        # Resynchronise: the next record marker after the damage.
        found = data.find(mark, pos + 1)
        if found < 0:
            if not final:  # a marker may straddle the end: keep its first bytes
                stop = max(pos + 1, size - len(mark) + 1)
                damaged(pos, stop, reason)
                pos = stop
                break
            found = size
        damaged(pos, found, reason)
        pos = found
    return items, pos


_SALVAGE_FROM = b'{"envelope":'
_REPAIR_MAX = 64 << 10


def _crc_table() -> tuple[list[int], dict[int, int]]:
    """zlib's CRC32 table, and each entry's index by its top byte (unique)."""
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xEDB88320 if c & 1 else c >> 1
        table.append(c)
    return table, {t >> 24: i for i, t in enumerate(table)}


_TABLE, _BY_TOP_BYTE = _crc_table()
_ENTRY = {t: i for i, t in enumerate(_TABLE)}


def _repair_byte(payload: bytes, crc: int) -> bytes | None:
    """``payload`` with the one byte that makes its CRC32 ``crc`` again, if exactly one
    byte does (a flipped byte, the commonest damage), else ``None``.

    CRC32 is linear: a byte ``v`` changed ``k`` bytes from the end changes the CRC by
    ``Z^k(T[v])``, ``Z`` being the register's step over a zero byte. Walking ``Z``
    backwards from the CRC's difference finds every (position, value) that explains it.
    """
    if not 0 < len(payload) <= _REPAIR_MAX:
        return None
    syndrome = zlib.crc32(payload) ^ crc
    found: list[tuple[int, int]] = []
    for k in range(len(payload)):
        value = _ENTRY.get(syndrome)
        if value:
            found.append((len(payload) - 1 - k, value))
        i = _BY_TOP_BYTE[syndrome >> 24]  # one step of Z, backwards
        syndrome = ((syndrome ^ _TABLE[i]) << 8) | i
    if len(found) != 1:
        return None
    position, value = found[0]
    repaired = bytearray(payload)
    repaired[position] ^= value
    return bytes(repaired) if zlib.crc32(repaired) == crc else None


def salvage(raw: bytes) -> SpoolRecord | None:
    """Best effort: the record a damaged stretch held, for reporting what was lost;
    never replayed.

    A record whose header holds and whose payload differs in one byte is restored
    exactly (its CRC says which byte); otherwise its JSON is read if it still reads,
    and then its fields may be the damaged ones.
    """
    if len(raw) >= RECORD_HEADER_SIZE and not isinstance(header := _header_at(raw, 0, False), str):
        size, length, crc = header
        repaired = _repair_byte(raw[size : size + length], crc)
        if repaired is not None:
            with contextlib.suppress(ValueError):
                return decode_payload(repaired)
    start = raw.find(_SALVAGE_FROM)
    if start < 0:
        return None
    text = raw[start:].decode("ascii", errors="replace")
    try:
        body, _ = json.JSONDecoder().raw_decode(text)
        return _record_from(body)
    except Exception:  # untrusted bytes: nothing to salvage
        return None
