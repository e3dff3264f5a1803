"""What the spool's writer and reader share: its settings, its counts under one lock,
its status, the checkpoint file and the quarantine.

:class:`SpoolBase` is the common base of :class:`~scanner_gateway.spool.append.Appender`
and :class:`~scanner_gateway.spool.replay.Replayer`, which
:class:`~scanner_gateway.spool.directory.Spool` joins.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path

from scanner_gateway.spool.codec import DEFAULT_ALARM_RATIO
from scanner_gateway.spool.codec import DEFAULT_CAP_BYTES
from scanner_gateway.spool.codec import DEFAULT_CHECKPOINT_INTERVAL
from scanner_gateway.spool.codec import DEFAULT_SEGMENT_BYTES
from scanner_gateway.spool.codec import MAX_RECORD
from scanner_gateway.spool.codec import SEGMENT_HEADER_SIZE
from scanner_gateway.spool.codec import Damage
from scanner_gateway.spool.codec import SpoolRecord
from scanner_gateway.spool.codec import salvage
from scanner_gateway.spool.files import CHECKPOINT_FILE
from scanner_gateway.spool.files import QUARANTINE_DIR
from scanner_gateway.spool.files import Pos
from scanner_gateway.spool.files import checkpoint_text
from scanner_gateway.spool.files import fsync_directory
from scanner_gateway.spool.files import segment_path
from scanner_gateway.spool.files import write_file

__all__ = ["Quarantined", "SpoolBase", "SpoolStatus"]

log = logging.getLogger("scanner_gateway.spool")  # one logger name for the whole spool


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


class SpoolBase:
    """The settings and the shared state of a spool directory; see
    :class:`~scanner_gateway.spool.directory.Spool`."""

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
        self.quarantine_dir = directory / QUARANTINE_DIR
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
        self._checkpoint: Pos = (0, 0)
        self._stored_checkpoint: Pos | None = None
        self._stored_at = 0.0
        self._read_pos: Pos = (0, 0)
        self._buffer: deque[tuple[SpoolRecord, Pos]] = deque()
        self._reports: list[Quarantined] = []
        self._known: set[Pos] = set()
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

    def _quarantine(self, seq: int, damage: Damage, raw: bytes | None = None) -> list[Quarantined]:
        """Copy a damaged stretch to ``quarantine/`` and say so, once per stretch."""
        if (seq, damage.start) in self._known:
            return []
        self._known.add((seq, damage.start))
        source = segment_path(self.directory, seq)
        target = self.quarantine_dir / f"{source.stem}-at-{damage.start:010d}.bin"
        size = damage.end - damage.start
        if raw is None:
            raw = self._copy(source, damage.start, size, target)
        else:
            write_file(target, raw)
        fsync_directory(self.quarantine_dir)
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
            first = f.read(min(size, MAX_RECORD))
            out.write(first)
            rest = size - len(first)
            while rest > 0:
                chunk = f.read(min(rest, MAX_RECORD))
                if not chunk:
                    break
                out.write(chunk)
                rest -= len(chunk)
            out.flush()
            os.fsync(out.fileno())
        return first

    def _cut(self, fd: int, offset: int) -> None:
        os.ftruncate(fd, offset)
        os.fsync(fd)

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

    def _write_checkpoint(self, pos: Pos) -> None:
        with self._checkpoint_lock:
            self._store_checkpoint(pos)

    def _store_checkpoint(self, pos: Pos) -> None:
        path = self.directory / CHECKPOINT_FILE
        text = checkpoint_text(pos)
        try:
            write_file(path, text)
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
