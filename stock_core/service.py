"""The single write API of stockd, shared by the gateway, the HTTP API and the CLI."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from stock_core import model
from stock_core.domain.availability import Availability
from stock_core.domain.batch import products_named
from stock_core.domain.catalog import parse_locations, parse_operators, parse_products
from stock_core.domain.count_task import DEFAULT_APPROVAL_PERCENT, CountTaskView
from stock_core.domain.history import parse_history
from stock_core.domain.labels import (
    MAX_LABELS,
    Label,
    LabelError,
    LabelKind,
    LabelRequest,
    LocationEntry,
    ProductEntry,
    command_labels,
    location_labels,
    product_labels,
)
from stock_core.domain.lineage import Lineage
from stock_core.domain.movement import (
    MAX_QUANTITY,
    Envelope,
    MovementOutcome,
    MovementRecord,
    Outcome,
    Pick,
    ProductRef,
    Receive,
    Return,
    Scrap,
)
from stock_core.domain.orders import OrderLineRequest, validate_lines
from stock_core.domain.returns import DEFAULT_REASONS, check_reason
from stock_core.domain.space import space_csv
from stock_core.domain.token import Role
from stock_core.domain.webhook import new_secret, parse_patterns
from stock_core.errors import (
    CatalogImportError,
    DatabaseUnavailableError,
    NotFoundError,
    StockRejection,
    UnknownLocationError,
    UnknownOperatorError,
    UnknownProductError,
)
from stock_core.group_commit import GroupCommit
from stock_core.store import (
    alerts,
    availability,
    capacity,
    catalog,
    failover,
    gateway,
    handheld,
    ledger,
    operators,
    orders,
    outbox,
    stock,
    tokens,
    webhooks,
)
from stock_core.store._boundary import is_unavailable, translated, with_retries
from stock_core.store.catalog import locations, products
from stock_core.store.connection import Connection, Pool
from stock_core.store.count_tasks import tasks as count_tasks
from stock_core.store.database import PING
from stock_core.store.ledger import movements
from stock_core.store.verify import VerifyReport, verify
from stock_core.types import (
    IdempotencyKey,
    LocationCode,
    OrderNumber,
    PurchaseOrderNumber,
    ReasonCode,
    Sku,
)

__all__ = ["StockService", "is_unavailable"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _pokes(
    method: Callable[Concatenate[StockService, _P], Coroutine[Any, Any, _R]],
) -> Callable[Concatenate[StockService, _P], Coroutine[Any, Any, _R]]:
    """Mark a use case that commits events: wake the feed relays afterwards."""

    @functools.wraps(method)
    async def wrapper(service: StockService, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return await method(service, *args, **kwargs)
        finally:
            service._poke()

    return wrapper


class StockService:
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
        """The return and scrap reasons :meth:`post` accepts (``[stock] reasons``)."""
        self.replicas = replicas
        """Where reports, exports and backtests read (a replica within its lag bound);
        ``None``: the primary. Stock figures that decide anything never come from it."""
        self.notifier = outbox.OutboxNotifier(pool) if notify else None
        self._locations: ledger.LocationCache = {}
        self.write_deadline = write_deadline
        """Seconds a :meth:`post` may take (connecting included) before its connection is
        dropped and it fails as unavailable (``None``: no bound). The web app sets one,
        so a hung primary cannot hold the API's group commit for a minute."""
        self._group = GroupCommit(self._post_bounded, keys_of=products_named)

    def _poke(self) -> None:
        """Events were committed: wake the feed relays (coalesced NOTIFY)."""
        if self.notifier is not None:
            self.notifier.poke()

    async def post(self, envelope: Envelope) -> MovementOutcome:
        """Post one command; raises its :class:`~stock_core.errors.StockRejection`.

        Concurrent posts are committed together (group commit), so API writes grow
        cheaper per request as load rises. A return or scrap must name a listed reason,
        and a named operator must be known.
        """
        if isinstance(envelope.command, Return | Scrap):
            check_reason(envelope.command.reason, self.reasons)
        if envelope.operator is not None:
            await self.check_operator(envelope.operator)
        outcome = await self._group.submit(envelope)
        if isinstance(outcome, StockRejection):
            raise outcome
        return outcome

    async def post_batch(
        self,
        envelopes: Sequence[Envelope],
        *,
        deadline: float | None = None,
        epoch: int | None = None,
    ) -> list[Outcome]:
        """Group commit: one transaction, one outcome per envelope (rejections as values).

        ``deadline`` bounds it (connecting included) by dropping the connection, and
        ``epoch`` refuses a failover the caller has not caught up with (see
        :func:`stock_core.store.ledger.post_batch`)."""
        outcomes = await ledger.post_batch(
            self.pool, envelopes, self._locations, deadline=deadline, epoch=epoch
        )
        self._poke()
        return outcomes

    async def _post_bounded(self, envelopes: Sequence[Envelope]) -> list[Outcome]:
        return await self.post_batch(envelopes, deadline=self.write_deadline)

    def lineage_epoch(self) -> int | None:
        """A number that changes at each failover this pool's connections saw
        (``None``: the pool does not follow failovers)."""
        connector = failover.connector_of(self.pool)
        return None if connector is None else connector.epoch

    def on_failover(self, listener: Callable[[Lineage | None, Lineage], None]) -> None:
        """Call ``listener(old, new)`` when a connection finds PostgreSQL on a new
        timeline or another system (a failover)."""
        connector = failover.connector_of(self.pool)
        if connector is not None:
            connector.on_new_lineage(listener)

    def drop_connections(self) -> int:
        """Close every connection of the pool at once (after an outage: the next ones
        are made afresh, host by host, and find the new primary)."""
        connector = failover.connector_of(self.pool)
        return 0 if connector is None else connector.terminate_all()

    async def stock_of(self, sku: str) -> model.StockLevel:
        async with self.pool.acquire() as conn:
            return await stock.stock_of(conn, sku)

    @contextlib.asynccontextmanager
    async def _connection(self, deadline: float | None = None) -> AsyncIterator[Connection]:
        """A pooled connection; losing PostgreSQL becomes DatabaseUnavailableError.

        With ``deadline`` (seconds, connecting included) the connection is dropped when
        it passes (:func:`~stock_core.store.failover.bounded`): never a wait on a hung
        server."""
        with translated():
            if deadline is not None:
                async with failover.bounded(self.pool, deadline) as conn:
                    yield conn
                return
            async with self.pool.acquire() as conn:
                yield conn

    async def _report_pool(self) -> Pool:
        return self.pool if self.replicas is None else await self.replicas.pool()

    @contextlib.asynccontextmanager
    async def _report_connection(self) -> AsyncIterator[Connection]:
        """A connection for a report or an export: the replica's while it keeps up."""
        pool = await self._report_pool()
        with translated():
            async with pool.acquire() as conn:
                yield conn

    async def floor_snapshot(self) -> dict[str, Any]:
        async with self._connection() as conn:
            return await stock.floor_snapshot(conn)

    async def events_after(self, seq: int, limit: int = 1000) -> list[model.FeedEvent]:
        async with self._connection() as conn:
            return await outbox.events_after(conn, seq, limit)

    async def feed_bounds(self) -> tuple[int, int]:
        """(oldest retained feed seq, newest feed seq)."""
        async with self._connection() as conn:
            return await outbox.feed_bounds(conn)

    # -- orders, backorders, purchase orders ------------------------------------------

    @_pokes
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

    @_pokes
    async def cancel_order(self, number: str) -> model.Order:
        return await with_retries(self.pool, lambda conn: orders.cancel_order(conn, number))

    async def get_order(self, number: str) -> model.Order:
        async with self._connection() as conn:
            return await orders.get_order(conn, number)

    async def list_orders(
        self, *, status: str | None = None, after: int = 0, limit: int = 100
    ) -> list[model.Order]:
        async with self._connection() as conn:
            return await orders.list_orders(conn, status=status, after=after, limit=limit)

    async def availability(self, skus: Sequence[str]) -> dict[str, Availability]:
        """What a storefront shows for each known SKU (unknown SKUs are absent)."""
        async with self._connection() as conn:
            return await availability.availability_of(conn, skus)

    # -- webhooks ----------------------------------------------------------------------

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

    async def backorders(self, sku: str | None = None) -> list[model.Backorder]:
        async with self._connection() as conn:
            return await orders.backorders(conn, sku)

    @_pokes
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

    @_pokes
    async def reschedule_purchase_order(
        self, number: str, expected_date: date
    ) -> model.PurchaseOrder:
        """Move an open purchase order's expected date (backorders it covers move too)."""
        return await with_retries(
            self.pool, lambda conn: orders.reschedule_purchase_order(conn, number, expected_date)
        )

    async def get_purchase_order(self, number: str) -> model.PurchaseOrder:
        async with self._connection() as conn:
            return await orders.get_purchase_order(conn, number)

    async def list_purchase_orders(
        self, *, status: str | None = None, after: int = 0, limit: int = 100
    ) -> list[model.PurchaseOrder]:
        async with self._connection() as conn:
            return await orders.list_purchase_orders(conn, status=status, after=after, limit=limit)

    @_pokes
    async def cancel_purchase_order(self, number: str) -> model.PurchaseOrder:
        return await with_retries(
            self.pool, lambda conn: orders.cancel_purchase_order(conn, number)
        )

    @_pokes
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
                ref,
                LocationCode(location),
                line.quantity,
                line.lot,
                line.expiry,
                purchase_order=po,
            ),
        )

    @_pokes
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

    async def simulation_catalog(self, limit: int = 200) -> tuple[list[str], list[str]]:
        async with self._connection() as conn:
            return await stock.simulation_catalog(conn, limit)

    async def ping(self) -> bool:
        """True when PostgreSQL answers within two seconds."""
        try:
            async with self._connection() as conn:
                await conn.fetchval(PING, timeout=2)
        except (DatabaseUnavailableError, TimeoutError):
            return False
        return True

    async def find_location(self, code_or_gln: str, *, deadline: float | None = None) -> str | None:
        """The location's code; ``deadline`` bounds it as :meth:`post_batch`'s."""
        if deadline is not None:
            async with failover.bounded(self.pool, deadline) as conn:
                return await stock.find_location(conn, code_or_gln)
        async with self._connection() as conn:
            return await stock.find_location(conn, code_or_gln)

    # -- operators -------------------------------------------------------------------

    async def find_operator(self, code: str) -> model.Operator | None:
        """The operator a badge names, or ``None`` (a scanner's ``USR:`` check)."""
        async with self._connection() as conn:
            return await operators.find_operator(conn, code)

    async def check_operator(self, code: str) -> None:
        """Raise :class:`UnknownOperatorError` unless ``code`` names an operator."""
        if await self.find_operator(code) is None:
            raise UnknownOperatorError(code)

    async def list_operators(self, *, after: str = "", limit: int = 100) -> list[model.Operator]:
        async with self._connection() as conn:
            return await operators.list_operators(conn, after=after, limit=limit)

    async def save_operator(self, code: str, name: str) -> tuple[model.Operator, bool]:
        """Create or rename an operator (rules: :func:`stock_core.domain.operator.check_operator`);
        ``True`` when created."""
        async with self._connection() as conn:
            return await operators.save_operator(conn, code, name)

    async def import_operators(
        self, data: bytes, progress: Callable[[int], None] | None = None
    ) -> catalog.ImportSummary:
        """``code,name`` lines: validate all, then upsert all in one transaction."""
        rows, problems = parse_operators(data)
        if problems:
            raise CatalogImportError(problems)
        async with self._connection() as conn:
            created, updated = await operators.load_operators(
                conn, [(r.code, r.name) for r in rows]
            )
        if progress:
            progress(len(rows))
        return catalog.ImportSummary(created=created, updated=updated)

    async def operator_report(
        self, start: date | datetime, end: date | datetime
    ) -> list[model.OperatorActivity]:
        """Movements and units per operator over a period: dates are whole UTC days
        (``end`` included), datetimes instants (``end`` excluded)."""
        from stock_core.domain.reports import period_bounds

        first, last = period_bounds(start, end)
        async with self._connection() as conn:
            return await operators.operator_report(conn, first, last)

    @_pokes
    async def append_events(
        self, events: Sequence[tuple[str, dict[str, Any]]], *, deadline: float | None = None
    ) -> None:
        async with self._connection(deadline) as conn:
            await gateway.append_events(conn, events)

    @_pokes
    async def record_spool_exceptions(
        self,
        failures: Sequence[tuple[Envelope, StockRejection, datetime | None]],
        *,
        deadline: float | None = None,
    ) -> None:
        async with self._connection(deadline) as conn:
            await gateway.record_spool_exceptions(conn, failures)

    async def save_scanner_states(
        self, states: Sequence[model.ScannerState], *, deadline: float | None = None
    ) -> None:
        async with self._connection(deadline) as conn:
            await gateway.save_scanner_states(conn, states)

    async def save_gateway_state(
        self, name: str, spool: dict[str, Any], *, deadline: float | None = None
    ) -> None:
        """A gateway's own state (its spool), for every node to show."""
        async with self._connection(deadline) as conn:
            await gateway.save_gateway_state(conn, name, spool)

    async def gateway_states(self) -> list[model.GatewayState]:
        async with self._connection() as conn:
            return await gateway.gateway_states(conn)

    async def handheld_session(self, scanner: str) -> handheld.HandheldSession | None:
        """What is kept of a handheld scanner (its session, its last scan), if anything."""
        async with self._connection() as conn:
            return await handheld.handheld_session(conn, scanner)

    async def handheld_reply(self, scanner: str, seq: int) -> dict[str, Any] | None:
        """The reply a handheld's scan ``seq`` got, while it is kept."""
        async with self._connection() as conn:
            return await handheld.handheld_reply(conn, scanner, seq)

    @_pokes
    async def save_handheld_scan(
        self,
        state: model.ScannerState,
        session: dict[str, Any],
        seq: int,
        reply: dict[str, Any],
        worker: str | None,
        events: Sequence[tuple[str, dict[str, Any]]] = (),
        refused_late: Sequence[tuple[Envelope, StockRejection, datetime | None]] = (),
    ) -> None:
        """A handheld took scan ``seq``: its session, reply, state, events and (a scan taken
        offline and refused now) its spool exception, together."""
        async with self._connection() as conn:
            await handheld.save_handheld_scan(
                conn, state, session, seq, reply, worker, events, refused_late
            )

    @_pokes
    async def save_handheld_status(
        self, state: model.ScannerState, event: tuple[str, dict[str, Any]]
    ) -> None:
        async with self._connection() as conn:
            await handheld.save_handheld_status(conn, state, event)

    async def list_spool_exceptions(
        self, *, include_resolved: bool = False, after: int = 0, limit: int = 100
    ) -> list[model.SpoolException]:
        async with self._connection() as conn:
            return await gateway.list_spool_exceptions(
                conn, include_resolved=include_resolved, after=after, limit=limit
            )

    async def import_products(
        self, data: bytes, progress: Callable[[int], None] | None = None
    ) -> catalog.ImportSummary:
        """Validate every line, then load all in one transaction, or raise and load nothing."""
        rows, problems = parse_products(data)
        if problems:
            raise CatalogImportError(problems)
        async with self.pool.acquire() as conn:
            return await catalog.load_products(conn, rows, progress)

    async def import_locations(
        self, data: bytes, progress: Callable[[int], None] | None = None
    ) -> catalog.ImportSummary:
        rows, problems = parse_locations(data)
        if problems:
            raise CatalogImportError(problems)
        async with self.pool.acquire() as conn:
            return await catalog.load_locations(conn, rows, progress)

    async def import_history(
        self, data: bytes, progress: Callable[[int], None] | None = None
    ) -> catalog.ImportSummary:
        """Past demand (``sku,date,quantity``); never changes stock. All or nothing."""
        rows, problems = parse_history(data, today=datetime.now(UTC).date())
        if problems:
            raise CatalogImportError(problems)
        async with self.pool.acquire() as conn:
            return await catalog.load_history(conn, rows, progress)

    # -- count tasks -------------------------------------------------------------

    @_pokes
    async def open_count_task(
        self,
        *,
        locations: Sequence[str] | None = None,
        zone: str | None = None,
        abc_class: str | None = None,
        blind: bool = False,
        actor: str = "system",
    ) -> CountTaskView:
        """Open a count task for locations named, a zone's, or an ABC class's."""

        async def work(conn: Connection) -> CountTaskView:
            return await count_tasks.open_task(
                conn, locations=locations, zone=zone, abc_class=abc_class, blind=blind, actor=actor
            )

        return await with_retries(self.pool, work)

    async def count_task(self, task_id: int) -> CountTaskView:
        async with self._connection() as conn:
            return await count_tasks.task_view(conn, task_id)

    async def list_count_tasks(
        self, *, status: str | None = None, after: int = 0, limit: int = 100
    ) -> list[CountTaskView]:
        async with self._connection() as conn:
            return await count_tasks.list_tasks(conn, status=status, after=after, limit=limit)

    @_pokes
    async def count_for_task(self, task_id: int, envelope: Envelope) -> CountTaskView:
        """Record a count of one of an open task's locations (``envelope``: a Count)."""

        async def work(conn: Connection) -> CountTaskView:
            return await count_tasks.count_for_task(conn, task_id, envelope)

        return await with_retries(self.pool, work)

    @_pokes
    async def confirm_count_task(
        self,
        task_id: int,
        *,
        approval_percent: float = DEFAULT_APPROVAL_PERCENT,
        actor: str = "system",
    ) -> CountTaskView:
        """Lines from the counts; those within ``approval_percent`` post at once."""

        async def work(conn: Connection) -> CountTaskView:
            return await count_tasks.confirm_task(conn, task_id, approval_percent, actor)

        return await with_retries(self.pool, work)

    @_pokes
    async def approve_count_task(self, task_id: int, *, actor: str = "system") -> CountTaskView:
        async def work(conn: Connection) -> CountTaskView:
            return await count_tasks.approve_task(conn, task_id, actor)

        return await with_retries(self.pool, work)

    async def space(self, warehouse: str | None = None) -> dict[str, Any]:
        """Weight and volume used and allowed per zone (``GET /reports/space``)."""
        async with self._connection() as conn:
            lines = await capacity.space(conn, warehouse)
        return {"items": [line.as_dict() for line in lines]}

    async def space_csv(self, warehouse: str | None = None) -> str:
        async with self._connection() as conn:
            return space_csv(await capacity.space(conn, warehouse))

    async def verify(self) -> VerifyReport:
        async with self.pool.acquire() as conn:
            return await verify(conn)

    async def create_token(
        self, name: str, role: Role, *, expires_at: datetime | None = None
    ) -> tuple[str, model.Token]:
        async with self._connection() as conn:
            return await tokens.create_token(conn, name, role, expires_at=expires_at)

    async def authenticate(self, token: str) -> model.Token | None:
        async with self._connection() as conn:
            return await tokens.authenticate(conn, token)

    async def list_tokens(self, *, after: int = 0, limit: int = 100) -> list[model.Token]:
        async with self._connection() as conn:
            return await tokens.list_tokens(conn, after=after, limit=limit)

    async def revoke_token(self, token_id: int) -> model.Token | None:
        async with self._connection() as conn:
            return await tokens.revoke_token(conn, token_id)

    async def find_tokens(self, ref: str) -> list[model.Token]:
        """The tokens an id, prefix or token text names (``stockd token revoke REF``)."""
        async with self._connection() as conn:
            return await tokens.find_tokens(conn, ref)

    async def invalid_tokens(self, token_ids: Sequence[int]) -> set[int]:
        """Those of ``token_ids`` now revoked, expired or deleted (a web node's resync)."""
        async with self._connection() as conn:
            return await tokens.invalid_token_ids(conn, token_ids)

    # -- HTTP API: reads, catalog edits, acknowledgements ------------------------------

    async def list_products(
        self, *, category: str | None = None, after: int = 0, limit: int = 100
    ) -> list[model.Product]:
        async with self._connection() as conn:
            return await products.list_products(conn, category=category, after=after, limit=limit)

    async def product(self, sku: str) -> model.Product:
        """The product with ``sku``; raises :class:`UnknownProductError`."""
        async with self._connection() as conn:
            found = await products.product_by_sku(conn, sku)
        if found is None:
            raise UnknownProductError(sku)
        return found

    async def create_product(self, spec: model.ProductSpec) -> model.Product:
        async with self._connection() as conn:
            return await products.create_product(conn, spec)

    async def update_product(self, sku: str, changes: Mapping[str, Any]) -> model.Product:
        """Change some fields (names as in :class:`ProductSpec`); barcodes replace all."""
        async with self._connection() as conn:
            return await products.update_product(conn, sku, changes)

    async def list_locations(
        self, *, zone: str | None = None, after: int = 0, limit: int = 100
    ) -> list[model.Location]:
        async with self._connection() as conn:
            return await locations.list_locations(conn, zone=zone, after=after, limit=limit)

    async def location(self, code: str) -> model.Location:
        """The location with ``code``; raises :class:`UnknownLocationError`."""
        async with self._connection() as conn:
            found = await locations.location_by_code(conn, code)
        if found is None:
            raise UnknownLocationError(code)
        return found

    async def set_location_limits(
        self, code: str, changes: Mapping[str, Decimal | None]
    ) -> model.Location:
        """Set or remove (``None``) ``max_weight_g`` and ``max_volume_cm3``; others stay."""
        async with self._connection() as conn:
            if not await capacity.set_limits(conn, code, **changes):
                raise UnknownLocationError(code)
            found = await locations.location_by_code(conn, code)
        assert found is not None
        return found

    async def create_location(self, spec: model.LocationSpec) -> model.Location:
        async with self._connection() as conn:
            return await locations.create_location(conn, spec)

    async def list_stock(
        self,
        *,
        sku: str | None = None,
        location: str | None = None,
        zone: str | None = None,
        below_reorder_point: bool = False,
        after: int = 0,
        limit: int = 100,
        search: str | None = None,
    ) -> list[model.ProductStock]:
        async with self._connection() as conn:
            return await stock.list_stock(
                conn,
                sku=sku,
                location=location,
                zone=zone,
                below_reorder_point=below_reorder_point,
                after=after,
                limit=limit,
                search=search,
            )

    async def list_movements(
        self,
        filters: model.MovementFilter,
        *,
        after: int | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> list[MovementRecord]:
        async with self._connection() as conn:
            return await movements.list_movements(
                conn, filters, after=after, limit=limit, newest_first=newest_first
            )

    async def movement(self, movement_id: int) -> MovementRecord | None:
        async with self._connection() as conn:
            return await movements.movement_by_id(conn, movement_id)

    @contextlib.asynccontextmanager
    async def export_movements(
        self, filters: model.MovementFilter
    ) -> AsyncIterator[AsyncIterator[Sequence[MovementRecord]]]:
        """Batches of matching movements from one cursor; holds a connection until exit."""
        async with (
            self._report_connection() as conn,
            contextlib.aclosing(movements.export_movements(conn, filters)) as batches,
        ):
            yield batches

    async def list_scanners(
        self,
        live: Sequence[model.ScannerState] = (),
        *,
        after: str | None = None,
        limit: int = 100,
    ) -> list[model.ScannerView]:
        """Stored scanner states, overridden by ``live`` ones (a gateway in this process)."""
        async with self._connection() as conn:
            stored = await gateway.list_scanner_states(conn)
        merged = {view.state.id: view for view in stored}
        for state in live:
            merged[state.id] = model.ScannerView(state, updated_at=None, live=True)
        ids = sorted(i for i in merged if after is None or i > after)
        return [merged[i] for i in ids[:limit]]

    async def list_alerts(
        self,
        *,
        include_cleared: bool = False,
        kind: str | None = None,
        sku: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[model.Alert]:
        async with self._connection() as conn:
            return await alerts.list_alerts(
                conn, include_cleared=include_cleared, kind=kind, sku=sku, after=after, limit=limit
            )

    async def alert(self, alert_id: int) -> model.Alert | None:
        async with self._connection() as conn:
            return await alerts.alert_by_id(conn, alert_id)

    @_pokes
    async def acknowledge_alert(self, alert_id: int, by: str) -> model.Alert | None:
        """Acknowledge once (emits ``alert.acknowledged``); ``None`` when there is no such alert."""
        async with self._connection() as conn:
            return await alerts.acknowledge_alert(conn, alert_id, by)

    async def spool_exception(self, exception_id: int) -> model.SpoolException | None:
        async with self._connection() as conn:
            return await gateway.spool_exception_by_id(conn, exception_id)

    @_pokes
    async def resolve_spool_exception(
        self, exception_id: int, by: str, resolution: str
    ) -> model.SpoolException | None:
        async with self._connection() as conn:
            return await gateway.resolve_spool_exception(conn, exception_id, by, resolution)

    # -- analytics: forecasts, replenishment, backtest, reports ------------------------
    # Answers are JSON-ready (SPEC's pinned shapes, money as strings) or CSV text. The
    # imports are local because this block is appended to a module others edit.
    # ``today`` / ``as_of`` default to now (UTC); tests and backfills pass their own.

    async def forecast(
        self, sku: str, weeks: int = 26, *, today: date | None = None, history: int = 0
    ) -> dict[str, Any]:
        """``{"sku", "weeks": [{"week_start", "demand"}], "method"}`` from today's week.

        From the background cache when the product's demand is unchanged, else computed
        now (in a worker thread). With ``history`` > 0 it adds ``"history"``, the last
        ``history`` complete weeks of past demand (``[{"week_start", "demand"}]``, oldest
        first), and ``"replenishment"``, the product's suggestion (projected stock-out
        date, lead time, order-by date). Raises :class:`UnknownProductError`.
        """
        from stock_core import analytics_task
        from stock_core.domain.forecast import DEFAULT_HORIZON_WEEKS
        from stock_core.errors import StockUsageError

        if not 1 <= weeks <= DEFAULT_HORIZON_WEEKS:
            raise StockUsageError(f"weeks must be 1 to {DEFAULT_HORIZON_WEEKS}, not {weeks}")
        if not 0 <= history <= 520:
            raise StockUsageError(f"history must be 0 to 520 weeks, not {history}")
        day = today or analytics_task.utc_today()
        with translated():
            if not history:
                found = await analytics_task.forecast_of(self.pool, sku, today=day, weeks=weeks)
                return found.to_dict()
            view = await analytics_task.forecast_view(self.pool, sku, today=day, weeks=weeks)
        out = view.forecast.to_dict()
        past = view.history.values[-history:]
        first = view.history.end - timedelta(weeks=len(past))
        out["history"] = [
            {"week_start": (first + timedelta(weeks=i)).isoformat(), "demand": round(v, 2)}
            for i, v in enumerate(past)
        ]
        out["replenishment"] = view.suggestion.to_dict() if view.suggestion else None
        return out

    async def refresh_forecasts(self, *, today: date | None = None, force: bool = False) -> int:
        """Bring every cached forecast up to date; returns how many products there are."""
        from stock_core import analytics_task

        day = today or analytics_task.utc_today()
        with translated():
            found = await analytics_task.current_forecasts(self.pool, today=day, force=force)
        return len(found)

    @_pokes
    async def evaluate_projected_stockouts(self, *, today: date | None = None) -> dict[str, Any]:
        """Raise and clear ``projected_stockout`` alerts as of ``today`` (what the
        background forecaster does each run); the SKUs short, raised and cleared."""
        from stock_core import analytics_task

        day = today or analytics_task.utc_today()
        with translated():
            sweep = await analytics_task.evaluate_stockouts(self.pool, today=day)
        return {
            "today": sweep.today.isoformat(),
            "evaluated": sweep.evaluated,
            "short": list(sweep.short),
            "raised": list(sweep.raised),
            "cleared": list(sweep.cleared),
        }

    async def replenishment(
        self,
        *,
        after: int = 0,
        limit: int = 100,
        needed_only: bool = False,
        review_days: int = 7,
        today: date | None = None,
    ) -> dict[str, Any]:
        """``{"items": [{"sku", "order_quantity", "order_by", ...}], "next_after"}``.

        Products in id order after the keyset bound ``after``; ``next_after`` is the
        bound of the next page (``None`` on the last). ``needed_only`` lists only
        products that need an order within the year.
        """
        from stock_core import analytics_task
        from stock_core.errors import StockUsageError

        if not 1 <= limit <= 1000 or review_days < 1:
            raise StockUsageError("limit must be 1 to 1000 and review_days at least 1")
        day = today or analytics_task.utc_today()
        with translated():
            page = await analytics_task.replenishment_page(
                self.pool,
                today=day,
                after=after,
                limit=limit,
                needed_only=needed_only,
                review_days=review_days,
            )
        return {"items": [s.to_dict() for s in page.items], "next_after": page.next_after}

    async def backtest(
        self, holdout_weeks: int = 13, *, today: date | None = None
    ) -> dict[str, Any]:
        """Forecast each product's last ``holdout_weeks`` from the weeks before; MASE
        per product, per method and overall, beside the seasonal-naive baseline's."""
        from stock_core import analytics_task
        from stock_core.errors import StockUsageError

        if not 1 <= holdout_weeks <= 104:
            raise StockUsageError(f"holdout_weeks must be 1 to 104, not {holdout_weeks}")
        day = today or analytics_task.utc_today()
        with translated():
            report = await analytics_task.backtest_catalog(
                await self._report_pool(), today=day, holdout_weeks=holdout_weeks
            )
        return report.to_dict()

    async def turnover(self, start: date | datetime, end: date | datetime) -> dict[str, Any]:
        """Inventory turnover per product, per category and in total over a period.

        Turnover = cost of goods picked ÷ the mean of the opening and closing stock
        value. Dates are whole UTC days (``end`` included); datetimes are instants
        (``end`` excluded).
        """
        from stock_core.store import analytics

        async with self._report_connection() as conn:
            return (await analytics.turnover_report(conn, start, end)).to_dict()

    async def turnover_csv(self, start: date | datetime, end: date | datetime) -> str:
        from stock_core.domain.reports import turnover_csv
        from stock_core.store import analytics

        async with self._report_connection() as conn:
            return turnover_csv(await analytics.turnover_report(conn, start, end))

    async def deadstock(
        self,
        days: int = 90,
        *,
        as_of: date | datetime | None = None,
        slow_cover_days: int = 180,
    ) -> dict[str, Any]:
        """Products with stock and no pick in ``days`` days (``dead``), and those whose
        stock outlasts ``slow_cover_days`` at that window's pace (``slow``), with the
        value tied up and the last outbound. ``as_of`` a date means the end of that day."""
        from stock_core.store import analytics

        async with self._report_connection() as conn:
            report = await analytics.deadstock_report(
                conn, days, as_of=as_of, slow_cover_days=slow_cover_days
            )
        return report.to_dict()

    async def deadstock_csv(
        self,
        days: int = 90,
        *,
        as_of: date | datetime | None = None,
        slow_cover_days: int = 180,
    ) -> str:
        from stock_core.domain.reports import deadstock_csv
        from stock_core.store import analytics

        async with self._report_connection() as conn:
            report = await analytics.deadstock_report(
                conn, days, as_of=as_of, slow_cover_days=slow_cover_days
            )
        return deadstock_csv(report)

    async def valuation(self, at: date | datetime | None = None) -> dict[str, Any]:
        """Stock value at ``at`` (a date: the end of that day; default now), from the
        ledger, per product, per category and in total, at current unit costs."""
        from stock_core.store import analytics

        async with self._report_connection() as conn:
            return (await analytics.valuation_report(conn, at)).to_dict()

    async def valuation_csv(self, at: date | datetime | None = None) -> str:
        from stock_core.domain.reports import valuation_csv
        from stock_core.store import analytics

        async with self._report_connection() as conn:
            return valuation_csv(await analytics.valuation_report(conn, at))

    async def expiry(self, days: int = 30) -> dict[str, Any]:
        """Stock expired (expiry date before today, UTC) or expiring within ``days``
        days, per product, location and lot, soonest first, with totals."""
        from stock_core.domain.reports import expiry_report
        from stock_core.errors import StockUsageError
        from stock_core.store import expiry

        if not 0 <= days <= 3650:
            raise StockUsageError(f"days must be 0 to 3650, not {days}")
        async with self._connection() as conn:
            today, rows = await expiry.dated_stock(conn, days)
        return expiry_report(rows, today=today, days=days).to_dict()

    async def expiry_csv(self, days: int = 30) -> str:
        from stock_core.domain.reports import expiry_csv, expiry_report
        from stock_core.errors import StockUsageError
        from stock_core.store import expiry

        if not 0 <= days <= 3650:
            raise StockUsageError(f"days must be 0 to 3650, not {days}")
        async with self._connection() as conn:
            today, rows = await expiry.dated_stock(conn, days)
        return expiry_csv(expiry_report(rows, today=today, days=days))

    async def sweep_expired(self) -> dict[str, Any]:
        """Raise ``expired`` alerts for stock that passed its date and clear those with
        none left (what the background task does each run)."""
        from stock_core.store import expiry

        async with self._connection() as conn:
            sweep = await expiry.sweep_expired_alerts(conn)
        return {"raised": list(sweep.raised), "cleared": list(sweep.cleared)}

    # -- labels --------------------------------------------------------------------

    async def labels(self, request: LabelRequest) -> list[Label]:
        """The labels ``request`` selects (``stockd labels``, ``GET /api/v1/labels/{kind}``).

        Locations and products are read in one connection. An unknown location code or
        SKU raises :class:`UnknownLocationError` or :class:`UnknownProductError`, a zone
        without locations :class:`NotFoundError`, the rest :class:`LabelError`.
        """
        if request.kind is LabelKind.COMMANDS:
            return command_labels(request)
        async with self._connection() as conn:
            if request.kind is LabelKind.LOCATIONS:
                places = await _label_locations(conn, request)
                entries = [LocationEntry(p.code, p.name, p.zone) for p in places]
                return location_labels(request, entries)
            products = await _label_products(conn, request)
        return product_labels(
            request,
            [
                ProductEntry(p.sku, p.name, tuple((b.code, b.pack_size) for b in p.barcodes))
                for p in products
            ],
        )


class _Keyed(Protocol):
    @property
    def id(self) -> int: ...


_K = TypeVar("_K", bound=_Keyed)


async def _every(page: Callable[[int, int], Awaitable[list[_K]]]) -> list[_K]:
    """Every row of a keyset-paginated read, or one more than a label request may print."""
    found: list[_K] = []
    after = 0
    while len(found) <= MAX_LABELS:
        rows = await page(after, 500)
        found += rows
        if len(rows) < 500:
            break
        after = rows[-1].id
    return found


async def _label_locations(conn: Connection, request: LabelRequest) -> list[model.Location]:
    if not request.codes:
        found = await _every(
            lambda after, limit: locations.list_locations(
                conn, zone=request.zone, after=after, limit=limit
            )
        )
        if not found and request.zone is not None:
            raise NotFoundError(f"no location is in zone {request.zone!r}")
        return found
    places = []
    for code in request.codes:
        place = await locations.location_by_code(conn, code)
        if place is None:
            raise UnknownLocationError(code)
        places.append(place)
    return places


async def _label_products(conn: Connection, request: LabelRequest) -> list[model.Product]:
    skus = request.codes
    if request.zone is not None:
        if not await locations.list_locations(conn, zone=request.zone, after=0, limit=1):
            raise NotFoundError(f"no location is in zone {request.zone!r}")
        stocked = await _every(
            lambda after, limit: stock.list_stock(
                conn,
                sku=None,
                location=None,
                zone=request.zone,
                below_reorder_point=False,
                after=after,
                limit=limit,
            )
        )
        skus = tuple(s.sku for s in stocked)
        if not skus:
            raise LabelError(f"no product is in stock in zone {request.zone!r}")
    if not skus:
        return await _every(
            lambda after, limit: products.list_products(
                conn, category=None, after=after, limit=limit
            )
        )
    found = []
    for sku in skus:
        product = await products.product_by_sku(conn, sku)
        if product is None:
            raise UnknownProductError(sku)
        found.append(product)
    return found
