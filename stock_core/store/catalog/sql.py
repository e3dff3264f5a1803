"""SQL of the catalog: products, barcodes and locations, one at a time or imported in bulk
(with demand history).

Every statement a named ``Final`` constant, named for what it does.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BARCODE_OWNERS",
    "CREATE_IMPORT_BARCODES",
    "CREATE_IMPORT_HISTORY",
    "CREATE_IMPORT_LOCATIONS",
    "CREATE_IMPORT_PRODUCTS",
    "DELETE_BARCODES_OF_IMPORTED",
    "DELETE_PRODUCT_BARCODES",
    "IMPORT_BARCODE_CONFLICTS",
    "IMPORT_GLN_CONFLICTS",
    "IMPORT_HISTORY_UNKNOWN_SKUS",
    "IMPORT_QUARANTINE_CONFLICTS",
    "IMPORT_TRACKING_CONFLICTS",
    "IMPORT_WAREHOUSE_CONFLICTS",
    "INSERT_IMPORTED_BARCODES",
    "INSERT_LOCATION",
    "INSERT_PRODUCT",
    "INSERT_PRODUCT_BARCODES",
    "LIST_LOCATIONS",
    "LIST_PRODUCTS",
    "LOCATION_BY_CODE",
    "LOCATION_BY_GLN",
    "LOCK_PRODUCT_BY_SKU",
    "PRODUCT_BY_SKU",
    "PRODUCT_ON_HAND",
    "PRODUCT_TRACKING",
    "SET_IMPORTED_BACKORDER_ALLOWED",
    "SET_IMPORTED_TRACKING",
    "UPDATE_PRODUCT",
    "UPSERT_IMPORTED_HISTORY",
    "UPSERT_IMPORTED_LOCATIONS",
    "UPSERT_IMPORTED_PRODUCTS",
]

CREATE_IMPORT_PRODUCTS: Final = """
CREATE TEMP TABLE import_products (
    line integer, sku text, name text, category text, unit_cost numeric,
    weight_g numeric, length_mm numeric, width_mm numeric, height_mm numeric,
    reorder_point integer, reorder_qty integer, lead_time_days integer, safety_stock integer,
    backorder_allowed boolean, tracking text
) ON COMMIT DROP
"""

CREATE_IMPORT_BARCODES: Final = """
CREATE TEMP TABLE import_barcodes (line integer, sku text, code text, pack_size integer)
ON COMMIT DROP
"""

IMPORT_BARCODE_CONFLICTS: Final = """
SELECT ib.line, ib.code, p.sku
FROM import_barcodes ib
JOIN product_barcodes b ON b.code = ib.code
JOIN products p ON p.id = b.product_id
WHERE p.sku <> ib.sku
ORDER BY ib.line
"""

UPSERT_IMPORTED_PRODUCTS: Final = """
INSERT INTO products (sku, name, category, unit_cost, weight_g, length_mm, width_mm, height_mm,
                      reorder_point, reorder_qty, lead_time_days, safety_stock,
                      backorder_allowed)
SELECT sku, name, category, unit_cost, weight_g, length_mm, width_mm, height_mm,
       reorder_point, reorder_qty, lead_time_days, safety_stock, coalesce(backorder_allowed, true)
FROM import_products
ON CONFLICT (sku) DO UPDATE SET
    name = excluded.name, category = excluded.category, unit_cost = excluded.unit_cost,
    weight_g = excluded.weight_g, length_mm = excluded.length_mm,
    width_mm = excluded.width_mm, height_mm = excluded.height_mm,
    reorder_point = excluded.reorder_point, reorder_qty = excluded.reorder_qty,
    lead_time_days = excluded.lead_time_days, safety_stock = excluded.safety_stock,
    updated_at = now()
RETURNING (xmax = 0) AS inserted
"""

SET_IMPORTED_BACKORDER_ALLOWED: Final = """
UPDATE products p SET backorder_allowed = i.backorder_allowed
FROM import_products i
WHERE i.sku = p.sku AND i.backorder_allowed IS NOT NULL
  AND p.backorder_allowed IS DISTINCT FROM i.backorder_allowed
