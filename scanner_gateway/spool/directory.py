"""The spool directory as a whole: open (lock, check, recover), close."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
from datetime import datetime

from scanner_gateway.errors import SpoolFormatError
from scanner_gateway.errors import SpoolLockedError
from scanner_gateway.spool.append import Appender
from scanner_gateway.spool.codec import FORMAT_VERSION
from scanner_gateway.spool.codec import SEGMENT_HEADER_SIZE
from scanner_gateway.spool.codec import Damage
from scanner_gateway.spool.codec import Frame
from scanner_gateway.spool.codec import decode_payload
from scanner_gateway.spool.codec import decode_segment_header
from scanner_gateway.spool.files import CHECKPOINT_FILE
from scanner_gateway.spool.files import LOCK_FILE
from scanner_gateway.spool.files import Pos
from scanner_gateway.spool.files import data_start
from scanner_gateway.spool.files import parse_checkpoint
from scanner_gateway.spool.files import segment_files
from scanner_gateway.spool.files import segment_path
from scanner_gateway.spool.files import walk
from scanner_gateway.spool.replay import Replayer
from scanner_gateway.spool.state import Quarantined

__all__ = ["Spool"]

log = logging.getLogger("scanner_gateway.spool")  # one logger name for the whole spool


class Spool(Appender, Replayer):
    """The spool directory: one writer (appends) and one reader (replay), blocking work
    in worker threads. :meth:`open` before use, :meth:`close` after."""

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
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
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
        sizes = segment_files(directory)
        if sizes.get(0) == 0:
            segment_path(directory, 0).unlink()
            del sizes[0]
        start = self._start_position(sizes)
        for seq in [s for s in sizes if s < start[0]]:  # drained; not yet deleted
            segment_path(directory, seq).unlink()
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
        for seq, item in walk(directory, start, sizes):
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
            self._active_fd = os.open(segment_path(directory, last), os.O_RDWR)
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

    def _start_position(self, sizes: dict[int, int]) -> Pos:
        """Where replay resumes: the checkpoint, or the first segment's first record."""
        path = self.directory / CHECKPOINT_FILE
        first = next(iter(sizes), 0)
        default = (first, data_start(first))
        try:
            seq, offset = self._stored_checkpoint = parse_checkpoint(path.read_bytes())
        except FileNotFoundError:
            return default
        except (OSError, ValueError) as exc:
            log.error("spool checkpoint %s is damaged (%s): replaying from the start", path, exc)
            return default
        if seq in sizes:
            return seq, max(data_start(seq), min(offset, sizes[seq]))
        later = [s for s in sizes if s > seq]
        return (later[0], data_start(later[0])) if later else (seq, offset)

    def _check_header(self, seq: int, size: int) -> tuple[list[Quarantined], bool]:
        """Damage reports for a segment's header, and whether the header is sound.

        Raises :class:`SpoolFormatError` for a sound header of an unknown version.
        """
        path = segment_path(self.directory, seq)
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
        path = segment_path(self.directory, seq)
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
