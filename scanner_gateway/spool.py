"""The durable local spool: scans taken while PostgreSQL is unreachable.

A scan is appended and fsynced here *before* its scanner hears ``ack``; the records
are replayed in order when the database returns, and passed over only once the
database has answered for them. The spool is a write-ahead log:

* **Segments.** Records are appended to numbered segment files
  (``segment-00000001.wal`` …), a new one every ``segment_bytes`` (16 MiB). Each
  segment starts with a header naming the format version; a segment of a version this
  stockd does not know stops start-up with :class:`SpoolFormatError` (nothing is
  dropped unread).
* **Records.** A record marker, the payload length, the payload's CRC32 and a CRC32 of
  those three (so a damaged length is never believed), then the payload: ASCII JSON
  of the envelope and the time it was spooled. The marker has a byte no JSON text
  has, so a reader that meets damage scans forward to the next marker and goes on:
  one damaged record costs at most that record.
* **Checkpoint.** ``checkpoint`` names the segment and offset of the next record to
  replay; it is replaced (write-temp-then-rename) at least every
  ``checkpoint_interval`` (0.25 s) while draining and before any segment wholly
  before it is deleted; the segment appends go to is emptied in place once drained.
  Replay is O(n) and holds one batch in memory; a crash replays at most the last
  interval again, which idempotency keys make harmless.
* **Damage.** A damaged stretch is copied to ``quarantine/`` and reported (an ERROR
  line, a counter, and, where its fields can still be read, a spool exception for a
  manager); a torn tail (a crash mid-append, never acknowledged) is cut off with a
  WARNING line.
* **Failed appends.** A write or fsync that fails is cut back to the last good
  offset before the scan is refused, so a refused scan is never replayed.
* **Cap.** Past ``cap_bytes`` (1 GiB) on disk, appends are refused
  (:class:`SpoolFullError`: the scanner hears ``nak``) and :meth:`Spool.status` says
  ``full``; ``alarm`` from ``alarm_ratio`` of the cap.
* **One owner.** An exclusive ``flock`` on ``lock`` while open: a second gateway on
  the same directory gets :class:`SpoolLockedError`.
* **Upgrade.** ``spool.log``, the single-file spool of earlier versions, is read as
  the segment before the first (with its own codec) and deleted once drained.

The codec (``encode_*``, ``decode_*``, :func:`read_frames`, :func:`salvage`) is pure:
bytes in, values out. :class:`Spool` is the shell: blocking file work in worker
threads, one writer (appends) and one reader (replay).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import secrets
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeAlias

from scanner_gateway.errors import (
    GatewayStateError,
    SpoolFormatError,
    SpoolFullError,
    SpoolLockedError,
)
from stock_core.domain.codec import envelope_from_dict, envelope_to_dict
from stock_core.domain.movement import Envelope

__all__ = [
    "DEFAULT_CAP_BYTES",
    "DEFAULT_SEGMENT_BYTES",
    "FORMAT_VERSION",
    "MAX_PAYLOAD",
    "RECORD_HEADER_SIZE",
    "SEGMENT_HEADER_SIZE",
    "Damage",
    "Frame",
    "Quarantined",
    "SegmentHeader",
    "Spool",
    "SpoolRecord",
    "SpoolStatus",
    "claim_epoch",
    "decode_payload",
    "decode_segment_header",
    "encode_payload",
    "encode_record",
    "encode_segment_header",
    "pending_records",
    "read_frames",
    "salvage",
    "spool_identity",
]

log = logging.getLogger(__name__)

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
_LEGACY_MARK = b"SP"
_LEGACY_HEADER = struct.Struct(">2sII")  # marker, payload length, payload CRC32
_INCOMPLETE = "incomplete record"


# -- the pure codec ------------------------------------------------------------------


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


# -- files -----------------------------------------------------------------------------


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    """``path`` holds ``data``, durably, or is as it was (write-temp-then-rename)."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def claim_epoch(directory: Path) -> int:
    """A number greater than any this spool directory handed out before (fsynced)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "epoch"
    try:
        current = int(path.read_text().strip() or 0)
    except FileNotFoundError:
        current = 0
    except ValueError as exc:
        raise ValueError(f"{path} is corrupt: {exc}") from exc
    new = current + 1
    _write_file(path, f"{new}\n".encode())
    _fsync_directory(directory)
    return new


def spool_identity(directory: Path) -> str:
    """A random name for this spool directory, made once and kept (fsynced).

    It goes into every scan's idempotency key, so that if the directory is ever lost
    (a new disk, a changed ``STOCKD_HOME``) and the epoch starts again at 1, new keys
    still never collide with keys already in the ledger.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "identity"
    try:
        identity = path.read_text().strip()
    except FileNotFoundError:
        identity = ""
    if re.fullmatch(r"[0-9a-f]{12}", identity):
        return identity
    identity = secrets.token_hex(6)
    _write_file(path, f"{identity}\n".encode())
    _fsync_directory(directory)
    return identity


