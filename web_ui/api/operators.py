"""``/api/v1/operators``: the workers who scan (``USR:<code>``), and what they did.

``POST`` creates an operator or renames one (201 created, 200 renamed): managers keep
the list here or with ``stockd import operators FILE.csv``. ``GET
/api/v1/reports/operators?from=&to=`` counts each operator's movements and units.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel
from pydantic import Field

from stock_core.domain.operator import check_operator
from stock_core.domain.token import Role
from web_ui.api.analytics import TurnoverQuery
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.route import Page
from web_ui.api.route import PageQuery
from web_ui.api.route import checked
from web_ui.api.route import code_page
from web_ui.api.route import json_response
from web_ui.api.route import saved_response
from web_ui.api.shape import BodyModel
from web_ui.api.shape import OutModel
from web_ui.api.types import OperatorCodeText
from web_ui.csv_cell import defuse_csv

__all__ = ["ROUTES", "OperatorActivityOut", "OperatorIn", "OperatorOut"]

_operators = Family("operators", Role.MANAGER)
_reports = Family("reports", Role.MANAGER)

REPORT_COLUMNS = ("operator", "name", "movements", "units")


class OperatorIn(BodyModel):
    code: OperatorCodeText
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")


class OperatorOut(OutModel):
    code: str
    name: str
    created_at: datetime
    updated_at: datetime


class OperatorActivityOut(OutModel):
    operator: str
    name: str | None = Field(description="The operator's name; null when no longer listed.")
    movements: int = Field(
        description="Ledger rows the operator's scans or requests wrote (a move counts once)."
    )
    units: int = Field(description="Units those rows moved (the sum of |delta|).")


class OperatorQuery(PageQuery):
    cursor: str | None = Field(
        None,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="The next_cursor of the page before (an operator code: the next page "
        "starts after it); the first page without it.",
    )


class OperatorReportOut(BaseModel):
    items: list[OperatorActivityOut]


@_operators.get("/operators", query=OperatorQuery, response=Page[OperatorOut])
async def list_operators(call: Call) -> web.StreamResponse:
    """List operators (the workers who scan), by code."""
    query: OperatorQuery = call.query
    return json_response(
        await code_page(OperatorOut, query, "operator", call.service.list_operators)
    )


@_operators.post("/operators", body=OperatorIn, response=OperatorOut, status=201, errors=(200,))
async def save_operator(call: Call) -> web.StreamResponse:
    """Create an operator, or rename one.

    201 when the code is new, 200 when an operator with that code was renamed; 422 when the name is
    blank or not printable. A worker signs in on a scanner by scanning USR:<code>.
    """
    body: OperatorIn = call.body
    code, name = checked(check_operator, body.code, body.name)
    operator, created = await call.service.save_operator(code, name)
    return saved_response(OperatorOut.model_validate(operator), created)


@_reports.get("/reports/operators", query=TurnoverQuery, response=OperatorReportOut, also_csv=True)
async def operator_report(call: Call) -> web.StreamResponse:
    """Movements and units per operator over a period.

    from and to are UTC days, to included (422 when to is before from). Items: operator, name,
    movements (ledger rows written while the operator was signed in, or naming them; a move counts
    once), units (the sum of those rows' |delta|). Movements with no operator are left out.
    format=csv: the same columns as CSV.
    """
    query: TurnoverQuery = call.query
    rows = await call.service.operator_report(query.from_, query.to)
    if query.format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(REPORT_COLUMNS)
        writer.writerows((r.operator, r.name or "", r.movements, r.units) for r in rows)
        return web.Response(
            text=defuse_csv(out.getvalue(), {"movements", "units"}),
            content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="operators.csv"'},
        )
    report = OperatorReportOut(items=[OperatorActivityOut.model_validate(r) for r in rows])
    return json_response(report)


ROUTES = _operators.routes + _reports.routes
