"""Prometheus metrics of the web node, served open at ``/metrics`` (text format).

The web node sees HTTP traffic, its feed clients, the database and what gateways
store about their scanners (state and counters in ``scanner_states``). Scan and
rejection counters of a gateway live in that gateway: when one runs in this process
(``stockd serve``) it adds its collectors to ``app[METRICS].registry``, the one
registry this endpoint exposes (no module-level default registry is used).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client import CollectorRegistry
from prometheus_client import Counter
from prometheus_client import Gauge
from prometheus_client import Histogram
from prometheus_client import generate_latest

from stock_core.errors import DatabaseUnavailableError
from stock_core.model import GatewayState
from stock_core.model import ScannerView
from stock_core.model import Webhook
from web_ui.keys import BUS
from web_ui.keys import CONFIG
from web_ui.keys import SERVICE

__all__ = [
    "CONTENT_TYPE",
    "METRICS",
    "Metrics",
    "gateway_states",
    "metrics_middleware",
    "render",
    "setup",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Metrics:
    """The web node's collectors, all in :attr:`registry` (which others may add to)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.render_lock = asyncio.Lock()
        """Concurrent scrapes share one rendering (and at most one database connection)."""
        self.rendered: tuple[float, bytes] | None = None
        r = self.registry
        self.requests = Counter(
            "stockd_http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "stockd_http_request_duration_seconds",
            "Time to answer an HTTP request (a streamed export: until its last byte)",
            ["method", "route"],
            registry=r,
        )
        self.feed_clients = self._gauge(
            "stockd_feed_clients", "Live feed (WebSocket) clients connected"
        )
        self.feed_seq = self._gauge(
            "stockd_feed_last_seq", "Sequence number of the last event relayed"
        )
        self.database_up = self._gauge(
            "stockd_database_up", "1 when PostgreSQL answered the last scrape"
        )
        self.scanner_state = self._gauge(
            "stockd_scanner_state",
            "1 for each scanner's current state (connected, reconnecting, ...)",
            ["scanner", "state"],
        )
        self.scanner_counter = self._gauge(
            "stockd_scanner_events",
            "Per-scanner gateway counters as last reported (frames, garbled, disconnects ...)",
            ["scanner", "counter"],
        )

        self.spool = self._gauge(
            "stockd_spool",
            "Each gateway's spool as last reported: depth (records waiting), bytes, "
            "cap_bytes, oldest_age_seconds, replaying, quarantined, alarm, full",
            ["gateway", "figure"],
        )

        self._answered: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self.webhook_deliveries = self._gauge(
            "stockd_webhook_deliveries",
            "Each webhook subscription's deliveries waiting to be sent or retried (pending) "
            "and given up after a day of retries (failed)",
            ["webhook", "status"],
        )

    def _gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        """A gauge of this node's :attr:`registry` (most of its collectors are gauges)."""
        return Gauge(name, documentation, labels, registry=self.registry)

    def answered(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count and time one answered request (the children of each label set are kept:
        ``labels()`` takes a lock and builds its key on every call)."""
        key = (method, route, status)
        children = self._answered.get(key)
        if children is None:
            children = self._answered[key] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)

    def observe_webhooks(self, hooks: Sequence[Webhook]) -> None:
        self.webhook_deliveries.clear()
        for hook in hooks:
            self.webhook_deliveries.labels(str(hook.id), "pending").set(hook.pending)
            self.webhook_deliveries.labels(str(hook.id), "failed").set(hook.failed)

    def observe_gateways(self, gateways: Sequence[GatewayState]) -> None:
        self.spool.clear()
        for state in gateways:
            spool = state.spool
            figures = {
                "depth": spool["depth"],
                "bytes": spool["size_bytes"],
                "cap_bytes": spool["cap_bytes"],
                "oldest_age_seconds": spool["oldest_age_s"] or 0,
                "replaying": spool["replaying"],
                "quarantined": spool["quarantined"],
                "alarm": spool["alarm"],
                "full": spool["full"],
            }
            for figure, value in figures.items():
                self.spool.labels(state.name, figure).set(float(value))

    def observe_scanners(self, scanners: Sequence[ScannerView]) -> None:
        self.scanner_state.clear()
        self.scanner_counter.clear()
        for view in scanners:
            self.scanner_state.labels(view.state.id, view.state.state).set(1)
            for name, value in view.state.counters.items():
                self.scanner_counter.labels(view.state.id, name).set(value)


METRICS = web.AppKey("metrics", Metrics)


def _route_of(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return "unmatched" if resource is None else resource.canonical


@web.middleware
async def metrics_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Counts and times every request; outermost, so it sees rendered problems too."""
    start = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        request.app[METRICS].answered(
            request.method, _route_of(request), status, time.perf_counter() - start
        )


RENDER_REUSE_SECONDS = 1.0
"""A scrape within this long of the last rendering gets that rendering again."""


async def render(app: web.Application) -> bytes:
    """The text exposition: one rendering at a time, reused for a second, so a storm of
    open, unauthenticated scrapes costs the database one query a second at most."""
    metrics = app[METRICS]
    async with metrics.render_lock:
        now = time.monotonic()
        if metrics.rendered is not None and now - metrics.rendered[0] < RENDER_REUSE_SECONDS:
            return metrics.rendered[1]
        body = await _render(app)
        metrics.rendered = (time.monotonic(), body)
        return body


async def _render(app: web.Application) -> bytes:
    """Refresh the gauges that are read on demand, then the text exposition."""
    metrics = app[METRICS]
    bus = app[BUS]
    metrics.feed_clients.set(len(bus.subscribers))
    metrics.feed_seq.set(bus.last_seq)
    service = app[SERVICE]
    up = await service.ping()
    metrics.database_up.set(1 if up else 0)
    live_source = app[CONFIG].live_scanners
    live = live_source() if live_source is not None else []
    if up:
        try:
            metrics.observe_scanners(await service.list_scanners(live, limit=10_000))
            metrics.observe_webhooks(await service.list_webhooks(limit=10_000))
        except DatabaseUnavailableError:
            metrics.database_up.set(0)
    elif live:
        metrics.observe_scanners([ScannerView(s, updated_at=None, live=True) for s in live])
    metrics.observe_gateways(await gateway_states(app, up))
    return generate_latest(metrics.registry)


async def gateway_states(app: web.Application, up: bool) -> list[GatewayState]:
    """Every gateway's last state: from the database when it answers, and a gateway in
    this process live (fresher)."""
    states: dict[str, GatewayState] = {}
    if up:
        with contextlib.suppress(DatabaseUnavailableError):
            states = {g.name: g for g in await app[SERVICE].gateway_states()}
    live = app[CONFIG].live_gateway
    if live is not None:
        here = live()
        states[here.name] = here
    return [states[name] for name in sorted(states)]


def setup(app: web.Application, registry: CollectorRegistry | None = None) -> None:
    """Create the web node's metrics and count every request (outermost middleware)."""
    app[METRICS] = Metrics(registry)
    app.middlewares.insert(0, metrics_middleware)
