"""Long-running commands: ``stockd gateway``, ``stockd web`` and ``stockd serve``.

``serve`` gives the gateway and the web app a database pool each
(``database.pool_size`` and ``web.pool_size``): a slow CSV download, a burst of
metrics scrapes or a crowd of displays can use up the web pool (whose requests then
answer 503 after ``web.acquire_timeout_s``) but never a connection a scan needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable

from aiohttp import web

from scanner_gateway.gateway import Gateway
from stock_core.service import StockService
from stock_core.store.database import Database, open_database
from stock_core.store.gateway import ScannerState
from stockd.settings import Settings, WebSettings, tls_context
from web_ui.app import create_app
from web_ui.config import WebConfig
from web_ui.pool import open_web_pool

__all__ = ["run_gateway", "run_serve", "run_web", "start_web", "wait_for_signal"]

log = logging.getLogger("stockd")


async def wait_for_signal() -> None:
    """Return on SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)


def _tune_gc() -> None:
    """Fewer, cheaper garbage collections for a long-running server.

    Objects made at start-up are frozen out of collection and the young generation is
    collected less often: with 1,000 displays this took the feed's p99 delivery from
    144 to 29 ms at 25 events/s (benchmarks/bench_fanout.py), by removing full
    collections that paused the loop for up to 140 ms.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1_000)


def _web_config(
    web_settings: WebSettings,
    database: Database,
    live_scanners: Callable[[], list[ScannerState]] | None,
) -> WebConfig:
    return WebConfig(
        database=database,
        live_scanners=live_scanners,
        forecast_interval=3600.0,
        hello_timeout=web_settings.hello_timeout_s,
        max_feed_clients=web_settings.max_feed_clients,
        max_pending_hellos=web_settings.max_pending_hellos,
        max_body=web_settings.max_body_bytes,
        body_timeout=web_settings.body_timeout_s,
        max_exports=web_settings.max_exports,
    )


async def start_web(
    settings: Settings,
    database: Database,
    live_scanners: Callable[[], list[ScannerState]] | None = None,
) -> tuple[web.AppRunner, str]:
    """Serve the HTTP API, feed and floor page; returns the runner and the base URL.

    Over TLS when ``web.tls_cert``/``web.tls_key`` are set. ``web.header_timeout_s``
    bounds how long a connection may take to send a request's headers (and stay idle
    between requests): aiohttp's keep-alive timer runs from the connection's start.
    """
    ssl_context = tls_context(settings.web)
    app = create_app(_web_config(settings.web, database, live_scanners))
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        keepalive_timeout=settings.web.header_timeout_s,
    )
    await runner.setup()
    _tune_gc()
    site = web.TCPSite(
        runner,
        settings.web.host,
        settings.web.port,
        reuse_address=True,
        ssl_context=ssl_context,
    )
    await site.start()
    server = getattr(site, "_server", None)
    port = settings.web.port
    if server is not None and server.sockets:
        port = server.sockets[0].getsockname()[1]
    host = "127.0.0.1" if settings.web.host in ("0.0.0.0", "::", "") else settings.web.host
    scheme = "http" if ssl_context is None else "https"
    return runner, f"{scheme}://{host}:{port}"


async def run_web(settings: Settings) -> int:
    # Migrations (and an embedded server) on a one-connection pool, then the web pool.
    async with (
        open_database(settings.database.url, home=settings.home, min_size=0, max_size=1) as first,
        open_web_pool(
            first.url,
            max_size=settings.web.pool_size,
            acquire_timeout=settings.web.acquire_timeout_s,
            embedded=first.embedded,
        ) as db,
    ):
        runner, url = await start_web(settings, db)
        print(f"stockd web: floor page and API at {url}/ (feed at {url}/feed)", flush=True)
        try:
            await wait_for_signal()
        finally:
            await runner.cleanup()
    return 0


async def run_serve(settings: Settings) -> int:
    async with (
        open_database(
            settings.database.url,
            home=settings.home,
            max_size=settings.database.pool_size,
            tolerate_outage=True,
        ) as db,
        open_web_pool(
            db.url,
            max_size=settings.web.pool_size,
            acquire_timeout=settings.web.acquire_timeout_s,
            tolerate_outage=True,
            embedded=db.embedded,
        ) as web_db,
    ):
        gateway = _gateway(settings, db)
        await gateway.start()
        runner, url = await start_web(settings, web_db, gateway.statuses)
        print(
            f"stockd serve: {len(settings.scanners)} scanner(s); floor page and API at {url}/",
            flush=True,
        )
        try:
            await wait_for_signal()
        finally:
            await runner.cleanup()
            await gateway.stop()
    return 0


def _gateway(settings: Settings, db: Database) -> Gateway:
    return Gateway(
        StockService(db.pool),
        list(settings.scanners),
        settings.spool_dir,
        group_commit=settings.gateway.group_commit,
        batch_max=settings.gateway.batch_max,
        commit_workers=settings.gateway.commit_workers,
        reconnect_max=settings.gateway.reconnect_max_s,
    )


async def run_gateway(settings: Settings) -> int:
    if not settings.scanners:
        log.warning("no [[scanners]] configured: the gateway has nothing to read")
    async with open_database(
        settings.database.url,
        home=settings.home,
        max_size=settings.database.pool_size,
        tolerate_outage=True,
    ) as db:
        gateway = _gateway(settings, db)
        await gateway.start()
        print(
            f"stockd gateway: {len(settings.scanners)} scanner(s), spool at {settings.spool_dir}",
            flush=True,
        )
        try:
            await wait_for_signal()
        finally:
            await gateway.stop()
    return 0
