"""Counted capacity that refuses instead of queueing (CSV exports per node)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from web_ui.problem import ProblemError

__all__ = ["Slots"]


class Slots:
    """At most ``limit`` holders at once; one more is answered 503 ``busy`` at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken = 0

    @contextlib.contextmanager
    def take(self, what: str) -> Iterator[None]:
        if self.taken >= self.limit:
            raise ProblemError("busy", f"{self.limit} {what} are already running on this node")
        self.taken += 1
        try:
            yield
        finally:
            self.taken -= 1
