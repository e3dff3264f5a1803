"""API tokens in the database: created, looked up by prefix, revoked, expired.

Signing in only reads (:func:`authenticate`): a node on a read-only replica after a
failover still lets people in. "Last used" is written later and in bulk by a
:class:`LastUsedRecorder`, whose failures are logged and never reach a request.

A revocation, by any path, fires a trigger that sends ``NOTIFY stockd_tokens,
'<id>'`` (migration 0007). :class:`RevocationListener` hears it on every web node,
which then forgets the token and closes its live feed sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import KW_ONLY
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from stock_core.domain.token import Role
from stock_core.domain.token import hash_secret
from stock_core.domain.token import new_token
from stock_core.domain.token import parse_token
from stock_core.domain.token import parse_token_ref
from stock_core.domain.token import secret_matches
from stock_core.model import Token
from stock_core.store.connection import Connection
from stock_core.store.connection import Pool
from stock_core.store.database import PING
from stock_core.store.records import from_record
from stock_core.store.tokens import sql as q

__all__ = [
    "REVOCATION_CHANNEL",
    "LastUsedRecorder",
    "RevocationListener",
    "authenticate",
    "create_token",
    "find_tokens",
    "invalid_token_ids",
    "list_tokens",
    "revoke_token",
    "touch_tokens",
]

log = logging.getLogger(__name__)

REVOCATION_CHANNEL = "stockd_tokens"
"""NOTIFY channel of revocations (and deletions); the payload is the token id."""


def _info(row: asyncpg.Record) -> Token:
    return from_record(Token, row, role=Role(row["role"]))


async def create_token(
    conn: Connection, name: str, role: Role, *, expires_at: datetime | None = None
) -> tuple[str, Token]:
    """A new token: the full text (shown once) and what is stored about it."""
    text, parsed = new_token()
    row = await conn.fetchrow(
        q.INSERT_TOKEN, name, role.value, parsed.prefix, hash_secret(parsed.secret), expires_at
    )
    assert row is not None
    return text, _info(row)


async def authenticate(conn: Connection, text: str) -> Token | None:
    """The token's info when it is well-formed, known, unrevoked, unexpired and its secret
    matches. Reads only: "last used" is recorded apart (:class:`LastUsedRecorder`)."""
    parsed = parse_token(text)
    if parsed is None:
        return None
    row = await conn.fetchrow(q.TOKEN_BY_PREFIX, parsed.prefix)
    if row is None or row["revoked_at"] is not None or row["expired"]:
        return None
    if not secret_matches(parsed.secret, row["secret_hash"]):
        return None
    return _info(row)


async def list_tokens(conn: Connection, *, after: int = 0, limit: int = 100) -> list[Token]:
    return [_info(r) for r in await conn.fetch(q.LIST_TOKENS, after, limit)]


async def find_tokens(conn: Connection, ref: str) -> list[Token]:
    """The tokens ``ref`` names (an id, a prefix or the token text): none, one, or two
    when eight digits are both one token's id and another's prefix."""
    token_id, prefix = parse_token_ref(ref)
    if token_id is None and prefix is None:
        return []
    return [_info(r) for r in await conn.fetch(q.TOKENS_BY_REF, token_id, prefix)]


async def revoke_token(conn: Connection, token_id: int) -> Token | None:
    """Revoke (idempotent: a revoked token keeps its first ``revoked_at``)."""
    row = await conn.fetchrow(q.REVOKE_TOKEN, token_id)
    return None if row is None else _info(row)


async def touch_tokens(conn: Connection, token_ids: Iterable[int]) -> None:
    """Record that these tokens were used (at most once a minute per token)."""
    await conn.execute(q.TOUCH_TOKENS, sorted(set(token_ids)))


async def invalid_token_ids(conn: Connection, token_ids: Iterable[int]) -> set[int]:
    """Those of ``token_ids`` that are revoked, expired or gone."""
    rows = await conn.fetch(q.INVALID_TOKEN_IDS, sorted(set(token_ids)))
    return {r["id"] for r in rows}


class LastUsedRecorder:
    """Collects the ids of tokens used and writes them in one statement every few seconds.

    A failed write (a read-only database after a failover, an outage) is logged once
    per run of failures and retried with the next batch; sign-in never waits for it.
    """

    def __init__(self, pool: Pool, *, interval: float = 5.0) -> None:
        self.pool = pool
        self.interval = interval
        self._pending: set[int] = set()
        self.failing = False

    def note(self, token_id: int) -> None:
        self._pending.add(token_id)

    async def flush(self) -> None:
        ids, self._pending = self._pending, set()
        if not ids:
            return
        try:
            async with asyncio.timeout(self.interval), self.pool.acquire() as conn:
                await touch_tokens(conn, ids)
        except Exception as exc:
            self._pending |= ids  # retried with the next batch
            if not self.failing:
                log.warning(
                    "cannot record when tokens were last used (%s: %s); sign-in is not "
                    "affected, retrying every %.0f s",
                    type(exc).__name__,
                    exc,
                    self.interval,
                )
            self.failing = True
            return
        if self.failing:
            log.info("recording when tokens were last used works again")
        self.failing = False

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()


@dataclass(eq=False)
class RevocationListener:
    """``LISTEN stockd_tokens`` on one pooled connection, kept alive and re-established.

    ``on_revoked(id)`` is called for each notification. ``on_listening()`` is awaited
    each time listening (re)starts: notifications sent while this node was not
    listening are lost, so the caller checks what it holds against the table then.
    The connection is pinged every ``check_interval`` seconds so that a dead one is
    noticed even when no notification is due.
    """

    pool: Pool
    on_revoked: Callable[[int], None]
    on_listening: Callable[[], Awaitable[None]]
    _: KW_ONLY
    check_interval: float = 5.0
    retry_interval: float = 1.0
    listening: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    healthy: bool = field(default=True, init=False)
    _conn: PoolConnectionProxy[Any] | None = field(default=None, init=False)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        text = str(payload)
        if text.isdigit():
            self.on_revoked(int(text))

    async def _listen_once(self) -> None:
        conn = await self.pool.acquire()
        self._conn = conn
        try:
            await conn.add_listener(REVOCATION_CHANNEL, self._notified)
            self.listening.set()
            await self.on_listening()
            if not self.healthy:
                log.info("token revocation listener is back")
            self.healthy = True
            while True:
                await asyncio.sleep(self.check_interval)
                async with asyncio.timeout(self.check_interval):
                    await conn.execute(PING)
        finally:
            self.listening.clear()
            self._conn = None
            with contextlib.suppress(Exception):
                await conn.remove_listener(REVOCATION_CHANNEL, self._notified)
            with contextlib.suppress(Exception):
                await self.pool.release(conn)

    async def run(self) -> None:
        while True:
            try:
                await self._listen_once()
            except Exception as exc:  # the listener must outlive anything the database does
                if self.healthy:
                    log.warning("token revocation listener lost PostgreSQL (%s); retrying", exc)
                self.healthy = False
                await asyncio.sleep(self.retry_interval)
