"""Location capacity from products' weights and dimensions. Pure.

A location may have a ``max_weight_g`` and a ``max_volume_cm3`` (``None``: no limit).
Each unit of a product weighs its ``weight_g`` and takes ``length_mm × width_mm ×
height_mm / 1000`` cm³; a product without a weight weighs nothing here, and one missing
any of its three dimensions takes no room (so capacity only counts what is measured:
give products their dimensions before relying on volume limits).

A receipt or a move that would leave a location holding more than either limit is
refused whole (:class:`~stock_core.errors.CapacityExceededError`, naming the location
and the figures); a location at or under its limits accepts it. Picks, counts,
adjustments and undos are never refused for capacity: they record what physically
happened (a count finding more than fits is still the truth), and they only ever make
room or correct the figures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from stock_core.errors import CapacityExceededError

__all__ = [
    "Capacity",
    "Load",
    "UnitSize",
    "load_of",
    "room_refusal",
    "unit_size",
]

_ZERO = Decimal(0)
_MM3_PER_CM3 = Decimal(1000)


@dataclass(frozen=True)
class UnitSize:
    """What one unit of a product weighs (g) and takes (cm³)."""

    weight_g: Decimal = _ZERO
    volume_cm3: Decimal = _ZERO


def unit_size(
    weight_g: Decimal | None,
    length_mm: Decimal | None,
    width_mm: Decimal | None,
    height_mm: Decimal | None,
) -> UnitSize:
    """A product's unit from its master data; what is missing counts as zero."""
    volume = _ZERO
    if length_mm is not None and width_mm is not None and height_mm is not None:
        volume = Decimal(length_mm) * Decimal(width_mm) * Decimal(height_mm) / _MM3_PER_CM3
    return UnitSize(_ZERO if weight_g is None else Decimal(weight_g), volume)


@dataclass(frozen=True)
class Load:
    """What a location holds: weight (g) and volume (cm³)."""

    weight_g: Decimal = _ZERO
    volume_cm3: Decimal = _ZERO

    def plus(self, size: UnitSize, units: int) -> Load:
        return Load(
            self.weight_g + size.weight_g * units, self.volume_cm3 + size.volume_cm3 * units
        )


def load_of(contents: Iterable[tuple[UnitSize, int]]) -> Load:
    """The load of units of each size (``(size, units)`` pairs)."""
    load = Load()
    for size, units in contents:
        load = load.plus(size, units)
    return load


@dataclass(frozen=True)
class Capacity:
    """A location's limits (``None``: none)."""

    location: str
    max_weight_g: Decimal | None = None
    max_volume_cm3: Decimal | None = None

    @property
    def limited(self) -> bool:
        return self.max_weight_g is not None or self.max_volume_cm3 is not None


def _figure(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.001')).normalize():f}"


def room_refusal(
    capacity: Capacity, load: Load, size: UnitSize, units: int
) -> CapacityExceededError | None:
    """The refusal of adding ``units`` of ``size`` to a location holding ``load``, if any."""
    after = load.plus(size, units)
    problems = []
    if capacity.max_weight_g is not None and after.weight_g > capacity.max_weight_g:
        problems.append(
            f"weight {_figure(after.weight_g)} g > max {_figure(capacity.max_weight_g)} g"
        )
    if capacity.max_volume_cm3 is not None and after.volume_cm3 > capacity.max_volume_cm3:
        problems.append(
            f"volume {_figure(after.volume_cm3)} cm3 > max {_figure(capacity.max_volume_cm3)} cm3"
        )
    if not problems:
        return None
    return CapacityExceededError(
        capacity.location,
        f"{capacity.location} is full: {'; '.join(problems)}",
        weight_g=float(after.weight_g),
        max_weight_g=None if capacity.max_weight_g is None else float(capacity.max_weight_g),
        volume_cm3=float(after.volume_cm3),
        max_volume_cm3=None if capacity.max_volume_cm3 is None else float(capacity.max_volume_cm3),
    )
