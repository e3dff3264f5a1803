"""Open routes: health, metrics, the OpenAPI document, the reference page, problem types."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from typing import Literal

from aiohttp import web
from pydantic import BaseModel
from pydantic import Field
from pydantic import RootModel

from web_ui import metrics
from web_ui.api.route import API
from web_ui.api.route import Call
from web_ui.api.route import Family
from web_ui.api.route import json_response
from web_ui.keys import SERVICE
from web_ui.problem import PROBLEMS
from web_ui.problem import ProblemError
from web_ui.problem import problem_type

__all__ = [
    "DOCUMENT",
    "PROBLEM_DESCRIPTIONS",
    "ROUTES",
    "Health",
    "ProblemTypeOut",
    "SpoolHealth",
]

_system = Family("system", None, prefix="")

DOCUMENT: web.AppKey[dict[str, Any]] = web.AppKey("openapi_document", dict)
DOCS_PAGE = Path(__file__).resolve().parent.parent / "static" / "docs" / "index.html"

PROBLEM_DESCRIPTIONS: dict[str, str] = {
    "bad-request": "The request could not be read: the body is not JSON, or a required "
    "header (such as Idempotency-Key) is missing or malformed. Fix the request; "
    "nothing changed.",
    "unauthorized": "Send Authorization: Bearer <token> with a token that exists and is "
    "neither revoked nor expired (stockd token create prints one).",
    "forbidden": "The token is valid, but its role may not do this. Roles: admin > manager > "
    "worker > display; each operation names the least role it needs.",
    "not-found": "No resource has that identifier.",
    "method-not-allowed": "The resource exists but does not answer this HTTP method.",
    "conflict": "The request conflicts with what exists (a SKU, location code, GLN or "
    "barcode already taken). Nothing changed.",
    "request-timeout": "The request body did not arrive within the server's body timeout "
    "(web.body_timeout_s); send it again, at a usable speed.",
    "payload-too-large": "Request bodies are limited to web.max_body_bytes (1 MiB unless "
    "the operator changed it).",
    "unsupported-media-type": "Send the body as application/json.",
    "validation-error": "The query or body is well-formed but not valid; `errors` lists each "
    "problem with its location.",
    "insufficient-stock": "A pick, move or negative adjustment asked for more than is "
    "available at the location; `shortfall` says by how much. Nothing changed.",
    "unknown-product": "No product has that SKU or barcode.",
    "unknown-location": "No location has that code or GLN.",
    "invalid-movement": "The movement breaks a rule (quantity out of range, a move to the same "
    "location, a zero adjustment ...).",
    "nothing-to-undo": "There is no movement left to reverse.",
    "count-below-reserved": "A count is below what is reserved for orders; release the "
    "reservations first.",
    "idempotency-conflict": "This Idempotency-Key was already used with a different request. "
    "Use a new key for a new request; nothing changed.",
    "unknown-operator": "No operator has that code (stockd import operators, POST "
    "/api/v1/operators). Nothing changed.",
    "unknown-reason": "A return or scrap names a reason that is not on the configured list "
    "([stock] reasons); `allowed` lists them. Nothing changed.",
    "quarantined-stock": "The location is a quarantine location: its stock is on hand but "
    "never available. Move it to a storage location first. Nothing changed.",
    "not-quarantine": "A return must go to a quarantine location; this one is storage. "
    "Nothing changed.",
    "serial-conflict": "A serial is in one place at a time: it is already in stock (or in "
    "transit), or it is not at the location it is taken from; `serial_status` and `location` say "
    "where it is. Nothing changed.",
    "tracking-required": "The movement does not fit the product's tracking: a serial-tracked "
    "product moves by `serials` (one unit each), a lot-tracked product is received with a "
    "`lot`, and only a serial-tracked product takes serials. Nothing changed.",
    "unknown-warehouse": "No warehouse has that code (GET /api/v1/warehouses lists them). "
    "Nothing changed.",
    "wrong-warehouse": "The location is in another warehouse than the one meant (a transfer's "
    "origin or destination, or the scanner's warehouse); `warehouse` names where it is. "
    "Nothing changed.",
    "unknown-transfer": "No transfer has that number.",
    "not-in-transit": "A transfer receipt asks for more of a product than is still on its way "
    "on that transfer (or the product is not on it); `in_transit` says how much is. "
    "Nothing changed.",
    "rejected": "The request was refused; `detail` says why. Nothing changed.",
    "database-unavailable": "PostgreSQL cannot be reached just now; retry later (with the "
    "same Idempotency-Key for writes).",
    "busy": "The server has no capacity for this request just now (every database "
    "connection of this web node is in use, or too many feed connections or CSV exports "
    "are open); nothing changed. Retry after the Retry-After seconds, with the same "
    "Idempotency-Key for writes.",
    "internal-error": "An unexpected error; it was logged on the server.",
}


class SpoolHealth(BaseModel):
    """A gateway's spool: scans taken while PostgreSQL was away, waiting to be replayed."""

    gateway: str
    depth: int = Field(description="records waiting to be replayed")
    size_bytes: int
    cap_bytes: int
    oldest_age_s: float | None = Field(description="age of the oldest record waiting")
    replaying: bool
    quarantined: int = Field(description="damaged stretches kept aside, each reported")
    alarm: bool = Field(description="at or past 80 % of the cap")
    full: bool = Field(description="scans are being refused for want of room")
    updated_at: datetime


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["ok", "unavailable"]
    spools: list[SpoolHealth] = Field(
        default_factory=list,
        description="each gateway's spool (a gateway in this process even while the "
        "database is away); degraded when one is full",
    )


