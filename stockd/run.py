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
import socket
from collections.abc import Callable

from aiohttp import web

from scanner_gateway.errors import SpoolError
from scanner_gateway.gateway import Gateway
from stock_core.model import GatewayState
from stock_core.model import ScannerState
from stock_core.service import StockService
from stock_core.store.database import Database
from stock_core.store.web_pool import open_web_pool
from stock_core.types import ReasonCode
from stockd import startup
from stockd.settings import Settings
from stockd.settings import tls_context
from stockd.startup import close_sockets
from stockd.startup import listen
from web_ui.app import create_app
from web_ui.config import WebConfig

__all__ = [
    "run_gateway",
    "run_serve",
    "run_web",
    "start_gateway",
    "start_web",
    "wait_for_signal",
]

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


def reasons_of(settings: Settings) -> tuple[ReasonCode, ...]:
    """The configured return and scrap reasons (``[stock] reasons``)."""
    return tuple(ReasonCode(code) for code in settings.stock.reasons)


def _web_config(
    settings: Settings,
    database: Database,
    live_scanners: Callable[[], list[ScannerState]] | None,
    live_gateway: Callable[[], GatewayState] | None = None,
) -> WebConfig:
    web_settings = settings.web
    return WebConfig(
        reasons=reasons_of(settings),
        operator_idle=settings.gateway.operator_idle_minutes * 60,
        handheld_require_operator=web_settings.handheld_require_operator,
        database=database,
        connect=startup.connect_options(settings),
        listen_url=settings.database.listen_url,
        replica_url=settings.database.replica_url,
        replica_max_lag=settings.database.replica_max_lag_s,
        live_scanners=live_scanners,
        live_gateway=live_gateway,
        forecast_interval=3600.0,
        hello_timeout=web_settings.hello_timeout_s,
        max_feed_clients=web_settings.max_feed_clients,
        max_pending_hellos=web_settings.max_pending_hellos,
        max_body=web_settings.max_body_bytes,
        body_timeout=web_settings.body_timeout_s,
        max_exports=web_settings.max_exports,
        webhooks=web_settings.webhooks,
        webhook_timeout=web_settings.webhook_timeout_s,
        webhook_endpoints=web_settings.webhook_endpoints,
        count_approval_percent=settings.counts.approval_percent,
    )


async def start_web(
    settings: Settings,
    database: Database,
    live_scanners: Callable[[], list[ScannerState]] | None = None,
    sockets: list[socket.socket] | None = None,
    live_gateway: Callable[[], GatewayState] | None = None,
) -> tuple[web.AppRunner, str]:
    """Serve the HTTP API, feed and floor page; returns the runner and the base URL.

    On ``sockets`` from :func:`stockd.startup.listen` (bound before the database was
    opened, so a port in use stops start-up first); bound here when not given. Over
    TLS when ``web.tls_cert``/``web.tls_key`` are set. ``web.header_timeout_s`` bounds
    how long a connection may take to send a request's headers (and stay idle between
    requests): aiohttp's keep-alive timer runs from the connection's start. When
    serving cannot start, everything started here is stopped before the error leaves.
    """
    if sockets is None:
        sockets = listen(settings.web)
    ssl_context = tls_context(settings.web)
    app = create_app(_web_config(settings, database, live_scanners, live_gateway))
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        keepalive_timeout=settings.web.header_timeout_s,
    )
    try:
        await runner.setup()
        _tune_gc()
        for sock in sockets:
            await web.SockSite(runner, sock, ssl_context=ssl_context).start()
    except BaseException:
        await runner.cleanup()
        for sock in sockets:
            sock.close()
        raise
    port = sockets[0].getsockname()[1]
    host = "127.0.0.1" if settings.web.host in ("0.0.0.0", "::", "") else settings.web.host
    if ":" in host:
        host = f"[{host}]"
    scheme = "http" if ssl_context is None else "https"
    return runner, f"{scheme}://{host}:{port}"


