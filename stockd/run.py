"""Long-running commands: ``stockd gateway`` and ``stockd serve``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from scanner_gateway.gateway import Gateway
from stock_core.service import StockService
from stock_core.store.database import open_database
from stockd.settings import Settings

__all__ = ["run_gateway", "wait_for_signal"]

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


async def run_gateway(settings: Settings) -> int:
    if not settings.scanners:
        log.warning("no [[scanners]] configured: the gateway has nothing to read")
    async with open_database(
        settings.database.url,
        home=settings.home,
        max_size=settings.database.pool_size,
        tolerate_outage=True,
    ) as db:
        gateway = Gateway(
            StockService(db.pool),
            list(settings.scanners),
            settings.spool_dir,
            group_commit=settings.gateway.group_commit,
            batch_max=settings.gateway.batch_max,
            reconnect_max=settings.gateway.reconnect_max_s,
        )
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
