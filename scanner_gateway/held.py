"""The lines a scanner session holds uncommitted: a count's tally or a move's items.

One line per product ref and lot, in first-scanned order; a line's quantity is
1..``MAX_QUANTITY``. A serial-tracked product's line names its serials, each once, and
its quantity is their number. Pure values: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from datetime import date

from stock_core.domain.movement import MAX_QUANTITY
from stock_core.domain.movement import Line
from stock_core.domain.movement import ProductRef
from stock_core.types import Sku

__all__ = ["HeldLines", "line_json", "line_of_json"]


class HeldLines:
    """Held lines, summed per product ref and lot."""

    def __init__(self, lines: Iterable[Line] = ()) -> None:
        self._lines: dict[tuple[ProductRef, str | None], Line] = {}
        for line in lines:
            self._lines[(line.product, line.lot)] = line

    def __bool__(self) -> bool:
        return bool(self._lines)

    def __len__(self) -> int:
        return len(self._lines)

    @property
    def lines(self) -> tuple[Line, ...]:
        return tuple(self._lines.values())

    def add(self, product: ProductRef, quantity: int, lot: str | None, expiry: date | None) -> int:
        """Add ``quantity`` to the line of ``product`` and ``lot``; answer its total.

        A line keeps the first expiry scanned for it. Past ``MAX_QUANTITY`` nothing
        changes and the answer is the total it would have been.
        """
        key = (product, lot)
        held = self._lines.get(key)
        total = quantity + (0 if held is None else held.quantity)
        if total <= MAX_QUANTITY:
            first = expiry if held is None or held.expiry is None else held.expiry
            kept = () if held is None else held.serials
            self._lines[key] = Line(product, total, lot, first, serials=kept)
        return total

    def add_serial(
        self, product: ProductRef, serial: str, lot: str | None, expiry: date | None
    ) -> int | None:
        """Add one unit with ``serial`` to the line of ``product`` and ``lot``; answer its
        total, or ``None`` (changing nothing) when the line has that serial already."""
        key = (product, lot)
        held = self._lines.get(key)
        if held is None:
            self._lines[key] = Line(product, 1, lot, expiry, serials=(serial,))
            return 1
        if serial in held.serials:
            return None
        first = held.expiry if held.expiry is not None else expiry
        self._lines[key] = Line(
            product, held.quantity + 1, lot, first, serials=(*held.serials, serial)
        )
        return held.quantity + 1

    def clear(self) -> None:
        self._lines.clear()


def line_json(line: Line) -> dict[str, object]:
    """A held line as JSON-ready values."""
    return {
        "product": str(line.product),
        "sku": line.product.sku,
        "barcode": line.product.barcode,
        "quantity": line.quantity,
        "lot": line.lot,
        "expiry": None if line.expiry is None else line.expiry.isoformat(),
        "serials": list(line.serials),
    }


def line_of_json(held: object) -> Line:
    """A held line from what :func:`line_json` made.

    Raises :class:`KeyError`, :class:`TypeError` or :class:`ValueError` for anything else.
    """
    if not isinstance(held, Mapping):
        raise TypeError(f"pending line {held!r}")
    sku, barcode = held.get("sku"), held.get("barcode")
    quantity, lot, expiry = held["quantity"], held.get("lot"), held.get("expiry")
    serials = held.get("serials") or []
    if not isinstance(serials, list) or not all(isinstance(s, str) for s in serials):
        raise TypeError(f"serials {serials!r}")
    if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:
        raise ValueError(f"quantity {quantity!r}")
    if not isinstance(lot, str | None) or not isinstance(expiry, str | None):
        raise TypeError(f"lot {lot!r}, expiry {expiry!r}")
    if not isinstance(sku, str | None) or not isinstance(barcode, str | None):
        raise TypeError(f"sku {sku!r}, barcode {barcode!r}")
    if (sku is None) == (barcode is None):
        raise ValueError("a held line names its product by sku or by barcode")
    product = ProductRef(sku=None if sku is None else Sku(sku), barcode=barcode)
    return Line(
        product,
        quantity,
        lot,
        None if expiry is None else date.fromisoformat(expiry),
        serials=tuple(serials),
    )
