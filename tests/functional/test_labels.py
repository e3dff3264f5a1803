"""``stockd labels`` run as a user would, and ``GET /api/v1/labels/{kind}``, on a real
database: what they print scans back as the codes the gateway reads; a bad selection
gets one clear line (exit 1) or a problem document."""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from scanner_gateway.decoded import Command
from scanner_gateway.decoded import CommandScan
from scanner_gateway.decoded import LocationScan
from scanner_gateway.decoded import ProductScan
from scanner_gateway.decoded import QuantityScan
from scanner_gateway.decoded import Symbology
from stock_core.domain.labels import SIZES
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.token import Role
from stock_core.service import StockService
from stock_core.types import Gtin
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.functional.api.conftest import Client
from tests.functional.api.conftest import bearer
from tests.functional.command import COMMAND
from tests.functional.command import communicate_within
from tests.functional.command import environment
from tests.unit.stock_core.test_labels import formats
from tests.unit.stock_core.test_labels import needs_pdftoppm
from tests.unit.stock_core.test_labels import scanned

EXPIRY = date(2027, 3, 31)


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: bytes
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.strip().splitlines()


async def stockd(*args: str | Path, home: Path, url: str | None, stdout: int | None = None) -> Run:
    """``stockd ARGS`` with only the settings given here; standard output as bytes (or to
    the descriptor ``stdout``, e.g. a terminal)."""
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        *map(str, args),
        stdout=asyncio.subprocess.PIPE if stdout is None else stdout,
        stderr=asyncio.subprocess.PIPE,
        env=environment(home, url),
        cwd=home,
    )
    out, err = await communicate_within(process, 60)
    assert process.returncode is not None
    return Run(process.returncode, out or b"", err.decode())


@pytest.fixture
async def catalog(service: StockService) -> StockService:
    """The sample catalog, with WIDGET and GADGET in stock in zone A."""
    for n, (sku, place) in enumerate((("WIDGET", "A-01"), ("GADGET", "A-02"))):
        command = Receive(ProductRef(sku=Sku(sku)), LocationCode(place), 3)
        await service.post(Envelope(IdempotencyKey(f"labels-{n}"), command))
    return service


def widget_and_gadget(symbology: Symbology, **fields: Any) -> list[ProductScan]:
    return [
        ProductScan(symbology, gtin=Gtin("05012345678900"), **fields),
        ProductScan(symbology, gtin=Gtin("04006381333931"), **fields),
    ]


# -- the command line -------------------------------------------------------------------


@needs_pdftoppm
async def test_labels_cli_prints_locations_products_and_commands_that_scan_back(
    database_url: str, catalog: StockService, home: Path, tmp_path: Path
) -> None:
    places = await stockd(
        "labels", "locations", "--zone", "A", "-o", "bins.pdf", home=home, url=database_url
    )
    assert places.returncode == 0, places.stderr
    assert places.stdout == b""
    assert places.stderr_lines == ["stockd labels: 2 location labels (1 a4 page) to bins.pdf"]
    pdf = (home / "bins.pdf").read_bytes()
    assert await asyncio.to_thread(scanned, pdf, SIZES["a4"], 2, tmp_path / "bins") == [
        LocationScan(code=LocationCode("A-01")),
        LocationScan(code=LocationCode("A-02")),
    ]

    lots = await stockd(
        "labels", "products", "--zone", "A", "--symbol", "gs1-datamatrix", "--lot", "L1",
        "--expiry", "2027-03-31", "--size", "57x32", home=home, url=database_url,
    )  # fmt: skip
    assert lots.returncode == 0, lots.stderr
    assert lots.stderr_lines == [
        "stockd labels: 2 product labels (2 57x32 pages) to standard output"
    ]
    found = await asyncio.to_thread(scanned, lots.stdout, SIZES["57x32"], 2, tmp_path / "lots")
    assert found == widget_and_gadget(Symbology.GS1_DATAMATRIX, lot="L1", expiry=EXPIRY)

    retail = await stockd(
        "labels", "products", "--codes", "NUT,SPROCKET,WIDGET", "--size", "letter",
        home=home, url=database_url,
    )  # fmt: skip
    assert retail.returncode == 0, retail.stderr
    found = await asyncio.to_thread(scanned, retail.stdout, SIZES["letter"], 3, tmp_path / "gtin")
    assert found == [
        ProductScan(Symbology.UPCA, gtin=Gtin("00012345678905")),
        ProductScan(Symbology.EAN8, gtin=Gtin("00000096385074")),
        ProductScan(Symbology.EAN13, gtin=Gtin("05012345678900")),
    ]

    sheet = await stockd("labels", "commands", "--symbol", "qr", home=home, url=database_url)
    assert sheet.returncode == 0, sheet.stderr
    found = await asyncio.to_thread(scanned, sheet.stdout, SIZES["a4"], 21, tmp_path / "cmd")
    assert found[:10] == [CommandScan(c) for c in Command]
    assert found[10:] == [QuantityScan(n) for n in (1, 2, 3, 5, 6, 10, 12, 20, 24, 50, 100)]


