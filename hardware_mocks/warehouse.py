"""A scripted warehouse: a sample catalog, locations in zones, a year of seasonal demand.

Pure and seeded: the same seed gives the same warehouse. Used by ``stockd demo`` and
by tests that need a realistic catalog. Products follow one of three demand patterns
— flat, a Christmas peak (November–December) and a summer peak (June–August) — so
forecasts have something to find.
"""

from __future__ import annotations

import csv
import io
import math
import random
from dataclasses import dataclass
from datetime import date
from datetime import timedelta

from hardware_mocks.frames import ean13
from hardware_mocks.frames import gtin14
from stock_core.domain.catalog import PRODUCT_COLUMNS

__all__ = ["DemoProduct", "Warehouse", "build_warehouse"]

_ADJECTIVES = (
    "Steel",
    "Brass",
    "Compact",
    "Heavy",
    "Mini",
    "Pro",
    "Classic",
    "Eco",
    "Solar",
    "Thermal",
    "Folding",
    "Smart",
    "Cordless",
    "Garden",
    "Festive",
    "Winter",
    "Summer",
    "Kitchen",
)
_NOUNS = (
    "Widget",
    "Lantern",
    "Kettle",
    "Drill",
    "Hose",
    "Blanket",
    "Fan",
    "Heater",
    "Toolbox",
    "Lamp",
    "Stool",
    "Cooler",
    "Sledge",
    "Bauble",
    "Bucket",
    "Charger",
    "Shelf",
    "Clamp",
)
_CATEGORIES = ("hardware", "garden", "home", "seasonal", "electrical", "kitchen")
_ZONES = ("A", "B", "C", "D")
_PATTERNS = ("flat", "christmas", "summer")


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    gtin: str
    case_gtin: str | None
    case_size: int
    category: str
    pattern: str
    weekly_demand: float
    unit_cost: float
    reorder_point: int
    reorder_qty: int
    lead_time_days: int
    safety_stock: int
    weight_g: int
    dims_mm: tuple[int, int, int]
    home: str
    """The location where its stock lives."""
    initial: int
    """Units on hand at the start of the demo."""


@dataclass(frozen=True)
class Warehouse:
    products: tuple[DemoProduct, ...]
    locations: tuple[tuple[str, str, str], ...]
    """(code, zone, name)."""
    history: tuple[tuple[str, date, int], ...]
    """(sku, week start, units shipped that week)."""

    def products_csv(self) -> bytes:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(PRODUCT_COLUMNS)
        for p in self.products:
            codes = [p.gtin] + ([f"{p.case_gtin}*{p.case_size}"] if p.case_gtin else [])
            w.writerow(
                [
                    p.sku,
                    p.name,
                    "|".join(codes),
                    p.category,
                    f"{p.unit_cost:.2f}",
                    p.weight_g,
                    *p.dims_mm,
                    p.reorder_point,
                    p.reorder_qty,
                    p.lead_time_days,
                    p.safety_stock,
                ]
            )
        return out.getvalue().encode()

    def locations_csv(self) -> bytes:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["code", "zone", "name", "gln"])
        for code, zone, name in self.locations:
            w.writerow([code, zone, name, ""])
        return out.getvalue().encode()

    def history_csv(self) -> bytes:
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["sku", "date", "quantity"])
        for sku, day, quantity in self.history:
            w.writerow([sku, day.isoformat(), quantity])
        return out.getvalue().encode()


def seasonal_factor(pattern: str, day: date) -> float:
    """Demand multiplier for ``pattern`` on ``day`` (1.0 is an average week)."""
    if pattern == "christmas":
        peak = date(day.year, 12, 10)
        distance = min(abs((day - peak).days), abs((day - peak.replace(year=day.year - 1)).days))
        return 0.5 + 3.5 * math.exp(-((distance / 18) ** 2))
    if pattern == "summer":
        return 1.0 + 0.9 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 196) / 365)
    return 1.0


def build_warehouse(
    today: date, *, products: int = 300, weeks: int = 52, seed: int = 7
) -> Warehouse:
    rng = random.Random(seed)
    locations = [
        (f"{z}-{bay:02d}", z, f"Aisle {z} bay {bay}") for z in _ZONES for bay in range(1, 11)
    ]
    locations += [("DOCK-1", "DOCK", "Receiving dock 1"), ("DOCK-2", "DOCK", "Receiving dock 2")]
    items: list[DemoProduct] = []
    for n in range(products):
        pattern = _PATTERNS[n % 3] if n % 5 else "flat"
        weekly = round(rng.uniform(5, 120), 1)
        lead = rng.choice((3, 5, 7, 14, 21))
        safety = math.ceil(weekly / 7 * lead * 0.5)
        reorder_point = math.ceil(weekly / 7 * lead) + safety
        case_size = rng.choice((6, 12, 24))
        body = f"5012345{n:05d}"
        gtin = ean13(body)
        initial = int(reorder_point * rng.uniform(0.6, 3.0))
        items.append(
            DemoProduct(
                sku=f"SKU-{n + 1:04d}",
                name=f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {n + 1}",
                gtin=gtin,
                case_gtin=gtin14(gtin, indicator=1) if n % 2 == 0 else None,
                case_size=case_size,
                category="seasonal" if pattern != "flat" else rng.choice(_CATEGORIES),
                pattern=pattern,
                weekly_demand=weekly,
                unit_cost=round(rng.uniform(0.5, 80), 2),
                reorder_point=reorder_point,
                reorder_qty=max(case_size, math.ceil(weekly * 4 / case_size) * case_size),
                lead_time_days=lead,
                safety_stock=safety,
                weight_g=rng.randint(20, 15_000),
                dims_mm=(rng.randint(20, 800), rng.randint(20, 600), rng.randint(10, 500)),
                home=locations[n % (len(locations) - 2)][0],
                initial=initial,
            )
        )
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks)
    history = []
    for p in items:
        for w in range(weeks):
            week = start + timedelta(weeks=w)
            mean = p.weekly_demand * seasonal_factor(p.pattern, week)
            history.append((p.sku, week, max(0, round(rng.gauss(mean, mean * 0.15)))))
    return Warehouse(tuple(items), tuple(locations), tuple(history))
