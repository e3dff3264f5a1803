"""Fixtures the functional suites share: a home directory for ``stockd``; the app,
through ``aiohttp_client`` or on real servers; and, for the gateway fault suites, a
fault-injecting proxy in front of the test database and a gateway pool that reaches
PostgreSQL only through it (the two together: ``outage``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from stock_core.domain.token import Role
from stock_core.service import StockService
from stock_core.store.database import Database
from stock_core.store.database import open_database
from tests.browser import Browser
from tests.browser import Page
from tests.faultproxy import FaultProxy
from tests.functional.api.conftest import Client
from tests.functional.web_app import stop_relays
from tests.gateway_harness import Outage
from web_ui.app import create_app
from web_ui.config import WebConfig

ServerFactory = Callable[..., Awaitable[TestServer]]


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


@pytest.fixture
def outage(proxy: FaultProxy, gateway_db: Database) -> Outage:
    """The proxy and the gateway's pool behind it, as one: see :class:`Outage`."""
    return Outage(proxy, gateway_db)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """``STOCKD_HOME`` for the ``stockd`` command: empty."""
    path = tmp_path / "stockd-home"
    path.mkdir()
    return path


@pytest.fixture
async def worker(service: StockService) -> str:
    """A worker's token (for the handheld page and its socket)."""
    text, _ = await service.create_token("ana", Role.WORKER)
    return text


@pytest.fixture
async def client(
    database: Database, service: StockService, aiohttp_client: Any
) -> AsyncIterator[Client]:
    """The app over ``service``'s database, through ``aiohttp_client``."""
    made: Client = await aiohttp_client(create_app(WebConfig(database=database)))
    yield made
    await stop_relays()


@pytest.fixture
async def start_server(database: Database, service: StockService) -> AsyncIterator[ServerFactory]:
    """Starts the app on a real port, once per call, with ``WebConfig`` options."""
    servers: list[TestServer] = []

    async def start(**options: Any) -> TestServer:
        config = WebConfig(database=options.pop("database", database), **options)
        server = TestServer(create_app(config))
        await server.start_server()
        servers.append(server)
        return server

    yield start
    await stop_relays()
    for server in servers:
        await server.close()


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    """A Chromium page of its own browser (tests using it are marked ``needs_chromium``);
    a JavaScript error on it fails the test."""
    async with Browser.launch() as browser:
        opened = await browser.new_page()
        yield opened
        assert opened.errors == [], f"JavaScript errors on the page: {opened.errors}"
