"""Catalog import through StockService on real PostgreSQL: all or nothing, line by line."""

from __future__ import annotations

from collections.abc import Awaitable
from decimal import Decimal

import pytest

from stock_core.domain.catalog import LOCATION_COLUMNS
from stock_core.domain.catalog import PRODUCT_COLUMNS
from stock_core.errors import CatalogImportError
from stock_core.service import StockService
from stock_core.store.connection import Pool
from tests.integration.catalog_fixture import LOCATIONS_CSV
from tests.integration.catalog_fixture import PRODUCTS_CSV

PRODUCT_HEADER = ",".join(PRODUCT_COLUMNS)
LOCATION_HEADER = ",".join(LOCATION_COLUMNS)


def products(*lines: str) -> bytes:
    return "\n".join([PRODUCT_HEADER, *lines, ""]).encode()


def locations(*lines: str) -> bytes:
    return "\n".join([LOCATION_HEADER, *lines, ""]).encode()


def product_line(sku: str, barcodes: str = "", name: str | None = None) -> str:
    return f"{sku},{name or sku.title()},{barcodes},cat,1.25,10,1,2,3,4,5,6,7"


async def catalog_state(pool: Pool) -> tuple[object, ...]:
    """Everything an import may touch, to prove a refused one changed nothing."""
    return (
        await pool.fetchval("SELECT count(*) FROM products"),
        await pool.fetchval("SELECT count(*) FROM product_barcodes"),
        await pool.fetchval("SELECT count(*) FROM locations"),
        await pool.fetch(
            "SELECT sku, name, category, unit_cost, reorder_point, updated_at FROM products "
            "ORDER BY sku"
        ),
        await pool.fetch("SELECT code, product_id, pack_size FROM product_barcodes ORDER BY code"),
        await pool.fetch("SELECT code, zone, name, gln, updated_at FROM locations ORDER BY code"),
    )


async def test_sample_catalog_loads_with_normalised_gtins_and_pack_sizes(pool: Pool) -> None:
    service = StockService(pool)
    located = await service.import_locations(LOCATIONS_CSV)
    loaded = await service.import_products(PRODUCTS_CSV)
    assert (located.created, located.updated, located.total) == (4, 0, 4)
    assert (loaded.created, loaded.updated, loaded.total) == (5, 0, 5)
    barcodes = await pool.fetch(
        "SELECT b.code, p.sku, b.pack_size FROM product_barcodes b "
        "JOIN products p ON p.id = b.product_id ORDER BY b.code"
    )
    assert [tuple(r) for r in barcodes] == [
        ("00000096385074", "SPROCKET", 1),
        ("00012345678905", "NUT", 1),
        ("04006381333931", "GADGET", 1),
        ("05012345678900", "WIDGET", 1),
        ("15012345678907", "WIDGET", 12),
        ("GAD-ALIAS", "GADGET", 1),
    ]
    widget = await pool.fetchrow("SELECT * FROM products WHERE sku = 'WIDGET'")
    assert widget is not None
    assert (widget["name"], widget["unit_cost"], widget["weight_g"], widget["safety_stock"]) == (
        "Widget",
        Decimal("2.5"),
        Decimal(120),
        5,
    )
    sprocket = await pool.fetchrow("SELECT length_mm FROM products WHERE sku = 'SPROCKET'")
    assert sprocket is not None
    assert sprocket["length_mm"] is None
    gln = await pool.fetchval("SELECT gln FROM locations WHERE code = 'B-01'")
    assert gln == "4012345000009"


async def test_reimport_updates_products_and_replaces_barcodes(
    service: StockService, pool: Pool
) -> None:
    summary = await service.import_products(
        products(
            "WIDGET,Widget Mk II,05012345678900|WID-NEW*6,tools,3.00,,,,,20,200,9,8",
            product_line("NEWONE", "4006381333948"),
        )
    )
    assert (summary.created, summary.updated) == (1, 1)
    widget = await pool.fetchrow(
        "SELECT name, category, unit_cost, weight_g, reorder_point, reorder_qty, "
        "lead_time_days, safety_stock FROM products WHERE sku = 'WIDGET'"
    )
    assert widget is not None
    assert tuple(widget) == ("Widget Mk II", "tools", Decimal(3), None, 20, 200, 9, 8)
    codes = await pool.fetch(
        "SELECT b.code, b.pack_size FROM product_barcodes b JOIN products p "
        "ON p.id = b.product_id WHERE p.sku = 'WIDGET' ORDER BY b.code"
    )
    assert [tuple(r) for r in codes] == [("05012345678900", 1), ("WID-NEW", 6)]
    # The dropped case GTIN is free again: another product may take it.
    again = await service.import_products(products(product_line("CASE", "15012345678907*24")))
    assert (again.created, again.updated) == (1, 0)
    # Products not in the file are left alone.
    assert await pool.fetchval("SELECT count(*) FROM products") == 7
    assert await pool.fetchval("SELECT name FROM products WHERE sku = 'GADGET'") == "Gadget"


