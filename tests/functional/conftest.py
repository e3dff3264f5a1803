"""Fixtures the gateway fault suites share: a fault-injecting proxy in front of the test
database, and a gateway pool that reaches PostgreSQL only through it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from stock_core.store.database import Database, open_database
from tests.faultproxy import FaultProxy


@pytest.fixture
def proxy(database_url: str) -> Iterator[FaultProxy]:
    with FaultProxy.for_url(database_url) as p:
        yield p


@pytest.fixture
async def gateway_db(proxy: FaultProxy, database_url: str) -> AsyncIterator[Database]:
    """The gateway's pool, through the proxy."""
    url = proxy.url_through(database_url)
    async with open_database(url, run_migrations=False, max_size=10, tolerate_outage=True) as db:
        yield db
