"""The only package that imports asyncpg: schema, migrations and every use case's SQL."""

from __future__ import annotations

__all__: list[str] = []
