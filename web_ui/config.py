"""What the web application needs to start."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING

from stock_core.domain.operator import DEFAULT_IDLE_MINUTES
from stock_core.domain.returns import DEFAULT_REASONS
from stock_core.model import GatewayState
from stock_core.model import ScannerState
from stock_core.types import ReasonCode

if TYPE_CHECKING:  # types only: web_ui.app or stockd opens the database
    from stock_core.store.database import Database
    from stock_core.store.failover import ConnectOptions

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
    """A feed socket that has not said hello within this many seconds is closed (4408)."""
    heartbeat: float = 20.0
    max_feed_clients: int = 5000
    """Feed sockets open at once on this node; more are refused with 503 ``busy``."""
    max_pending_hellos: int = 200
    """Feed sockets that have not said hello yet; more are refused with 503 ``busy``."""
    max_body: int = 1 << 20
    """Largest request body in bytes (aiohttp's ``client_max_size``); larger is 413."""
    body_timeout: float = 30.0
    """Seconds a request body may take to arrive; slower is 408."""
    max_exports: int = 2
    """CSV exports streaming at once (each holds a database connection); more are 503."""
    write_timeout: float = 5.0
    """Seconds an API movement write may take, connecting included: past it the connection
    is dropped and the request answers 503 (retry with the same ``Idempotency-Key``)."""
    acquire_timeout: float = 2.0
    """For a pool this app opens itself: seconds to wait for a connection before 503."""
    token_last_used_interval: float = 5.0
    """Seconds between the batched writes of tokens' "last used" times."""
    forecast_interval: float | None = None
    """Seconds between background forecast runs (and projected-stockout checks); off when None."""
    webhooks: bool = False
    """Deliver webhooks from this node (any number of nodes may: they share the work).
    ``stockd web`` and ``serve`` turn it on (``[web] webhooks``, default true)."""
    webhook_timeout: float = 10.0
    """Seconds one webhook request may take; longer is a failed attempt, retried."""
    webhook_endpoints: int = 100
    """Endpoints this node sends to at once (one task each)."""
    webhook_poll: float = 1.0
    """Seconds between looks for due retries when no event wakes the dispatcher."""
    count_approval_percent: float = 10.0
    """Count-task lines whose variance exceeds this percent of expected wait for approval."""
    reasons: tuple[ReasonCode, ...] = DEFAULT_REASONS
    """Return and scrap reasons the API and the handheld page accept (``[stock] reasons``)."""
    operator_idle: float = DEFAULT_IDLE_MINUTES * 60
    """Seconds without a scan after which a handheld's operator is signed out."""
    handheld_require_operator: bool = False
    """Handhelds refuse product scans (and what else would post) with no one signed in."""
    live_scanners: Callable[[], list[ScannerState]] | None = field(default=None, repr=False)
    """Scanner states from a gateway in this process, fresher than the database's."""
    connect: ConnectOptions | None = None
    """How each connection is made (``[database]`` deadlines, keepalives, statement cache)."""
    listen_url: str | None = None
    """A direct URL of the primary for LISTEN (the feed relay, token revocations) when
    the database is reached through a transaction pooler."""
    replica_url: str | None = None
    """A read replica for reports, exports and backtests."""
    replica_max_lag: float = 10.0
    """Seconds the replica may be behind before those reads go to the primary."""
    live_gateway: Callable[[], GatewayState] | None = field(default=None, repr=False)
    """The state (spool) of a gateway in this process, known even with the database away."""
