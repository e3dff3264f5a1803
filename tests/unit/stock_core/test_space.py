"""The space report per zone: used against the sum of the limits, and its CSV."""

from __future__ import annotations

from decimal import Decimal

from stock_core.domain.capacity import UnitSize
from stock_core.domain.space import SpaceLine
from stock_core.domain.space import space_csv
from stock_core.domain.space import space_lines

D = Decimal


def test_zones_sum_their_contents_and_their_locations_limits() -> None:
    contents = {"A": [(UnitSize(D(120), D(60)), 3), (UnitSize(D(15)), 2)], "Z": [(UnitSize(), 9)]}
    limits = {"A": (D(1000), None), "B": (None, None)}
    lines = space_lines(contents, limits)
    assert lines == [
        SpaceLine("A", D("390.000"), D(1000), D("180.000"), None),
        SpaceLine("B", D("0.000"), None, D("0.000"), None),
        SpaceLine("Z", D("0.000"), None, D("0.000"), None),
    ]
    assert lines[0].as_dict() == {
        "zone": "A",
        "weight_g": 390.0,
        "max_weight_g": 1000.0,
        "volume_cm3": 180.0,
        "max_volume_cm3": None,
    }
    assert space_csv(lines[:2]).splitlines() == [
        "zone,weight_g,max_weight_g,volume_cm3,max_volume_cm3",
        "A,390.0,1000.0,180.0,",
        "B,0.0,,0.0,",
    ]
