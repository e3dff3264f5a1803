"""``/api/v1/labels/{kind}``: printable labels as PDF or ZPL (``stockd labels`` over HTTP).

The same request as the command line (:func:`stock_core.domain.labels.parse_request`),
the same labels (``StockService.labels``), the same rendering: PDF drawn in a worker
thread, so a long sheet never stalls the event loop, or ZPL as UTF-8 text.
"""

from __future__ import annotations

import asyncio
from datetime import UTC
from datetime import date
from datetime import datetime
from typing import Any
from typing import Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import JsonValue

from stock_core.domain.labels import DPIS
from stock_core.domain.labels import MAX_LABELS
from stock_core.domain.labels import SIZES
from stock_core.domain.labels import SYMBOLS
from stock_core.domain.labels import LabelFormat
from stock_core.domain.labels import parse_request
from stock_core.domain.labels import zpl
from stock_core.domain.token import Role
from stock_core.label_pdf import render_pdf
from web_ui.api.route import API
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.types import PRINTABLE
from web_ui.api.types import ShortText

__all__ = ["ROUTES", "LabelQuery", "document_zpl"]

_labels = Family("labels", Role.MANAGER, prefix="")

PATH = f"{API}/labels/{{kind}}"
PDF = "application/pdf"
ZPL = "text/plain"
_SIZES: list[JsonValue] = list(SIZES)
_SYMBOLS: list[JsonValue] = [*sorted({name for names in SYMBOLS.values() for name in names})]
_DPIS: list[JsonValue] = list(DPIS)


class KindPath(BaseModel):
    kind: Literal["locations", "products", "commands"]


class LabelQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["pdf", "zpl"] = Field(
        "pdf", description="pdf, or zpl for Zebra label printers (one ^XA…^XZ per label)."
    )
    size: str | None = Field(
        None,
        json_schema_extra={"enum": _SIZES},
        description="a4 or letter (sheets of 3 × 7 and 3 × 10 labels; PDF only), 100x50 or "
        "57x32 (mm, one label per page). Default: a4 for PDF, 100x50 for ZPL.",
    )
    symbol: str | None = Field(
        None,
        json_schema_extra={"enum": _SYMBOLS},
        description="Locations and commands: code128 (default), datamatrix or qr. "
        "Products: gtin (default: EAN-8, UPC-A, EAN-13 or ITF-14 by the GTIN), gs1-128 "
        "(default with lot or expiry) or gs1-datamatrix.",
    )
    zone: ShortText | None = Field(
        None, description="Only the locations of this zone; for products, those in stock there."
    )
    codes: str | None = Field(
        None,
        min_length=1,
        max_length=8000,
        pattern=PRINTABLE,
        description="Comma-separated location codes, SKUs, or commands (PICK, QTY:12).",
    )
    lot: str | None = Field(
        None,
        min_length=1,
        max_length=20,
        pattern=r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+$",
        description="Products: the lot (GS1 AI 10).",
    )
    expiry: date | None = Field(None, description="Products: the expiry date (GS1 AI 17).")
    dpi: int = Field(
        203, json_schema_extra={"enum": _DPIS}, description="ZPL: the printer's dots per inch."
    )


def document_zpl(document: dict[str, Any]) -> dict[str, Any]:
    """Add the ZPL answer to the labels operation of the OpenAPI ``document``.

    The route table declares one media type per route (here the PDF); this route
    answers ``text/plain`` as well, with ``format=zpl``.
    """
    content = document["paths"][PATH]["get"]["responses"]["200"]["content"]
    content[PDF] = {"schema": {"type": "string", "contentMediaType": PDF}}
    content[ZPL] = {"schema": {"type": "string"}}
    return document


@_labels.get(
    PATH,
    path_params=KindPath,
    query=LabelQuery,
    media_type=PDF,
    errors=(404,),
    description="PDF (application/pdf) or, with format=zpl, ZPL (text/plain; charset "
    "utf-8). Every label scans back as a code the gateway reads. 404 for an unknown "
    "location code, SKU or zone; 422 for a selection that cannot be printed as asked "
    f"(a product without a unit GTIN, a ZPL sheet size, more than {MAX_LABELS} labels).",
)
async def get_labels(call: Call) -> web.StreamResponse:
    """Printable labels: LOC: bins, product GTINs, the CMD:/QTY: command sheet."""
    path: KindPath = call.path
    query: LabelQuery = call.query
    request = parse_request(
        path.kind,
        **query.model_dump(exclude={"codes"}),  # the query's names are parse_request's
        codes=() if query.codes is None else query.codes.split(","),
        reference_year=datetime.now(UTC).year,
    )
    labels = await call.service.labels(request)
    name = f"labels-{path.kind}"
    if request.format is LabelFormat.ZPL:
        return web.Response(
            text=zpl(labels, request.size, request.dpi),
            content_type=ZPL,
            headers={"Content-Disposition": f'attachment; filename="{name}.zpl"'},
        )
    pdf = await asyncio.to_thread(render_pdf, labels, request.size, title=f"stockd {name}")
    return web.Response(
        body=pdf,
        content_type=PDF,
        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
    )


ROUTES = _labels.routes