async def run_web(settings: Settings) -> int:
    sockets = listen(settings.web)
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(close_sockets, sockets)
        # Migrations (and an embedded server) on a one-connection pool, then the web pool.
        first = await stack.enter_async_context(startup.database(settings, min_size=0, max_size=1))
        db = await stack.enter_async_context(
            open_web_pool(
                first.url,
                max_size=settings.web.pool_size,
                acquire_timeout=settings.web.acquire_timeout_s,
                embedded=first.embedded,
                options=startup.connect_options(settings),
            )
        )
        runner, url = await start_web(settings, db, sockets=sockets)
        stack.push_async_callback(runner.cleanup)
        print(
            f"stockd web: floor page and API at {url}/ (feed at {url}/feed, "
            f"manager console at {url}/manage/, handheld page at {url}/scan/)",
            flush=True,
        )
        await wait_for_signal()
    return 0


def _gateway_database(settings: Settings) -> contextlib.AbstractAsyncContextManager[Database]:
    """The gateway's pool: it starts and runs through an outage (scans spool meanwhile)
    and keeps the lineage it last wrote under beside its spool."""
    return startup.database(
        settings,
        max_size=settings.database.pool_size,
        tolerate_outage=True,
        lineage_file=settings.spool_dir / "lineage",
    )


async def run_serve(settings: Settings) -> int:
    sockets = listen(settings.web)
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(close_sockets, sockets)
        db = await stack.enter_async_context(_gateway_database(settings))
        web_db = await stack.enter_async_context(
            open_web_pool(
                db.url,
                max_size=settings.web.pool_size,
                acquire_timeout=settings.web.acquire_timeout_s,
                tolerate_outage=True,
                embedded=db.embedded,
                options=startup.connect_options(settings),
            )
        )
        gateway = await start_gateway(stack, settings, db)
        runner, url = await start_web(
            settings, web_db, gateway.statuses, sockets=sockets, live_gateway=gateway.gateway_state
        )
        stack.push_async_callback(runner.cleanup)
        print(
            f"stockd serve: {len(settings.scanners)} scanner(s); floor page and API at {url}/ "
            f"(manager console at {url}/manage/, handheld page at {url}/scan/)",
            flush=True,
        )
        await wait_for_signal()
    return 0


def _gateway(settings: Settings, db: Database) -> Gateway:
    return Gateway(
        StockService(db.pool, reasons=reasons_of(settings)),
        list(settings.scanners),
        settings.spool_dir,
        group_commit=settings.gateway.group_commit,
        batch_max=settings.gateway.batch_max,
        commit_workers=settings.gateway.commit_workers,
        reconnect_max=settings.gateway.reconnect_max_s,
        spool_cap_bytes=settings.gateway.spool_cap_mb * 1024 * 1024,
        commit_timeout=settings.gateway.commit_timeout_s,
        replay_window=settings.gateway.replay_window_s,
        operator_idle=settings.gateway.operator_idle_minutes * 60,
        reasons=reasons_of(settings),
    )


async def start_gateway(
    stack: contextlib.AsyncExitStack, settings: Settings, db: Database
) -> Gateway:
    """Start the gateway, to be stopped when ``stack`` closes (at once if it cannot start:
    a spool that another gateway holds is :class:`~scanner_gateway.errors.SpoolLockedError`,
    whose text is the one line)."""
    gateway = _gateway(settings, db)
    try:
        await gateway.start()
    except SpoolError:
        raise  # refused before anything started (stopping would write scanner states)
    except BaseException:
        await gateway.stop()
        raise
    stack.push_async_callback(gateway.stop)
    return gateway


async def run_gateway(settings: Settings) -> int:
    async with contextlib.AsyncExitStack() as stack:
        db = await stack.enter_async_context(_gateway_database(settings))
        await start_gateway(stack, settings, db)
        if not settings.scanners:
            log.warning("no [[scanners]] configured: the gateway has nothing to read")
        print(
            f"stockd gateway: {len(settings.scanners)} scanner(s), spool at {settings.spool_dir}",
            flush=True,
        )
        await wait_for_signal()
    return 0
