"""The floor display page at ``/``: static files, no build step, nothing from the internet."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

__all__ = ["setup"]


def setup(app: web.Application, static: Path) -> None:
    index = static / "index.html"

    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.router.add_get("/", page)
    app.router.add_static("/static/", static, show_index=False)
