"""Bearer tokens and roles. Every route declares the role it needs.

:class:`TokenCache` keeps verified tokens for a while and failed lookups for a few
seconds, both keyed by a SHA-256 of the token (never its text) and both bounded. A
revocation drops the token at once: on this node from the API handler, on every node
from the ``stockd_tokens`` NOTIFY (``web_ui.app``); a token's expiry ends its entry.
Tokens used are noted for the batched "last used" write, never written inline: sign-in
only reads, and works on a read-only database.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import Protocol

from aiohttp import web

from stock_core.domain.token import Role
from stock_core.domain.token import parse_token
from stock_core.domain.token import token_digest
from stock_core.model import Token
from web_ui.keys import LAST_USED
from web_ui.keys import SERVICE
from web_ui.keys import TOKEN_CACHE
from web_ui.problem import ProblemError

__all__ = ["Authenticator", "TokenCache", "authenticate", "require_role", "requires"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Authenticator(Protocol):
    """What the cache asks on a miss (``StockService``)."""

    async def authenticate(self, token: str) -> Token | None: ...


@dataclass(eq=False, kw_only=True)
class TokenCache:
    """Verified tokens for ``ttl`` seconds, failed lookups for ``negative_ttl``."""

    ttl: float = 30.0
    negative_ttl: float = 5.0
    size: int = 10_000
    negative_size: int = 1_000
    clock: Callable[[], float] = time.monotonic
    _valid: OrderedDict[str, tuple[float, Token]] = field(
        default_factory=OrderedDict, init=False, repr=False
    )
    _invalid: OrderedDict[str, float] = field(default_factory=OrderedDict, init=False, repr=False)
    _keys: dict[int, set[str]] = field(default_factory=dict, init=False, repr=False)
    _revoked: set[int] = field(default_factory=set, init=False, repr=False)
    lookups: int = field(default=0, init=False)
    """Lookups that went to the database."""

    async def lookup(self, service: Authenticator, token: str) -> Token | None:
        if parse_token(token) is None:
            return None  # malformed: refused without a lookup or an entry
        key = token_digest(token)
        now = self.clock()
        hit = self._valid.get(key)
        if hit is not None:
            if hit[0] > now and hit[1].id not in self._revoked:
                self._valid.move_to_end(key)
                return hit[1]
            self._forget_key(key)
        refused_until = self._invalid.get(key)
        if refused_until is not None:
            if refused_until > now:
                return None
            del self._invalid[key]
        self.lookups += 1
        info = await service.authenticate(token)
        if info is None or info.id in self._revoked:
            self._refuse(key, self.clock())
            return None
        self._accept(key, info, self.clock())
        return info

    def _accept(self, key: str, info: Token, now: float) -> None:
        until = now + self.ttl
        if info.expires_at is not None:
            left = (info.expires_at - datetime.now(UTC)).total_seconds()
            until = min(until, now + max(left, 0.0))
        self._valid[key] = (until, info)
        self._keys.setdefault(info.id, set()).add(key)
        while len(self._valid) > self.size:
            self._forget_key(next(iter(self._valid)))

    def _refuse(self, key: str, now: float) -> None:
        self._invalid[key] = now + self.negative_ttl
        self._invalid.move_to_end(key)
        while len(self._invalid) > self.negative_size:
            self._invalid.popitem(last=False)

    def _forget_key(self, key: str) -> None:
        entry = self._valid.pop(key, None)
        if entry is not None:
            keys = self._keys.get(entry[1].id)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._keys[entry[1].id]

    def drop(self, token_id: int) -> None:
        """The token was revoked: never answer it from the cache again."""
        self._revoked.add(token_id)
        for key in self._keys.pop(token_id, set()):
            self._valid.pop(key, None)

    def is_revoked(self, token_id: int) -> bool:
        return token_id in self._revoked

    def forget(self) -> None:
        """Forget every verified token (revocations may have been missed)."""
        self._valid.clear()
        self._keys.clear()

    def __len__(self) -> int:
        return len(self._valid) + len(self._invalid)


async def authenticate(app: web.Application, token: str) -> Token | None:
    info = await app[TOKEN_CACHE].lookup(app[SERVICE], token)
    if info is not None:
        recorder = app.get(LAST_USED)
        if recorder is not None:
            recorder.note(info.id)
    return info


async def require_role(request: web.Request, role: Role) -> Token:
    """The caller's token, or a 401/403 problem."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ProblemError("unauthorized", "send Authorization: Bearer <token>")
    info = await authenticate(request.app, token.strip())
    if info is None:
        raise ProblemError("unauthorized", "the token is unknown, revoked or expired")
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
