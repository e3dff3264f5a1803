"""A spool on a disk that fails on cue: an intercepting subclass at the spool's I/O
edge (its ``_write_at``, ``_sync`` and ``_cut``), shared by the unit and gateway
suites."""

from __future__ import annotations

import errno
import os

from scanner_gateway.spool import Spool

__all__ = ["FailingDiskSpool"]


class FailingDiskSpool(Spool):
    """The next ``write_fails`` writes write half their bytes and raise ENOSPC, the
    next ``sync_fails`` fsyncs raise EIO, the next ``cut_fails`` truncations refuse."""

    write_fails = 0
    sync_fails = 0
    cut_fails = 0

    def _write_at(self, fd: int, data: bytes, offset: int) -> None:
        if self.write_fails:
            self.write_fails -= 1
            os.pwrite(fd, data[: len(data) // 2], offset)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        super()._write_at(fd, data, offset)

    def _sync(self, fd: int) -> None:
        if self.sync_fails:
            self.sync_fails -= 1
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        super()._sync(fd)

    def _cut(self, fd: int, offset: int) -> None:
        if self.cut_fails:
            self.cut_fails -= 1
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        super()._cut(fd, offset)
