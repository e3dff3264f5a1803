"""``/api/v1/products``: the product master (barcodes with pack sizes, weight,
dimensions, reorder settings)."""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal
from typing import Annotated
from typing import Any
from typing import Literal

from aiohttp import web
from pydantic import Field
from pydantic import model_validator
from pydantic.json_schema import SkipJsonSchema

from stock_core.domain.catalog import MAX_LEAD_TIME_DAYS
from stock_core.domain.gtin import is_valid_gtin
from stock_core.domain.gtin import normalize_gtin
from stock_core.domain.movement import MAX_QUANTITY
from stock_core.domain.token import Role
from stock_core.model import Barcode
from stock_core.model import ProductSpec
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.route import Page
from web_ui.api.route import PageQuery
from web_ui.api.route import id_page
from web_ui.api.route import json_response
from web_ui.api.shape import BodyModel
from web_ui.api.shape import OutModel
from web_ui.api.shape import SkuPath
from web_ui.api.types import MAX_INT
from web_ui.api.types import PRINTABLE
from web_ui.api.types import Grams
from web_ui.api.types import Millimetres
from web_ui.api.types import Money
from web_ui.api.types import Text

__all__ = ["ROUTES", "BarcodeIn", "ProductCreate", "ProductOut", "ProductUpdate"]

_products = Family("products", Role.MANAGER)

_CODE = r"^[\x21-\x29\x2b-\x7b\x7d\x7e]{1,128}$"
"""Visible ASCII except ``*`` and ``|`` (the CSV's pack and list separators)."""

