"""The single write API of stockd, shared by the gateway, the HTTP API and the CLI.

:class:`StockService` is a thin facade: one method per use case, each one transaction
(or one read), grouped by what it serves (``ledger``, ``orders``, ``gateway``,
``admin``, ``catalog``, ``analytics``, ``labels``, ``webhooks``, ``counts``).
"""

from __future__ import annotations

from collections.abc import Sequence

from stock_core.domain.batch import products_named
from stock_core.domain.returns import DEFAULT_REASONS
from stock_core.group_commit import GroupCommit
from stock_core.service.admin import AdminUseCases
from stock_core.service.analytics import AnalyticsUseCases
from stock_core.service.catalog import CatalogUseCases
from stock_core.service.counts import CountTaskUseCases
from stock_core.service.gateway import GatewayUseCases
from stock_core.service.labels import LabelUseCases
from stock_core.service.ledger import LedgerUseCases
from stock_core.service.orders import OrderUseCases
from stock_core.service.webhooks import WebhookUseCases
from stock_core.store import failover
from stock_core.store import outbox
from stock_core.store._boundary import is_unavailable
from stock_core.store.connection import Pool
from stock_core.types import ReasonCode

__all__ = ["StockService", "is_unavailable"]


class StockService(
    LedgerUseCases,
    OrderUseCases,
    GatewayUseCases,
    AdminUseCases,
    CatalogUseCases,
    AnalyticsUseCases,
    LabelUseCases,
    WebhookUseCases,
    CountTaskUseCases,
):
    """Use cases over one connection pool. Every write is one transaction."""

    def __init__(
        self,
        pool: Pool,
        *,
        notify: bool = True,
        replicas: failover.ReplicaRouter | None = None,
        write_deadline: float | None = None,
        reasons: Sequence[ReasonCode] = DEFAULT_REASONS,
    ) -> None:
        self.pool = pool
        self.reasons = tuple(reasons)
        self.replicas = replicas
        self.write_deadline = write_deadline
        self.notifier = outbox.OutboxNotifier(pool) if notify else None
        self._locations = {}
        self._group = GroupCommit(self._post_bounded, keys_of=products_named)
