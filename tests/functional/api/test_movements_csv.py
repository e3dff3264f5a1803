"""The CSV export streams: 100,000 ledger rows with bounded memory."""

from __future__ import annotations

import csv
import io
import tracemalloc

from stock_core.domain.token import Role
from stock_core.store.connection import Pool
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from web_ui.api.movements import CSV_COLUMNS

ROWS = 100_000
PEAK_LIMIT = 6 * 2**20
"""Below what 100,000 rows held at once would take (the CSV text alone is ~9 MiB)."""

FILL = [
    """INSERT INTO idempotency_keys (key, fingerprint)
       SELECT 'bulk-' || g, 'bulk' FROM generate_series(1, $1) g""",
    """INSERT INTO movements (kind, product_id, location_id, lot, delta, on_hand_after,
                             idempotency_key, actor, note)
       SELECT 'receive', p.id, l.id, '', 1, g, 'bulk-' || g, 'bulk-loader', 'row ' || g
       FROM generate_series(1, $1) g,
            (SELECT id FROM products WHERE sku = 'BOLT') p,
            (SELECT id FROM locations WHERE code = 'B-01') l""",
    """INSERT INTO stock (product_id, location_id, lot, on_hand)
       SELECT p.id, l.id, '', $1 FROM products p, locations l
       WHERE p.sku = 'BOLT' AND l.code = 'B-01'""",
]


async def test_movements_csv_of_100000_rows_streams_in_bounded_memory(
    client: Client, tokens: dict[Role, str], pool: Pool
) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for statement in FILL:
            await conn.execute(statement, ROWS)

    tracemalloc.start()
    try:
        response = await client.get("/api/v1/movements.csv", headers=bearer(tokens[Role.MANAGER]))
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        assert response.headers.get("Transfer-Encoding") == "chunked"
        lines = 0
        size = 0
        tail = b""
        head = b""
        async for chunk in response.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if len(head) < 4096:
                head += chunk[:4096]
            data = tail + chunk
            lines += data.count(b"\n")
            tail = data[data.rfind(b"\n") + 1 :]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert lines == ROWS + 1
    assert size > 5 * 2**20
    print(f"peak {peak / 2**20:.1f} MiB while streaming {size / 2**20:.1f} MiB")
    assert peak < PEAK_LIMIT, f"peak {peak / 2**20:.1f} MiB while streaming"
    header, row = list(csv.reader(io.StringIO(head.decode())))[:2]
    assert tuple(header) == CSV_COLUMNS
    assert row[2:8] == ["receive", "BOLT", "B-01", "", "1", "1"]


async def test_movements_format_csv_applies_the_filters(
    client: Client, tokens: dict[Role, str], pool: Pool
) -> None:
    headers = bearer(tokens[Role.MANAGER])
    for key, sku in (("a", "WIDGET"), ("b", "GADGET"), ("c", "WIDGET")):
        body = {"kind": "receive", "sku": sku, "location": "A-01", "quantity": 2, "note": 'a,"b"'}
        response = await client.post(
            "/api/v1/movements", json=body, headers={**headers, "Idempotency-Key": key}
        )
        assert response.status == 201
    response = await client.get("/api/v1/movements?format=csv&sku=WIDGET", headers=headers)
    assert response.status == 200
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [r["sku"] for r in rows] == ["WIDGET", "WIDGET"]
    assert rows[0]["note"] == 'a,"b"'
    assert rows[0]["scanner"] == ""