"""

SET_IMPORTED_TRACKING: Final = """
UPDATE products p SET tracking = i.tracking
FROM import_products i
WHERE i.sku = p.sku AND i.tracking IS NOT NULL AND p.tracking <> i.tracking
"""

# A product's tracking changes only while it has no stock (its serials would not match).
IMPORT_TRACKING_CONFLICTS: Final = """
SELECT i.line, i.sku, sum(s.on_hand) AS on_hand
FROM import_products i
JOIN products p ON p.sku = i.sku AND i.tracking IS NOT NULL AND p.tracking <> i.tracking
JOIN stock s ON s.product_id = p.id AND s.on_hand > 0
GROUP BY i.line, i.sku
ORDER BY i.line
"""

DELETE_BARCODES_OF_IMPORTED: Final = """
DELETE FROM product_barcodes b USING products p, import_products ip
WHERE b.product_id = p.id AND p.sku = ip.sku
"""

INSERT_IMPORTED_BARCODES: Final = """
INSERT INTO product_barcodes (code, product_id, pack_size)
SELECT ib.code, p.id, ib.pack_size FROM import_barcodes ib JOIN products p ON p.sku = ib.sku
"""

CREATE_IMPORT_LOCATIONS: Final = """
CREATE TEMP TABLE import_locations (line integer, code text, zone text, name text, gln text,
                                    max_weight_g numeric, max_volume_cm3 numeric,
                                    sets_weight boolean, sets_volume boolean, type text,
                                    warehouse text)
ON COMMIT DROP
"""

IMPORT_GLN_CONFLICTS: Final = """
SELECT il.line, il.gln, l.code
FROM import_locations il JOIN locations l ON l.gln = il.gln
WHERE l.code <> il.code
ORDER BY il.line
"""

# A location holding stock reserved for orders cannot become a quarantine location.
IMPORT_QUARANTINE_CONFLICTS: Final = """
SELECT il.line, il.code, sum(s.reserved) AS reserved
FROM import_locations il
JOIN locations l ON l.code = il.code AND l.type <> 'quarantine'
JOIN stock s ON s.location_id = l.id AND s.reserved > 0
WHERE il.type = 'quarantine'
GROUP BY il.line, il.code
ORDER BY il.line
"""

# A location holding stock cannot change warehouse: that would move stock between
# warehouses without a movement (ship a transfer instead).
IMPORT_WAREHOUSE_CONFLICTS: Final = """
SELECT il.line, il.code, l.warehouse, il.warehouse AS wanted, sum(s.on_hand) AS on_hand
FROM import_locations il
JOIN locations l ON l.code = il.code AND l.warehouse <> il.warehouse
JOIN stock s ON s.location_id = l.id AND (s.on_hand > 0 OR s.reserved > 0)
GROUP BY il.line, il.code, l.warehouse, il.warehouse
ORDER BY il.line
"""

UPSERT_IMPORTED_LOCATIONS: Final = """
INSERT INTO locations AS l (code, zone, name, gln, max_weight_g, max_volume_cm3, type,
                            warehouse)
SELECT i.code, i.zone, i.name, i.gln, i.max_weight_g, i.max_volume_cm3,
       coalesce(i.type, o.type, 'storage'), coalesce(i.warehouse, o.warehouse, 'MAIN')
FROM import_locations i LEFT JOIN locations o ON o.code = i.code
ON CONFLICT (code) DO UPDATE SET
    zone = excluded.zone, name = excluded.name, gln = excluded.gln, updated_at = now(),
    type = excluded.type, warehouse = excluded.warehouse,
    max_weight_g = CASE WHEN (SELECT i.sets_weight FROM import_locations i
                              WHERE i.code = excluded.code)
                        THEN excluded.max_weight_g ELSE l.max_weight_g END,
    max_volume_cm3 = CASE WHEN (SELECT i.sets_volume FROM import_locations i
                                WHERE i.code = excluded.code)
                          THEN excluded.max_volume_cm3 ELSE l.max_volume_cm3 END
RETURNING (xmax = 0) AS inserted
"""

_PRODUCT_COLUMNS: Final = """
SELECT p.id, p.sku, p.name, p.category, p.unit_cost, p.weight_g, p.length_mm, p.width_mm,
       p.height_mm, p.reorder_point, p.reorder_qty, p.lead_time_days, p.safety_stock,
       p.backorder_allowed, p.tracking, p.created_at, p.updated_at,
       coalesce((SELECT json_agg(json_build_object('code', b.code, 'pack_size', b.pack_size)
                                 ORDER BY b.pack_size, b.code)
                 FROM product_barcodes b WHERE b.product_id = p.id)::text, '[]') AS barcodes
