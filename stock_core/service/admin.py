"""Bulk imports (catalog, locations, demand history), ledger verification and API
tokens."""

from __future__ import annotations

from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from typing import TypeVar

from stock_core import model
from stock_core.domain.catalog import parse_locations
from stock_core.domain.catalog import parse_operators
from stock_core.domain.catalog import parse_products
from stock_core.domain.history import parse_history
from stock_core.errors import CatalogImportError
from stock_core.errors import ImportProblem
from stock_core.service.base import ServiceBase
from stock_core.service.base import on_connection
from stock_core.store import catalog
from stock_core.store import operators
from stock_core.store import tokens
from stock_core.store.connection import Connection
from stock_core.store.verify import VerifyReport
from stock_core.store.verify import verify

__all__ = ["AdminUseCases"]

_Row = TypeVar("_Row")
_Progress = Callable[[int], None] | None


class AdminUseCases(ServiceBase):
    list_operators = on_connection(operators.list_operators)
    save_operator = on_connection(operators.save_operator)

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

    async def _load(
        self,
        parsed: tuple[Sequence[_Row], Sequence[ImportProblem]],
        load: Callable[[Connection, Sequence[_Row], _Progress], Awaitable[catalog.ImportSummary]],
        progress: _Progress,
    ) -> catalog.ImportSummary:
        """A bulk import's second half: with no problem in any line ``parsed``, ``load``
        them all in one transaction; else raise every problem and load nothing."""
        rows, problems = parsed
        if problems:
            raise CatalogImportError(problems)
        async with self.pool.acquire() as conn:
            return await load(conn, rows, progress)

    async def import_products(
        self, data: bytes, progress: Callable[[int], None] | None = None
    ) -> catalog.ImportSummary:
        """Validate every line, then load all in one transaction, or raise and load nothing."""
        return await self._load(parse_products(data), catalog.load_products, progress)

    async def import_locations(
        self, data: bytes, progress: Callable[[int], None] | None = None
    ) -> catalog.ImportSummary:
        return await self._load(parse_locations(data), catalog.load_locations, progress)

    async def import_history(
        self, data: bytes, progress: Callable[[int], None] | None = None
    ) -> catalog.ImportSummary:
        """Past demand (``sku,date,quantity``); never changes stock. All or nothing."""
        parsed = parse_history(data, today=datetime.now(UTC).date())
        return await self._load(parsed, catalog.load_history, progress)

    async def verify(self) -> VerifyReport:
        async with self.pool.acquire() as conn:
            return await verify(conn)

    create_token = on_connection(tokens.create_token)

    async def authenticate(self, token: str) -> model.Token | None:
        async with self._connection() as conn:
            return await tokens.authenticate(conn, token)

    list_tokens = on_connection(tokens.list_tokens)
    revoke_token = on_connection(tokens.revoke_token)
    find_tokens = on_connection(tokens.find_tokens)
    invalid_tokens = on_connection(tokens.invalid_token_ids)
