"""Returns, scrap and quarantine: the pure rules.

* A location is ``storage`` (the default) or ``quarantine``. Stock in a quarantine
  location is on hand but never available: no pick, reservation or backorder fill
  takes it, and it is never reserved. Moving it to a storage location makes it
  available (and fills waiting backorders first-in first-out, as a receipt does).
* A product's figures: ``on_hand = available + reserved + expired + quarantined``,
  where ``quarantined`` is every unit in quarantine locations (expired ones included)
  and ``expired`` the expired units elsewhere not held for an order (the batch
  planner, :mod:`stock_core.domain.batch`, and the store's statements apply it).
* A return brings units into stock at a quarantine location; scrap writes units off
  at any location. Both carry a reason: a code from the configured list
  (:data:`DEFAULT_REASONS` unless configured), matched in any case
  (:func:`check_reason`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Final

from stock_core.errors import UnknownReasonError
from stock_core.types import ReasonCode

__all__ = [
    "DEFAULT_REASONS",
    "LocationType",
    "check_reason",
    "check_reason_list",
]

DEFAULT_REASONS: Final[tuple[ReasonCode, ...]] = tuple(
    ReasonCode(code)
    for code in ("damaged", "defective", "expired", "wrong_item", "unwanted", "lost")
)
_REASON = re.compile(r"[a-z0-9_]{1,32}")


class LocationType(enum.StrEnum):
    """What a location is for; the values are the API's and ``locations.csv``'s."""

    STORAGE = "storage"
    QUARANTINE = "quarantine"


def check_reason_list(codes: Iterable[str]) -> tuple[ReasonCode, ...]:
    """The configured reasons, in lower case; raises :class:`ValueError` naming a bad one."""
    out: list[ReasonCode] = []
    for code in codes:
        lowered = code.strip().lower()
        if _REASON.fullmatch(lowered) is None:
            raise ValueError(f"{code!r} is not a reason code (1-32 letters, digits or '_')")
        if lowered in out:
            raise ValueError(f"reason {lowered} is listed twice")
        out.append(ReasonCode(lowered))
    if not out:
        raise ValueError("at least one reason is needed")
    return tuple(out)


def check_reason(code: str, allowed: Sequence[ReasonCode]) -> ReasonCode:
    """``code`` as the listed reason it names (any case); else :class:`UnknownReasonError`."""
    lowered = code.strip().lower()
    if lowered not in allowed:
        raise UnknownReasonError(code.strip()[:32], allowed)
    return ReasonCode(lowered)
