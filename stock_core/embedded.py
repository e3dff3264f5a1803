"""The embedded PostgreSQL server (the ``pgserver`` package: PostgreSQL binaries on PyPI)
that stockd runs when no database URL is configured: where it keeps its data and how
to start or join it. No SQL and no asyncpg here; :mod:`stock_core.store.database`
opens the pool on it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import warnings
from pathlib import Path
from typing import Any

import platformdirs

__all__ = [
    "EMBEDDED_DATABASE",
    "default_home",
    "embedded_url",
]


EMBEDDED_DATABASE = "stockd"


def default_home() -> Path:
    """``STOCKD_HOME``, else the user's data directory for stockd."""
    home = os.environ.get("STOCKD_HOME")
    return Path(home) if home else Path(platformdirs.user_data_dir("stockd"))


def _start_embedded(pgdata: Path) -> tuple[Any, str]:
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        from pgserver import postgres_server  # lazily: only the embedded default needs it

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = postgres_server.get_server(pgdata, cleanup_mode="stop")
    uri = server.get_uri()
    if EMBEDDED_DATABASE not in server.psql("SELECT datname FROM pg_database;"):
        with contextlib.suppress(Exception):  # lost a race with another process: fine
            server.psql(f"CREATE DATABASE {EMBEDDED_DATABASE};")
    return server, uri.replace("/postgres?", f"/{EMBEDDED_DATABASE}?")


async def embedded_url(home: Path) -> tuple[Any, str]:
    """Start (or join) the embedded server under ``home``; returns (handle, url)."""
    return await asyncio.to_thread(_start_embedded, home / "pgdata")
