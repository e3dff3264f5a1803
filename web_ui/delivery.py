"""Webhook delivery: the outbox's events to subscribed endpoints, signed and in order.

One :class:`WebhookDispatcher` runs in every web node (a ``cleanup_ctx`` task, beside
the outbox relay). It is woken when the relay publishes events on the bus (and polls
every ``poll`` seconds, the tables being the truth; a wake waits ``linger`` seconds
so that a burst of events is enqueued in one transaction), then:

1. moves new feed events into each subscription's delivery queue
   (``StockService.enqueue_deliveries``: one node at a time, by advisory lock);
2. claims endpoints with deliveries due (a lease in PostgreSQL: another node never
   sends the same endpoint's events) and starts one task per endpoint.

An endpoint's task sends its queue one delivery at a time, in feed order, each with
its own timeout, through one shared aiohttp client session; a failed attempt is
scheduled again (``stock_core.domain.webhook.next_attempt_delay``) and the task ends,
so the endpoint's later events wait behind it (order) while other endpoints go on. A
dead or slow endpoint therefore costs one task and a connection for at most
``timeout`` seconds at a time: never the scans, the feed or the other endpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from datetime import UTC
from datetime import datetime

import aiohttp

from stock_core.domain.webhook import signature_headers
from stock_core.errors import DatabaseUnavailableError
from stock_core.model import DeliveryAttempt
from stock_core.model import DueDelivery
from stock_core.model import Endpoint
from stock_core.service import StockService
from web_ui.bus import EventBus
from web_ui.bus import Subscription

__all__ = ["WebhookDispatcher"]

log = logging.getLogger(__name__)

_USER_AGENT = "stockd-webhooks/1"
_PRUNE_EVERY = 600.0
"""Seconds between trims of the delivery log (kept ``KEEP_DAYS`` in the store)."""


class WebhookDispatcher:
    def __init__(
        self,
        service: StockService,
        bus: EventBus | None = None,
        *,
        timeout: float = 10.0,
        lease: float | None = None,
        poll: float = 1.0,
        linger: float = 0.05,
        max_endpoints: int = 100,
        owner: str | None = None,
    ) -> None:
        self.service = service
        self.bus = bus
        self.timeout = timeout
        self.lease = lease if lease is not None else max(60.0, 3 * timeout)
        self.poll = poll
        self.linger = linger
        self.max_endpoints = max_endpoints
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.endpoints: dict[int, asyncio.Task[None]] = {}
        self.sent = 0
        self._pruned_at = 0.0
        self.failed_attempts = 0
        self._session: aiohttp.ClientSession | None = None

    async def step(self) -> None:
        """Enqueue what the feed has, then start a task for each endpoint with work due."""
        while True:
            read = await self.service.enqueue_deliveries()
            if not read or read < 500:
                break
        if time.monotonic() - self._pruned_at > _PRUNE_EVERY:
            self._pruned_at = time.monotonic()
            await self.service.prune_deliveries()
        room = self.max_endpoints - len(self.endpoints)
        if room <= 0:
            return
        held = list(self.endpoints)
        claimed = await self.service.claim_endpoints(self.owner, self.lease, room, held)
        for endpoint in claimed:
            task = asyncio.create_task(self._serve(endpoint), name=f"webhook-{endpoint.id}")
            self.endpoints[endpoint.id] = task

    async def run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=4)
        async with aiohttp.ClientSession(
            timeout=timeout, connector=connector, headers={"User-Agent": _USER_AGENT}
        ) as session:
            self._session = session
            subscription = None if self.bus is None else self.bus.subscribe(1)
            try:
                await self._loop(subscription)
            finally:
                if subscription is not None and self.bus is not None:
                    self.bus.unsubscribe(subscription)
                await self._stop_endpoints()

    async def _loop(self, subscription: Subscription | None) -> None:
        while True:
            try:
                await self.step()
            except DatabaseUnavailableError as exc:
                log.warning("webhooks: PostgreSQL unavailable (%s); retrying", exc)
            except Exception:
                log.exception("webhooks: step failed; retrying")
            if subscription is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll):
                        await subscription.wait()
                # Let a burst gather: one enqueue for many events, not one per event.
                await asyncio.sleep(self.linger)
                subscription.drain()
                subscription.overflowed = False
            else:
                await asyncio.sleep(self.poll)

    async def _stop_endpoints(self) -> None:
        tasks = list(self.endpoints.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _serve(self, endpoint: Endpoint) -> None:
        """Send the endpoint's due deliveries in order until none is due or one fails."""
        try:
            while True:
                due = await self.service.next_delivery(endpoint.id, self.owner, self.lease)
                if due is None:
                    return
                attempt = await self._send(endpoint, due)
                await self.service.record_delivery_attempt(due, attempt)
                if not attempt.ok:
                    self.failed_attempts += 1
                    return
                self.sent += 1
        except DatabaseUnavailableError as exc:
            log.warning("webhook %d: PostgreSQL unavailable (%s)", endpoint.id, exc)
        except Exception:
            log.exception("webhook %d: delivery failed", endpoint.id)
        finally:
            self.endpoints.pop(endpoint.id, None)
            with contextlib.suppress(Exception):
                await asyncio.shield(self._release(endpoint.id))

    async def _release(self, webhook_id: int) -> None:
        async with asyncio.timeout(2.0):
            await self.service.release_endpoint(webhook_id, self.owner)

    async def _send(self, endpoint: Endpoint, due: DueDelivery) -> DeliveryAttempt:
        session = self._session
        assert session is not None
        body = due.body.encode()
        now = datetime.now(UTC)
        headers = {
            "Content-Type": "application/json",
            **signature_headers(endpoint.secret, due.msg_id, int(time.time()), body),
        }
        try:
            async with session.post(endpoint.url, data=body, headers=headers) as response:
                await response.read()
                ok = 200 <= response.status < 300
                error = None if ok else f"HTTP {response.status}"
                return DeliveryAttempt(now, ok, response.status, error)
        except TimeoutError:
            return DeliveryAttempt(now, False, None, f"no answer within {self.timeout:g} s")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return DeliveryAttempt(now, False, None, f"{type(exc).__name__}: {exc}"[:500])
