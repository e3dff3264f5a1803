"""Every CSV export defuses text cells a spreadsheet would run (OWASP CSV injection),
and leaves numbers, negative ones included, as numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from stock_core.domain.token import Role
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.api.conftest import post_movement
from web_ui.csv_cell import defuse
from web_ui.csv_cell import defuse_csv
from web_ui.csv_cell import safe_cell

NAME = '=HYPERLINK("http://x")'
CATEGORY = "+cat"
NOTE = "@SUM(A1)"
IDLE_NAME = "-2+3+cmd|' /C calc'!A0"


async def _rows(client: Client, token: str, url: str) -> list[dict[str, str]]:
    response = await client.get(url, headers=bearer(token))
    assert response.status == 200, await response.text()
    assert response.content_type == "text/csv"
    return list(csv.DictReader(io.StringIO(await response.text(), newline="")))


@pytest.fixture
async def hostile(client: Client, tokens: dict[Role, str]) -> None:
    """A product named like a formula, in a formula-like category, received and picked
    with a formula-like note; another never picked (deadstock)."""
    manager = tokens[Role.MANAGER]
    for product in (
        {"sku": "EVIL", "name": NAME, "category": CATEGORY, "unit_cost": "1.50"},
        {"sku": "IDLE", "name": IDLE_NAME, "category": CATEGORY, "unit_cost": "2"},
    ):
        response = await client.post("/api/v1/products", json=product, headers=bearer(manager))
        assert response.status == 201, await response.text()
    for key, body in (
        ("idle", {"kind": "receive", "sku": "IDLE", "location": "A-02", "quantity": 4}),
        ("in", {"kind": "receive", "sku": "EVIL", "location": "A-01", "quantity": 5}),
        ("out", {"kind": "pick", "sku": "EVIL", "location": "A-01", "quantity": 3, "note": NOTE}),
    ):
        status, answer = await post_movement(client, manager, key, body)
        assert status == 201, answer


@pytest.mark.usefixtures("hostile")
@pytest.mark.parametrize(
    "url", ["/api/v1/movements.csv?sku=EVIL", "/api/v1/movements?sku=EVIL&format=csv"]
)
async def test_movement_exports_defuse_notes_and_keep_negative_deltas(
    client: Client, tokens: dict[Role, str], url: str
) -> None:
    rows = await _rows(client, tokens[Role.MANAGER], url)
    assert [(r["kind"], r["delta"], r["note"]) for r in rows] == [
        ("receive", "5", ""),
        ("pick", "-3", "'" + NOTE),
    ]
    assert rows[1]["on_hand_after"] == "2"


@pytest.mark.usefixtures("hostile")
async def test_report_exports_defuse_product_names_and_categories(
    client: Client, tokens: dict[Role, str]
) -> None:
    manager = tokens[Role.MANAGER]
    today = datetime.now(UTC).date()
    reports = {
        "turnover": f"/api/v1/reports/turnover?from={today - timedelta(days=7)}&to={today}",
        "deadstock": "/api/v1/reports/deadstock?days=1",
        "valuation": "/api/v1/reports/valuation",
    }
    for name, url in reports.items():
        rows = await _rows(
            client, manager, url + "&format=csv" if "?" in url else url + "?format=csv"
        )
        names = {r["sku"]: r["name"] for r in rows if r["sku"] in ("EVIL", "IDLE")}
        assert names, f"{name}: neither product listed"
        assert names.get("EVIL", "'" + NAME) == "'" + NAME, name
        assert names.get("IDLE", "'" + IDLE_NAME) == "'" + IDLE_NAME, name
        evil = [r for r in rows if r["sku"] in ("EVIL", "IDLE")]
        assert evil[0]["category"] == "'" + CATEGORY, name
        assert float(evil[0]["unit_cost"]) in (1.5, 2.0), name  # a number, not defused
        for row in rows:  # nothing else starts like a formula, numbers included
            for column, cell in row.items():
                assert not cell.startswith(("=", "+", "@", "\t", "\r")), (name, column, cell)
        if name == "valuation":
            assert [r["on_hand"] for r in rows if r["sku"] == "EVIL"] == ["2"]
    turnover = await _rows(client, manager, reports["turnover"] + "&format=csv")
    assert [r["category"] for r in turnover if not r["sku"]][-1] == "TOTAL"


def test_defusing_rules() -> None:
    for text in ("=1+1", "+1", "-1+2", "@A1", "\t=1", "\r=1"):
        assert defuse(text) == "'" + text
    for text in ("", "Widget", "1+1", "'=x", " =1"):
        assert defuse(text) == text
    assert safe_cell(-3, numeric=True) == -3
    assert safe_cell("-3", numeric=True) == "-3"
    assert safe_cell("-3.5e2", numeric=True) == "-3.5e2"
    assert safe_cell("-3", numeric=False) == "'-3"  # text that looks like a number is text
    assert safe_cell("-1+2", numeric=True) == "'-1+2"  # a numeric column takes numbers only
    assert safe_cell(None, numeric=False) == ""
    document = 'sku,name,value\n"=A","=B",-4\n'
    assert defuse_csv(document, {"value"}) == "sku,name,value\n'=A,'=B,-4\n"
