"""The single write API of stockd, shared by the gateway, the HTTP API and the CLI."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

from stock_core.domain.catalog import parse_locations, parse_products
from stock_core.domain.movement import Envelope, MovementOutcome, Outcome
from stock_core.domain.token import Role
from stock_core.errors import CatalogImportError, DatabaseUnavailableError, StockRejection
from stock_core.store import catalog, gateway, ledger, queries, reads, tokens
from stock_core.store.connection import UNAVAILABLE_ERRORS, Connection, Pool
from stock_core.store.verify import VerifyReport, verify

__all__ = ["StockService"]


class StockService:
    """Use cases over one connection pool. Every write is one transaction."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def post(self, envelope: Envelope) -> MovementOutcome:
        """Post one command; raises its :class:`~stock_core.errors.StockRejection`."""
        return await ledger.post(self.pool, envelope)

    async def post_batch(self, envelopes: Sequence[Envelope]) -> list[Outcome]:
        """Group commit: one transaction, one outcome per envelope (rejections as values)."""
        return await ledger.post_batch(self.pool, envelopes)

    async def stock_of(self, sku: str) -> reads.StockLevel:
        async with self.pool.acquire() as conn:
            return await reads.stock_of(conn, sku)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        """A pooled connection; losing PostgreSQL becomes DatabaseUnavailableError."""
        try:
            async with self.pool.acquire() as conn:
                yield conn
        except UNAVAILABLE_ERRORS as exc:
            raise DatabaseUnavailableError(f"PostgreSQL unavailable: {exc}") from exc

    async def ping(self) -> bool:
        """True when PostgreSQL answers within two seconds."""
        try:
            async with self._connection() as conn:
                await conn.fetchval(queries.PING, timeout=2)
        except (DatabaseUnavailableError, TimeoutError):
            return False
        return True

    async def find_location(self, code_or_gln: str) -> str | None:
        async with self._connection() as conn:
            return await reads.find_location(conn, code_or_gln)

    async def append_events(self, events: Sequence[tuple[str, dict[str, Any]]]) -> None:
        async with self._connection() as conn:
            await gateway.append_events(conn, events)

    async def record_spool_exceptions(
        self, failures: Sequence[tuple[Envelope, StockRejection, datetime | None]]
    ) -> None:
        async with self._connection() as conn:
            await gateway.record_spool_exceptions(conn, failures)

    async def save_scanner_states(self, states: Sequence[gateway.ScannerState]) -> None:
        async with self._connection() as conn:
            await gateway.save_scanner_states(conn, states)

    async def list_spool_exceptions(
        self, *, include_resolved: bool = False, after: int = 0, limit: int = 100
    ) -> list[gateway.SpoolException]:
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

    async def verify(self) -> VerifyReport:
        async with self.pool.acquire() as conn:
            return await verify(conn)

    async def create_token(self, name: str, role: Role) -> tuple[str, tokens.TokenInfo]:
        async with self._connection() as conn:
            return await tokens.create_token(conn, name, role)

    async def authenticate(self, token: str) -> tokens.TokenInfo | None:
        async with self._connection() as conn:
            return await tokens.authenticate(conn, token)

    async def list_tokens(self, *, after: int = 0, limit: int = 100) -> list[tokens.TokenInfo]:
        async with self._connection() as conn:
            return await tokens.list_tokens(conn, after=after, limit=limit)

    async def revoke_token(self, token_id: int) -> tokens.TokenInfo | None:
        async with self._connection() as conn:
            return await tokens.revoke_token(conn, token_id)
