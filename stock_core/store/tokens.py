"""API tokens in the database: created, looked up by prefix, revoked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from stock_core.domain.token import Role, hash_secret, new_token, parse_token, secret_matches
from stock_core.store import queries as q
from stock_core.store.connection import Connection

__all__ = ["TokenInfo", "authenticate", "create_token", "list_tokens", "revoke_token"]


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def _info(row: asyncpg.Record) -> TokenInfo:
    return TokenInfo(
        id=row["id"],
        name=row["name"],
        role=Role(row["role"]),
        prefix=row["prefix"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


async def create_token(conn: Connection, name: str, role: Role) -> tuple[str, TokenInfo]:
    """A new token: the full text (shown once) and what is stored about it."""
    text, parsed = new_token()
    row = await conn.fetchrow(
        q.INSERT_TOKEN, name, role.value, parsed.prefix, hash_secret(parsed.secret)
    )
    assert row is not None
    return text, _info(row)


async def authenticate(conn: Connection, text: str) -> TokenInfo | None:
    """The token's info when it is well-formed, known, unrevoked and its secret matches."""
    parsed = parse_token(text)
    if parsed is None:
        return None
    row = await conn.fetchrow(q.TOKEN_BY_PREFIX, parsed.prefix)
    if row is None or row["revoked_at"] is not None:
        return None
    if not secret_matches(parsed.secret, row["secret_hash"]):
        return None
    await conn.execute(q.TOUCH_TOKEN, row["id"])
    return _info(row)


async def list_tokens(conn: Connection, *, after: int = 0, limit: int = 100) -> list[TokenInfo]:
    return [_info(r) for r in await conn.fetch(q.LIST_TOKENS, after, limit)]


async def revoke_token(conn: Connection, token_id: int) -> TokenInfo | None:
    row = await conn.fetchrow(q.REVOKE_TOKEN, token_id)
    return None if row is None else _info(row)
