"""SQL of the warehouses aggregate: the warehouses managers keep."""

from __future__ import annotations

from typing import Final

__all__ = [
    "INSERT_MISSING_WAREHOUSES",
    "LIST_WAREHOUSES",
    "UPSERT_WAREHOUSE",
    "WAREHOUSE_BY_CODE",
]

_COLUMNS: Final = "SELECT code, name, created_at, updated_at FROM warehouses"

LIST_WAREHOUSES: Final = _COLUMNS + " WHERE code > $1 ORDER BY code LIMIT $2"

WAREHOUSE_BY_CODE: Final = _COLUMNS + " WHERE code = $1"

UPSERT_WAREHOUSE: Final = """
INSERT INTO warehouses AS w (code, name) VALUES ($1, $2)
ON CONFLICT (code) DO UPDATE SET name = excluded.name, updated_at = now()
RETURNING code, name, created_at, updated_at, (xmax = 0) AS inserted
"""

# Warehouses a locations.csv names that do not exist yet: made, named after their code.
INSERT_MISSING_WAREHOUSES: Final = """
INSERT INTO warehouses (code, name)
SELECT DISTINCT warehouse, warehouse FROM unnest($1::text[]) AS w(warehouse)
ON CONFLICT (code) DO NOTHING
RETURNING code
"""
