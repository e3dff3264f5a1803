"""The space report: weight and volume used and allowed per zone. Pure.

Used is what lies in the zone's locations (see :mod:`stock_core.domain.capacity` for a
unit's weight and volume); allowed is the sum of the limits of its locations that have
one (``None`` when none has). Zones are listed by name; the blank zone is ``""``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from stock_core.domain.capacity import UnitSize
from stock_core.domain.capacity import load_of

__all__ = ["SPACE_COLUMNS", "SpaceLine", "space_csv", "space_lines"]

SPACE_COLUMNS = ("zone", "weight_g", "max_weight_g", "volume_cm3", "max_volume_cm3")
_MILLI = Decimal("0.001")


@dataclass(frozen=True)
class SpaceLine:
    zone: str
    weight_g: Decimal
    max_weight_g: Decimal | None
    volume_cm3: Decimal
    max_volume_cm3: Decimal | None

    def as_dict(self) -> dict[str, object]:
        return {
            "zone": self.zone,
            "weight_g": float(self.weight_g),
            "max_weight_g": None if self.max_weight_g is None else float(self.max_weight_g),
            "volume_cm3": float(self.volume_cm3),
            "max_volume_cm3": None if self.max_volume_cm3 is None else float(self.max_volume_cm3),
        }


def space_lines(
    contents: Mapping[str, Sequence[tuple[UnitSize, int]]],
    limits: Mapping[str, tuple[Decimal | None, Decimal | None]],
) -> list[SpaceLine]:
    """One line per zone with locations (``limits``' keys) or stock (``contents``')."""
    lines = []
    for zone in sorted(set(contents) | set(limits)):
        load = load_of(contents.get(zone, ()))
        max_weight, max_volume = limits.get(zone, (None, None))
        lines.append(
            SpaceLine(
                zone,
                load.weight_g.quantize(_MILLI),
                None if max_weight is None else Decimal(max_weight),
                load.volume_cm3.quantize(_MILLI),
                None if max_volume is None else Decimal(max_volume),
            )
        )
    return lines


def space_csv(lines: Sequence[SpaceLine]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SPACE_COLUMNS)
    for line in lines:
        row = line.as_dict()
        writer.writerow(["" if row[c] is None else row[c] for c in SPACE_COLUMNS])
    return out.getvalue()
