"""What a product scan names, and what it posts in a mode that posts one.

RECEIVE, PICK, RETURN and SCRAP post a ledger command for each product scan (the
session's mode table names its class; with a transfer current, a receive receives
against it and a pick ships against it); the session checks the operator, the reason
and the quantity first. Pure values: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from scanner_gateway.decoded import ProductScan
from stock_core.domain.movement import Command as MovementCommand
from stock_core.domain.movement import Line
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.movement import ReceiveTransfer
from stock_core.domain.movement import Return
from stock_core.domain.movement import Scrap
from stock_core.domain.movement import ShipTransfer
from stock_core.errors import TrackingError
from stock_core.types import LocationCode
from stock_core.types import OrderNumber
from stock_core.types import PurchaseOrderNumber
from stock_core.types import ReasonCode
from stock_core.types import Sku
from stock_core.types import TransferNumber

__all__ = ["Carried", "Posting", "command_for", "product_of", "wants_serials"]


Posting = type[Receive] | type[Pick] | type[Return] | type[Scrap]
"""The ledger command a product scan posts, by its class."""


def wants_serials(outcome: object) -> bool:
    """Whether a post's outcome is the store saying its product is serial-tracked and the
    scan named no serial (the session then waits for ``SN:``)."""
    return isinstance(outcome, TrackingError) and outcome.wants_serials is True


def product_of(scan: ProductScan) -> ProductRef | None:
    """The product ``scan`` names: by SKU, else by its GTIN or alias; None if neither."""
    if scan.sku:
        return ProductRef(sku=Sku(scan.sku))
    if scan.gtin or scan.alias:
        return ProductRef(barcode=scan.gtin or scan.alias)
    return None


@dataclass(frozen=True)
class Carried:
    """What a session's postings carry besides their line: the order a pick picks, the
    purchase order a receive receives, the transfer either ships or receives against
    (instead of the order or PO), and the reason of a return or scrap."""

    order: OrderNumber | None = None
    purchase_order: PurchaseOrderNumber | None = None
    transfer: TransferNumber | None = None
    reason: ReasonCode | None = None


def command_for(
    posting: Posting, line: Line, location: LocationCode, carried: Carried
) -> MovementCommand:
    """The command posting ``line`` (its product, quantity, lot, expiry and serials) at
    ``location``; a receive carries the purchase order, a pick the order, and a return
    or scrap the reason (which must then be set). With a transfer a receive receives
    against it and a pick ships against it."""
    product, quantity, lot, serials = line.product, line.quantity, line.lot, line.serials
    transfer, reason = carried.transfer, carried.reason
    if transfer is not None and posting is Receive:
        return ReceiveTransfer(transfer, location, (line,))
    if transfer is not None and posting is Pick:
        return ShipTransfer(transfer, location, (line,))
    if posting is Receive:
        return Receive(
            product,
            location,
            quantity,
            lot=lot,
            expiry=line.expiry,
            purchase_order=carried.purchase_order,
            serials=serials,
        )
    if posting is Pick:
        return Pick(product, location, quantity, lot=lot, order=carried.order, serials=serials)
    assert reason is not None  # the session asks for one first
    if posting is Return:
        return Return(
            product, location, quantity, reason, lot=lot, expiry=line.expiry, serials=serials
        )
    return Scrap(product, location, quantity, reason, lot=lot, serials=serials)
