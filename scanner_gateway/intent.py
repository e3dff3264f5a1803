"""What a :class:`~scanner_gateway.session.ScannerSession` tells its shell.

:meth:`~scanner_gateway.session.ScannerSession.receive_scan` returns one
:data:`Intent` per scan. An :data:`Outstanding` intent (:class:`PostCommand`,
:class:`SetLocation`, :class:`SignIn`) waits for the shell's report;
:meth:`~scanner_gateway.session.ScannerSession.receive_outcome` then answers the
:class:`Feedback` to send the scanner. Pure values: no I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from stock_core.domain.movement import Command as MovementCommand
from stock_core.types import LocationCode
from stock_core.types import OperatorCode

__all__ = [
    "Acknowledge",
    "Feedback",
    "Intent",
    "Outstanding",
    "PostCommand",
    "Reject",
    "SetLocation",
    "SignIn",
]


class Feedback(enum.Enum):
    """What the shell sends the scanner after an outcome."""

    ACK = "ack"
    NAK = "nak"


@dataclass(frozen=True)
class PostCommand:
    """Post ``command`` to the store (the shell adds the idempotency key); then report.

    ``operator`` is who was signed in on the scanner when it was scanned.
    """

    command: MovementCommand
    operator: OperatorCode | None = None


@dataclass(frozen=True)
class SetLocation:
    """Check that ``location`` exists (a code or a GLN); then report."""

    location: LocationCode


@dataclass(frozen=True)
class SignIn:
    """Check that ``operator`` is a known badge; then report."""

    operator: OperatorCode


@dataclass(frozen=True)
class Acknowledge:
    """A session-only change: send ack. No outcome is expected."""

    detail: str


@dataclass(frozen=True)
class Reject:
    """Send nak and publish ``scan.rejected`` with ``reason``. No outcome is expected."""

    reason: str


Intent = PostCommand | SetLocation | SignIn | Acknowledge | Reject
Outstanding = PostCommand | SetLocation | SignIn
"""The intents whose outcome the shell reports back."""
