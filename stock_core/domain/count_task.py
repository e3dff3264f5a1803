"""Count tasks: which lines a confirmation makes, which of them wait, ABC classes. Pure.

A count task names locations. A count of one of them while the task is open is kept
on the task (the latest count of a location replaces an earlier one). On confirmation
each counted location becomes lines, one per product and lot:

* a lot counted by name is a line of its own: expected is what that lot holds there;
* units counted without a lot stand for every other lot of that product there (as a
  plain count does, :func:`stock_core.domain.allocation.reconcile_count`): one line
  with lot ``""`` whose expected is what those lots hold together;
* a product held there and not counted at all (or a lot not named when only named
  lots of its product were counted) counts as zero: one line per stock row.

``expected`` is taken at confirmation, under the products' locks: a count stands for
what is there when the manager confirms it, as a plain count sets on-hand to what was
counted whatever moved before. ``variance = counted - expected``. A line waits for a
manager's approval when ``|variance| * 100 > approval_percent * expected`` (so any
variance on an expected zero waits, unless the threshold is infinite); the others post
at once. Posting a line sets the stock rows it stands for so that they hold ``counted``.

ABC classes rank products by the value that left the warehouse over a year (outbound
units × unit cost): the products making up the first 80 % of the total are ``A``, the
next 15 % ``B``, the rest ``C`` (and every product that moved nothing is ``C``).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

__all__ = [
    "ABC_CLASSES",
    "DEFAULT_APPROVAL_PERCENT",
    "CountLine",
    "CountPosting",
    "CountTaskLineView",
    "CountTaskView",
    "HeldRow",
    "LineStatus",
    "TaskStatus",
    "abc_classes",
    "count_lines",
    "covers",
    "needs_approval",
]

DEFAULT_APPROVAL_PERCENT = 10.0
ABC_CLASSES = ("A", "B", "C")
_A_SHARE = Decimal("0.80")
_B_SHARE = Decimal("0.95")


class TaskStatus(enum.StrEnum):
    """A count task's status: open for counting, pending_approval while variances
    wait for a manager's approval, closed when every line is posted."""

    OPEN = "open"
    PENDING_APPROVAL = "pending_approval"
    CLOSED = "closed"


class LineStatus(enum.StrEnum):
    COUNTED = "counted"
    """Not confirmed yet: what a count recorded, against what is there now."""
    POSTED = "posted"
    PENDING_APPROVAL = "pending_approval"


@dataclass(frozen=True)
class HeldRow:
    """One stock row at a counted location."""

    product_id: int
    lot: str
    on_hand: int


@dataclass(frozen=True)
class CountLine:
    """One line of a confirmed (or previewed) count task at one location."""

    product_id: int
    lot: str
    expected: int
    counted: int
    named_lots: frozenset[str] | None = None
    """For units counted without a lot: the lots of its product with lines of their own,
    which it does not stand for (``None``: the line stands for its own lot only)."""

    @property
    def variance(self) -> int:
        return self.counted - self.expected


@dataclass(frozen=True)
class CountPosting:
    """A line to post, with the product and location it is about."""

    product_id: int
    sku: str
    location_id: int
    location: str
    line: CountLine


def covers(line: CountLine, lot: str) -> bool:
    """Whether posting ``line`` sets the stock row of ``lot`` (same product)."""
    if line.named_lots is None:
        return lot == line.lot
    return lot not in line.named_lots


def count_lines(held: Iterable[HeldRow], counted: Mapping[tuple[int, str], int]) -> list[CountLine]:
    """The lines of one counted location: ``held`` its stock rows, ``counted`` the units
    counted per (product, lot) (lot ``""``: counted without one). Sorted by product, lot."""
    rows: dict[int, dict[str, int]] = {}
    for row in held:
        if row.on_hand > 0:
            rows.setdefault(row.product_id, {})[row.lot] = row.on_hand
    products = set(rows) | {product for product, _ in counted}
    lines: list[CountLine] = []
    for product in sorted(products):
        lots = rows.get(product, {})
        named = frozenset(lot for (p, lot) in counted if p == product and lot)
        for lot in sorted(named):
            lines.append(CountLine(product, lot, lots.get(lot, 0), counted[(product, lot)]))
        if (product, "") in counted:
            others = sum(n for lot, n in lots.items() if lot not in named)
            lines.append(CountLine(product, "", others, counted[(product, "")], named))
            continue
        for lot in sorted(lot for lot in lots if lot not in named):
            lines.append(CountLine(product, lot, lots[lot], 0))
    return lines


def needs_approval(line: CountLine, approval_percent: float) -> bool:
    """Whether the line's variance is beyond the threshold (percent of expected)."""
    if line.variance == 0:
        return False
    return abs(line.variance) * 100 > approval_percent * line.expected


def abc_classes(values: Mapping[int, Decimal]) -> dict[int, str]:
    """Each product's ABC class from its yearly outbound value (see the module's rules)."""
    total = sum((v for v in values.values() if v > 0), Decimal(0))
    classes: dict[int, str] = {}
    running = Decimal(0)
    for product, value in sorted(values.items(), key=lambda item: (-item[1], item[0])):
        if value <= 0 or total == 0:
            classes[product] = "C"
            continue
        share_before = running / total
        running += value
        if share_before < _A_SHARE:
            classes[product] = "A"
        elif share_before < _B_SHARE:
            classes[product] = "B"
        else:
            classes[product] = "C"
    return classes


@dataclass(frozen=True)
class CountTaskLineView:
    """A line as the API shows it; ``expected`` and ``variance`` hidden (``None``) from
    workers on a blind task."""

    location: str
    sku: str
    lot: str
    expected: int | None
    counted: int
    variance: int | None
    status: str

    def hidden(self) -> CountTaskLineView:
        return replace(self, expected=None, variance=None)


@dataclass(frozen=True)
class CountTaskView:
    """A count task as the API shows it, with its lines once counted."""

    id: int
    status: str
    blind: bool
    scope: dict[str, Any]
    locations: tuple[str, ...]
    counted_locations: tuple[str, ...]
    created_by: str
    created_at: datetime
    confirmed_at: datetime | None = None
    approved_at: datetime | None = None
    lines: tuple[CountTaskLineView, ...] = field(default=())

    def for_worker(self) -> CountTaskView:
        """What a worker sees: a blind task's expected figures left out."""
        if not self.blind:
            return self
        return replace(self, lines=tuple(line.hidden() for line in self.lines))
