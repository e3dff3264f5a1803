"""The vocabulary of stockd: one frozen type per concept.

Shells (the gateway, the web UI, the CLI) take these from ``stock_core.service`` and
hand them back; they never import ``stock_core.store``. Commands and rules live in
``stock_core.domain`` (``domain.movement`` holds the movement commands and
``MovementRecord``, a ledger row).
"""

from __future__ import annotations

from stock_core.model.alert import Alert
from stock_core.model.catalog import Barcode, Location, LocationSpec, Product, ProductSpec
from stock_core.model.feed import FeedEvent
from stock_core.model.movement import MovementFilter
from stock_core.model.operator import Operator, OperatorActivity
from stock_core.model.order import Backorder, Order, OrderLine, PurchaseOrder, PurchaseOrderLine
from stock_core.model.scanner import GatewayState, ScannerState, ScannerView, SpoolException
from stock_core.model.serial import SerialView
from stock_core.model.stock import LocationStock, ProductStock, StockLevel, StockRow
from stock_core.model.token import Token, TokenStatus
from stock_core.model.warehouse import (
    Transfer,
    TransferLine,
    TransferLot,
    Warehouse,
    WarehouseStock,
)
from stock_core.model.webhook import Delivery, DeliveryAttempt, DueDelivery, Endpoint, Webhook

__all__ = [
    "Alert",
    "Backorder",
    "Barcode",
    "Delivery",
    "DeliveryAttempt",
    "DueDelivery",
    "Endpoint",
    "FeedEvent",
    "GatewayState",
    "Location",
    "LocationSpec",
    "LocationStock",
    "MovementFilter",
    "Operator",
    "OperatorActivity",
    "Order",
    "OrderLine",
    "Product",
    "ProductSpec",
    "ProductStock",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "ScannerState",
    "ScannerView",
    "SerialView",
    "SpoolException",
    "StockLevel",
    "StockRow",
    "Token",
    "TokenStatus",
    "Transfer",
    "TransferLine",
    "TransferLot",
    "Warehouse",
    "WarehouseStock",
    "Webhook",
]
