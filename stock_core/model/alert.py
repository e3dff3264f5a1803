"""Stock alerts: low stock, out of stock, a projected stockout."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime

__all__ = ["Alert"]


@dataclass(frozen=True)
class Alert:
    """A stock alert (``kind``) on one product, from raised to cleared, acknowledged or not."""

    id: int
    kind: str
    sku: str
    name: str
    raised_at: datetime
    available: int
    threshold: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cleared_at: datetime | None
    detail: dict[str, object] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Not yet cleared by recovering stock."""
        return self.cleared_at is None
