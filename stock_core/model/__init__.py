"""The vocabulary of stockd: one frozen type per concept.

Shells (the gateway, the web UI, the CLI) take these from ``stock_core.service`` and
hand them back; they never import ``stock_core.store``. Commands and rules live in
``stock_core.domain`` (``domain.movement`` holds the movement commands and
``MovementRecord``, a ledger row).
"""

from __future__ import annotations

from stock_core.model.alert import Alert
from stock_core.model.catalog import Barcode
from stock_core.model.catalog import Location
from stock_core.model.catalog import LocationSpec
from stock_core.model.catalog import Product
from stock_core.model.catalog import ProductFigures
from stock_core.model.catalog import ProductSpec
from stock_core.model.feed import FeedEvent
from stock_core.model.movement import MovementFilter
from stock_core.model.operator import Operator
from stock_core.model.operator import OperatorActivity
from stock_core.model.order import Backorder
from stock_core.model.order import Order
from stock_core.model.order import OrderLine
from stock_core.model.order import PurchaseOrder
from stock_core.model.order import PurchaseOrderLine
from stock_core.model.scanner import GatewayState
from stock_core.model.scanner import ScannerState
from stock_core.model.scanner import ScannerView
from stock_core.model.scanner import SpoolException
from stock_core.model.serial import SerialView
from stock_core.model.stock import LocationStock
from stock_core.model.stock import ProductStock
from stock_core.model.stock import StockLevel
from stock_core.model.stock import StockRow
from stock_core.model.token import Token
from stock_core.model.token import TokenStatus
from stock_core.model.warehouse import Transfer
from stock_core.model.warehouse import TransferLine
from stock_core.model.warehouse import TransferLot
from stock_core.model.warehouse import Warehouse
from stock_core.model.warehouse import WarehouseStock
from stock_core.model.webhook import Delivery
from stock_core.model.webhook import DeliveryAttempt
from stock_core.model.webhook import DueDelivery
from stock_core.model.webhook import Endpoint
from stock_core.model.webhook import Webhook

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
    "ProductFigures",
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