_Pos: TypeAlias = tuple[int, int]
"""(segment, offset): segment 0 is the legacy ``spool.log``."""

_LEGACY_FILE = "spool.log"
_LOCK_FILE = "lock"
_CHECKPOINT_FILE = "checkpoint"
_QUARANTINE_DIR = "quarantine"
_SEGMENT_NAME = re.compile(r"segment-(\d{8,})\.wal")
_WINDOW = 256 << 10
"""Bytes read at a time; a record longer than this is read whole."""
_MAX_RECORD = RECORD_HEADER_SIZE + MAX_PAYLOAD


def _segment_path(directory: Path, seq: int) -> Path:
    return directory / (_LEGACY_FILE if seq == 0 else f"segment-{seq:08d}.wal")


def _data_start(seq: int) -> int:
    return 0 if seq == 0 else SEGMENT_HEADER_SIZE


def _segment_files(directory: Path) -> dict[int, int]:
    """Segment number -> file size, for every segment in ``directory``."""
    found: dict[int, int] = {}
    for entry in os.scandir(directory):
        match = _SEGMENT_NAME.fullmatch(entry.name)
        if match:
            found[int(match[1])] = entry.stat().st_size
        elif entry.name == _LEGACY_FILE:
            found[0] = entry.stat().st_size
    return dict(sorted(found.items()))


def _checkpoint_text(pos: _Pos) -> bytes:
    body = f"{pos[0]:010d} {pos[1]:012d}"  # one length always: it may be rewritten in place
    crc = zlib.crc32(body.encode())
    return f"stockd-spool-checkpoint {FORMAT_VERSION} {body} {crc:08x}\n".encode()


def _parse_checkpoint(text: bytes) -> _Pos:
    """The position a checkpoint file names; ``ValueError`` if it is damaged."""
    words = text.decode("ascii", errors="replace").split()
    if len(words) != 5 or words[0] != "stockd-spool-checkpoint" or words[1] != "1":
        raise ValueError("not a checkpoint")
    body = f"{words[2]} {words[3]}"
    if f"{zlib.crc32(body.encode()):08x}" != words[4]:
        raise ValueError("checkpoint checksum mismatch")
    return int(words[2]), int(words[3])


def _walk_segment(path: Path, seq: int, offset: int, end: int) -> Iterator[Frame | Damage]:
    """Records and damage of one segment from ``offset`` to ``end``, offsets absolute."""
    legacy = seq == 0
    pending: Damage | None = None
    with path.open("rb", buffering=0) as f:
        window = _WINDOW
        while offset < end:
            data = os.pread(f.fileno(), min(window, end - offset), offset)
            if not data:  # shorter than it was a moment ago: cut by hand
                break
            final = offset + len(data) >= end
            items, rest = read_frames(data, final=final, legacy=legacy)
            if not items and not rest:
                if window > _MAX_RECORD:  # pragma: no cover - a window this size always moves
                    break
                window = _MAX_RECORD + _WINDOW  # one record longer than the window
                continue
            for item in items:
                if isinstance(item, Damage):
                    damage = Damage(offset + item.start, offset + item.end, item.reason)
                    if pending is not None and pending.end == damage.start:
                        pending = Damage(pending.start, damage.end, pending.reason)
                    else:
                        if pending is not None:
                            yield pending
                        pending = damage
                else:
                    if pending is not None:
                        yield pending
                        pending = None
                    yield Frame(offset + item.start, offset + item.end, item.payload)
            offset += rest
            window = _WINDOW
    if pending is not None:
        yield pending


