"""Webhook subscriptions and their deliveries, as the API lists them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["Delivery", "DeliveryAttempt", "DueDelivery", "Endpoint", "Webhook"]


@dataclass(frozen=True)
class Webhook:
    id: int
    url: str
    events: tuple[str, ...]
    secret: str
    description: str
    created_at: datetime
    created_by: str
    cursor: int
    pending: int
    failed: int


@dataclass(frozen=True)
class Delivery:
    id: int
    webhook_id: int
    msg_id: str
    seq: int
    type: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    finished_at: datetime | None


@dataclass(frozen=True)
class Endpoint:
    """A subscription leased to one node for sending."""

    id: int
    url: str
    secret: str


@dataclass(frozen=True)
class DueDelivery:
    """An endpoint's next delivery, due now."""

    id: int
    msg_id: str
    seq: int
    type: str
    body: str
    attempts: int
    retry_from: datetime


@dataclass(frozen=True)
class DeliveryAttempt:
    """How one attempt went: ``status`` (HTTP) or ``error``; ok for a 2xx answer."""

    at: datetime
    ok: bool
    status: int | None = None
    error: str | None = None
