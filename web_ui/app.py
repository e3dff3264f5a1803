"""``create_app``: the aiohttp application (HTTP API, feed, pages)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from stock_core.analytics_task import Forecaster
from stock_core.errors import DatabaseUnavailableError
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.store.database import open_database
from stock_core.store.failover import ConnectOptions
from stock_core.store.failover import ReplicaRouter
from stock_core.store.outbox import OutboxRelay
from stock_core.store.tokens import LastUsedRecorder
from stock_core.store.tokens import RevocationListener
from stock_core.store.web_pool import open_web_pool
from web_ui import api
from web_ui import feed
from web_ui import handheld
from web_ui import headers
from web_ui import pages
from web_ui.auth import TokenCache
from web_ui.bus import EventBus
from web_ui.config import WebConfig
from web_ui.delivery import WebhookDispatcher
from web_ui.keys import BUS
from web_ui.keys import CONFIG
from web_ui.keys import DATABASE
from web_ui.keys import EXPORTS
from web_ui.keys import FORECASTER
from web_ui.keys import LAST_USED
from web_ui.keys import LISTEN_DATABASE
from web_ui.keys import SERVICE
from web_ui.keys import TOKEN_CACHE
from web_ui.keys import WEBHOOKS
from web_ui.limit import Slots
from web_ui.problem import problem_middleware

__all__ = ["MAX_REQUEST_LINE", "create_app"]

MAX_REQUEST_LINE = 128 * 1024
"""Bytes in a request line (aiohttp's default is 8,190): ``GET /api/v1/availability`` takes
up to 1,000 ``sku=`` parameters."""

log = logging.getLogger(__name__)


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    async with contextlib.AsyncExitStack() as stack:
        database = config.database
        if database is None:
            # Migrations (and the embedded server) on a one-connection pool; requests on
            # the web pool, whose acquire has a deadline.
            first = await stack.enter_async_context(
                open_database(
                    config.database_url,
                    home=config.home,
                    min_size=0,
                    max_size=1,
                    options=config.connect,
                )
            )
            database = await stack.enter_async_context(
                open_web_pool(
                    first.url,
                    max_size=config.pool_size,
                    acquire_timeout=config.acquire_timeout,
                    embedded=first.embedded,
                    options=config.connect,
                )
            )
        app[DATABASE] = database
        replicas = None
        if config.replica_url:
            replica = await stack.enter_async_context(
                open_web_pool(
                    config.replica_url,
                    max_size=config.max_exports + 1,
                    acquire_timeout=config.acquire_timeout,
                    tolerate_outage=True,
                    options=config.connect,
                    writer=False,
                )
            )
            replicas = ReplicaRouter(database.pool, replica.pool, max_lag=config.replica_max_lag)
        if config.listen_url:
            app[LISTEN_DATABASE] = await stack.enter_async_context(
                open_web_pool(
                    config.listen_url,
                    max_size=3,
                    acquire_timeout=config.acquire_timeout,
                    tolerate_outage=True,
                    options=_with_statement_cache(config.connect),
                )
            )
        app[SERVICE] = StockService(
            database.pool,
            replicas=replicas,
            write_deadline=config.write_timeout,
            reasons=config.reasons,
        )
        yield


def _with_statement_cache(options: ConnectOptions | None) -> ConnectOptions:
    """A direct session connection keeps its prepared statements (no pooler between)."""
    return dataclasses.replace(options or ConnectOptions(), statement_cache=True)


def _listen_pool(app: web.Application) -> Pool:
    """Where LISTEN runs: the direct pool when there is one (a transaction pooler
    cannot hold a LISTEN), else the web pool."""
    listen = app.get(LISTEN_DATABASE)
    return (listen or app[DATABASE]).pool


async def _tokens_ctx(app: web.Application) -> AsyncIterator[None]:
    """Batched "last used" writes, and revocations heard from every node (NOTIFY)."""
    pool = app[DATABASE].pool
    recorder = LastUsedRecorder(pool, interval=app[CONFIG].token_last_used_interval)
    app[LAST_USED] = recorder

    def revoked(token_id: int) -> None:
        feed.token_revoked(app, token_id)

    async def listening() -> None:
        await feed.recheck_tokens(app)

    listener = RevocationListener(_listen_pool(app), revoked, listening)
    tasks = [
        asyncio.create_task(recorder.run(), name="token-last-used"),
        asyncio.create_task(listener.run(), name="token-revocations"),
    ]
    yield
    for task in tasks:
        await _cancelled(task)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(2.0):
            await recorder.flush()


async def _relay_ctx(app: web.Application) -> AsyncIterator[None]:
    bus = app[BUS]
    relay = OutboxRelay(_listen_pool(app), bus.publish, on_fork=bus.fork)
    try:
        await relay.step()  # start current: the feed serves history from the table
    except DatabaseUnavailableError:
        log.warning("database unavailable at start: the feed starts when it returns")
    task = asyncio.create_task(relay.run(), name="outbox-relay")
    yield
    await _cancelled(task)
    await relay.close()


async def _webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    if not config.webhooks:
        yield
        return
    dispatcher = WebhookDispatcher(
        app[SERVICE],
        app[BUS],
        timeout=config.webhook_timeout,
        max_endpoints=config.webhook_endpoints,
        poll=config.webhook_poll,
    )
    app[WEBHOOKS] = dispatcher
    task = asyncio.create_task(dispatcher.run(), name="webhook-dispatcher")
    yield
    await _cancelled(task)


async def _cancelled(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` until it has stopped.

    One ``cancel()`` is not always enough on Python 3.11: ``asyncio.wait_for`` (the relay
    waits for a NOTIFY with it) swallows a cancellation that arrives as the awaited
    event is set, and the task would run on while the app waits for it forever.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=0.1)
    if not task.cancelled() and task.exception() is not None:
        log.warning("%s ended with %r", task.get_name(), task.exception())


async def _forecaster_ctx(app: web.Application) -> AsyncIterator[None]:
    interval = app[CONFIG].forecast_interval
    if interval is None:
        yield
        return
    forecaster = Forecaster(app[DATABASE].pool, interval=interval)
    app[FORECASTER] = forecaster
    async with forecaster:
        yield


async def _close_feeds(app: web.Application) -> None:
    await feed.close_all(app)
    await handheld.close_all(app)


def create_app(config: WebConfig) -> web.Application:
    app = web.Application(
        middlewares=[problem_middleware],
        client_max_size=config.max_body,
        # A request line long enough for 1,000 SKUs in one availability query.
        handler_args={"max_line_size": MAX_REQUEST_LINE},
    )
    app[CONFIG] = config
    app[BUS] = EventBus()
    app[TOKEN_CACHE] = TokenCache()
    app[EXPORTS] = Slots(config.max_exports)
    app.cleanup_ctx.append(_database_ctx)
    app.cleanup_ctx.append(_tokens_ctx)
    app.cleanup_ctx.append(_relay_ctx)
    app.cleanup_ctx.append(_webhooks_ctx)
    app.cleanup_ctx.append(_forecaster_ctx)
    app.on_shutdown.append(_close_feeds)
    headers.setup(app)
    api.setup(app)
    feed.setup(app)
    pages.setup(app, Path(__file__).parent / "static")
    handheld.setup(app, Path(__file__).parent / "static" / "scan")
    return app
