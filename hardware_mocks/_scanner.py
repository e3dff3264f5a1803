"""What every simulated scanner has, whatever it is plugged into: its model, a write
timeout, a seeded source of noise, and the log of the feedback its host sent back."""

from __future__ import annotations

import random

from hardware_mocks._feedback_log import FeedbackLog
from hardware_mocks.feedback import FeedbackCounts
from hardware_mocks.frames import ScannerModel

__all__ = ["ScannerSide"]


class ScannerSide:
    """The base of :class:`~hardware_mocks.pty_scanner.PtyScanner` and
    :class:`~hardware_mocks.device_server.DeviceServer`."""

    def __init__(self, model: ScannerModel, write_timeout: float, seed: int | None) -> None:
        self.model = model
        self.write_timeout = write_timeout
        self._rng = random.Random(seed)
        self._log = FeedbackLog(model.ack, model.nak)

    @property
    def feedback(self) -> FeedbackCounts:
        return self._log.counts

    @property
    def acks(self) -> int:
        return self._log.counts.acks

    @property
    def naks(self) -> int:
        return self._log.counts.naks

    async def wait_feedback(self, count: int, timeout: float) -> FeedbackCounts:  # noqa: ASYNC109
        """Wait until ``count`` acks+naks in total (since creation) were received.

        Counts are totals, so ``await s.wait_feedback(s.feedback.events + 1, t)``
        taken *before* sending never misses a fast answer. ``TimeoutError`` if not.
        """
        return await self._log.wait_within(count, timeout)
