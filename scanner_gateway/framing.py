"""Bytes from a scanner to frames: the sans-I/O line framer.

The shell feeds whatever the port produced with :meth:`LineFramer.receive_bytes`,
tells the framer when nothing arrived with :meth:`LineFramer.receive_idle` (at or
after :meth:`LineFramer.deadline`), and at end of stream calls
:meth:`LineFramer.receive_eof`. It then drains :meth:`LineFramer.events_received`.
Time is always passed in; the framer never reads a clock.

Rules (SPEC "Scanners"):

* Cleaning. NUL, 0xFF, XON and XOFF are stripped, as is every other control byte
  (0x00-0x1F, 0x7F) except GS (0x1D, the GS1 FNC1 separator, always kept) and the
  terminator bytes in use. Printable bytes are kept.
* Terminators. ``CR``, ``LF``, ``TAB`` end a frame on that byte. ``CRLF`` ends a
  frame on LF; a CR is stripped. ``AUTO`` ends a frame on any of CR, LF and TAB.
  ``NONE`` never ends a frame on a byte: the idle gap does. Empty frames produce
  nothing, so CR LF is one terminator in every mode, even when split across reads.
* Length. A frame longer than ``max_length`` (after cleaning) is discarded up to
  its end and reported once as :class:`FrameTooLong`.
* Line noise. Bytes 0x80-0xFE mean a baud or parity mismatch: the frame is reported
  as :class:`BaudMismatchSuspected` (a scanner-health warning) followed by
  :class:`FrameGarbled` (the gateway naks it) instead of :class:`FrameReceived`.
* Idle gap. When ``idle_gap`` is set, a buffered partial frame ends once
  ``now - time of its last byte >= idle_gap``: at :meth:`~LineFramer.receive_idle`,
  or at the next :meth:`~LineFramer.receive_bytes` before the new bytes are framed.
  That is how frames end for scanners without a suffix (``NONE``, and ``AUTO`` until
  a terminator byte has been seen). A scanner known to send a suffix (``CR``, ``LF``,
  ``CRLF``, ``TAB``, or ``AUTO`` once one came) only has a partial frame ended by a
  much longer silence, ``STALE_PARTIAL`` (at least the idle gap): a busy gateway that
  reads a frame's second half late must not cut one scan in two (two naks for one
  frame), yet a frame whose terminator was lost does not wait for the next scan.
* End of stream. A partial frame is not a scan: it comes out as
  :class:`FrameDropped`.

Without an idle gap the events depend only on the bytes, never on how they were
chunked into reads.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "STALE_PARTIAL",
    "BaudMismatchSuspected",
    "FrameDropped",
    "FrameGarbled",
    "FrameReceived",
    "FrameTooLong",
    "FramerClosedError",
    "FramerEvent",
    "LineFramer",
    "Terminator",
]

DEFAULT_MAX_LENGTH = 512
STALE_PARTIAL = 1.0
"""Seconds of silence that end a partial frame of a scanner that sends a suffix."""

_GS = 0x1D
_HIGH_BIT = bytes(range(0x80, 0xFF))
_CONTROL = frozenset([*range(0x20), 0x7F, 0xFF])


class Terminator(enum.Enum):
    """The frame suffix a scanner is configured with (values as in the config file)."""

    CR = "CR"
    LF = "LF"
    CRLF = "CRLF"
    TAB = "TAB"
    NONE = "none"
    AUTO = "auto"


_TERMINATOR_BYTES: dict[Terminator, bytes] = {
    Terminator.CR: b"\r",
    Terminator.LF: b"\n",
    Terminator.CRLF: b"\n",
    Terminator.TAB: b"\t",
    Terminator.NONE: b"",
    Terminator.AUTO: b"\r\n\t",
}


@dataclass(frozen=True)
class FrameReceived:
    """A complete frame, terminator removed and cleaned. Never empty."""

    data: bytes


@dataclass(frozen=True)
class FrameTooLong:
    """A frame longer than the cap was discarded; ``length`` is its cleaned length."""

    length: int


@dataclass(frozen=True)
class FrameGarbled:
    """A frame with high-bit bytes, discarded; nak it. ``data`` is the cleaned frame."""

    data: bytes


@dataclass(frozen=True)
class FrameDropped:
    """A partial frame cut off by end of stream (at most ``max_length`` bytes of it)."""

    data: bytes


@dataclass(frozen=True)
class BaudMismatchSuspected:
    """Scanner health: ``count`` high-bit bytes in one frame (baud or parity wrong)."""

    count: int


FramerEvent = FrameReceived | FrameTooLong | FrameGarbled | FrameDropped | BaudMismatchSuspected


class FramerClosedError(RuntimeError):
    """Bytes or idle time were fed to a framer after :meth:`LineFramer.receive_eof`."""


class LineFramer:
    """Split a scanner's byte stream into frames. Pure: no I/O, no clock."""

    def __init__(
        self,
        terminator: Terminator,
        max_length: int = DEFAULT_MAX_LENGTH,
        idle_gap: float | None = None,
    ) -> None:
        if max_length < 1:
            raise ValueError(f"max_length must be at least 1, not {max_length}")
        if idle_gap is not None and idle_gap <= 0:
            raise ValueError(f"idle_gap must be positive, not {idle_gap}")
        if terminator is Terminator.NONE and idle_gap is None:
            raise ValueError("terminator NONE needs an idle_gap to end frames")
        self.terminator = terminator
        self.max_length = max_length
        self.idle_gap = idle_gap
        ends = _TERMINATOR_BYTES[terminator]
        self._delete = bytes(sorted(_CONTROL - {_GS, *ends}))
        self._split = re.compile(b"[" + re.escape(ends) + b"]") if ends else None
        self._events: list[FramerEvent] = []
        self._buffer = bytearray()
        self._length = 0
        self._high_bit = 0
        self._last_byte_time = 0.0
        self._closed = False
        self._suffixed = terminator not in (Terminator.NONE, Terminator.AUTO)
        """Whether this scanner is known to end its frames with a terminator."""

    def receive_bytes(self, data: bytes, now: float) -> None:
        """Feed bytes read at time ``now``."""
        self._check_open()
        if not data:
            return
        self._end_if_idle(now)
        self._last_byte_time = now
        cleaned = data.translate(None, self._delete)
        start = 0
        if self._split is not None:
            for match in self._split.finditer(cleaned):
                self._suffixed = True
                self._append(cleaned[start : match.start()])
                self._end_frame()
                start = match.end()
        self._append(cleaned[start:])

    def receive_idle(self, now: float) -> None:
        """Tell the framer that no byte arrived up to ``now``."""
        self._check_open()
        self._end_if_idle(now)

    def receive_eof(self) -> None:
        """End of stream: a partial frame is dropped. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._length:
            if self._high_bit:
                self._events.append(BaudMismatchSuspected(self._high_bit))
            self._events.append(FrameDropped(bytes(self._buffer)))
            self._reset()

    def deadline(self) -> float | None:
        """When to call :meth:`receive_idle` next; ``None`` when there is no need."""
        if self.idle_gap is None or not self._length:
            return None
        gap = max(self.idle_gap, STALE_PARTIAL) if self._suffixed else self.idle_gap
        return self._last_byte_time + gap

    def events_received(self) -> list[FramerEvent]:
        """Return the events produced since the last call, oldest first."""
        events, self._events = self._events, []
        return events

    def _check_open(self) -> None:
        if self._closed:
            raise FramerClosedError("the stream has ended")

    def _end_if_idle(self, now: float) -> None:
        deadline = self.deadline()
        if deadline is not None and now >= deadline:
            self._end_frame()

    def _append(self, segment: bytes) -> None:
        if not segment:
            return
        self._length += len(segment)
        self._high_bit += len(segment) - len(segment.translate(None, _HIGH_BIT))
        room = self.max_length - len(self._buffer)
        if room > 0:
            self._buffer += segment[:room]

    def _end_frame(self) -> None:
        if not self._length:
            return
        if self._high_bit:
            self._events.append(BaudMismatchSuspected(self._high_bit))
        if self._length > self.max_length:
            self._events.append(FrameTooLong(self._length))
        elif self._high_bit:
            self._events.append(FrameGarbled(bytes(self._buffer)))
        else:
            self._events.append(FrameReceived(bytes(self._buffer)))
        self._reset()

    def _reset(self) -> None:
        self._buffer.clear()
        self._length = 0
        self._high_bit = 0
