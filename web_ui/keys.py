"""Typed application state (aiohttp ``AppKey``): no module globals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from stock_core.service import StockService

if TYPE_CHECKING:  # the store's types only: the app (web_ui.app) builds them
    from stock_core.analytics_task import Forecaster
    from stock_core.store.database import Database
    from stock_core.store.tokens import LastUsedRecorder
    from web_ui.auth import TokenCache
    from web_ui.bus import EventBus
    from web_ui.config import WebConfig
    from web_ui.delivery import WebhookDispatcher
    from web_ui.limit import Slots

__all__ = [
    "BUS",
    "CONFIG",
    "DATABASE",
    "EXPORTS",
    "FORECASTER",
    "LAST_USED",
    "LISTEN_DATABASE",
    "SERVICE",
    "TOKEN_CACHE",
    "WEBHOOKS",
]

SERVICE = web.AppKey("service", StockService)
DATABASE: web.AppKey[Database] = web.AppKey("database")
LISTEN_DATABASE: web.AppKey[Database] = web.AppKey("listen_database")
"""A direct pool for LISTEN when ``DATABASE`` goes through a transaction pooler."""
CONFIG: web.AppKey[WebConfig] = web.AppKey("config")
TOKEN_CACHE: web.AppKey[TokenCache] = web.AppKey("token_cache")
BUS: web.AppKey[EventBus] = web.AppKey("bus")
FORECASTER: web.AppKey[Forecaster] = web.AppKey("forecaster")
LAST_USED: web.AppKey[LastUsedRecorder] = web.AppKey("token_last_used")
EXPORTS: web.AppKey[Slots] = web.AppKey("csv_exports")
WEBHOOKS: web.AppKey[WebhookDispatcher] = web.AppKey("webhooks")
