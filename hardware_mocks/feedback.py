"""Counting the ack and nak byte sequences a gateway writes back to a scanner (pure).

The parser is fed whatever bytes arrive, in any chunking; a sequence split across
reads still counts once. Bytes that start no known sequence are counted as ``other``
and skipped one at a time, so a stray byte never hides the ack that follows it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Feedback", "FeedbackCounts", "FeedbackParser"]


class Feedback(enum.Enum):
    ACK = "ack"
    NAK = "nak"


@dataclass(frozen=True)
class FeedbackCounts:
    """A snapshot: acks and naks recognised, ``other`` bytes that were neither."""

    acks: int = 0
    naks: int = 0
    other: int = 0

    @property
    def events(self) -> int:
        """Acks plus naks: one per scan the gateway answered out loud."""
        return self.acks + self.naks


class FeedbackParser:
    """Sans-I/O: ``receive_bytes()`` in, ``counts`` and ``events_received()`` out.

    ``ack`` and ``nak`` are the model's sequences; ``None`` (or empty) when silent.
    """

    def __init__(self, ack: bytes | None, nak: bytes | None) -> None:
        self._sequences: list[tuple[Feedback, bytes]] = [
            (kind, seq) for kind, seq in ((Feedback.ACK, ack), (Feedback.NAK, nak)) if seq
        ]
        self._buffer = bytearray()
        self._events: list[Feedback] = []
        self._acks = 0
        self._naks = 0
        self._other = 0

    @property
    def counts(self) -> FeedbackCounts:
        return FeedbackCounts(acks=self._acks, naks=self._naks, other=self._other)

    def receive_bytes(self, data: bytes) -> None:
        self._buffer += data
        self._parse()

    def receive_eof(self) -> None:
        """The link went away: a sequence left half-received counts as ``other``."""
        self._other += len(self._buffer)
        self._buffer.clear()

    def events_received(self) -> list[Feedback]:
        """Acks and naks recognised since the last call, in order."""
        events, self._events = self._events, []
        return events

    def _parse(self) -> None:
        buffer = self._buffer
        while buffer:
            for kind, seq in self._sequences:
                if buffer.startswith(seq):
                    del buffer[: len(seq)]
                    self._record(kind)
                    break
            else:
                if any(seq.startswith(buffer) for _, seq in self._sequences):
                    return  # a proper prefix: wait for the rest
                del buffer[:1]
                self._other += 1

    def _record(self, kind: Feedback) -> None:
        self._events.append(kind)
        if kind is Feedback.ACK:
            self._acks += 1
        else:
            self._naks += 1
