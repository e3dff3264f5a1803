"""API tokens: ``stk_<prefix>_<secret>``. Only a SHA-256 of the secret is stored.

Secrets are 256 random bits, so a plain hash is enough (no password stretching):
guessing is hopeless, and a leaked table reveals no usable token. Lookups go by the
public prefix; the hash is compared in constant time.

A token may expire: :func:`parse_duration` reads the ``30d``, ``12h`` … given to
``stockd token create --expires-in``. :func:`token_digest` names a token in caches
without keeping its text.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

__all__ = [
    "MAX_LIFETIME",
    "ParsedToken",
    "Role",
    "hash_secret",
    "new_token",
    "parse_duration",
    "parse_token",
    "parse_token_ref",
    "secret_matches",
    "token_digest",
]

_TOKEN = re.compile(r"^stk_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$")
_PREFIX = re.compile(r"^(?:stk_)?([a-z0-9]{8})$")
_DURATION = re.compile(r"^(\d{1,6})([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

MAX_LIFETIME = timedelta(days=3660)
"""The longest expiry accepted (about ten years); no expiry at all is the other choice."""


class Role(enum.StrEnum):
    """Roles, each allowed what the ones below it are (admin > manager > worker > display).

    ``shop`` stands apart: a storefront integration's token, allowed what needs ``shop``
    (availability) and nothing else. Every other role may read what ``shop`` may.
    """

    DISPLAY = "display"
    WORKER = "worker"
    MANAGER = "manager"
    ADMIN = "admin"
    SHOP = "shop"

    @property
    def rank(self) -> int:
        """Place on the ladder display < worker < manager < admin; -1 for ``shop``."""
        return -1 if self is Role.SHOP else list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        if needed is Role.SHOP:
            return True
        return self is not Role.SHOP and self.rank >= needed.rank


@dataclass(frozen=True)
class ParsedToken:
    prefix: str
    secret: str


def new_token() -> tuple[str, ParsedToken]:
    prefix = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))
    secret = secrets.token_urlsafe(32)
    return f"stk_{prefix}_{secret}", ParsedToken(prefix, secret)


def parse_token(text: str) -> ParsedToken | None:
    match = _TOKEN.match(text.strip())
    return ParsedToken(match[1], match[2]) if match else None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def token_digest(text: str) -> str:
    """A SHA-256 of the whole token text: the key of a cache entry, never the text."""
    return hashlib.sha256(text.strip().encode()).hexdigest()


def parse_duration(text: str) -> timedelta | None:
    """``90s``, ``15m``, ``12h``, ``30d``, ``8w``: between a minute and :data:`MAX_LIFETIME`.

    ``None`` when ``text`` is not such a duration.
    """
    match = _DURATION.match(text.strip().lower())
    if match is None:
        return None
    lifetime = timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])
    if not timedelta(minutes=1) <= lifetime <= MAX_LIFETIME:
        return None
    return lifetime


def parse_token_ref(text: str) -> tuple[int | None, str | None]:
    """What ``stockd token revoke REF`` names: ``(id, prefix)``, either or both ``None``.

    A REF is a token id (``12``), its prefix (``ab12cd34`` or ``stk_ab12cd34``) or the
    whole token text. Eight digits could be both an id and a prefix: both are given,
    and the caller refuses the ambiguity when both exist.
    """
    text = text.strip()
    parsed = parse_token(text)
    if parsed is not None:
        return None, parsed.prefix
    token_id = int(text) if text.isdigit() and len(text) <= 18 else None
    match = _PREFIX.match(text)
    return token_id, match[1] if match else None
