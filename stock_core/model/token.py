"""API tokens as stored: who holds which role, and whether the token still works."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Literal

from stock_core.domain.token import Role

__all__ = ["Token", "TokenStatus"]

TokenStatus = Literal["active", "revoked", "expired"]


@dataclass(frozen=True)
class Token:
    """A token's record; the secret itself is never kept (only its hash)."""

    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime | None = None
    """``None``: never expires."""

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def status_at(self, now: datetime) -> TokenStatus:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expired(now) else "active"

    @property
    def status(self) -> TokenStatus:
        """:meth:`status_at` the current time (what the API shows)."""
        return self.status_at(datetime.now(UTC))
