"""Errors raised by ``scanner_gateway``.

::

    GatewayError
    ├── GatewayStateError (RuntimeError)   misuse: the gateway was not started
    ├── SpoolError                         the spool directory cannot be used
    │   ├── SpoolLockedError                  another gateway owns it
    │   └── SpoolFormatError                  a segment this version cannot read
    └── SpoolRejection (StockRejection)    a scan answered by the spool, not the ledger
        ├── SpoolFullError                    offline and no room left: not taken (nak)
        ├── SpoolWriteError                   offline and the disk refused: not taken (nak)
        ├── CorruptSpoolRecordError           damaged in the spool: a spool exception
        └── ReplayFailedError                 failed on replay, again and again: a spool exception

A :class:`SpoolError` stops start-up; its ``str()`` is one line naming the cause and
what to change (SPEC promise 9). A :class:`SpoolRejection` is a value, like any
:class:`~stock_core.errors.StockRejection`: the first two are a scan's outcome (the
scanner hears ``nak``), the last two are kept as spool exceptions for a manager.

Peer input (bytes from scanners) never raises: it becomes a rejection with a reason.
The session's own misuse error is :class:`scanner_gateway.session.SessionStateError`;
the framer's is :class:`scanner_gateway.framing.FramerClosedError`.
"""

from __future__ import annotations

from pathlib import Path

from stock_core.errors import StockRejection

__all__ = [
    "CorruptSpoolRecordError",
    "GatewayError",
    "GatewayStateError",
    "ReplayFailedError",
    "SpoolError",
    "SpoolFormatError",
    "SpoolFullError",
    "SpoolLockedError",
    "SpoolRejection",
    "SpoolWriteError",
]


class GatewayError(Exception):
    """Root of the gateway's own errors."""


class GatewayStateError(GatewayError, RuntimeError):
    """The gateway was used in a state that does not allow it."""


class SpoolError(GatewayError):
    """The spool directory cannot be used; the gateway does not start."""


class SpoolLockedError(SpoolError):
    """Another gateway holds the spool directory's lock."""

    def __init__(self, directory: Path, pid: int | None) -> None:
        self.directory = directory
        self.pid = pid
        holder = f"pid {pid}" if pid is not None else "pid unknown"
        super().__init__(
            f"spool {directory} is in use by another gateway ({holder}):"
            " stop it or set STOCKD_HOME to another directory"
        )


class SpoolFormatError(SpoolError):
    """A spool segment written in a format this version does not read."""


class SpoolRejection(GatewayError, StockRejection):
    """A scan's answer from the spool rather than the ledger."""

    http_status = 503


class SpoolFullError(SpoolRejection):
    """PostgreSQL is away and the spool has reached its size cap: the scan is not taken."""

    problem_type = "spool-full"


class SpoolWriteError(SpoolRejection):
    """PostgreSQL is away and the spool could not be written (disk full, I/O error)."""

    problem_type = "spool-write-failed"


class CorruptSpoolRecordError(SpoolRejection):
    """A spooled scan found damaged on replay: not replayed, kept for a manager."""

    problem_type = "spool-corrupt"
    http_status = 422


class ReplayFailedError(SpoolRejection):
    """A spooled scan whose replay failed (not for an outage) every time it was tried."""

    problem_type = "replay-failed"
    http_status = 422
