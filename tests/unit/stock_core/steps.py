"""Generated stock steps as commands, for the property tests of batch planning."""

from __future__ import annotations

from stock_core.domain.movement import Adjust
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.types import LocationCode

__all__ = ["step_command"]


def step_command(
    kind: str, ref: ProductRef, where: LocationCode, units: int, lot: str | None = None
) -> Receive | Pick | Adjust:
    """A ``receive`` or ``pick`` of ``units``; any other kind adjusts ``units`` away."""
    if kind == "receive":
        return Receive(ref, where, units, lot=lot)
    if kind == "pick":
        return Pick(ref, where, units, lot=lot)
    return Adjust(ref, where, -units, lot=lot)
