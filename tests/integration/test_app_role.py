"""The app connects as a role that owns nothing (issue 18): migrations and grants run as
the schema's owner, and the app's own role can read and write rows but not change the
schema, truncate, rewrite the ledger or drop its append-only trigger."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from stock_core.domain.token import Role
from stock_core.errors import DatabaseAccessError
from stock_core.service import StockService
from stock_core.store.database import EMBEDDED_APP_ROLE
from stock_core.store.database import Database
from stock_core.store.database import open_database
from stock_core.store.database import with_user
from stock_core.store.migrate import migrate
from stock_core.store.privileges import missing_privileges
from stock_core.store.privileges import owner_powers
from tests.integration.catalog_fixture import load_sample_catalog
from tests.pg import APP_ROLE


@pytest.fixture
async def admin(admin_database_url: str) -> AsyncIterator[asyncpg.Connection[asyncpg.Record]]:
    conn: asyncpg.Connection[asyncpg.Record] = await asyncpg.connect(admin_database_url)
    yield conn
    await conn.close()


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE sneaky (id integer)",
        "ALTER TABLE movements DISABLE TRIGGER movements_append_only",
        "DROP TRIGGER movements_append_only ON movements",
        "ALTER TABLE stock DROP CONSTRAINT stock_on_hand_not_negative",
        "DROP TABLE outbox",
        "TRUNCATE outbox",
        "TRUNCATE movements",
        "DELETE FROM movements",
        "UPDATE movements SET delta = 0",
        "INSERT INTO stockd_migrations (version, name) VALUES (9999, 'forged')",
        "CREATE OR REPLACE FUNCTION stockd_today() RETURNS date LANGUAGE sql AS 'SELECT 1'",
        "CREATE ROLE intruder",
    ],
)
async def test_the_app_role_cannot_change_the_schema_or_rewrite_the_ledger(
    database: Database, statement: str
) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await database.pool.execute(statement)


async def test_the_app_role_is_no_superuser_and_has_all_it_needs(database: Database) -> None:
    async with database.pool.acquire() as conn:
        assert await conn.fetchval("SELECT current_user") == APP_ROLE
        superuser = await conn.fetchval(
            "SELECT rolsuper FROM pg_roles WHERE rolname = $1", APP_ROLE
        )
        assert superuser is False
        assert await missing_privileges(conn) == []
        assert await owner_powers(conn) is None
        assert await migrate(conn) == []  # an up-to-date schema needs no DDL to see so


async def test_every_product_flow_works_as_the_app_role(database: Database) -> None:
    service = StockService(database.pool)
    await load_sample_catalog(service)  # imports: temporary tables, upserts
    text, _ = await service.create_token("floor", Role.DISPLAY)
    assert await service.authenticate(text) is not None
    assert (await service.verify()).ok


async def test_missing_grants_are_refused_at_start_naming_the_setting(
    database_url: str, admin: asyncpg.Connection[asyncpg.Record]
) -> None:
    await admin.execute(f"REVOKE INSERT ON outbox FROM {APP_ROLE}")
    with pytest.raises(DatabaseAccessError, match="lacks INSERT on table outbox") as caught:
        async with open_database(database_url, min_size=1, max_size=2):
            pass
    assert caught.value.setting == "database.url"


async def test_start_up_with_the_owners_url_grants_what_is_missing(
    database_url: str, admin_database_url: str, admin: asyncpg.Connection[asyncpg.Record]
) -> None:
    await admin.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}")
    async with open_database(
        database_url, admin_url=admin_database_url, app_role=APP_ROLE, min_size=1, max_size=2
    ) as db:
        assert db.applied == []
        assert db.app_role == APP_ROLE
        await db.pool.execute("INSERT INTO warehouses (code) VALUES ('NORTH')")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await db.pool.execute("DELETE FROM movements")


async def test_an_unknown_app_role_or_a_refused_owner_login_names_its_setting(
    database_url: str, admin_database_url: str
) -> None:
    with pytest.raises(DatabaseAccessError, match="role no_such_role does not exist") as caught:
        async with open_database(
            database_url, admin_url=admin_database_url, app_role="no_such_role", max_size=2
        ):
            pass
    assert caught.value.setting == "database.app_role"
    bad_owner = with_user(admin_database_url, "no_such_owner_x")
    with pytest.raises(DatabaseAccessError, match="refused the schema owner's login") as caught:
        async with open_database(database_url, admin_url=bad_owner, app_role=APP_ROLE, max_size=2):
            pass
    assert caught.value.setting == "database.admin_url"


async def test_the_embedded_database_serves_as_stockd_app(tmp_path: Path) -> None:
    async with open_database(None, home=tmp_path, min_size=1, max_size=2) as db:
        try:
            assert db.app_role == EMBEDDED_APP_ROLE
            assert db.url.startswith(f"postgresql://{EMBEDDED_APP_ROLE}@/stockd?host=")
            assert [m.name for m in db.applied][:1] == ["initial"]
            assert await db.pool.fetchval("SELECT current_user") == EMBEDDED_APP_ROLE
            for statement in ("TRUNCATE outbox", "DROP TRIGGER movements_append_only ON movements"):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await db.pool.execute(statement)
            service = StockService(db.pool)
            await load_sample_catalog(service)
            assert (await service.verify()).ok
        finally:
            await asyncio.to_thread(db.embedded.cleanup)
