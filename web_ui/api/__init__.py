"""The manager HTTP API under ``/api/v1``."""

from __future__ import annotations

from aiohttp import web

from web_ui.keys import SERVICE

__all__ = ["setup"]


async def healthz(request: web.Request) -> web.Response:
    """Liveness and database reachability; no token needed."""
    database = "ok" if await request.app[SERVICE].ping() else "unavailable"
    status = 200 if database == "ok" else 503
    return web.json_response(
        {"status": "ok" if status == 200 else "degraded", "database": database}, status=status
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
