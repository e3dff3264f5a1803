from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from collections.abc import Iterator

import pytest

from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.store.database import Database
from stock_core.store.database import open_database
from tests.integration.catalog_fixture import load_sample_catalog
from tests.pg import APP_ROLE
from tests.pg import PgCluster
from tests.pg import start_cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = start_cluster()
    yield cluster
    try:
        asyncio.run(_drop_template(cluster))
    finally:
        cluster.close()


async def _drop_template(cluster: PgCluster) -> None:
    await cluster.drop_database(cluster.template)


@pytest.fixture
async def database_name(pg_cluster: PgCluster) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    name = await pg_cluster.create_database()
    yield name
    await pg_cluster.drop_database(name)


@pytest.fixture
def database_url(pg_cluster: PgCluster, database_name: str) -> str:
    """The test database as the product connects to it: the app role, which owns
    nothing (no DDL, no TRUNCATE, no UPDATE or DELETE on the ledger)."""
    return pg_cluster.app_url_for(database_name)


@pytest.fixture
def admin_database_url(pg_cluster: PgCluster, database_name: str) -> str:
    """The test database as its owner (a superuser): for what tests do to the server."""
    return pg_cluster.url_for(database_name)


@pytest.fixture
async def database(database_url: str, admin_database_url: str) -> AsyncIterator[Database]:
    """Opened as ``stockd`` opens it: migrations and grants as the owner, the pool as
    the app role."""
    async with open_database(
        database_url,
        admin_url=admin_database_url,
        app_role=APP_ROLE,
        min_size=1,
        max_size=40,
    ) as db:
        yield db


@pytest.fixture
def pool(database: Database) -> Pool:
    return database.pool


@pytest.fixture
async def service(pool: Pool) -> StockService:
    """The test's own service over the test database, the sample catalog loaded: direct,
    never through a fault proxy (a suite that needs more overrides it)."""
    svc = StockService(pool)
    await load_sample_catalog(svc)
    return svc


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "pg_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.database)


@pytest.fixture(autouse=True)
def _set_based_posting_never_falls_back(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The ledger quietly re-posts a set-based batch one by one when PostgreSQL refuses
    it: in production a safety net, in a test a planner bug to fail on."""
    yield
    fallbacks = [
        r.getMessage()
        for r in caplog.get_records("call")
        if r.name == "stock_core.store.ledger" and r.levelno >= logging.ERROR
    ]
    assert not fallbacks, f"set-based posting fell back: {fallbacks}"