async def test_reimport_of_the_same_file_updates_every_row(service: StockService) -> None:
    summary = await service.import_products(PRODUCTS_CSV)
    assert (summary.created, summary.updated) == (0, 5)
    summary = await service.import_locations(
        locations("A-01,A,renamed,", "NEW-1,N,new,4012345000016")
    )
    assert (summary.created, summary.updated) == (1, 1)


async def test_a_barcode_keeps_its_product_when_reimported_in_another_length(
    service: StockService, pool: Pool
) -> None:
    summary = await service.import_products(products(product_line("NUT", "012345678905*4")))
    assert (summary.created, summary.updated) == (0, 1)
    row = await pool.fetchrow(
        "SELECT p.sku, b.pack_size FROM product_barcodes b JOIN products p "
        "ON p.id = b.product_id WHERE b.code = '00012345678905'"
    )
    assert row is not None
    assert tuple(row) == ("NUT", 4)


_BAD_PRODUCT_FILES: list[tuple[str, bytes, list[tuple[int, str]]]] = [
    (
        "missing columns",
        b"sku,name,barcodes\nX,x,\n",
        [(1, "missing column(s): category, unit_cost")],
    ),
    (
        "unknown columns",
        (PRODUCT_HEADER + ",colour\n" + product_line("X") + ",red\n").encode(),
        [(1, "unknown column(s): colour")],
    ),
    (
        "bad and negative numbers",
        products(
            product_line("OK1"),
            "X1,x,,c,abc,,,,,0,0,0,0",
            product_line("OK2"),
            "X2,x,,c,1,-5,,,,0,0,0,0",
            "X3,x,,c,1,,,,,-1,0,0,0",
            "X4,x,,c,1,,,,,0,1.5,0,0",
        ),
        [
            (3, "unit_cost is not a number: 'abc'"),
            (5, "weight_g must be a number ≥ 0, not '-5'"),
            (6, "reorder_point must be a whole number ≥ 0, not '-1'"),
            (7, "reorder_qty must be a whole number ≥ 0, not '1.5'"),
        ],
    ),
    (
        "duplicate skus",
        products(product_line("DUP"), product_line("OTHER"), product_line("DUP")),
        [(4, "duplicate sku DUP (first on line 2)")],
    ),
    (
        "bad GTIN check digits",
        products(product_line("G1", "05012345678901"), product_line("G2", "4006381333932*6")),
        [
            (2, "barcode 05012345678901: bad GTIN check digit: 1 given, 0 expected"),
            (3, "barcode 4006381333932: bad GTIN check digit: 2 given, 1 expected"),
        ],
    ),
    (
        "duplicate barcodes across lines",
        products(
            product_line("D1", "4006381333948|ALIAS-X"),
            product_line("D2"),
            product_line("D3", "04006381333948"),
            product_line("D4", "ALIAS-X*3"),
        ),
        [
            (4, "barcode 04006381333948 is also on line 2 (D1)"),
            (5, "barcode ALIAS-X is also on line 2 (D1)"),
        ],
    ),
    (
        "the same barcode twice on one line",
        products(product_line("TWICE", "4006381333948|04006381333948*6")),
        [(2, "barcode 04006381333948 appears twice on this line")],
    ),
    (
        "non-UTF-8 bytes",
        products(product_line("U1"), product_line("U2"), product_line("U3")).replace(
            b"U3,U3", b"U3,\xff\xfe"
        ),
        [(4, "not UTF-8 (byte 0xff)")],
    ),
    (
        "wrong field counts",
        products(product_line("F1"), "F2,f", product_line("F3") + ",x,y"),
        [(3, "2 fields, expected 13"), (4, "15 fields, expected 13")],
    ),
    (
        "a number too large for its column",
        products(product_line("BIG").replace(",1,2,3,", ",1,999999999.95,3,")),
        [(2, "width_mm is too large: '999999999.95'")],
    ),
    ("an empty file", b"", [(1, "empty file: expected a header line")]),
]


async def _refused_line_by_line(
    pool: Pool, loading: Awaitable[object], expected: list[tuple[int, str]]
) -> None:
    """``loading`` fails with exactly the ``expected`` (line, reason part) problems and
    leaves the catalog as it was."""
    before = await catalog_state(pool)
    with pytest.raises(CatalogImportError) as info:
        await loading
    problems = info.value.problems
    assert [p.line for p in problems] == [line for line, _ in expected]
    for problem, (_, reason) in zip(problems, expected, strict=True):
        assert reason in problem.reason
    assert await catalog_state(pool) == before


