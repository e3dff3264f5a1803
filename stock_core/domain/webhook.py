"""Webhook rules that need no I/O: event matching, signing, message bodies, retries.

Deliveries follow Standard Webhooks (https://www.standardwebhooks.com): each request
carries ``webhook-id`` (the message id, the same on every retry so a receiver can
drop repeats), ``webhook-timestamp`` (seconds since the epoch, of this attempt) and
``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256 of ``id.timestamp.body``
under the secret's bytes (a secret is ``whsec_`` and base64). The body is ``{"type",
"timestamp", "data"}`` with ``data`` the feed event itself, ``seq`` included.

A subscription names event types (``backorder.created``), families (``alert.*``) or
``*`` (every type except ``stock.changed``). ``stock.changed`` is opt-in: named as
such (or ``stock.*``), it is coalesced: of the changes to one SKU that wait unsent,
only the latest is delivered.

Retries: a failed attempt is tried again after 1, 2, 5, 10, 20 and 30 s, then every
60 s until an hour after the first attempt (so a receiver that comes back is caught up
within a minute), then about doubling from 5 minutes up to hourly, until a day has passed:
the delivery is then given up (``failed``) and the endpoint's next event goes out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

__all__ = [
    "EVENT_TYPES",
    "GIVE_UP_AFTER",
    "MAX_PATTERNS",
    "PlannedDelivery",
    "Subscriber",
    "coalesce_key",
    "matches",
    "message_body",
    "message_id",
    "new_secret",
    "next_attempt_delay",
    "parse_patterns",
    "plan_deliveries",
    "secret_key",
    "sign",
    "signature_headers",
]

EVENT_TYPES: tuple[str, ...] = (
    "alert.acknowledged",
    "alert.cleared",
    "alert.raised",
    "backorder.created",
    "backorder.eta_changed",
    "backorder.filled",
    "order.cancelled",
    "order.completed",
    "order.created",
    "order.picked",
    "order.shipped",
    "purchase_order.cancelled",
    "purchase_order.closed",
    "purchase_order.created",
    "purchase_order.received",
    "purchase_order.rescheduled",
    "scan.rejected",
    "scanner.status",
    "spool.exception",
    "stock.changed",
    "transfer.closed",
    "transfer.received",
    "transfer.shipped",
)
"""Every feed event type a subscription may name."""

OPT_IN = frozenset({"stock.changed"})
"""Types ``*`` does not include: they must be named (they are many)."""

MAX_PATTERNS = 50
"""Patterns a subscription may list (every distinct valid one fits)."""
_FAMILIES = frozenset(t.split(".", 1)[0] for t in EVENT_TYPES)

_FIRST_HOUR = (1, 2, 5, 10, 20, 30)
"""Seconds before the 1st, 2nd … retry; 60 s after that within the first hour."""
_LATER_MIN = timedelta(minutes=5)
_LATER_MAX = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(days=1)

_SECRET_PREFIX = "whsec_"


def parse_patterns(patterns: Iterable[str]) -> tuple[str, ...]:
    """The subscription's patterns, each once, in order; ``ValueError`` names a bad one."""
    found: list[str] = []
    for pattern in patterns:
        family = pattern.endswith(".*") and pattern[:-2] in _FAMILIES
        if not (pattern == "*" or pattern in EVENT_TYPES or family):
            raise ValueError(
                f"unknown event type {pattern!r}: name a type (such as backorder.created), "
                "a family (alert.*) or *"
            )
        if pattern not in found:
            found.append(pattern)
    if not found:
        raise ValueError("name at least one event type")
    return tuple(found)


def matches(patterns: Sequence[str], type_: str) -> bool:
    family = type_.split(".", 1)[0]
    for pattern in patterns:
        if pattern == type_ or pattern == f"{family}.*":
            return True
        if pattern == "*" and type_ not in OPT_IN:
            return True
    return False


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` and 32 random bytes in base64."""
    return _SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_…`` secret stands for; ``ValueError`` when it is not one."""
    if not secret.startswith(_SECRET_PREFIX):
        raise ValueError("a secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(_SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a secret is whsec_ followed by base64") from exc
    if not 24 <= len(key) <= 64:
        raise ValueError("a secret's key is 24 to 64 bytes")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of id.timestamp.body>``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def message_id(seq: int) -> str:
    """A message's id: the feed event's (the same for every endpoint and every retry)."""
    return f"msg_{seq}"


def message_body(event: Mapping[str, Any]) -> str:
    """``{"type", "timestamp", "data"}`` for a feed event in its wire form."""
    return json.dumps(
        {"type": event["type"], "timestamp": event["ts"], "data": event},
        separators=(",", ":"),
        default=str,
    )


def coalesce_key(event: Mapping[str, Any]) -> str | None:
    """Events with the same key replace each other while unsent (``stock.changed`` per SKU)."""
    if event["type"] == "stock.changed":
        return f"stock.changed:{event.get('sku')}"
    return None


@dataclass(frozen=True)
class Subscriber:
    id: int
    patterns: tuple[str, ...]
    cursor: int
    """The last feed seq this endpoint was offered."""


@dataclass(frozen=True)
class PlannedDelivery:
    webhook_id: int
    msg_id: str
    seq: int
    type: str
    coalesce_key: str | None
    body: str


def plan_deliveries(
    events: Sequence[Mapping[str, Any]], subscribers: Sequence[Subscriber]
) -> list[PlannedDelivery]:
    """What each subscriber gets of ``events`` (wire form, in seq order): the events it
    has not been offered that match, coalesced events only the last of each key."""
    planned: list[PlannedDelivery] = []
    for sub in subscribers:
        wanted = [e for e in events if e["seq"] > sub.cursor and matches(sub.patterns, e["type"])]
        last = {k: e["seq"] for e in wanted if (k := coalesce_key(e)) is not None}
        for event in wanted:
            key = coalesce_key(event)
            if key is not None and last[key] != event["seq"]:
                continue
            planned.append(
                PlannedDelivery(
                    sub.id,
                    message_id(event["seq"]),
                    event["seq"],
                    event["type"],
                    key,
                    message_body(event),
                )
            )
    return planned


def next_attempt_delay(failures: int, age: timedelta) -> timedelta | None:
    """How long after its ``failures``-th failed attempt a delivery is tried again,
    ``age`` after its first attempt; ``None`` to give up (a day has passed)."""
    if failures < 1:
        raise ValueError("a delay follows a failed attempt")
    if age >= GIVE_UP_AFTER:
        return None
    if age < timedelta(hours=1):
        seconds = _FIRST_HOUR[failures - 1] if failures <= len(_FIRST_HOUR) else 60
        return timedelta(seconds=seconds)
    # Past the first hour: as long as it has been past it, from 5 minutes up to hourly.
    step = min(max(age - timedelta(hours=1), _LATER_MIN), _LATER_MAX)
    return min(step, GIVE_UP_AFTER - age)