def _walk(
    directory: Path, pos: _Pos, ends: Mapping[int, int]
) -> Iterator[tuple[int, Frame | Damage]]:
    """(segment, record or damage) from ``pos`` to the ``ends`` of the segments, in order."""
    seq, offset = pos
    for s, end in ends.items():
        if s < seq:
            continue
        start = offset if s == seq else _data_start(s)
        for item in _walk_segment(_segment_path(directory, s), s, start, end):
            yield s, item


def pending_records(directory: Path) -> list[SpoolRecord]:
    """Every record still to replay in the spool at ``directory``, read as it is now.

    For tools and tests (it takes no lock and holds the records in memory): a gateway
    appending meanwhile may have a record half-written at the end, which is left out.
    """
    if not directory.exists():
        return []
    ends = _segment_files(directory)
    try:
        pos = _parse_checkpoint((directory / _CHECKPOINT_FILE).read_bytes())
    except (OSError, ValueError):
        pos = (0, 0)
    records: list[SpoolRecord] = []
    for _, item in _walk(directory, pos, ends):
        if isinstance(item, Frame):
            with contextlib.suppress(ValueError):
                records.append(decode_payload(item.payload))
    return records


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


@dataclass(frozen=True)
class Quarantined:
    """A damaged stretch of the spool, copied to ``path`` and passed over."""

    segment: int
    offset: int
    size: int
    reason: str
    path: Path
    salvaged: SpoolRecord | None
    """The record it held, as far as it could be read (its fields may be the damage)."""


@dataclass(frozen=True)
class SpoolStatus:
    """What the spool holds and whether it can take more (for health and metrics)."""

    depth: int
    """Records waiting to be replayed."""
    size_bytes: int
    """Bytes of spool files on disk."""
    cap_bytes: int
    oldest_age_s: float | None
    """Age of the oldest record waiting, or ``None`` when none is."""
    replaying: bool
    """The database is answering and the spool is draining."""
    quarantined: int
    """Damaged stretches kept in ``quarantine/`` (each cost at most one record)."""
    alarm: bool
    """At or past the alarm share of the cap."""
    full: bool
    """A scan was refused for want of room, and there is still no room for it."""


@dataclass
class _Read:
    """What one read from the replay position found."""

    records: list[tuple[SpoolRecord, _Pos]]
    pos: _Pos
    quarantined: list[Quarantined]
    undecodable: int
    exhausted: bool


