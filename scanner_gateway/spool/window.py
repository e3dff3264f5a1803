"""The replay window on disk: what the gateway committed lately, kept across a restart.

:class:`~scanner_gateway.window.RecentWindow` holds the envelopes committed in the last
``replay_window_s`` in memory; this log keeps them in the spool directory too, so a
gateway restarted just after a failover can still post them again. Two files,
``window.log`` (appended to) and ``window.old`` (the one before): when the log is
older than the window it becomes the old one, so together they always hold at least
the last window and never more than two. Records use the spool's codec
(:func:`~scanner_gateway.spool.codec.encode_record`, the commit time in
``spooled_at``). Appends are not fsynced: the scans are committed already, and the
window only matters if the database fails over too, so the page cache (which
survives the process) is enough; a damaged record is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from scanner_gateway.spool.codec import Frame
from scanner_gateway.spool.codec import SpoolRecord
from scanner_gateway.spool.codec import decode_payload
from scanner_gateway.spool.codec import encode_record
from scanner_gateway.spool.codec import read_frames
from stock_core.domain.movement import Envelope

__all__ = ["WINDOW_FILE", "WINDOW_OLD_FILE", "WindowLog"]

WINDOW_FILE = "window.log"
WINDOW_OLD_FILE = "window.old"


class WindowLog:
    """Committed envelopes of the last ``seconds``, appended under ``directory``."""

    def __init__(self, directory: Path, seconds: float) -> None:
        self.directory = directory
        self.seconds = seconds
        self._started: datetime | None = None
        """When ``window.log`` got its first record (``None``: not known yet)."""
        self._lock = asyncio.Lock()

    async def load(self, now: datetime) -> list[SpoolRecord]:
        """What both files hold from the last ``seconds`` before ``now``, oldest first."""
        return await asyncio.to_thread(self._load, now)

    def _load(self, now: datetime) -> list[SpoolRecord]:
        horizon = now - timedelta(seconds=self.seconds)
        found: list[SpoolRecord] = []
        for name in (WINDOW_OLD_FILE, WINDOW_FILE):
            try:
                data = (self.directory / name).read_bytes()
            except FileNotFoundError:
                continue
            items, _ = read_frames(data, final=True)
            for item in items:
                if not isinstance(item, Frame):
                    continue
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    record = decode_payload(item.payload)
                    if name == WINDOW_FILE and self._started is None:
                        self._started = record.spooled_at
                    if record.spooled_at >= horizon:
                        found.append(record)
        return found

    async def append(self, envelopes: Sequence[Envelope], at: datetime) -> None:
        """Keep ``envelopes``, committed at ``at`` (in order with earlier appends)."""
        if not envelopes:
            return
        blob = b"".join(encode_record(SpoolRecord(e, at)) for e in envelopes)
        async with self._lock:
            await asyncio.to_thread(self._append, blob, at)

    def _append(self, blob: bytes, at: datetime) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.directory / WINDOW_FILE
        if self._started is None or not log.exists():
            self._started = at
        elif at - self._started > timedelta(seconds=self.seconds):
            log.replace(self.directory / WINDOW_OLD_FILE)
            self._started = at
        with log.open("ab") as out:
            out.write(blob)
