"""Real PostgreSQL for tests: ``DATABASE_URL`` when set, else one embedded server.

A migrated template database is made once per test session; each test gets a fresh
copy (``CREATE DATABASE … TEMPLATE``), dropped afterwards. As in production, the
migrations run as the server's owner (``admin_url``) and the tests connect as
:data:`APP_ROLE`, a login role granted only what stockd needs (``app_url_for``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Final

import asyncpg

from stock_core.embedded import embedded_url
from stock_core.store.migrate import migrate
from stock_core.store.privileges import grant_app_role

__all__ = [
    "APP_PASSWORD",
    "APP_ROLE",
    "UNSEQUENCED",
    "PgCluster",
    "fresh_database",
    "start_cluster",
]

APP_ROLE = "stockd_test_app"
APP_PASSWORD = "stockd-test-app"

# Roles are the server's, shared by every test session on it: made once, race-safe.
_CREATE_APP_ROLE = f"""
DO $$ BEGIN
    CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{APP_PASSWORD}';
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$
"""


def _with_user(url: str, user: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    authority, slash, tail = rest.partition("/")
    host = authority.rsplit("@", 1)[1] if "@" in authority else authority
    return f"{scheme}://{user}:{password}@{host}{slash}{tail}"


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


UNSEQUENCED: Final = (
    "SELECT count(*) FROM outbox o WHERE NOT EXISTS (SELECT FROM feed f WHERE f.outbox_id = o.id)"
)
"""Events the relay has not numbered yet (written, not in the feed)."""


@dataclass
class PgCluster:
    admin_url: str
    template: str
    handle: Any = None
    home: Path | None = None
    """The embedded server's folder, made for this run (``None``: ``DATABASE_URL``)."""
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def url_for(self, name: str) -> str:
        """The owner's (superuser's) URL of database ``name``."""
        return _with_database(self.admin_url, name)

    def app_url_for(self, name: str) -> str:
        """:data:`APP_ROLE`'s URL of database ``name``: what the product connects as."""
        return _with_user(self.url_for(name), APP_ROLE, APP_PASSWORD)

    async def create_database(self) -> str:
        name = f"stockd_t{os.getpid()}_{next(self._counter)}"
        await fresh_database(self.admin_url, name, self.template)
        return name

    def close(self) -> None:
        """Stop the embedded server this run started and remove its folder (60–400 MB
        per test worker)."""
        if self.handle is not None:
            with contextlib.suppress(Exception):  # already stopped: the folder still goes
                self.handle.cleanup()
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)

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
        await conn.execute(_CREATE_APP_ROLE)
        await grant_app_role(conn, APP_ROLE)  # copies of the template keep the grants
    finally:
        await conn.close()


def start_cluster() -> PgCluster:
    url = os.environ.get("DATABASE_URL")
    handle = home = None
    if not url:
        home = Path(tempfile.mkdtemp(prefix="stockd-pg-"))
        handle, url = asyncio.run(embedded_url(home))
    template = f"stockd_template_{os.getpid()}"
    asyncio.run(_prepare(url, template))
    return PgCluster(admin_url=url, template=template, handle=handle, home=home)