async def test_the_command_sheet_needs_no_database(home: Path) -> None:
    run = await stockd("labels", "commands", "--format", "zpl", "--dpi", "300", home=home, url=None)
    assert run.returncode == 0, run.stderr
    assert run.stderr_lines == [
        "stockd labels: 21 command labels (ZPL, 100x50 mm at 300 dpi) to standard output"
    ]  # and no embedded PostgreSQL was started
    zpl_formats = formats(run.stdout.decode())
    assert len(zpl_formats) == 21
    assert "^FDCMD:RECEIVE^FS" in zpl_formats[0]
    assert "^PW1200\n^LL600\n" in zpl_formats[-1]


async def test_labels_cli_refuses_a_bad_selection_with_one_line(
    database_url: str, catalog: StockService, home: Path
) -> None:
    cases = [
        (("locations", "--zone", "Q"), "no location is in zone 'Q'"),
        (("locations", "--codes", "A-01,NOPE"), "unknown location NOPE"),
        (("products", "--codes", "WIDGET,NOPE"), "unknown product NOPE"),
        (("products", "--zone", "B"), "no product is in stock in zone 'B'"),
        (("products",), "no GTIN of pack size 1 to print for BOLT: add one"),
        (("products", "--codes", "BOLT", "--symbol", "gs1-128"), "no GTIN of pack size 1"),
        (("locations", "--size", "a5"), "unknown size 'a5': use a4 or letter or 100x50 or 57x32"),
        (("locations", "--format", "zpl", "--size", "a4"), "ZPL prints on label rolls"),
        (("products", "--expiry", "31/03/2027"), "--expiry '31/03/2027': give a date like"),
        (("products", "--symbol", "gtin", "--lot", "L1"), "EAN/UPC cannot carry a lot"),
        (("commands", "--codes", "JUMP"), "unknown command 'JUMP': use RECEIVE, PICK"),
        (("commands", "--dpi", "high"), "--dpi 'high': use 203, 300, 600"),
        (("locations", "-o", "no/such/dir/x.pdf"), "cannot write no/such/dir/x.pdf: No such"),
    ]
    runs = await asyncio.gather(
        *(stockd("labels", *args, home=home, url=database_url) for args, _ in cases)
    )
    for (args, message), run in zip(cases, runs, strict=True):
        assert run.returncode == 1, (args, run.stderr)
        assert run.stdout == b"", args
        assert len(run.stderr_lines) == 1, (args, run.stderr)
        assert run.stderr_lines[0].startswith(f"stockd labels: {message}"), (args, run.stderr)


async def test_labels_cli_will_not_write_a_pdf_to_a_terminal(home: Path) -> None:
    import pty

    leader, terminal = pty.openpty()
    try:
        run = await stockd("labels", "commands", home=home, url=None, stdout=terminal)
        zpl = await stockd(
            "labels", "commands", "--format", "zpl", "--codes", "PICK", home=home, url=None,
            stdout=terminal,
        )  # fmt: skip
    finally:
        os.close(terminal)
        os.close(leader)
    assert run.returncode == 1
    assert run.stderr_lines == [
        "stockd labels: a PDF is not for the terminal: give --output FILE, or redirect "
        "(> labels.pdf)"
    ]
    assert zpl.returncode == 0, zpl.stderr  # ZPL is text: fine on a terminal


