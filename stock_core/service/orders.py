"""Customer orders, backorders and purchase orders: create, cancel, receive, pick."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from datetime import date

from stock_core import model
from stock_core.domain.movement import MAX_QUANTITY
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import MovementOutcome
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.orders import OrderLineRequest
from stock_core.domain.orders import validate_lines
from stock_core.service.base import ServiceBase
from stock_core.service.base import on_connection
from stock_core.service.base import pokes
from stock_core.store import ledger
from stock_core.store import orders
from stock_core.store._boundary import with_retries
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import OrderNumber
from stock_core.types import PurchaseOrderNumber
from stock_core.types import Sku

__all__ = ["OrderUseCases"]


class OrderUseCases(ServiceBase):
    @pokes
    async def create_order(
        self,
        number: str,
        lines: Sequence[OrderLineRequest],
        *,
        priority: int = 0,
        customer: str | None = None,
        customer_email: str | None = None,
    ) -> tuple[model.Order, bool]:
        """Reserve what is available, backorder the rest; (order, created)."""
        return await with_retries(
            self.pool,
            lambda conn: orders.create_order(
                conn,
                number,
                lines,
                priority=priority,
                customer=customer,
                customer_email=customer_email,
            ),
        )

    @pokes
    async def cancel_order(self, number: str) -> model.Order:
        return await with_retries(self.pool, lambda conn: orders.cancel_order(conn, number))

    get_order = on_connection(orders.get_order)
    list_orders = on_connection(orders.list_orders)
    backorders = on_connection(orders.backorders)

    @pokes
    async def create_purchase_order(
        self,
        number: str,
        expected_date: date,
        lines: Sequence[OrderLineRequest],
        *,
        supplier: str | None = None,
    ) -> tuple[model.PurchaseOrder, bool]:
        return await with_retries(
            self.pool,
            lambda conn: orders.create_purchase_order(
                conn, number, expected_date, lines, supplier=supplier
            ),
        )

    @pokes
    async def reschedule_purchase_order(
        self, number: str, expected_date: date
    ) -> model.PurchaseOrder:
        """Move an open purchase order's expected date (backorders it covers move too)."""
        return await with_retries(
            self.pool, lambda conn: orders.reschedule_purchase_order(conn, number, expected_date)
        )

    get_purchase_order = on_connection(orders.get_purchase_order)
    list_purchase_orders = on_connection(orders.list_purchase_orders)

    @pokes
    async def cancel_purchase_order(self, number: str) -> model.PurchaseOrder:
        return await with_retries(
            self.pool, lambda conn: orders.cancel_purchase_order(conn, number)
        )

    @pokes
    async def receive_purchase_order(
        self,
        number: str,
        location: str,
        lines: Sequence[OrderLineRequest],
        *,
        key: str,
        actor: str = "system",
    ) -> list[MovementOutcome]:
        """Receive lines against a purchase order, all or nothing; ``key`` makes it once.

        A line may name its lot and the lot's expiry; a SKU may come on several lines
        (several lots of it)."""
        po = PurchaseOrderNumber(number)
        return await self._post_lines(
            lines,
            key,
            actor,
            lambda ref, line: Receive(
                ref, LocationCode(location), line.quantity, line.lot, line.expiry, purchase_order=po
            ),
        )

    @pokes
    async def pick_order(
        self,
        number: str,
        location: str,
        lines: Sequence[OrderLineRequest],
        *,
        key: str,
        actor: str = "system",
    ) -> list[MovementOutcome]:
        """Pick lines against a customer order, all or nothing; ``key`` makes it once."""
        order = OrderNumber(number)
        return await self._post_lines(
            lines,
            key,
            actor,
            lambda ref, line: Pick(ref, LocationCode(location), line.quantity, order=order),
        )

    async def _post_lines(
        self,
        lines: Sequence[OrderLineRequest],
        key: str,
        actor: str,
        command: Callable[[ProductRef, OrderLineRequest], Receive | Pick],
    ) -> list[MovementOutcome]:
        """One envelope per line (keys ``key/0``, ``key/1``…), in one transaction."""
        validate_lines(lines, limit=MAX_QUANTITY, one_per_sku=False)
        envelopes = [
            Envelope(
                IdempotencyKey(f"{key}/{n}"),
                command(ProductRef(sku=Sku(line.sku)), line),
                actor=actor,
            )
            for n, line in enumerate(lines)
        ]
        return await ledger.post_atomic(self.pool, envelopes, self._locations)
