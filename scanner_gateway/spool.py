"""The durable local spool: scans taken while PostgreSQL is unreachable.

A scan is appended and fsynced here *before* its scanner hears ``ack``; the records
are replayed in order when the database returns, and removed only once the database
has answered for them. A gateway killed at any instant therefore loses no
acknowledged scan: a record is either complete and checksummed on disk (it will be
replayed; its idempotency key makes a second replay harmless), or it is a torn tail
that was never acknowledged (it is discarded on open).

Record format (pure codec below): ``b"SP"`` + 4-byte big-endian payload length +
4-byte CRC32 of the payload + the payload (UTF-8 JSON of the envelope and the time
it was spooled).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stock_core.domain.codec import envelope_from_dict, envelope_to_dict
from stock_core.domain.movement import Envelope

__all__ = [
    "Spool",
    "SpoolRecord",
    "claim_epoch",
    "decode_records",
    "encode_record",
    "spool_identity",
]

_MAGIC = b"SP"
_HEADER = struct.Struct(">2sII")
_MAX_PAYLOAD = 1 << 20


@dataclass(frozen=True)
class SpoolRecord:
    envelope: Envelope
    spooled_at: datetime


def encode_record(record: SpoolRecord) -> bytes:
    payload = json.dumps(
        {"envelope": envelope_to_dict(record.envelope), "at": record.spooled_at.isoformat()},
        separators=(",", ":"),
    ).encode()
    return _HEADER.pack(_MAGIC, len(payload), zlib.crc32(payload)) + payload


def decode_records(data: bytes) -> tuple[list[SpoolRecord], int]:
    """Records from the start of ``data``, and the length of the valid prefix.

    Decoding stops at the first torn or corrupt record: everything after it was never
    acknowledged (appends are sequential and each is fsynced before its ack).
    """
    records: list[SpoolRecord] = []
    offset = 0
    while offset + _HEADER.size <= len(data):
        magic, length, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        payload = data[start : start + length]
        if magic != _MAGIC or length > _MAX_PAYLOAD or len(payload) != length:
            break
        if zlib.crc32(payload) != crc:
            break
        try:
            body: dict[str, Any] = json.loads(payload)
            record = SpoolRecord(
                envelope_from_dict(body["envelope"]), datetime.fromisoformat(body["at"])
            )
        except (ValueError, KeyError, TypeError):
            break
        records.append(record)
        offset = start + length
    return records, offset


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    tmp = directory / "epoch.tmp"
    with tmp.open("w") as f:
        f.write(f"{new}\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
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
    tmp = directory / "identity.tmp"
    with tmp.open("w") as f:
        f.write(f"{identity}\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    _fsync_directory(directory)
    return identity


class Spool:
    """Append-only file of envelopes; one writer (the gateway), blocking work in threads."""

    FILE = "spool.log"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / self.FILE
        self._records: list[SpoolRecord] = []
        self._lock = asyncio.Lock()
        self._file: Any = None

    @property
    def pending(self) -> int:
        return len(self._records)

    def _open(self) -> list[SpoolRecord]:
        self.directory.mkdir(parents=True, exist_ok=True)
        data = self.path.read_bytes() if self.path.exists() else b""
        records, valid = decode_records(data)
        if valid != len(data):  # a torn tail from a crash mid-append: never acknowledged
            with self.path.open("r+b") as f:
                f.truncate(valid)
                os.fsync(f.fileno())
        self._file = self.path.open("ab")
        return records

    async def open(self) -> None:
        self._records = await asyncio.to_thread(self._open)

    def _append(self, blob: bytes) -> None:
        self._file.write(blob)
        self._file.flush()
        os.fsync(self._file.fileno())

    async def append(self, envelopes: list[Envelope]) -> None:
        """Durably append; returns only once the records are on disk."""
        now = datetime.now(UTC)
        records = [SpoolRecord(e, now) for e in envelopes]
        blob = b"".join(encode_record(r) for r in records)
        async with self._lock:
            await asyncio.to_thread(self._append, blob)
            self._records.extend(records)

    def head(self, limit: int) -> list[SpoolRecord]:
        """The oldest ``limit`` records, for replay."""
        return self._records[:limit]

    def _rewrite(self, keep: list[SpoolRecord]) -> None:
        tmp = self.directory / (self.FILE + ".tmp")
        with tmp.open("wb") as f:
            f.write(b"".join(encode_record(r) for r in keep))
            f.flush()
            os.fsync(f.fileno())
        self._file.close()
        tmp.replace(self.path)
        _fsync_directory(self.directory)
        self._file = self.path.open("ab")

    async def remove_head(self, count: int) -> None:
        """Drop the oldest ``count`` records once the database has answered for them."""
        async with self._lock:
            keep = self._records[count:]
            await asyncio.to_thread(self._rewrite, keep)
            self._records = keep

    async def close(self) -> None:
        if self._file is not None:
            await asyncio.to_thread(self._file.close)
            self._file = None
