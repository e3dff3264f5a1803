"""What the gateway keeps for each scanner: its session, link, framer, queue and counters.

Plain state for :mod:`scanner_gateway.gateway`, which alone reads clocks and does I/O;
:meth:`ScannerRuntime.now` asks the link for its line time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

from scanner_gateway.config import ScannerConfig
from scanner_gateway.framing import LineFramer
from scanner_gateway.serial_link import LinkState
from scanner_gateway.serial_link import SerialLink
from scanner_gateway.session import ScannerSession
from stock_core.model import ScannerState
from stock_core.types import ScannerId

__all__ = ["Counters", "Queued", "Refused", "ScannerRuntime", "TokenBucket"]


class TokenBucket:
    """Limits how often one scanner's rejections are announced (noise storms)."""

    def __init__(self, rate: float = 10.0, burst: float = 20.0) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = 0.0

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Counters:
    """What one scanner's frames came to, shown in its status."""

    frames: int = 0
    acks: int = 0
    naks: int = 0
    committed: int = 0
    rejected: int = 0
    spooled: int = 0
    garbled: int = 0
    too_long: int = 0
    partial_dropped: int = 0
    baud_warnings: int = 0
    paused: int = 0
    """Times reading this port stopped until its waiting scans were served."""
    suppressed: int = 0
    disconnects: int = 0


@dataclass
class Refused:
    """Frames refused before decoding, one after another in one read: they wait their
    turn on the queue and are nakked together, one nak each, in one write."""

    frames: list[tuple[bytes, str]]
    """(frame, reason) of each."""


Queued = tuple[bytes, bool] | Refused
"""A frame to handle (its bytes, whether it is the first after a connect), or a refusal."""


@dataclass
class ScannerRuntime:
    """Everything the gateway keeps for one scanner."""

    config: ScannerConfig
    session: ScannerSession
    link: SerialLink | None = None
    framer: LineFramer | None = None
    queue: asyncio.Queue[Queued] = field(default_factory=asyncio.Queue)
    """Unbounded, but reading pauses at the gateway's pause mark: at most one read's frames more."""
    counters: Counters = field(default_factory=Counters)
    bucket: TokenBucket = field(default_factory=TokenBucket)
    connected_at: float = 0.0
    fresh: bool = False
    idle_timer: asyncio.TimerHandle | None = None
    operator_timer: asyncio.TimerHandle | None = None
    """Signs the operator out when it fires (``operator_idle`` after the last scan)."""
    last_scan_at: datetime | None = None
    last_code: str | None = None
    health: str = ""

    @property
    def id(self) -> ScannerId:
        return ScannerId(self.config.id)

    @property
    def state(self) -> LinkState:
        return self.link.state if self.link else LinkState.STOPPED

    def now(self) -> float:
        """Line time: the monotonic clock, standing still while reading is paused."""
        return self.link.now() if self.link else time.monotonic()

    def snapshot(self, gateway: str) -> ScannerState:
        link = self.link
        detail = "; ".join(d for d in (link.detail if link else "", self.health) if d)
        return ScannerState(
            id=self.config.id,
            gateway=gateway,
            url=self.config.url,
            state=self.state.value,
            detail=detail,
            mode=self.session.mode.value,
            location=self.session.location,
            last_scan_at=self.last_scan_at,
            last_code=self.last_code,
            counters=dict(vars(self.counters)),
            operator=self.session.operator,
        )
