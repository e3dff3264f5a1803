"""Bulk imports (catalog, locations, demand history), ledger verification and API
tokens."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from stock_core import model
from stock_core.domain.catalog import parse_locations, parse_operators, parse_products
from stock_core.domain.history import parse_history
from stock_core.domain.token import Role
from stock_core.errors import CatalogImportError
from stock_core.service.base import ServiceBase
from stock_core.store import catalog, operators, tokens
from stock_core.store.verify import VerifyReport, verify

__all__ = ["AdminUseCases"]


class AdminUseCases(ServiceBase):
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
