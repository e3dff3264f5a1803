"""Bearer tokens and roles. Every route declares the role it needs."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from stock_core.domain.token import Role
from stock_core.service import StockService
from stock_core.store.tokens import TokenInfo
from web_ui.keys import SERVICE, TOKEN_CACHE
from web_ui.problem import ProblemError

__all__ = ["TokenCache", "authenticate", "require_role", "requires"]

_CACHE_SECONDS = 5.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TokenCache:
    """Remembers verified tokens for a few seconds (a revocation takes effect within them)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, TokenInfo | None]] = {}

    async def lookup(self, service: StockService, token: str) -> TokenInfo | None:
        now = time.monotonic()
        hit = self._entries.get(token)
        if hit is not None and now - hit[0] < _CACHE_SECONDS:
            return hit[1]
        info = await service.authenticate(token)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[token] = (now, info)
        return info

    def forget(self) -> None:
        self._entries.clear()


async def authenticate(app: web.Application, token: str) -> TokenInfo | None:
    return await app[TOKEN_CACHE].lookup(app[SERVICE], token)


async def require_role(request: web.Request, role: Role) -> TokenInfo:
    """The caller's token, or a 401/403 problem."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ProblemError("unauthorized", "send Authorization: Bearer <token>")
    info = await authenticate(request.app, token.strip())
    if info is None:
        raise ProblemError("unauthorized", "the token is unknown or revoked")
    if not info.role.allows(role):
        raise ProblemError("forbidden", f"needs the {role} role; this token is {info.role}")
    return info


def requires(role: Role) -> Callable[[Callable[..., Awaitable[Any]]], Handler]:
    """Decorator for handlers ``(request, token) -> response``: checks the role first."""

    def wrap(handler: Callable[..., Awaitable[Any]]) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            token = await require_role(request, role)
            result: web.StreamResponse = await handler(request, token)
            return result

        checked.__name__ = handler.__name__
        checked.__doc__ = handler.__doc__
        checked.required_role = role  # type: ignore[attr-defined]
        return checked

    return wrap
