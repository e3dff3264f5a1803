"""Webhook subscriptions and their deliveries."""

from __future__ import annotations

from collections.abc import Sequence

from stock_core import model
from stock_core.domain.webhook import new_secret
from stock_core.domain.webhook import parse_patterns
from stock_core.service.base import ServiceBase
from stock_core.service.base import on_connection
from stock_core.store import webhooks

__all__ = ["WebhookUseCases"]


class WebhookUseCases(ServiceBase):
    async def create_webhook(
        self,
        url: str,
        events: Sequence[str],
        secret: str | None = None,
        *,
        description: str = "",
        by: str = "",
    ) -> model.Webhook:
        """Subscribe ``url`` to ``events`` (checked patterns); a secret is made if none."""
        async with self._connection() as conn:
            return await webhooks.create_webhook(
                conn,
                url,
                parse_patterns(events),
                secret or new_secret(),
                description=description,
                created_by=by,
            )

    list_webhooks = on_connection(webhooks.list_webhooks)
    get_webhook = on_connection(webhooks.get_webhook)

    async def delete_webhook(self, webhook_id: int) -> model.Webhook:
        async with self._connection() as conn, conn.transaction():
            view = await webhooks.get_webhook(conn, webhook_id)
            await webhooks.delete_webhook(conn, webhook_id)
            return view

    list_deliveries = on_connection(webhooks.list_deliveries)
    redeliver = on_connection(webhooks.redeliver)

    # The dispatcher's side (web_ui.delivery): the queue, the leases, the attempts.
    enqueue_deliveries = on_connection(webhooks.enqueue)
    prune_deliveries = on_connection(webhooks.prune)
    claim_endpoints = on_connection(webhooks.claim)
    next_delivery = on_connection(webhooks.next_due)
    record_delivery_attempt = on_connection(webhooks.record_attempt)
    release_endpoint = on_connection(webhooks.release)
