"""The live feed at ``/feed`` (being written)."""

from __future__ import annotations

from aiohttp import web

__all__ = ["close_all", "setup"]


def setup(app: web.Application) -> None:
    pass


async def close_all(app: web.Application) -> None:
    pass
