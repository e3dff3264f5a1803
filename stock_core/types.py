"""Identifier types shared across stockd."""

from __future__ import annotations

from typing import NewType

__all__ = [
    "ActorName",
    "Gtin",
    "IdempotencyKey",
    "LocationCode",
    "MovementId",
    "OperatorCode",
    "OrderNumber",
    "PurchaseOrderNumber",
    "ReasonCode",
    "ScannerId",
    "Sku",
    "TransferNumber",
    "WarehouseCode",
]

Sku = NewType("Sku", str)
Gtin = NewType("Gtin", str)
"""A GTIN normalised to 14 digits (check digit verified)."""
LocationCode = NewType("LocationCode", str)
ScannerId = NewType("ScannerId", str)
IdempotencyKey = NewType("IdempotencyKey", str)
MovementId = NewType("MovementId", int)
OrderNumber = NewType("OrderNumber", str)
PurchaseOrderNumber = NewType("PurchaseOrderNumber", str)
ActorName = NewType("ActorName", str)
OperatorCode = NewType("OperatorCode", str)
"""A worker's badge code (``USR:<code>``)."""
ReasonCode = NewType("ReasonCode", str)
"""A return or scrap reason from the configured list, in lower case (``damaged``)."""
TransferNumber = NewType("TransferNumber", str)
"""A transfer between warehouses (``TRF:<number>``)."""
WarehouseCode = NewType("WarehouseCode", str)
