"""The spool directory's files: segment names, durable writes, the checkpoint file,
reading segments record by record, and the epoch and identity that keys are made of.

Blocking file work, called from worker threads (or at start-up).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import zlib
from collections.abc import Iterator
from collections.abc import Mapping
from pathlib import Path
from typing import TypeAlias

from scanner_gateway.spool.codec import FORMAT_VERSION
from scanner_gateway.spool.codec import MAX_RECORD
from scanner_gateway.spool.codec import SEGMENT_HEADER_SIZE
from scanner_gateway.spool.codec import Damage
from scanner_gateway.spool.codec import Frame
from scanner_gateway.spool.codec import SpoolRecord
from scanner_gateway.spool.codec import decode_payload
from scanner_gateway.spool.codec import read_frames

__all__ = [
    "CHECKPOINT_FILE",
    "LOCK_FILE",
    "QUARANTINE_DIR",
    "Pos",
    "checkpoint_text",
    "claim_epoch",
    "data_start",
    "fsync_directory",
    "parse_checkpoint",
    "pending_records",
    "pwrite_all",
    "segment_files",
    "segment_path",
    "spool_identity",
    "walk",
    "write_file",
]

Pos: TypeAlias = tuple[int, int]
"""(segment, offset): segment 0 is the legacy ``spool.log``."""

_LEGACY_FILE = "spool.log"
LOCK_FILE = "lock"
CHECKPOINT_FILE = "checkpoint"
QUARANTINE_DIR = "quarantine"
_SEGMENT_NAME = re.compile(r"segment-(\d{8,})\.wal")
_WINDOW = 256 << 10
"""Bytes read at a time; a record longer than this is read whole."""


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: Path, data: bytes) -> None:
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
    write_file(path, f"{new}\n".encode())
    fsync_directory(directory)
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
    write_file(path, f"{identity}\n".encode())
    fsync_directory(directory)
    return identity


def segment_path(directory: Path, seq: int) -> Path:
    return directory / (_LEGACY_FILE if seq == 0 else f"segment-{seq:08d}.wal")


def data_start(seq: int) -> int:
    return 0 if seq == 0 else SEGMENT_HEADER_SIZE


def segment_files(directory: Path) -> dict[int, int]:
    """Segment number -> file size, for every segment in ``directory``."""
    found: dict[int, int] = {}
    for entry in os.scandir(directory):
        match = _SEGMENT_NAME.fullmatch(entry.name)
        if match:
            found[int(match[1])] = entry.stat().st_size
        elif entry.name == _LEGACY_FILE:
            found[0] = entry.stat().st_size
    return dict(sorted(found.items()))


def checkpoint_text(pos: Pos) -> bytes:
    body = f"{pos[0]:010d} {pos[1]:012d}"  # one length always: it may be rewritten in place
    crc = zlib.crc32(body.encode())
    return f"stockd-spool-checkpoint {FORMAT_VERSION} {body} {crc:08x}\n".encode()


def parse_checkpoint(text: bytes) -> Pos:
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
                if window > MAX_RECORD:  # pragma: no cover - a window this size always moves
                    break
                window = MAX_RECORD + _WINDOW  # one record longer than the window
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


def walk(
    directory: Path, pos: Pos, ends: Mapping[int, int]
) -> Iterator[tuple[int, Frame | Damage]]:
    """(segment, record or damage) from ``pos`` to the ``ends`` of the segments, in order."""
    seq, offset = pos
    for s, end in ends.items():
        if s < seq:
            continue
        start = offset if s == seq else data_start(s)
        for item in _walk_segment(segment_path(directory, s), s, start, end):
            yield s, item


def pending_records(directory: Path) -> list[SpoolRecord]:
    """Every record still to replay in the spool at ``directory``, read as it is now.

    For tools and tests (it takes no lock and holds the records in memory): a gateway
    appending meanwhile may have a record half-written at the end, which is left out.
    """
    if not directory.exists():
        return []
    ends = segment_files(directory)
    try:
        pos = parse_checkpoint((directory / CHECKPOINT_FILE).read_bytes())
    except (OSError, ValueError):
        pos = (0, 0)
    records: list[SpoolRecord] = []
    for _, item in walk(directory, pos, ends):
        if isinstance(item, Frame):
            with contextlib.suppress(ValueError):
                records.append(decode_payload(item.payload))
    return records


def pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written
