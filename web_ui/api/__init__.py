"""The HTTP API: ``/api/v1`` plus the open ``/healthz``, ``/metrics`` and ``/problems``.

Each route family is a module with a ``ROUTES`` tuple (see :mod:`web_ui.api.route`),
most declared on their handlers with a :class:`~web_ui.api.route.Family`.
:data:`FAMILIES` is the one list of them: it is registered on the app and documented
in ``/api/v1/openapi.json``. A new family (orders, backorders, purchase orders,
forecasts, reports) is a new module with its ``ROUTES``, added to :data:`FAMILIES`.
"""

from __future__ import annotations

from aiohttp import web

from web_ui import metrics
from web_ui.api import alerts
from web_ui.api import analytics
from web_ui.api import availability
from web_ui.api import count_tasks
from web_ui.api import labels
from web_ui.api import locations
from web_ui.api import movements
from web_ui.api import operators
from web_ui.api import orders
from web_ui.api import products
from web_ui.api import scanners
from web_ui.api import serials
from web_ui.api import spool
from web_ui.api import stock
from web_ui.api import system
from web_ui.api import tokens
from web_ui.api import transfers
from web_ui.api import warehouses
from web_ui.api import webhooks
from web_ui.api.route import Route
from web_ui.api.route import add_routes
from web_ui.openapi import build_document

__all__ = ["FAMILIES", "all_routes", "setup"]

FAMILIES: tuple[tuple[Route, ...], ...] = (
    system.ROUTES,
    products.ROUTES,
    locations.ROUTES,
    stock.ROUTES,
    movements.ROUTES,
    serials.ROUTES,
    scanners.ROUTES,
    alerts.ROUTES,
    spool.ROUTES,
    tokens.ROUTES,
    orders.ROUTES,
    analytics.ROUTES,
    labels.ROUTES,
    availability.ROUTES,
    webhooks.ROUTES,
    count_tasks.ROUTES,
    operators.ROUTES,
    warehouses.ROUTES,
    transfers.ROUTES,
)


def all_routes() -> list[Route]:
    return [route for family in FAMILIES for route in family]


def setup(app: web.Application) -> None:
    routes = all_routes()
    metrics.setup(app)
    document = labels.document_zpl(build_document(routes))
    app[system.DOCUMENT] = document
    add_routes(app, routes, document)
