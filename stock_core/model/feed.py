"""Events of the live feed, as the outbox relay numbered them."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["FeedEvent"]


@dataclass(frozen=True)
class FeedEvent:
    """One event of the live feed: its outbox ``seq``, SPEC ``type`` and payload."""

    seq: int
    type: str
    ts: datetime
    payload: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "ts": self.ts.isoformat(), **self.payload}

    @functools.cached_property
    def wire_text(self) -> str:
        """The JSON sent to displays, made once however many displays receive it."""
        return json.dumps(self.to_wire(), default=str, separators=(",", ":"))
