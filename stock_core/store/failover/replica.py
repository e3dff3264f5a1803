"""Reads a replica may serve: :class:`ReplicaRouter` (see :mod:`stock_core.store.failover`)."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from stock_core.errors import DatabaseUnavailableError
from stock_core.store._boundary import UNAVAILABLE_ERRORS
from stock_core.store.connection import Pool
from stock_core.store.failover.deadline import bounded

__all__ = ["REPLICA_LAG", "ReplicaRouter"]

log = logging.getLogger(__name__)

REPLICA_LAG: Final = """
SELECT CASE
         WHEN NOT pg_is_in_recovery() THEN 0
         WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
         ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 1e9)
       END::float8 AS lag_s
"""
"""Seconds a replica's data is behind its primary: 0 when it has replayed all it
received (or is a primary itself), else the age of the last transaction replayed."""

_OUTAGE: tuple[type[BaseException], ...] = (*UNAVAILABLE_ERRORS, DatabaseUnavailableError)


class ReplicaRouter:
    """Chooses the pool for reads a replica may serve: the replica while it is at most
    ``max_lag`` seconds behind (checked at most once a ``recheck`` seconds), else the
    primary. A replica that cannot be reached counts as too far behind."""

    def __init__(
        self, primary: Pool, replica: Pool, *, max_lag: float = 10.0, recheck: float = 1.0
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.max_lag = max_lag
        self.recheck = recheck
        self.lag: float | None = None
        """The last lag measured (``None``: not yet, or the replica was unreachable)."""
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    async def pool(self) -> Pool:
        """The pool to read from now."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._checked_at >= self.recheck:
            async with self._lock:
                if loop.time() - self._checked_at >= self.recheck:
                    self.lag = await self._measure()
                    self._checked_at = loop.time()
        if self.lag is not None and self.lag <= self.max_lag:
            return self.replica
        return self.primary

    async def _measure(self) -> float | None:
        try:
            async with bounded(self.replica, self.recheck + 1.0) as conn:
                return float(await conn.fetchval(REPLICA_LAG))
        except _OUTAGE as exc:
            log.warning("replica unavailable (%s): reads go to the primary", exc)
            return None