class Spool:
    """The spool directory: one writer (appends) and one reader (replay), blocking work
    in worker threads. :meth:`open` before use, :meth:`close` after."""

    def __init__(
        self,
        directory: Path,
        *,
        cap_bytes: int = DEFAULT_CAP_BYTES,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        alarm_ratio: float = DEFAULT_ALARM_RATIO,
        checkpoint_interval: float = DEFAULT_CHECKPOINT_INTERVAL,
    ) -> None:
        if cap_bytes <= 0 or segment_bytes <= SEGMENT_HEADER_SIZE or not 0 < alarm_ratio <= 1:
            raise ValueError("cap_bytes, segment_bytes and alarm_ratio out of range")
        self.directory = directory
        self.cap_bytes = cap_bytes
        self.segment_bytes = segment_bytes
        self.alarm_ratio = alarm_ratio
        self.checkpoint_interval = checkpoint_interval
        """Seconds between checkpoint writes while draining (at most that much is
        replayed again after a crash: harmless, by idempotency key)."""
        self.quarantine_dir = directory / _QUARANTINE_DIR
        self._alock = asyncio.Lock()
        self._write_lock = threading.Lock()
        """Held by an append or a roll to a new segment."""
        self._checkpoint_lock = threading.RLock()
        """Held while the checkpoint file is written."""
        self._opened = False
        self._state = threading.Lock()
        """Guards the fields below it, shared by the writer, the reader and status()."""
        self._ends: dict[int, int] = {}
        """Segment -> end of its last whole record (the active one is appended at its end)."""
        self._active = 0
        self._active_fd: int | None = None
        self._pending = 0
        self._disk = 0
        self._oldest: datetime | None = None
        self._refused = 0
        self._quarantined = 0
        self._dirty_at: int | None = None
        """A failed append left bytes past this offset that could not be cut yet."""
        self._lock_fd: int | None = None
        # the reader's (the replay task's) own
        self._checkpoint: _Pos = (0, 0)
        self._stored_checkpoint: _Pos | None = None
        self._stored_at = 0.0
        self._read_pos: _Pos = (0, 0)
        self._buffer: deque[tuple[SpoolRecord, _Pos]] = deque()
        self._reports: list[Quarantined] = []
        self._known: set[_Pos] = set()
        self._last_limit = 256
        self._alarmed = False

    # -- state ---------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Records not yet replayed."""
        return self._pending

    @property
    def backlog(self) -> bool:
        """Anything left for the replay task: records, or damage not yet reported."""
        return bool(self._pending or self._reports)

    def status(self, now: datetime | None = None) -> SpoolStatus:
        with self._state:
            depth, disk, refused = self._pending, self._disk, self._refused
            oldest = self._buffer[0][0].spooled_at if self._buffer else self._oldest
            quarantined = self._quarantined
        age = None
        if depth and oldest is not None:
            age = max(0.0, ((now or datetime.now(UTC)) - oldest).total_seconds())
        return SpoolStatus(
            depth=depth,
            size_bytes=disk,
            cap_bytes=self.cap_bytes,
            oldest_age_s=age,
            replaying=False,
            quarantined=quarantined,
            alarm=disk >= self.cap_bytes * self.alarm_ratio,
            full=bool(refused) and disk + refused > self.cap_bytes,
        )

    # -- open and close --------------------------------------------------------------

    async def open(self) -> None:
        """Lock the directory, check every segment, and cut a torn tail.

        Raises :class:`SpoolLockedError` if another gateway has it, and
        :class:`SpoolFormatError` for a segment of a format this version does not read.
        """
        reports = await asyncio.to_thread(self._open)
        self._reports.extend(reports)

    def _open(self) -> list[Quarantined]:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = self._take_lock()
        try:
            return self._recover()
        except BaseException:
            self._close()
            raise

    def _take_lock(self) -> int:
        fd = os.open(self.directory / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            pid = int(holder) if holder.isdigit() else None
            raise SpoolLockedError(self.directory, pid) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    def _recover(self) -> list[Quarantined]:
        directory = self.directory
        for leftover in directory.glob("*.tmp"):
            if leftover.name not in ("epoch.tmp", "identity.tmp"):  # not ours to touch
                leftover.unlink()
        self.quarantine_dir.mkdir(exist_ok=True)
        self._quarantined = sum(1 for _ in self.quarantine_dir.glob("*.bin"))
        sizes = _segment_files(directory)
        if sizes.get(0) == 0:
            _segment_path(directory, 0).unlink()
            del sizes[0]
        start = self._start_position(sizes)
        for seq in [s for s in sizes if s < start[0]]:  # drained; not yet deleted
            _segment_path(directory, seq).unlink()
            del sizes[seq]
        reports: list[Quarantined] = []
        sound = True  # the last segment's header
        for seq in [s for s in sizes if s > 0]:
            found, sound = self._check_header(seq, sizes[seq])
            reports += found
        self._ends = dict(sizes)
        self._disk = sum(sizes.values())
        # Count what is left to replay, quarantine damage, cut a torn tail.
        last = max((s for s in sizes if s > 0), default=0)
        pending = 0
        oldest: datetime | None = None
        for seq, item in _walk(directory, start, sizes):
            if isinstance(item, Frame):
                pending += 1
                if oldest is None:
                    with contextlib.suppress(ValueError):
                        oldest = decode_payload(item.payload).spooled_at
            elif item.end == sizes[seq] and (seq == last or (seq == 0 and item.torn)):
                reports += self._cut_tail(seq, item)
            else:
                reports += self._quarantine(seq, item)
        self._pending, self._oldest = pending, oldest
        self._checkpoint = self._read_pos = start
        if last and sound:
            self._active = last
            self._active_fd = os.open(_segment_path(directory, last), os.O_RDWR)
        else:  # nothing to append to, or not after a damaged header
            self._roll()
        if start[0] == 0 and 0 not in self._ends:  # a fresh spool: start at the first segment
            self._checkpoint = self._read_pos = (self._active, SEGMENT_HEADER_SIZE)
        if self._checkpoint != self._stored_checkpoint:
            self._write_checkpoint(self._checkpoint)
        self._opened = True
        if pending or reports:
            log.warning(
                "spool %s holds %d record(s) to replay (%d byte(s) on disk)",
                directory,
                pending,
                self._disk,
            )
        return reports

    def _start_position(self, sizes: dict[int, int]) -> _Pos:
        """Where replay resumes: the checkpoint, or the first segment's first record."""
        path = self.directory / _CHECKPOINT_FILE
        first = next(iter(sizes), 0)
        default = (first, _data_start(first))
        try:
            seq, offset = self._stored_checkpoint = _parse_checkpoint(path.read_bytes())
        except FileNotFoundError:
            return default
        except (OSError, ValueError) as exc:
            log.error("spool checkpoint %s is damaged (%s): replaying from the start", path, exc)
            return default
        if seq in sizes:
            return seq, max(_data_start(seq), min(offset, sizes[seq]))
        later = [s for s in sizes if s > seq]
        return (later[0], _data_start(later[0])) if later else (seq, offset)

    def _check_header(self, seq: int, size: int) -> tuple[list[Quarantined], bool]:
        """Damage reports for a segment's header, and whether the header is sound.

        Raises :class:`SpoolFormatError` for a sound header of an unknown version.
        """
        path = _segment_path(self.directory, seq)
        with path.open("rb") as f:
            data = f.read(SEGMENT_HEADER_SIZE)
        try:
            header = decode_segment_header(data)
        except ValueError as exc:
            # Its records carry their own markers and checksums: read on.
            damage = Damage(0, min(size, SEGMENT_HEADER_SIZE), str(exc))
            return self._quarantine(seq, damage, data), False
        if header.version != FORMAT_VERSION:
            raise SpoolFormatError(
                f"spool segment {path} is format version {header.version}; this stockd"
                f" reads version {FORMAT_VERSION}: run the stockd that wrote it until its"
                " spool drains, or upgrade"
            )
        if header.sequence != seq:
            log.warning("spool segment %s says it is number %d", path, header.sequence)
        return [], True

    def _cut_tail(self, seq: int, damage: Damage) -> list[Quarantined]:
        """A damaged end of the segment appends go to: cut it off (copied aside first,
        unless it is only an unfinished record: an append that was never acknowledged).

        The legacy ``spool.log`` is never appended to: its torn tail is only left unread.
        """
        path = _segment_path(self.directory, seq)
        reports = [] if damage.torn else self._quarantine(seq, damage)
        if seq > 0:
            with path.open("r+b") as f:
                f.truncate(damage.start)
                os.fsync(f.fileno())
            self._disk -= damage.end - damage.start
        self._ends[seq] = damage.start
        if damage.torn:
            log.warning(
                "spool %s: cut a torn tail of %d byte(s) at offset %d (an append the gateway"
                " died in: never acknowledged)",
                path,
                damage.end - damage.start,
                damage.start,
            )
        return reports

    def _quarantine(self, seq: int, damage: Damage, raw: bytes | None = None) -> list[Quarantined]:
        """Copy a damaged stretch to ``quarantine/`` and say so, once per stretch."""
        if (seq, damage.start) in self._known:
            return []
        self._known.add((seq, damage.start))
        source = _segment_path(self.directory, seq)
        target = self.quarantine_dir / f"{source.stem}-at-{damage.start:010d}.bin"
        size = damage.end - damage.start
        if raw is None:
            raw = self._copy(source, damage.start, size, target)
        else:
            _write_file(target, raw)
        _fsync_directory(self.quarantine_dir)
        with self._state:
            self._quarantined = sum(1 for _ in self.quarantine_dir.glob("*.bin"))
        salvaged = salvage(raw)
        what = f"scan {salvaged.envelope.key}" if salvaged else "no readable scan"
        log.error(
            "spool %s: %d damaged byte(s) at offset %d (%s; %s) copied to %s and passed over",
            source,
            size,
            damage.start,
            damage.reason,
            what,
            target,
        )
        return [Quarantined(seq, damage.start, size, damage.reason, target, salvaged)]

    @staticmethod
    def _copy(source: Path, start: int, size: int, target: Path) -> bytes:
        """Copy ``size`` bytes of ``source`` from ``start`` to ``target`` (fsynced); the
        first record's worth of them."""
        with source.open("rb") as f, target.open("wb") as out:
            f.seek(start)
            first = f.read(min(size, _MAX_RECORD))
            out.write(first)
            rest = size - len(first)
            while rest > 0:
                chunk = f.read(min(rest, _MAX_RECORD))
                if not chunk:
                    break
                out.write(chunk)
                rest -= len(chunk)
            out.flush()
            os.fsync(out.fileno())
        return first

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        with self._checkpoint_lock:
            if self._opened and self._stored_checkpoint != self._checkpoint:
                with contextlib.suppress(OSError):  # else replayed again: harmless
                    self._write_checkpoint(self._checkpoint)
            self._opened = False
        with self._write_lock:
            fd, self._active_fd = self._active_fd, None
            if fd is not None:
                os.close(fd)
            lock, self._lock_fd = self._lock_fd, None
            if lock is not None:
                os.close(lock)  # releases the flock

    # -- appends -----------------------------------------------------------------------

    async def append(self, envelopes: list[Envelope]) -> None:
        """Durably append; returns only once the records are on disk.

        Raises :class:`SpoolFullError` when they would take the spool past its cap, and
        ``OSError`` when the disk refuses them; either way nothing of them stays.
        """
        now = datetime.now(UTC)
        blob = b"".join(encode_record(SpoolRecord(e, now)) for e in envelopes)
        async with self._alock:
            await asyncio.to_thread(self._append, blob, len(envelopes), now)
        self._check_alarm()

    def _append(self, blob: bytes, count: int, now: datetime) -> None:
        with self._write_lock:
            if self._active_fd is None:
                raise GatewayStateError("the spool is not open")
            if self._dirty_at is not None:
                self._cut(self._active_fd, self._dirty_at)
                self._dirty_at = None
            with self._state:
                if self._disk + len(blob) + SEGMENT_HEADER_SIZE > self.cap_bytes:
                    first = not self._refused
                    self._refused = len(blob) + SEGMENT_HEADER_SIZE
                    if first:
                        log.error(
                            "spool %s is full (%d of %d bytes): scans are refused (nak)"
                            " until the database takes the spooled ones",
                            self.directory,
                            self._disk,
                            self.cap_bytes,
                        )
                    raise SpoolFullError(
                        "not taken: the database is unreachable and the spool is full"
                    )
            end = self._ends[self._active]
            if end > SEGMENT_HEADER_SIZE and end + len(blob) > self.segment_bytes:
                self._roll()
                end = SEGMENT_HEADER_SIZE
            fd = self._active_fd
            try:
                self._write_at(fd, blob, end)
                self._sync(fd)
            except OSError:
                try:
                    self._cut(fd, end)
                except OSError:
                    self._dirty_at = end  # cut before anything else is appended
                    log.exception("spool %s: cannot cut a failed append", self.directory)
                raise
            with self._state:
                self._ends[self._active] = end + len(blob)
                self._disk += len(blob)
                if not self._pending:
                    self._oldest = now
                self._pending += count
                self._refused = 0

    def _write_at(self, fd: int, data: bytes, offset: int) -> None:
        """Write ``data`` at ``offset`` (the I/O edge tests intercept)."""
        _pwrite_all(fd, data, offset)

    def _sync(self, fd: int) -> None:
        os.fsync(fd)

    def _cut(self, fd: int, offset: int) -> None:
        os.ftruncate(fd, offset)
        os.fsync(fd)

    def _roll(self) -> None:
        """Start the next segment and append there (holding the write lock, or opening)."""
        seq = max([*self._ends, self._checkpoint[0], 0]) + 1
        path = _segment_path(self.directory, seq)
        try:
            _write_file(path, encode_segment_header(seq))
            _fsync_directory(self.directory)
        except OSError:
            path.with_name(path.name + ".tmp").unlink(missing_ok=True)
            raise
        fd = os.open(path, os.O_RDWR)
        old, self._active_fd = self._active_fd, fd
        with self._state:
            self._active = seq
            self._ends[seq] = SEGMENT_HEADER_SIZE
            self._disk += SEGMENT_HEADER_SIZE
        if old is not None:
            os.close(old)

    def _check_alarm(self) -> None:
        status = self.status()
        if status.alarm and not self._alarmed:
            log.warning(
                "spool %s at %d of its %d-byte cap: the database has been away a long time",
                self.directory,
                status.size_bytes,
                status.cap_bytes,
            )
        elif self._alarmed and not status.alarm:
            log.info("spool %s below its alarm level again", self.directory)
        self._alarmed = status.alarm

    # -- replay --------------------------------------------------------------------------

    async def head(self, limit: int) -> list[SpoolRecord]:
        """The oldest ``limit`` records, for replay, read from disk as needed.

        Damage met on the way is quarantined and listed by :meth:`unreported`.
        """
        self._last_limit = limit
        if len(self._buffer) < limit:
            with self._state:
                ends = dict(self._ends)
                counted = self._pending  # what those ends hold
            read = await asyncio.to_thread(
                self._read, self._read_pos, limit - len(self._buffer), ends
            )
            self._buffer.extend(read.records)
            self._read_pos = read.pos
            self._reports.extend(read.quarantined)
            with self._state:
                self._pending -= read.undecodable
                off = len(self._buffer) - (counted - read.undecodable)
                if read.exhausted and off:  # damage that came after the count
                    log.error(
                        "spool %s counted %d record(s) to replay but holds %d",
                        self.directory,
                        counted - read.undecodable,
                        len(self._buffer),
                    )
                    self._pending += off
        return [record for record, _ in list(self._buffer)[:limit]]

    def _read(self, pos: _Pos, limit: int, ends: dict[int, int]) -> _Read:
        read = _Read([], pos, [], 0, exhausted=True)
        for seq, item in _walk(self.directory, pos, ends):
            if isinstance(item, Frame):
                try:
                    record = decode_payload(item.payload)
                except ValueError as exc:
                    damage = Damage(item.start, item.end, str(exc))
                    found = self._quarantine(seq, damage, item.payload)
                    read.quarantined += found
                    read.undecodable += 1
                else:
                    read.records.append((record, (seq, item.end)))
            else:
                read.quarantined += self._quarantine(seq, item)
            read.pos = (seq, item.end)
            if len(read.records) >= limit:
                read.exhausted = False
                break
        return read

    def unreported(self) -> list[Quarantined]:
        """Damage found and not yet reported: report it before the next
        :meth:`remove_head`, which may move past it for good."""
        return list(self._reports)

    def reported(self, items: list[Quarantined]) -> None:
        done = {id(q) for q in items}
        self._reports = [q for q in self._reports if id(q) not in done]

    async def remove_head(self, count: int) -> None:
        """Pass over the oldest ``count`` records (and damage up to the next record) for
        good, once the database has answered for them."""
        if count > len(self._buffer):
            raise GatewayStateError(f"remove_head({count}) after head() gave {len(self._buffer)}")
        if count == len(self._buffer):
            pos = self._read_pos  # and past any damage after the last record
        else:
            pos = self._buffer[count - 1][1] if count else self._checkpoint
        # The thread updates the reader's state itself: cancelled, the work still holds.
        await asyncio.to_thread(self._advance, pos, count)
        self._check_alarm()
        if not self._buffer and self._pending:  # for the oldest record's age
            await self.head(self._last_limit)

    def _advance(self, pos: _Pos, count: int) -> None:
        """Make ``pos`` the durable checkpoint, ``count`` records on from the last; delete
        the segments wholly before it, and empty the one appends go to if it is drained."""
        seq, offset = pos
        with self._state:
            ends = dict(self._ends)
            active = self._active
        later = [s for s in ends if s > seq]
        if later and offset >= ends.get(seq, 0):  # past the end of a full segment
            seq, offset = later[0], _data_start(later[0])
        emptied = False
        if seq == active and offset >= ends[active] > SEGMENT_HEADER_SIZE:
            with self._write_lock:  # no append meanwhile
                fd = self._active_fd
                if (
                    self._pending == count
                    and self._active == active
                    and self._dirty_at is None
                    and fd is not None
                ):
                    # Cut first: a crash before the checkpoint leaves it past the end,
                    # which reads as "nothing left". In place: no room needed.
                    self._cut(fd, SEGMENT_HEADER_SIZE)
                    offset = SEGMENT_HEADER_SIZE
                    self._write_checkpoint((seq, offset))
                    with self._state:
                        self._disk -= self._ends[active] - SEGMENT_HEADER_SIZE
                        self._ends[active] = SEGMENT_HEADER_SIZE
                        self._consumed(count, (seq, offset))
                    emptied = True
        drained = [s for s in ends if s < seq]
        if not emptied:
            # Durable at least every checkpoint_interval, and before any deletion.
            if drained or time.monotonic() - self._stored_at >= self.checkpoint_interval:
                self._write_checkpoint((seq, offset))
            with self._state:
                self._consumed(count, (seq, offset))
        if drained:
            _fsync_directory(self.directory)  # the checkpoint first, then the deletions
            for s in drained:
                _segment_path(self.directory, s).unlink(missing_ok=True)
            _fsync_directory(self.directory)
            with self._state:
                for s in drained:
                    self._disk -= self._ends.pop(s, 0)

    def _consumed(self, count: int, pos: _Pos) -> None:
        """``count`` records passed over for good, up to ``pos`` (holding ``_state``)."""
        self._pending -= count
        for _ in range(count):
            self._buffer.popleft()
        self._checkpoint = pos
        if not self._buffer:
            self._read_pos = pos

    def _write_checkpoint(self, pos: _Pos) -> None:
        with self._checkpoint_lock:
            self._store_checkpoint(pos)

    def _store_checkpoint(self, pos: _Pos) -> None:
        path = self.directory / _CHECKPOINT_FILE
        text = _checkpoint_text(pos)
        try:
            _write_file(path, text)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or not path.exists():
                raise
            path.with_name(path.name + ".tmp").unlink(missing_ok=True)
            # No room for a second copy (a full disk is when the spool must drain):
            # overwrite in place, one short write of the same length. A torn one fails
            # its checksum, and replay starts over, which idempotency keys make harmless.
            with path.open("r+b") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        self._stored_checkpoint, self._stored_at = pos, time.monotonic()

    async def quarantine_record(self, record: SpoolRecord, reason: str) -> Path:
        """Keep a copy of a record that is being passed over without a spool exception."""
        name = f"record-{record.envelope.key.replace(':', '_').replace('/', '_')}.bin"
        target = self.quarantine_dir / name
        await asyncio.to_thread(_write_file, target, encode_record(record))
        with self._state:
            self._quarantined += 1
        log.error(
            "spooled scan %s copied to %s and passed over: %s", record.envelope.key, target, reason
        )
        return target
