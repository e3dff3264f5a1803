"""In-order replay: the spool's one reader, and the checkpoint it moves forward."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from scanner_gateway.errors import GatewayStateError
from scanner_gateway.spool.codec import SEGMENT_HEADER_SIZE
from scanner_gateway.spool.codec import Damage
from scanner_gateway.spool.codec import Frame
from scanner_gateway.spool.codec import SpoolRecord
from scanner_gateway.spool.codec import decode_payload
from scanner_gateway.spool.codec import encode_record
from scanner_gateway.spool.files import Pos
from scanner_gateway.spool.files import data_start
from scanner_gateway.spool.files import fsync_directory
from scanner_gateway.spool.files import segment_path
from scanner_gateway.spool.files import walk
from scanner_gateway.spool.files import write_file
from scanner_gateway.spool.state import Quarantined
from scanner_gateway.spool.state import SpoolBase

__all__ = ["Replayer"]

log = logging.getLogger("scanner_gateway.spool")  # one logger name for the whole spool


@dataclass
class _Read:
    """What one read from the replay position found."""

    records: list[tuple[SpoolRecord, Pos]]
    pos: Pos
    quarantined: list[Quarantined]
    undecodable: int
    exhausted: bool


class Replayer(SpoolBase):
    """Reads the oldest records for replay and passes over those the database answered for."""

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

    def _read(self, pos: Pos, limit: int, ends: dict[int, int]) -> _Read:
        read = _Read([], pos, [], 0, exhausted=True)
        for seq, item in walk(self.directory, pos, ends):
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

    def _advance(self, pos: Pos, count: int) -> None:
        """Make ``pos`` the durable checkpoint, ``count`` records on from the last; delete
        the segments wholly before it, and empty the one appends go to if it is drained."""
        seq, offset = pos
        with self._state:
            ends = dict(self._ends)
            active = self._active
        later = [s for s in ends if s > seq]
        if later and offset >= ends.get(seq, 0):  # past the end of a full segment
            seq, offset = later[0], data_start(later[0])
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
            fsync_directory(self.directory)  # the checkpoint first, then the deletions
            for s in drained:
                segment_path(self.directory, s).unlink(missing_ok=True)
            fsync_directory(self.directory)
            with self._state:
                for s in drained:
                    self._disk -= self._ends.pop(s, 0)

    def _consumed(self, count: int, pos: Pos) -> None:
        """``count`` records passed over for good, up to ``pos`` (holding ``_state``)."""
        self._pending -= count
        for _ in range(count):
            self._buffer.popleft()
        self._checkpoint = pos
        if not self._buffer:
            self._read_pos = pos

    async def quarantine_record(self, record: SpoolRecord, reason: str) -> Path:
        """Keep a copy of a record that is being passed over without a spool exception."""
        name = f"record-{record.envelope.key.replace(':', '_').replace('/', '_')}.bin"
        target = self.quarantine_dir / name
        await asyncio.to_thread(write_file, target, encode_record(record))
        with self._state:
            self._quarantined += 1
        log.error(
            "spooled scan %s copied to %s and passed over: %s", record.envelope.key, target, reason
        )
        return target
