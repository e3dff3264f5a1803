"""What the web application needs to start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from stock_core.store.database import Database
from stock_core.store.gateway import ScannerState

__all__ = ["WebConfig"]


@dataclass
class WebConfig:
    database_url: str | None = None
    home: Path | None = None
    pool_size: int = 10
    database: Database | None = None
    """An already open database (tests, ``stockd serve``); else one is opened."""
    feed_queue_limit: int = 2000
    """Events buffered per display before it is sent a fresh snapshot instead."""
    catch_up_limit: int = 10_000
    """A display further behind than this gets a snapshot rather than the missed events."""
    hello_timeout: float = 10.0
    heartbeat: float = 20.0
    forecast_interval: float | None = None
    """Seconds between background forecast runs (and projected-stockout checks); off when None."""
    live_scanners: Callable[[], list[ScannerState]] | None = field(default=None, repr=False)
    """Scanner states from a gateway in this process, fresher than the database's."""
