"""The pages in the browser: static files, no build step, nothing from the internet.

Each page is one folder under ``web_ui/static/`` (STYLE, "Pages in the browser") with
its ``index.html``, served at the page's URL; everything under ``static/`` (the pages'
scripts and styles, the shared ``api.js`` and ``feed.js``, the vendored libraries in
``vendor/``) is served at ``/static/``. A page's URL that ends in ``/`` answers without
it too (a redirect), so ``/manage`` finds the console.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler

__all__ = ["PAGES", "setup"]

PAGES: dict[str, str] = {
    "/": "floor",
    "/manage/": "manage",
    "/scan/": "scan",
}
"""URL → folder under ``static/`` holding the page's ``index.html``."""


def _serve(index: Path) -> Handler:
    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(index, headers={"Cache-Control": "no-cache"})

    return page


def _redirect(to: str) -> Handler:
    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPPermanentRedirect(
            to + (f"?{request.query_string}" if request.query_string else "")
        )

    return redirect


def setup(app: web.Application, static: Path) -> None:
    for url, folder in PAGES.items():
        app.router.add_get(url, _serve(static / folder / "index.html"))
        if url != "/" and url.endswith("/"):
            app.router.add_get(url.rstrip("/"), _redirect(url))
    app.router.add_static("/static/", static, show_index=False)