# -- the API ----------------------------------------------------------------------------


@pytest.fixture
async def manager(catalog: StockService) -> dict[str, str]:
    text, _ = await catalog.create_token("labels-manager", Role.MANAGER)
    return bearer(text)


@needs_pdftoppm
async def test_the_api_answers_a_pdf_that_scans_back(
    client: Client, manager: dict[str, str], tmp_path: Path
) -> None:
    response = await client.get(
        "/api/v1/labels/locations", params={"size": "100x50", "symbol": "qr"}, headers=manager
    )
    assert response.status == 200, await response.text()
    assert response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"] == 'inline; filename="labels-locations.pdf"'
    pdf = await response.read()
    found = await asyncio.to_thread(scanned, pdf, SIZES["100x50"], 4, tmp_path)
    assert found == [LocationScan(code=LocationCode(c)) for c in ("A-01", "A-02", "B-01", "DOCK-1")]


async def test_the_api_answers_zpl_as_text(client: Client, manager: dict[str, str]) -> None:
    query = {"format": "zpl", "codes": "WIDGET,GADGET", "lot": "L1", "expiry": "2027-03-31"}
    response = await client.get("/api/v1/labels/products", params=query, headers=manager)
    assert response.status == 200, await response.text()
    assert (response.content_type, response.charset) == ("text/plain", "utf-8")
    widget, gadget = formats(await response.text())
    assert "^BCN,180,N,N,N,A^FH\\^FD>;>80105012345678900172703311" + "0L1^FS" in widget
    assert "^FD(01)04006381333931(17)270331(10)L1^FS" in gadget
    sheet = await client.get(
        "/api/v1/labels/commands",
        params={"format": "zpl", "size": "57x32", "dpi": "300", "codes": "PICK,QTY:48"},
        headers=manager,
    )
    pick, quantity = formats(await sheet.text())
    assert "^PW684\n^LL384\n" in pick
    assert "^FDQTY:48^FS" in quantity


async def test_the_api_refuses_a_bad_selection_with_a_problem(
    client: Client, manager: dict[str, str], catalog: StockService
) -> None:
    cases = [
        ("locations?zone=Q", 404, "/problems/not-found", "no location is in zone 'Q'"),
        ("locations?codes=NOPE", 404, "/problems/unknown-location", "unknown location NOPE"),
        ("products?codes=NOPE", 404, "/problems/unknown-product", "unknown product NOPE"),
        ("products", 422, "/problems/rejected", "no GTIN of pack size 1 to print for BOLT"),
        ("commands?format=zpl&size=a4", 422, "/problems/rejected", "ZPL prints on label rolls"),
        ("commands?size=a5", 422, "/problems/rejected", "unknown size 'a5'"),
        ("commands?zones=A", 422, "/problems/validation-error", None),
        ("bins", 404, "/problems/not-found", None),
    ]
    for path, status, problem, detail in cases:
        response = await client.get(f"/api/v1/labels/{path}", headers=manager)
        body = await response.json(content_type="application/problem+json")
        assert (response.status, body["type"]) == (status, problem), (path, body)
        if detail is not None:
            assert body["detail"].startswith(detail), (path, body)
    worker, _ = await catalog.create_token("labels-worker", Role.WORKER)
    response = await client.get("/api/v1/labels/commands", headers=bearer(worker))
    assert response.status == 403


async def test_the_api_documents_both_answers(client: Client) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    operation = document["paths"]["/api/v1/labels/{kind}"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"application/pdf", "text/plain"}
    assert {"404", "422", "401", "403"} <= set(operation["responses"])
    names = {p["name"] for p in operation["parameters"]}
    assert names == {"kind", "format", "size", "symbol", "zone", "codes", "lot", "expiry", "dpi"}
    assert re.search(r"format=zpl", operation["description"])