async def test_a_barcode_that_belongs_to_another_product_in_the_database_is_refused(
    service: StockService, pool: Pool
) -> None:
    before = await catalog_state(pool)
    data = products(
        "WIDGET,Widget renamed,05012345678900,hardware,2.50,,,,,1,1,1,1",
        product_line("FRESH", "4006381333948"),
        product_line("THIEF", "4006381333931"),
        product_line("ALSO", "GAD-ALIAS*2|15012345678907"),
    )
    with pytest.raises(CatalogImportError) as info:
        await service.import_products(data)
    assert [(p.line, p.reason) for p in info.value.problems] == [
        (4, "barcode 04006381333931 already belongs to GADGET"),
        (5, "barcode GAD-ALIAS already belongs to GADGET"),
        (5, "barcode 15012345678907 already belongs to WIDGET"),
    ]
    assert await catalog_state(pool) == before


async def test_only_the_last_of_many_lines_bad_still_loads_nothing(
    service: StockService, pool: Pool
) -> None:
    before = await catalog_state(pool)
    good = [product_line(f"BULK-{n:05d}", f"BULK-CODE-{n}") for n in range(5000)]
    data = products(*good, product_line("LAST", "4006381333931"))  # GADGET's GTIN
    progress: list[int] = []
    with pytest.raises(CatalogImportError) as info:
        await service.import_products(data, progress.append)
    assert [(p.line, p.reason) for p in info.value.problems] == [
        (5002, "barcode 04006381333931 already belongs to GADGET")
    ]
    assert sum(progress) == 5001  # every row went to the database, then rolled back
    assert await catalog_state(pool) == before

    data = products(*good, "LAST,last,,c,1,,,,,0,0,0,x")  # refused before any I/O
    with pytest.raises(CatalogImportError) as info:
        await service.import_products(data)
    assert [p.line for p in info.value.problems] == [5002]
    assert await catalog_state(pool) == before


_BAD_LOCATION_FILES: list[tuple[str, bytes, list[tuple[int, str]]]] = [
    (
        "bad location codes",
        locations("OK-1,A,,", "bad code,A,,", "-X,A,,", "OK-2,A,,", "Ö-1,A,,"),
        [
            (3, "location code 'bad code' must be 1-64 letters"),
            (4, "location code '-X' must be"),
            (6, "location code 'Ö-1' must be"),
        ],
    ),
    (
        "bad GLNs",
        locations("G-1,A,,4012345000008", "G-2,A,,401234500000", "G-3,A,,4012345000016"),
        [
            (2, "gln 4012345000008: bad GTIN check digit"),
            (3, "gln must be 13 digits, not '401234500000'"),
        ],
    ),
    (
        "duplicate codes and GLNs",
        locations("D-1,A,,4012345000016", "D-1,A,,", "D-2,A,,4012345000016"),
        [
            (3, "duplicate location code D-1 (first on line 2)"),
            (4, "gln 4012345000016 is also on line 2"),
        ],
    ),
    (
        "missing and unknown columns",
        b"code,zone,label\nA-1,A,x\n",
        [(1, "missing column(s): name, gln; unknown column(s): label")],
    ),
    (
        "wrong field counts and non-UTF-8",
        locations("W-1,A", "W-2,A,x,") + b"W-3,A,\x80,\n",
        [(4, "not UTF-8 (byte 0x80)")],
    ),
    (
        "wrong field counts",
        locations("W-1,A", "W-2,A,x,", "W-3,A,x,,,"),
        [(2, "2 fields, expected 4"), (4, "6 fields, expected 4")],
    ),
]


_BAD_FILES = [("products", *case) for case in _BAD_PRODUCT_FILES] + [
    ("locations", *case) for case in _BAD_LOCATION_FILES
]


@pytest.mark.parametrize(
    ("table", "data", "expected"),
    [(table, data, expected) for table, _, data, expected in _BAD_FILES],
    ids=[f"{table}-{name}" for table, name, _, _ in _BAD_FILES],
)
async def test_a_bad_file_is_refused_line_by_line_and_loads_nothing(
    service: StockService, pool: Pool, table: str, data: bytes, expected: list[tuple[int, str]]
) -> None:
    importer = service.import_products if table == "products" else service.import_locations
    await _refused_line_by_line(pool, importer(data), expected)


async def test_a_gln_that_belongs_to_another_location_in_the_database_is_refused(
    service: StockService, pool: Pool
) -> None:
    before = await catalog_state(pool)
    with pytest.raises(CatalogImportError) as info:
        await service.import_locations(
            locations("A-01,A,renamed,", "C-01,C,,4012345000009", "D-01,D,,4012345000016")
        )
    assert [(p.line, p.reason) for p in info.value.problems] == [
        (3, "gln 4012345000009 already belongs to B-01")
    ]
    assert await catalog_state(pool) == before


