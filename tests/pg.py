"""Real PostgreSQL for tests: ``DATABASE_URL`` when set, else one embedded server.

A migrated template database is made once per test session; each test gets a fresh
copy (``CREATE DATABASE … TEMPLATE``), dropped afterwards.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from stock_core.store.database import embedded_url
from stock_core.store.migrate import migrate

__all__ = ["PgCluster", "fresh_database", "start_cluster"]


def _with_database(url: str, name: str) -> str:
    if "?" in url:
        base, query = url.split("?", 1)
        return base.rsplit("/", 1)[0] + f"/{name}?{query}"
    return url.rsplit("/", 1)[0] + f"/{name}"


async def fresh_database(admin_url: str, name: str, template: str | None = None) -> None:
    """Database ``name`` made anew (dropped first if it is there): empty, or a copy of
    ``template``."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        copy = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await conn.close()


@dataclass
class PgCluster:
    admin_url: str
    template: str
    handle: Any = None
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def url_for(self, name: str) -> str:
        return _with_database(self.admin_url, name)

    async def create_database(self) -> str:
        name = f"stockd_t{os.getpid()}_{next(self._counter)}"
        await fresh_database(self.admin_url, name, self.template)
        return name

    async def drop_database(self, name: str) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def _prepare(admin_url: str, template: str) -> None:
    await fresh_database(admin_url, template)
    conn = await asyncpg.connect(_with_database(admin_url, template))
    try:
        await migrate(conn)
    finally:
        await conn.close()


def start_cluster() -> PgCluster:
    url = os.environ.get("DATABASE_URL")
    handle = None
    if not url:
        home = Path(tempfile.mkdtemp(prefix="stockd-pg-"))
        handle, url = asyncio.run(embedded_url(home))
    template = f"stockd_template_{os.getpid()}"
    asyncio.run(_prepare(url, template))
    return PgCluster(admin_url=url, template=template, handle=handle)
