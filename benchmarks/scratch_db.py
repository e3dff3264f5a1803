"""The scratch database a benchmark runs against: made (on a private cluster, or on
``BENCH_DATABASE_URL``'s server), migrated, loaded with the sample warehouse's catalog,
dropped after; and what its backends are doing (``pg_stat_statements``, sampled
waits)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import repo  # noqa: F401  (first: puts the repository on sys.path)

from hardware_mocks.warehouse import Warehouse
from hardware_mocks.warehouse import build_warehouse
from stock_core.domain.token import Role
from stock_core.service import StockService
from stock_core.store.migrate import migrate
from tests.cluster import PrivateCluster

__all__ = [
    "BenchDatabase",
    "WaitSampler",
    "bench_database",
    "postmaster_pid",
    "statements_bin_dir",
    "statements_reset",
    "statements_top",
]


@dataclass
class BenchDatabase:
    url: str
    name: str
    pg_version: str
    where: str
    warehouse: Warehouse
    cluster: PrivateCluster | None = None
    pool: asyncpg.Pool[Any] | None = None
    statements: bool = False
    """``pg_stat_statements`` is loaded and created in this database."""

    @property
    def service(self) -> StockService:
        assert self.pool is not None
        return StockService(self.pool)

    async def token(self, role: str, name: str) -> str:
        text, _ = await self.service.create_token(name, Role(role))
        return text


def _with_database(url: str, name: str) -> str:
    base, sep, query = url.partition("?")
    return base.rsplit("/", 1)[0] + f"/{name}" + (sep + query if sep else "")


def _ensure_cluster_user(name: str = "pgserver") -> None:
    """As root, ``initdb`` runs as pgserver's system user: create it as pgserver itself
    does on first use (``useradd``) when a fresh machine has none yet."""
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-s", "/bin/bash", name], check=True, capture_output=True)


@contextlib.asynccontextmanager
async def bench_database(
    label: str,
    *,
    products: int = 300,
    pool_size: int = 8,
    statements: bool = False,
) -> AsyncIterator[BenchDatabase]:
    """A migrated scratch database with the sample warehouse's catalog, dropped after.

    ``statements``: load ``pg_stat_statements`` (see :func:`statements_bin_dir`; the
    private cluster then runs on the binaries that ship it, which may be another
    PostgreSQL version than pgserver's). ``db.statements`` says whether it works.
    """
    admin = os.environ.get("BENCH_DATABASE_URL")
    cluster = None
    if admin:
        where = "BENCH_DATABASE_URL (" + admin.rsplit("@", 1)[-1] + ")"
    else:
        _ensure_cluster_user()
        bin_dir = statements_bin_dir() if statements else None
        settings = (
            {
                "shared_preload_libraries": "'pg_stat_statements'",
                "pg_stat_statements.track_planning": "on",
            }
            if bin_dir
            else None
        )
        cluster = await asyncio.to_thread(PrivateCluster.create, settings=settings, bin_dir=bin_dir)
        admin = cluster.url()
        where = (
            f"private cluster from {bin_dir or 'pgserver'}'s binaries"
            " (fsync on, max_connections 300" + (", pg_stat_statements" if bin_dir else "") + ")"
        )
    name = f"bench_{label}_{os.getpid()}"
    conn = await asyncpg.connect(admin)
    try:
        version = str(await conn.fetchval("SHOW server_version"))
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = _with_database(admin, name)
    warehouse = build_warehouse(date.today(), products=products)
    db = BenchDatabase(url, name, version, where, warehouse, cluster)
    try:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        db.pool = await asyncpg.create_pool(url, min_size=2, max_size=pool_size)
        if statements:
            db.statements = await _enable_statements(db.pool)
        service = db.service
        await service.import_locations(warehouse.locations_csv())
        await service.import_products(warehouse.products_csv())
        yield db
    finally:
        if db.pool is not None:
            await db.pool.close()
        with contextlib.suppress(Exception):
            conn = await asyncpg.connect(admin)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()
        if cluster is not None:
            await asyncio.to_thread(cluster.destroy)


# -- pg_stat_statements ----------------------------------------------------------------


def statements_bin_dir() -> Path | None:
    """PostgreSQL binaries whose install ships ``pg_stat_statements`` (pgserver's does
    not): ``BENCH_PG_BIN``, else the newest ``/usr/lib/postgresql/*/bin``; ``None``
    when there are none."""
    candidates = [Path(os.environ["BENCH_PG_BIN"])] if os.environ.get("BENCH_PG_BIN") else []
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bin_dir in candidates:
        if (bin_dir / "initdb").exists() and (
            bin_dir.parent / "lib" / "pg_stat_statements.so"
        ).exists():
            return bin_dir
    return None


async def _enable_statements(pool: asyncpg.Pool[Any]) -> bool:
    async with pool.acquire() as conn:
        loaded = str(await conn.fetchval("SHOW shared_preload_libraries"))
        if "pg_stat_statements" not in loaded:
            return False
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        except asyncpg.PostgresError:
            return False
    return True


async def statements_reset(db: BenchDatabase) -> None:
    """Forget the statistics so far (no-op without ``pg_stat_statements``)."""
    if db.statements and db.pool is not None:
        await db.pool.execute("SELECT pg_stat_statements_reset()")


async def statements_top(db: BenchDatabase, per: float, limit: int = 8) -> dict[str, Any]:
    """What this database's statements cost since :func:`statements_reset`.

    ``per``: the units of work done meanwhile (scans, transactions): the result has
    the statements (calls) and executor milliseconds per unit, and the busiest
    statements by total executor time with their calls per unit and mean ms.
    Executor time excludes parsing, the client's round trips and the commit's fsync.
    """
    if not db.statements or db.pool is None:
        return {}
    rows = await db.pool.fetch(
        "SELECT query, calls, total_exec_time, mean_exec_time, rows, total_plan_time"
        " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database"
        " WHERE datname = current_database()) AND query NOT LIKE '%pg_stat%'"
        r" AND query !~* '^\s*(create|alter|drop|do|set|show|begin)\M'"
        " ORDER BY total_exec_time DESC"
    )
    total_ms = sum(float(r["total_exec_time"]) for r in rows)
    plan_ms = sum(float(r["total_plan_time"]) for r in rows)
    calls = sum(int(r["calls"]) for r in rows)
    unit = max(per, 1.0)
    return {
        "statements_per_unit": round(calls / unit, 2),
        "exec_ms_per_unit": round(total_ms / unit, 4),
        "plan_ms_per_unit": round(plan_ms / unit, 4),
        "top": [
            {
                "query": " ".join(str(r["query"]).split())[:160],
                "calls_per_unit": round(int(r["calls"]) / unit, 3),
                "mean_ms": round(float(r["mean_exec_time"]), 4),
                "plan_ms_per_call": round(float(r["total_plan_time"]) / max(int(r["calls"]), 1), 4),
                "share": round(float(r["total_exec_time"]) / max(total_ms, 1e-9), 3),
            }
            for r in rows[:limit]
        ],
    }


class WaitSampler:
    """What the database's backends are doing, sampled every ``interval`` s.

    Counts ``state/wait_event_type:wait_event`` over the benchmark database's
    backends (``active`` with no wait = on CPU; ``idle in transaction`` +
    ``Client:ClientRead`` = waiting for the client's next statement; ``Lock:object``
    on a commit = NOTIFY's commit serialisation).
    """

    def __init__(self, db: BenchDatabase, interval: float = 0.1) -> None:
        self.db = db
        self.interval = interval
        self.counts: dict[str, int] = {}
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        conn = await asyncpg.connect(self.db.url)
        try:
            while True:
                rows = await conn.fetch(
                    "SELECT state, coalesce(wait_event_type || ':' || wait_event, 'cpu') AS w,"
                    " count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
                    " AND state <> 'idle' GROUP BY 1, 2"
                )
                self.samples += 1
                for r in rows:
                    key = f"{r['state']}/{r['w']}"
                    self.counts[key] = self.counts.get(key, 0) + int(r["n"])
                await asyncio.sleep(self.interval)
        finally:
            await conn.close()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> dict[str, float]:
        """Average number of backends in each state/wait, busiest first."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        n = max(self.samples, 1)
        ranked = sorted(self.counts.items(), key=lambda kv: -kv[1])
        return {k: round(v / n, 2) for k, v in ranked[:8]}


def postmaster_pid(db: BenchDatabase) -> int | None:
    if db.cluster is None:
        return None
    with contextlib.suppress(OSError, ValueError):
        return int((db.cluster.data / "postmaster.pid").read_text().split()[0])
    return None