async def test_large_numbers_that_round_into_their_columns_are_stored(
    service: StockService, pool: Pool
) -> None:
    await service.import_products(
        products("BIG,Big,,c,999999999.9999,999999999.9994,999999999.94,0.04,0.05,0,0,0,0")
    )
    row = await pool.fetchrow(
        "SELECT unit_cost, weight_g, length_mm, width_mm, height_mm FROM products WHERE sku = 'BIG'"
    )
    assert row is not None
    assert tuple(row) == (
        Decimal("999999999.9999"),
        Decimal("999999999.999"),
        Decimal("999999999.9"),
        Decimal("0.0"),
        Decimal("0.1"),
    )


async def test_twenty_thousand_lines_load_and_progress_sums_to_the_row_count(
    pool: Pool,
) -> None:
    service = StockService(pool)
    lines = [
        f"SKU-{n:06d},Product {n},ALIAS-{n}|ALIAS-CASE-{n}*{n % 50 + 1},cat-{n % 17},"
        f"{n % 1000}.25,{n % 900},10,20,30,{n % 100},{n % 500},{n % 30},{n % 10}"
        for n in range(20_000)
    ]
    progress: list[int] = []
    summary = await service.import_products(products(*lines), progress.append)
    assert (summary.created, summary.updated) == (20_000, 0)
    assert sum(progress) == 20_000
    assert len(progress) > 1  # reported as it goes, not once at the end
    assert await pool.fetchval("SELECT count(*) FROM products") == 20_000
    assert await pool.fetchval("SELECT count(*) FROM product_barcodes") == 40_000
    pack = await pool.fetchval(
        "SELECT pack_size FROM product_barcodes WHERE code = 'ALIAS-CASE-12345'"
    )
    assert pack == 12345 % 50 + 1

    location_progress: list[int] = []
    located = await service.import_locations(
        locations(*(f"L-{n:05d},Z{n % 9},Bay {n}," for n in range(3000))),
        location_progress.append,
    )
    assert (located.created, sum(location_progress)) == (3000, 3000)


async def test_backorder_allowed_column_sets_it_and_its_absence_keeps_what_is_stored(
    service: StockService, pool: Pool
) -> None:
    async def allowed() -> dict[str, bool]:
        rows = await pool.fetch("SELECT sku, backorder_allowed FROM products")
        return {r["sku"]: r["backorder_allowed"] for r in rows}

    header = PRODUCT_HEADER + ",backorder_allowed"
    data = "\n".join([header, product_line("WIDGET") + ",false", product_line("NEW1") + ",", ""])
    await service.import_products(data.encode())
    found = await allowed()
    assert (found["WIDGET"], found["NEW1"], found["GADGET"]) == (False, True, True)
    await service.import_products(products(product_line("WIDGET"), product_line("NEW2")))
    found = await allowed()
    assert (found["WIDGET"], found["NEW2"]) == (False, True)
    data = "\n".join([header, product_line("WIDGET") + ",true", ""])
    await service.import_products(data.encode())
    assert (await allowed())["WIDGET"] is True


async def test_capacity_columns_set_limits_an_empty_cell_clears_and_absence_keeps(
    service: StockService, pool: Pool
) -> None:
    async def limits() -> dict[str, tuple[object, object]]:
        rows = await pool.fetch("SELECT code, max_weight_g, max_volume_cm3 FROM locations")
        return {r["code"]: (r["max_weight_g"], r["max_volume_cm3"]) for r in rows}

    header = "code,zone,name,gln,max_weight_g,max_volume_cm3"
    data = "\n".join([header, "A-01,A,,,1500.5,", "K-1,K,,,,20000", ""]).encode()
    summary = await service.import_locations(data)
    assert (summary.created, summary.updated) == (1, 1)
    found = await limits()
    assert found["A-01"] == (Decimal("1500.500"), None)
    assert found["K-1"] == (None, Decimal("20000.000"))
    assert found["A-02"] == (None, None)
    await service.import_locations(locations("A-01,A,renamed,", "K-1,K,,"))
    assert (await limits())["A-01"] == (Decimal("1500.500"), None)  # no column: kept
    await service.import_locations(b"code,zone,name,gln,max_weight_g\nA-01,A,,,\n")
    assert (await limits())["A-01"] == (None, None)  # an empty cell: no limit
    assert (await limits())["K-1"] == (None, Decimal("20000.000"))


async def test_bad_capacity_cells_are_refused_line_by_line(
    service: StockService, pool: Pool
) -> None:
    data = b"code,zone,name,gln,max_weight_g,max_volume_cm3\nX-1,A,,,-5,\nX-2,A,,,,lots\n"
    await _refused_line_by_line(
        pool,
        service.import_locations(data),
        [
            (2, "max_weight_g must be a number ≥ 0, not '-5'"),
            (3, "max_volume_cm3 is not a number: 'lots'"),
        ],
    )