FROM products p
"""

LIST_PRODUCTS: Final = (
    _PRODUCT_COLUMNS
    + """ WHERE p.id > $1 AND ($2::text IS NULL OR p.category = $2)
ORDER BY p.id LIMIT $3"""
)

PRODUCT_BY_SKU: Final = _PRODUCT_COLUMNS + " WHERE p.sku = $1"

LOCK_PRODUCT_BY_SKU: Final = _PRODUCT_COLUMNS + " WHERE p.sku = $1 FOR NO KEY UPDATE OF p"

INSERT_PRODUCT: Final = """
INSERT INTO products (sku, name, category, unit_cost, weight_g, length_mm, width_mm, height_mm,
                      reorder_point, reorder_qty, lead_time_days, safety_stock, backorder_allowed,
                      tracking)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (sku) DO NOTHING
RETURNING id
"""

UPDATE_PRODUCT: Final = """
UPDATE products SET name = $2, category = $3, unit_cost = $4, weight_g = $5, length_mm = $6,
    width_mm = $7, height_mm = $8, reorder_point = $9, reorder_qty = $10,
    lead_time_days = $11, safety_stock = $12, backorder_allowed = $13, tracking = $14,
    updated_at = now()
WHERE id = $1
"""

# A product named by barcode ($1) or SKU ($2), as a scan names it: its tracking.
PRODUCT_TRACKING: Final = """
SELECT p.tracking FROM products p
WHERE p.id = coalesce((SELECT b.product_id FROM product_barcodes b WHERE b.code = $1),
                      (SELECT s.id FROM products s WHERE s.sku = $2))
"""

PRODUCT_ON_HAND: Final = "SELECT coalesce(sum(on_hand), 0)::bigint FROM stock WHERE product_id = $1"

BARCODE_OWNERS: Final = """
SELECT b.code, p.sku FROM product_barcodes b JOIN products p ON p.id = b.product_id
WHERE b.code = ANY($1::text[]) AND b.product_id <> $2
ORDER BY b.code
"""

DELETE_PRODUCT_BARCODES: Final = "DELETE FROM product_barcodes WHERE product_id = $1"

INSERT_PRODUCT_BARCODES: Final = """
INSERT INTO product_barcodes (code, product_id, pack_size)
SELECT code, $1, pack_size FROM unnest($2::text[], $3::integer[]) AS b(code, pack_size)
"""

_LOCATION_COLUMNS: Final = """
SELECT id, code, warehouse, zone, name, gln, max_weight_g, max_volume_cm3, type,
       created_at, updated_at
FROM locations
"""

LIST_LOCATIONS: Final = (
    _LOCATION_COLUMNS
    + """ WHERE id > $1 AND ($2::text IS NULL OR zone = $2)
  AND ($4::text IS NULL OR warehouse = $4)
ORDER BY id LIMIT $3"""
)

LOCATION_BY_CODE: Final = _LOCATION_COLUMNS + " WHERE code = $1"

LOCATION_BY_GLN: Final = _LOCATION_COLUMNS + " WHERE gln = $1"

INSERT_LOCATION: Final = """
INSERT INTO locations (code, zone, name, gln, max_weight_g, max_volume_cm3, type, warehouse)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT DO NOTHING
RETURNING id
"""

CREATE_IMPORT_HISTORY: Final = """
CREATE TEMP TABLE import_history (line integer, sku text, day date, quantity integer)
ON COMMIT DROP
"""

IMPORT_HISTORY_UNKNOWN_SKUS: Final = """
SELECT h.line, h.sku FROM import_history h
LEFT JOIN products p ON p.sku = h.sku
WHERE p.id IS NULL
ORDER BY h.line
LIMIT 1000
"""

UPSERT_IMPORTED_HISTORY: Final = """
INSERT INTO demand_history (product_id, day, quantity)
SELECT p.id, h.day, h.quantity FROM import_history h JOIN products p ON p.sku = h.sku
ON CONFLICT (product_id, day) DO UPDATE SET quantity = excluded.quantity, imported_at = now()
RETURNING (xmax = 0) AS inserted
"""