Count = Annotated[int, Field(ge=0, le=MAX_INT)]
LeadTime = Annotated[
    int,
    Field(
        ge=0,
        le=MAX_LEAD_TIME_DAYS,
        description="Days from ordering to receiving (at most ten years).",
    ),
]
NewSku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][\w.-]{0,63}$")]
Category = Annotated[str, Field(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]
Tracking = Literal["none", "lot", "serial"]
_TRACKING_DOC = (
    "none; lot (received with a lot); serial (one unit per serial: movements name "
    "`serials`). It changes only while the product has no stock (409)."
)


class BarcodeIn(BodyModel):
    code: str = Field(
        pattern=_CODE,
        json_schema_extra={"format": "stockd-barcode"},
        description="A GTIN (any length, stored as 14 digits) or an alias code (format "
        "stockd-barcode): digits of a GTIN's length (8, 12, 13 or 14) are a GTIN and need a "
        "valid GS1 check digit; anything else is an alias.",
    )
    pack_size: int = Field(1, ge=1, le=MAX_QUANTITY, description="Units one scan of it counts.")


class BarcodeOut(OutModel):
    code: str
    pack_size: int


class ProductCreate(BodyModel):
    sku: NewSku
    name: Text
    category: Category = ""
    unit_cost: Money = Decimal(0)
    weight_g: Grams | None = None
    length_mm: Millimetres | None = None
    width_mm: Millimetres | None = None
    height_mm: Millimetres | None = None
    reorder_point: Count = 0
    reorder_qty: Count = 0
    lead_time_days: LeadTime = 0
    safety_stock: Count = 0
    backorder_allowed: bool = Field(
        True, description="Orders may wait for what cannot be reserved; false refuses them."
    )
    barcodes: list[BarcodeIn] = Field(default_factory=list, max_length=100)
    tracking: Tracking = Field("none", description=_TRACKING_DOC)

    def to_spec(self) -> ProductSpec:
        values = self.model_dump(exclude={"barcodes"})
        return ProductSpec(**values, barcodes=_barcodes(self.barcodes))


_NOT_NULL = frozenset(
    {
        "name",
        "category",
        "unit_cost",
        "reorder_point",
        "reorder_qty",
        "lead_time_days",
        "safety_stock",
        "backorder_allowed",
        "barcodes",
        "tracking",
    }
)


class ProductUpdate(BodyModel):
    """Only the fields given change; ``barcodes``, when given, replace every barcode."""

    name: Text | SkipJsonSchema[None] = None
    category: Category | SkipJsonSchema[None] = None
    unit_cost: Money | SkipJsonSchema[None] = None
    weight_g: Grams | None = None
    length_mm: Millimetres | None = None
    width_mm: Millimetres | None = None
    height_mm: Millimetres | None = None
    reorder_point: Count | SkipJsonSchema[None] = None
    reorder_qty: Count | SkipJsonSchema[None] = None
    lead_time_days: LeadTime | SkipJsonSchema[None] = None
    safety_stock: Count | SkipJsonSchema[None] = None
    backorder_allowed: bool | SkipJsonSchema[None] = None
    barcodes: Annotated[list[BarcodeIn], Field(max_length=100)] | SkipJsonSchema[None] = None
    tracking: Tracking | SkipJsonSchema[None] = Field(None, description=_TRACKING_DOC)

    @model_validator(mode="after")
    def _no_nulls(self) -> ProductUpdate:
        nulls = [
            n for n in sorted(_NOT_NULL) if n in self.model_fields_set and getattr(self, n) is None
        ]
        if nulls:
            raise ValueError(f"cannot be null: {', '.join(nulls)}")
        return self

    def changes(self) -> dict[str, Any]:
        found: dict[str, Any] = {n: getattr(self, n) for n in self.model_fields_set}
        if self.barcodes is not None:
            found["barcodes"] = _barcodes(self.barcodes)
        return found


class ProductOut(OutModel):
    sku: str
    name: str
    category: str
    unit_cost: float
    weight_g: float | None
    length_mm: float | None
    width_mm: float | None
    height_mm: float | None
    reorder_point: int
    reorder_qty: int
    lead_time_days: int
    safety_stock: int
    backorder_allowed: bool
    tracking: Tracking
    barcodes: list[BarcodeOut]
    created_at: datetime
    updated_at: datetime


def _barcodes(barcodes: list[BarcodeIn]) -> tuple[Barcode, ...]:
    """The barcodes, each once: a code given again with the same pack size (``00012345``
    and ``0000000012345`` are one GTIN) is the same barcode. Given with two pack sizes, it
    is refused (422)."""
    kept: dict[tuple[str, int], Barcode] = {}
    for b in barcodes:
        same = b.code
        if same.isdigit() and len(same) in (8, 12, 13, 14) and is_valid_gtin(same):
            same = normalize_gtin(same)
        kept.setdefault((same, b.pack_size), Barcode(b.code, b.pack_size))
    return tuple(kept.values())


class ProductQuery(PageQuery):
    category: str | None = Field(None, max_length=100, pattern=PRINTABLE)


@_products.get("/products", query=ProductQuery, response=Page[ProductOut])
async def list_products(call: Call) -> web.StreamResponse:
    """List products."""
    query: ProductQuery = call.query
    fetch = functools.partial(call.service.list_products, category=query.category)
    return json_response(await id_page(ProductOut, query, "product", fetch))


@_products.post("/products", body=ProductCreate, response=ProductOut, status=201, errors=(409,))
async def create_product(call: Call) -> web.StreamResponse:
    """Create a product.

    409 when the SKU or one of the barcodes is taken. A barcode given twice with the same pack size
    counts once; 422 when one is given with two pack sizes.
    """
    body: ProductCreate = call.body
    view = await call.service.create_product(body.to_spec())
    return json_response(ProductOut.model_validate(view), status=201)


@_products.get("/products/{sku:.+}", path_params=SkuPath, response=ProductOut)
async def get_product(call: Call) -> web.StreamResponse:
    """One product."""
    path: SkuPath = call.path
    return json_response(ProductOut.model_validate(await call.service.product(path.sku)))


@_products.patch(
    "/products/{sku:.+}", ProductUpdate, ProductOut, path_params=SkuPath, errors=(409,)
)
async def update_product(call: Call) -> web.StreamResponse:
    """Change some fields of a product.

    Fields not given stay as they are; barcodes, when given, replace all; 409 when tracking changes
    while the product has stock. A barcode given twice with the same pack size counts once; 422 when
    one is given with two pack sizes.
    """
    path: SkuPath = call.path
    body: ProductUpdate = call.body
    view = await call.service.update_product(path.sku, body.changes())
    return json_response(ProductOut.model_validate(view))


ROUTES = _products.routes
