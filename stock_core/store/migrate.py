"""Versioned SQL migrations: ``migrations/NNNN_name.sql``, applied in order, once.

All pending files run in one transaction under an advisory lock, so two processes
starting together serialise: the second finds the work done. A schema that is up to
date is found so with a read alone, so a role that may not run DDL (the app's own,
see :mod:`stock_core.store.privileges`) can call :func:`migrate` too; when there is
work to do it needs the schema's owner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Final

from stock_core.store.connection import Connection

__all__ = ["Migration", "available_migrations", "migrate", "pending_migrations"]

ADVISORY_LOCK_MIGRATIONS: Final = "SELECT pg_advisory_xact_lock(7243100001)"

CREATE_MIGRATIONS_TABLE: Final = """
CREATE TABLE IF NOT EXISTS stockd_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""

APPLIED_MIGRATIONS: Final = "SELECT version FROM stockd_migrations ORDER BY version"

MIGRATIONS_TABLE_EXISTS: Final = "SELECT to_regclass('stockd_migrations') IS NOT NULL"

RECORD_MIGRATION: Final = "INSERT INTO stockd_migrations (version, name) VALUES ($1, $2)"

MIGRATION_TIMEOUT: Final = 3600.0
"""Seconds one migration (or the wait for another node's) may take: far past the
statement deadline of the app's pools, which migrations on a large ledger may need."""

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("stock_core.store").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    return found


async def pending_migrations(conn: Connection) -> list[Migration]:
    """Migrations not applied yet, found without DDL or locks."""
    if await conn.fetchval(MIGRATIONS_TABLE_EXISTS):
        done = {r["version"] for r in await conn.fetch(APPLIED_MIGRATIONS)}
    else:
        done = set()
    return [m for m in available_migrations() if m.version not in done]


async def migrate(conn: Connection) -> list[Migration]:
    """Apply every pending migration; returns those applied (empty when up to date)."""
    if not await pending_migrations(conn):
        return []
    async with conn.transaction():
        await conn.execute(ADVISORY_LOCK_MIGRATIONS, timeout=MIGRATION_TIMEOUT)
        await conn.execute(CREATE_MIGRATIONS_TABLE)
        done = {r["version"] for r in await conn.fetch(APPLIED_MIGRATIONS)}
        applied = []
        for migration in available_migrations():
            if migration.version in done:
                continue
            await conn.execute(migration.sql, timeout=MIGRATION_TIMEOUT)
            await conn.execute(RECORD_MIGRATION, migration.version, migration.name)
            applied.append(migration)
        return applied