class ProblemTypeOut(BaseModel):
    type: str
    title: str
    status: int
    description: str


class OpenApiDocument(RootModel[dict[str, Any]]):
    """The OpenAPI 3.1 document itself."""


class ProblemPath(BaseModel):
    name: str = Field(pattern=r"^[a-z][a-z-]{0,63}$")


@_system.get("/healthz", response=Health, status=200, errors=(503,), database=False)
async def healthz(call: Call) -> web.StreamResponse:
    """Liveness and database reachability."""
    up = await call.request.app[SERVICE].ping()
    spools = [
        SpoolHealth(gateway=g.name, updated_at=g.updated_at, **g.spool)
        for g in await metrics.gateway_states(call.request.app, up)
    ]
    ok = up and not any(s.full for s in spools)
    health = Health(
        status="ok" if ok else "degraded",
        database="ok" if up else "unavailable",
        spools=spools,
    )
    return json_response(health, status=200 if up else 503)


@_system.get("/metrics", media_type="text/plain", database=False)
async def metrics_text(call: Call) -> web.StreamResponse:
    """Prometheus metrics (text exposition format)."""
    body = await metrics.render(call.request.app)
    return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})


@_system.get(f"{API}/openapi.json", response=OpenApiDocument, database=False)
async def openapi_json(call: Call) -> web.StreamResponse:
    """This OpenAPI 3.1 document."""
    return web.json_response(call.request.app[DOCUMENT])


@_system.get(f"{API}/docs", media_type="text/html", database=False)
async def docs_page(call: Call) -> web.StreamResponse:
    """A readable API reference (HTML, served locally)."""
    return web.FileResponse(DOCS_PAGE, headers={"Content-Type": "text/html; charset=utf-8"})


@_system.get("/problems/{name}", path_params=ProblemPath, response=ProblemTypeOut, database=False)
async def problem_description(call: Call) -> web.StreamResponse:
    """What a problem type means."""
    path: ProblemPath = call.path
    known = PROBLEMS.get(path.name)
    if known is None:
        raise ProblemError("not-found", f"no problem type {path.name}")
    status, title = known
    described = ProblemTypeOut(
        type=problem_type(path.name),
        title=title,
        status=status,
        description=PROBLEM_DESCRIPTIONS.get(path.name, title),
    )
    return json_response(described)


ROUTES = _system.routes
