"""SQL of what the scanner gateways write and read: scanner states and spool exceptions.

Every statement a named ``Final`` constant, named for what it does.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "GATEWAY_STATES",
    "INSERT_SPOOL_EXCEPTION",
    "LIST_SCANNER_STATES",
    "LIST_SPOOL_EXCEPTIONS",
    "RESOLVE_SPOOL_EXCEPTION",
    "SPOOL_EXCEPTION_BY_ID",
    "UPSERT_GATEWAY_STATE",
    "UPSERT_SCANNER_STATE",
]

INSERT_SPOOL_EXCEPTION: Final = """
WITH x AS (
    INSERT INTO spool_exceptions (key, scanner, scan_seq, command, problem_type, reason,
                                  spooled_at)
    VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)
    ON CONFLICT (key) DO NOTHING
    RETURNING id, key, scanner, problem_type, reason
)
INSERT INTO outbox (type, payload)
SELECT 'spool.exception', jsonb_build_object('exception_id', id, 'key', key, 'scanner', scanner,
                                             'problem_type', problem_type, 'reason', reason)
FROM x
"""

UPSERT_SCANNER_STATE: Final = """
INSERT INTO scanner_states (id, gateway, url, state, detail, mode, location, last_scan_at,
                            last_code, counters, operator, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, now())
ON CONFLICT (id) DO UPDATE SET
    gateway = excluded.gateway, url = excluded.url, state = excluded.state,
    detail = excluded.detail, mode = excluded.mode, location = excluded.location,
    last_scan_at = excluded.last_scan_at, last_code = excluded.last_code,
    counters = excluded.counters, operator = excluded.operator, updated_at = now()
"""

LIST_SPOOL_EXCEPTIONS: Final = """
SELECT id, key, scanner, scan_seq, command::text AS command, problem_type, reason, spooled_at,
       created_at, resolved_at, resolved_by, resolution
FROM spool_exceptions
WHERE ($1::boolean OR resolved_at IS NULL) AND id > $2
ORDER BY id
LIMIT $3
"""

LIST_SCANNER_STATES: Final = """
SELECT id, gateway, url, state, detail, mode, location, last_scan_at, last_code,
       counters::text AS counters, updated_at, operator
FROM scanner_states ORDER BY id
"""

SPOOL_EXCEPTION_BY_ID: Final = """
SELECT id, key, scanner, scan_seq, command::text AS command, problem_type, reason, spooled_at,
       created_at, resolved_at, resolved_by, resolution
FROM spool_exceptions WHERE id = $1
"""

# The first resolution stands; resolving again changes nothing.
RESOLVE_SPOOL_EXCEPTION: Final = """
UPDATE spool_exceptions
SET resolved_at = coalesce(resolved_at, now()), resolved_by = coalesce(resolved_by, $2),
    resolution = coalesce(resolution, $3)
WHERE id = $1
RETURNING id
"""

UPSERT_GATEWAY_STATE: Final = """
INSERT INTO gateway_states (name, spool, updated_at) VALUES ($1, $2::jsonb, now())
ON CONFLICT (name) DO UPDATE SET spool = excluded.spool, updated_at = excluded.updated_at
"""

GATEWAY_STATES: Final = """
SELECT name, spool::text AS spool, updated_at FROM gateway_states ORDER BY name
"""
