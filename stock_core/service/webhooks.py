"""Webhook subscriptions and their deliveries."""

from __future__ import annotations

from collections.abc import Sequence

from stock_core import model
from stock_core.domain.webhook import new_secret, parse_patterns
from stock_core.service.base import ServiceBase
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

    async def list_webhooks(self, *, after: int = 0, limit: int = 100) -> list[model.Webhook]:
        async with self._connection() as conn:
            return await webhooks.list_webhooks(conn, after=after, limit=limit)

    async def get_webhook(self, webhook_id: int) -> model.Webhook:
        async with self._connection() as conn:
            return await webhooks.get_webhook(conn, webhook_id)

    async def delete_webhook(self, webhook_id: int) -> model.Webhook:
        async with self._connection() as conn, conn.transaction():
            view = await webhooks.get_webhook(conn, webhook_id)
            await webhooks.delete_webhook(conn, webhook_id)
            return view

    async def list_deliveries(
        self, webhook_id: int, *, status: str | None = None, after: int = 0, limit: int = 100
    ) -> list[model.Delivery]:
        async with self._connection() as conn:
            return await webhooks.list_deliveries(
                conn, webhook_id, status=status, after=after, limit=limit
            )

    async def redeliver(self, webhook_id: int, delivery_id: int) -> model.Delivery:
        async with self._connection() as conn:
            return await webhooks.redeliver(conn, webhook_id, delivery_id)
