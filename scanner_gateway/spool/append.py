"""Append-and-fsync: the spool's one writer, its blocking work in a worker thread."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC
from datetime import datetime

from scanner_gateway.errors import GatewayStateError
from scanner_gateway.errors import SpoolFullError
from scanner_gateway.spool.codec import SEGMENT_HEADER_SIZE
from scanner_gateway.spool.codec import SpoolRecord
from scanner_gateway.spool.codec import encode_record
from scanner_gateway.spool.codec import encode_segment_header
from scanner_gateway.spool.files import fsync_directory
from scanner_gateway.spool.files import pwrite_all
from scanner_gateway.spool.files import segment_path
from scanner_gateway.spool.files import write_file
from scanner_gateway.spool.state import SpoolBase
from stock_core.domain.movement import Envelope

__all__ = ["Appender"]

log = logging.getLogger("scanner_gateway.spool")  # one logger name for the whole spool


class Appender(SpoolBase):
    """Appends records to the active segment, fsynced before :meth:`append` returns."""

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
        pwrite_all(fd, data, offset)

    def _sync(self, fd: int) -> None:
        os.fsync(fd)

    def _roll(self) -> None:
        """Start the next segment and append there (holding the write lock, or opening)."""
        seq = max([*self._ends, self._checkpoint[0], 0]) + 1
        path = segment_path(self.directory, seq)
        try:
            write_file(path, encode_segment_header(seq))
            fsync_directory(self.directory)
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
