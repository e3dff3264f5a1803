"""The aiohttp HTTP API, the WebSocket feed and the floor display page."""

from __future__ import annotations

__all__: list[str] = []
