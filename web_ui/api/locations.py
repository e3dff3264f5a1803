"""``/api/v1/locations``: bins, aisles and docks, grouped into zones."""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal
from typing import Annotated
from typing import Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic import Field

from stock_core.domain.token import Role
from stock_core.model import LocationSpec
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.route import Page
from web_ui.api.route import PageQuery
from web_ui.api.route import id_page
from web_ui.api.route import json_response
from web_ui.api.shape import BodyModel
from web_ui.api.shape import OutModel
from web_ui.api.types import PRINTABLE
from web_ui.api.types import LocationCodeText
from web_ui.api.types import WarehouseCodeText

__all__ = ["ROUTES", "LocationCreate", "LocationLimits", "LocationOut"]

_locations = Family("locations", Role.MANAGER)

Zone = Annotated[str, Field(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]
Limit = Annotated[float, Field(ge=0, le=1e10)]
Name = Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]


class LocationCreate(BodyModel):
    code: LocationCodeText
    zone: Zone = ""
    name: Name = ""
    gln: str | None = Field(
        None,
        pattern=r"^[0-9]{13}$",
        json_schema_extra={"format": "gs1-gln"},
        description="GS1 GLN (scanned as AI 414): 13 digits whose last is a valid GS1 check "
        "digit (format gs1-gln).",
    )
    max_weight_g: Limit | None = Field(
        None, description="Most weight (grams) the location may hold; null: no limit."
    )
    max_volume_cm3: Limit | None = Field(
        None, description="Most volume (cm³) the location may hold; null: no limit."
    )
    type: Literal["storage", "quarantine"] = Field(
        "storage",
        description="storage (default) or quarantine: stock in a quarantine location is on "
        "hand but never available (no picks, reservations or backorder fills) until it is "
        "moved to a storage location; returns go to one.",
    )
    warehouse: WarehouseCodeText = Field(
        "MAIN", description="The warehouse the location belongs to (404 when none has that code)."
    )

    def to_spec(self) -> LocationSpec:
        return LocationSpec(
            code=self.code,
            zone=self.zone,
            name=self.name,
            gln=self.gln,
            max_weight_g=_decimal(self.max_weight_g),
            max_volume_cm3=_decimal(self.max_volume_cm3),
            type=self.type,
            warehouse=self.warehouse,
        )


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.001"))


class LocationLimits(BodyModel):
    """Capacity limits to set; a field left out stays, null removes the limit."""

    max_weight_g: Limit | None = Field(None, description="Grams; null: no limit.")
    max_volume_cm3: Limit | None = Field(None, description="cm³; null: no limit.")

    def changes(self) -> dict[str, Decimal | None]:
        return {name: _decimal(getattr(self, name)) for name in self.model_fields_set}


class LocationOut(OutModel):
    code: str
    warehouse: str
    zone: str
    name: str
    gln: str | None
    max_weight_g: float | None
    max_volume_cm3: float | None
    type: Literal["storage", "quarantine"]
    created_at: datetime
    updated_at: datetime


class LocationQuery(PageQuery):
    zone: str | None = Field(None, max_length=64, pattern=PRINTABLE)
    warehouse: WarehouseCodeText | None = Field(
        None, description="Only this warehouse's locations (404 when none has that code)."
    )


class CodePath(BaseModel):
    code: LocationCodeText


@_locations.get("/locations", query=LocationQuery, response=Page[LocationOut], errors=(404,))
async def list_locations(call: Call) -> web.StreamResponse:
    """List locations.

    404 when warehouse= names no warehouse.
    """
    query: LocationQuery = call.query
    fetch = functools.partial(
        call.service.list_locations, zone=query.zone, warehouse=query.warehouse
    )
    return json_response(await id_page(LocationOut, query, "location", fetch))


@_locations.post(
    "/locations", body=LocationCreate, response=LocationOut, status=201, errors=(404, 409)
)
async def create_location(call: Call) -> web.StreamResponse:
    """Create a location.

    409 when the code or the GLN is taken (location codes are unique across warehouses); 404 when
    the warehouse does not exist (POST /warehouses first).
    """
    body: LocationCreate = call.body
    view = await call.service.create_location(body.to_spec())
    return json_response(LocationOut.model_validate(view), status=201)


@_locations.get("/locations/{code:.+}", path_params=CodePath, response=LocationOut)
async def get_location(call: Call) -> web.StreamResponse:
    """One location."""
    path: CodePath = call.path
    return json_response(LocationOut.model_validate(await call.service.location(path.code)))


@_locations.patch("/locations/{code:.+}", LocationLimits, LocationOut, path_params=CodePath)
async def set_location_limits(call: Call) -> web.StreamResponse:
    """Set or remove a location's capacity limits.

    max_weight_g (grams) and max_volume_cm3; a field left out stays, null removes the limit. A limit
    below what the location holds refuses further receipts and moves into it until stock leaves.
    """
    path: CodePath = call.path
    body: LocationLimits = call.body
    view = await call.service.set_location_limits(path.code, body.changes())
    return json_response(LocationOut.model_validate(view))


ROUTES = _locations.routes
