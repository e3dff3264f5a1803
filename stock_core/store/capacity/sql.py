"""Location capacity's SQL, as named constants."""

from __future__ import annotations

from typing import Final

__all__ = [
    "LOCATION_CONTENTS",
    "LOCK_LIMITED_LOCATIONS",
    "PRODUCT_SIZE",
    "SET_LOCATION_LIMITS",
    "SPACE_CONTENTS",
    "SPACE_LIMITS",
]

# The limited ones among $1, locked (in id order) so that two writers adding to one
# location decide one after the other, each on what the other committed.
LOCK_LIMITED_LOCATIONS: Final = """
SELECT id, code, max_weight_g, max_volume_cm3 FROM locations
WHERE id = ANY($1::integer[]) AND (max_weight_g IS NOT NULL OR max_volume_cm3 IS NOT NULL)
ORDER BY id
FOR NO KEY UPDATE
"""

# Run after LOCK_LIMITED_LOCATIONS: what each location holds, per product.
LOCATION_CONTENTS: Final = """
SELECT s.location_id, sum(s.on_hand)::bigint AS units,
       p.weight_g, p.length_mm, p.width_mm, p.height_mm
FROM stock s JOIN products p ON p.id = s.product_id
WHERE s.location_id = ANY($1::integer[]) AND s.on_hand > 0
GROUP BY s.location_id, p.id
"""

PRODUCT_SIZE: Final = """
SELECT id, weight_g, length_mm, width_mm, height_mm FROM products
WHERE id = ANY($1::integer[])
"""

# Space per zone ($1: a warehouse, or NULL for all): what lies there, per product...
SPACE_CONTENTS: Final = """
SELECT l.zone, sum(s.on_hand)::bigint AS units,
       p.weight_g, p.length_mm, p.width_mm, p.height_mm
FROM stock s
JOIN locations l ON l.id = s.location_id
JOIN products p ON p.id = s.product_id
WHERE s.on_hand > 0 AND ($1::text IS NULL OR l.warehouse = $1)
GROUP BY l.zone, p.id
"""

# ... and the zones' limits (the sum over their locations that have one; NULL: none).
SPACE_LIMITS: Final = """
SELECT zone, sum(max_weight_g) AS max_weight_g, sum(max_volume_cm3) AS max_volume_cm3
FROM locations
WHERE $1::text IS NULL OR warehouse = $1
GROUP BY zone
ORDER BY zone
"""

# $2/$4: whether to set max_weight_g ($3) / max_volume_cm3 ($5); NULL is no limit.
SET_LOCATION_LIMITS: Final = """
UPDATE locations
SET max_weight_g = CASE WHEN $2 THEN $3::numeric ELSE max_weight_g END,
    max_volume_cm3 = CASE WHEN $4 THEN $5::numeric ELSE max_volume_cm3 END,
    updated_at = now()
WHERE code = $1
RETURNING id
"""
