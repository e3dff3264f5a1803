"""SQL of the operators aggregate: the workers who scan, and what they did."""

from __future__ import annotations

from typing import Final

__all__ = [
    "LIST_OPERATORS",
    "OPERATOR_BY_CODE",
    "REPORT_OPERATORS",
    "UPSERT_OPERATOR",
    "UPSERT_OPERATORS",
]

LIST_OPERATORS: Final = """
SELECT code, name, created_at, updated_at FROM operators
WHERE code > $1 ORDER BY code LIMIT $2
"""

OPERATOR_BY_CODE: Final = """
SELECT code, name, created_at, updated_at FROM operators WHERE code = $1
"""

UPSERT_OPERATOR: Final = """
INSERT INTO operators AS o (code, name) VALUES ($1, $2)
ON CONFLICT (code) DO UPDATE SET name = excluded.name, updated_at = now()
RETURNING code, name, created_at, updated_at, (xmax = 0) AS inserted
"""

# Many at once (``stockd import operators``): $1 codes, $2 names.
UPSERT_OPERATORS: Final = """
INSERT INTO operators AS o (code, name)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT (code) DO UPDATE SET name = excluded.name, updated_at = now()
RETURNING (xmax = 0) AS inserted
"""

# Per operator over [$1, $2): ledger rows and units moved. A move is one movement (its
# move_in half is left out); units are the rows' |delta|. Rows with no operator are
# left out.
REPORT_OPERATORS: Final = """
SELECT m.operator, o.name, count(*)::bigint AS movements,
       coalesce(sum(abs(m.delta)), 0)::bigint AS units
FROM movements m LEFT JOIN operators o ON o.code = m.operator
WHERE m.operator IS NOT NULL AND m.kind <> 'move_in'
  AND m.ts >= $1 AND m.ts < $2
GROUP BY m.operator, o.name
ORDER BY m.operator
"""
