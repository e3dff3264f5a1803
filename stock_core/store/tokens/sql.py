"""SQL of aPI tokens.

Every statement a named ``Final`` constant, named for what it does.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "INSERT_TOKEN",
    "INVALID_TOKEN_IDS",
    "LIST_TOKENS",
    "REVOKE_TOKEN",
    "TOKENS_BY_REF",
    "TOKEN_BY_PREFIX",
    "TOUCH_TOKENS",
]

INSERT_TOKEN: Final = """
INSERT INTO api_tokens (name, role, prefix, secret_hash, expires_at) VALUES ($1, $2, $3, $4, $5)
RETURNING id, name, role, prefix, created_at, revoked_at, last_used_at, expires_at
"""

TOKEN_BY_PREFIX: Final = """
SELECT id, name, role, prefix, secret_hash, created_at, revoked_at, last_used_at, expires_at,
       expires_at IS NOT NULL AND expires_at <= now() AS expired
FROM api_tokens WHERE prefix = $1
"""

TOKENS_BY_REF: Final = """
SELECT id, name, role, prefix, created_at, revoked_at, last_used_at, expires_at
FROM api_tokens WHERE id = $1 OR prefix = $2 ORDER BY id LIMIT 2
"""

TOUCH_TOKENS: Final = """
UPDATE api_tokens SET last_used_at = now()
WHERE id = ANY($1::bigint[])
  AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
"""

INVALID_TOKEN_IDS: Final = """
SELECT given.id FROM unnest($1::bigint[]) AS given (id)
WHERE NOT EXISTS (
    SELECT 1 FROM api_tokens t
    WHERE t.id = given.id AND t.revoked_at IS NULL
      AND (t.expires_at IS NULL OR t.expires_at > now())
)
"""

LIST_TOKENS: Final = """
SELECT id, name, role, prefix, created_at, revoked_at, last_used_at, expires_at
FROM api_tokens WHERE id > $1 ORDER BY id LIMIT $2
"""

REVOKE_TOKEN: Final = """
UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1
RETURNING id, name, role, prefix, created_at, revoked_at, last_used_at, expires_at
"""
