"""Pure domain rules over frozen dataclasses: no asyncio, no asyncpg, no clock."""

from __future__ import annotations

__all__: list[str] = []
