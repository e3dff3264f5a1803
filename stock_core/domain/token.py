"""API tokens: ``stk_<prefix>_<secret>``. Only a SHA-256 of the secret is stored.

Secrets are 256 random bits, so a plain hash is enough (no password stretching):
guessing is hopeless, and a leaked table reveals no usable token. Lookups go by the
public prefix; the hash is compared in constant time.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

__all__ = ["ParsedToken", "Role", "hash_secret", "new_token", "parse_token", "secret_matches"]

_TOKEN = re.compile(r"^stk_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$")


class Role(enum.StrEnum):
    """Roles, each allowed what the ones below it are (admin > manager > worker > display)."""

    DISPLAY = "display"
    WORKER = "worker"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


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
