"""The real ``stockd`` console script in a subprocess, against a fresh test database."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import date
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
import websockets

from hardware_mocks.frames import HONEYWELL
from hardware_mocks.pty_scanner import PtyScanner
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.service import StockService
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.functional.command import COMMAND
from tests.functional.command import embedded_servers
from tests.functional.command import running
from tests.functional.command import stockd
from tests.integration.catalog_fixture import LOCATIONS_CSV
from tests.integration.catalog_fixture import PRODUCTS_CSV
from tests.pg import PgCluster
from tests.pg import fresh_database
from tests.timing import UNIT


async def counts(url: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM product_barcodes), "
            "(SELECT count(*) FROM locations)"
        )
    finally:
        await conn.close()
    assert row is not None
    return (row[0], row[1], row[2])


@pytest.fixture
async def empty_database_url(pg_cluster: PgCluster) -> AsyncIterator[str]:
    """A database with no schema at all (not a copy of the migrated template)."""
    name = f"stockd_empty_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    await fresh_database(pg_cluster.admin_url, name)
    yield pg_cluster.url_for(name)
    await pg_cluster.drop_database(name)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- migrate ------------------------------------------------------------------------


async def test_migrate_applies_the_schema_once_then_says_it_is_up_to_date(
    empty_database_url: str, home: Path
) -> None:
    first = await stockd("migrate", home=home, url=empty_database_url)
    assert first.returncode == 0, first.stderr
    applied = first.stdout.strip().splitlines()
    assert applied[0] == "applied migration 0001 initial"
    assert all(line.startswith("applied migration ") for line in applied)
    again = await stockd("migrate", home=home, url=empty_database_url)
    assert (again.returncode, again.stdout.strip()) == (0, "schema is up to date")
    assert await counts(empty_database_url) == (0, 0, 0)


async def test_migrate_on_a_migrated_database_changes_nothing(
    database_url: str, home: Path
) -> None:
    run = await stockd("migrate", home=home, url=database_url)
    assert (run.returncode, run.stdout.strip()) == (0, "schema is up to date")


# -- import -------------------------------------------------------------------------


async def test_import_good_files_then_reimport_updates(
    database_url: str, home: Path, tmp_path: Path
) -> None:
    locations = write(tmp_path / "locations.csv", LOCATIONS_CSV)
    products = write(tmp_path / "products.csv", PRODUCTS_CSV)
    run = await stockd("import", "locations", locations, home=home, url=database_url)
    assert (run.returncode, run.stdout.strip()) == (0, "locations: 4 created, 0 updated")
    run = await stockd("import", "products", products, home=home, url=database_url)
    assert (run.returncode, run.stdout.strip()) == (0, "products: 5 created, 0 updated")
    assert await counts(database_url) == (5, 6, 4)
    run = await stockd("import", "products", products, home=home, url=database_url)
    assert (run.returncode, run.stdout.strip()) == (0, "products: 0 created, 5 updated")
    assert await counts(database_url) == (5, 6, 4)


async def test_import_of_thousands_of_lines_reports_the_total(
    database_url: str, home: Path, tmp_path: Path
) -> None:
    header = PRODUCTS_CSV.split(b"\n", 1)[0]
    lines = [f"S{n:05d},Item {n},CODE-{n},c,1,,,,,0,0,0,0".encode() for n in range(3000)]
    products = write(tmp_path / "big.csv", b"\n".join([header, *lines, b""]))
    run = await stockd("import", "products", products, home=home, url=database_url)
    assert (run.returncode, run.stdout.strip()) == (0, "products: 3000 created, 0 updated")
    assert await counts(database_url) == (3000, 3000, 0)


async def test_import_of_a_bad_products_file_lists_every_bad_line_and_loads_nothing(
    database_url: str, home: Path, tmp_path: Path
) -> None:
    data = PRODUCTS_CSV.replace(b"GADGET,Gadget,4006381333931", b"GADGET,Gadget,4006381333932")
    data = data.replace(b"0.40,15", b"cheap,15").replace(b"BOLT,Bolt M6,,parts", b"BOLT,")
    data += b"WIDGET,Widget again,,x,1,,,,,0,0,0,0\n"
    products = write(tmp_path / "products.csv", data)
    run = await stockd("import", "products", products, home=home, url=database_url)
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr_lines == [
        f"{products}: 4 bad line(s); nothing was loaded",
        f"{products}:3: barcode 4006381333932: bad GTIN check digit: 2 given, 1 expected",
        f"{products}:4: unit_cost is not a number: 'cheap'",
        f"{products}:5: 11 fields, expected 13",
        f"{products}:7: duplicate sku WIDGET (first on line 2)",
    ]
    assert await counts(database_url) == (0, 0, 0)


async def test_import_refused_by_the_database_lists_the_line_and_loads_nothing(
    database_url: str, home: Path, tmp_path: Path
) -> None:
    products = write(tmp_path / "products.csv", PRODUCTS_CSV)
    assert (
        await stockd("import", "products", products, home=home, url=database_url)
    ).returncode == 0
    header = PRODUCTS_CSV.split(b"\n", 1)[0]
    clash = write(
        tmp_path / "clash.csv",
        header + b"\nNEW,New,ALIAS-NEW,c,1,,,,,0,0,0,0\nTHIEF,Thief,GAD-ALIAS,c,1,,,,,0,0,0,0\n",
    )
    run = await stockd("import", "products", clash, home=home, url=database_url)
    assert run.returncode == 1
    assert run.stderr_lines[1:] == [f"{clash}:3: barcode GAD-ALIAS already belongs to GADGET"]
    assert await counts(database_url) == (5, 6, 0)


async def test_import_of_a_bad_locations_file_lists_every_bad_line_and_loads_nothing(
    database_url: str, home: Path, tmp_path: Path
) -> None:
    data = LOCATIONS_CSV + b"bad code,A,,\nC-01,C,,4012345000008\nA-01,A,again,\nD-1,D,\xff,\n"
    locations = write(tmp_path / "locations.csv", data)
    run = await stockd("import", "locations", locations, home=home, url=database_url)
    assert run.returncode == 1
    assert run.stderr_lines == [
        f"{locations}: 1 bad line(s); nothing was loaded",
        f"{locations}:9: not UTF-8 (byte 0xff)",
    ]
    locations = write(tmp_path / "locations.csv", data.replace(b"\xff", b"ok"))
    run = await stockd("import", "locations", locations, home=home, url=database_url)
    assert run.returncode == 1
    assert run.stderr_lines == [
        f"{locations}: 3 bad line(s); nothing was loaded",
        f"{locations}:6: location code 'bad code' must be 1-64 letters, digits, '.', '_', "
        "'/' or '-'",
        f"{locations}:7: gln 4012345000008: bad GTIN check digit: 8 given, 9 expected",
        f"{locations}:8: duplicate location code A-01 (first on line 2)",
    ]
    assert await counts(database_url) == (0, 0, 0)


async def test_import_of_a_missing_file_fails_clearly(
    database_url: str, home: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.csv"
    run = await stockd("import", "products", missing, home=home, url=database_url)
    assert run.returncode == 1
    assert f"stockd: cannot read {missing}: No such file or directory" in run.stderr_lines


HISTORY_CSV = "sku,date,quantity\n" + "".join(
    f"WIDGET,{date.today() - timedelta(days=d)},30\n" for d in range(1, 57)
)


async def test_import_history_loads_past_demand_and_refreshes_the_forecasts(
    database_url: str, home: Path, tmp_path: Path
) -> None:
    for what, data in (("locations", LOCATIONS_CSV), ("products", PRODUCTS_CSV)):
        path = write(tmp_path / f"{what}.csv", data)
        assert (await stockd("import", what, path, home=home, url=database_url)).returncode == 0
    history = write(tmp_path / "history.csv", HISTORY_CSV.encode())
    run = await stockd("import", "history", history, home=home, url=database_url)
    assert run.returncode == 0, run.stderr
    loaded, forecasts = run.stdout.strip().splitlines()
    assert loaded == "history: 56 created, 0 updated"
    # 30 a day and none in stock: WIDGET runs out before a replenishment could arrive,
    # and its alert is up now, not at the forecaster's next hourly run
    assert forecasts.startswith("forecasts: 5 products, 1 projected to run out (1 alert(s) raised")
    conn = await asyncpg.connect(database_url)
    try:
        demand = await conn.fetchval("SELECT sum(quantity) FROM demand_history")
        alerts = await conn.fetch(
            "SELECT p.sku FROM alerts a JOIN products p ON p.id = a.product_id "
            "WHERE a.kind = 'projected_stockout' AND a.cleared_at IS NULL"
        )
        forecasted = await conn.fetchval("SELECT count(*) FROM forecasts")
    finally:
        await conn.close()
    assert demand == 56 * 30
    assert [r["sku"] for r in alerts] == ["WIDGET"]
    assert forecasted == 5
    assert await counts(database_url) == (5, 6, 4)  # the catalog is untouched

    again = await stockd("import", "history", history, home=home, url=database_url)
    assert again.stdout.splitlines()[0] == "history: 0 created, 56 updated"
    assert "0 alert(s) raised" in again.stdout


async def test_import_of_a_bad_history_file_lists_every_bad_line_and_loads_nothing(
    database_url: str, home: Path, tmp_path: Path
) -> None:
    products = write(tmp_path / "products.csv", PRODUCTS_CSV)
    assert (
        await stockd("import", "products", products, home=home, url=database_url)
    ).returncode == 0
    history = write(
        tmp_path / "history.csv",
        b"sku,date,quantity\nWIDGET,2024-01-01,3\nWIDGET,2024-13-01,3\nNOPE,2024-01-02,1\n"
        b"GADGET,2024-01-03,-2\n",
    )
    run = await stockd("import", "history", history, home=home, url=database_url)
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr_lines == [
        f"{history}: 2 bad line(s); nothing was loaded",
        f"{history}:3: date must be YYYY-MM-DD, not '2024-13-01'",
        f"{history}:5: quantity must be a whole number ≥ 0, not '-2'",
    ]
    fixed = write(
        tmp_path / "fixed.csv", b"sku,date,quantity\nWIDGET,2024-01-01,3\nNOPE,2024-01-02,1\n"
    )
    run = await stockd("import", "history", fixed, home=home, url=database_url)
    assert run.returncode == 1
    assert run.stderr_lines[1:] == [f"{fixed}:3: unknown sku NOPE"]
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM demand_history") == 0
    finally:
        await conn.close()


# -- verify -------------------------------------------------------------------------


async def test_verify_is_clean_then_reports_a_tampered_stock_row(
    database_url: str, home: Path, tmp_path: Path
) -> None:
    clean = await stockd("verify", home=home, url=database_url)
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.startswith("verify: all invariants hold (0 movements")

    for what, data in (("locations", LOCATIONS_CSV), ("products", PRODUCTS_CSV)):
        path = write(tmp_path / f"{what}.csv", data)
        assert (await stockd("import", what, path, home=home, url=database_url)).returncode == 0
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        await StockService(pool).post(
            Envelope(
                IdempotencyKey("cli-1"),
                Receive(ProductRef(sku=Sku("WIDGET")), LocationCode("A-01"), 2),
            )
        )
        still_clean = await stockd("verify", home=home, url=database_url)
        assert still_clean.returncode == 0
        assert "1 movements" in still_clean.stdout
        await pool.execute("UPDATE stock SET on_hand = 9")
    finally:
        await pool.close()

    broken = await stockd("verify", home=home, url=database_url)
    assert broken.returncode == 1
    assert broken.stdout.strip().splitlines() == [
        "verify: 1 problem(s) (1 movements, 1 stock_rows, 5 products, 4 locations, 0 transfers)",
        "  - ledger sums to 2 but on-hand is 9 for WIDGET at A-01 lot -",
    ]


# -- tokens -------------------------------------------------------------------------


async def test_token_create_with_expiry_list_and_revoke_as_a_user_would(
    database_url: str, home: Path
) -> None:
    made = await stockd(
        "token", "create", "--role", "display", "--name", "floor", "--expires-in", "30d",
        home=home, url=database_url,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    first, token = made.stdout.strip().splitlines()
    assert first.startswith("created display token ")
    assert ", expires 20" in first
    prefix = token.split("_")[1]

    listed = await stockd("token", "list", home=home, url=database_url)
    assert listed.returncode == 0, listed.stderr
    (row,) = [line for line in listed.stdout.splitlines() if prefix in line]
    assert row.split()[2:4] == ["display", "active"]

    revoked = await stockd("token", "revoke", prefix, home=home, url=database_url)
    assert revoked.returncode == 0, revoked.stderr
    (line,) = revoked.stdout.strip().splitlines()
    assert line.startswith(f"revoked display token {prefix} (id ")
    again = await stockd("token", "revoke", f"stk_{prefix}", home=home, url=database_url)
    assert again.returncode == 0
    assert "was already revoked on" in again.stdout
    listed = await stockd("token", "list", home=home, url=database_url)
    (row,) = [line for line in listed.stdout.splitlines() if prefix in line]
    assert row.split()[3] == "revoked"

    token_id = line.split("(id ")[1].split(",")[0]
    by_id = await stockd("token", "revoke", token_id, home=home, url=database_url)
    assert (by_id.returncode, "already revoked" in by_id.stdout) == (0, True)


async def test_token_revoke_of_an_unknown_token_fails_clearly(
    database_url: str, home: Path
) -> None:
    for ref in ("zzzz9999", "987654", "not a token"):
        run = await stockd("token", "revoke", ref, home=home, url=database_url)
        assert run.returncode == 1
        assert run.stdout == ""
        assert run.stderr_lines[-1].startswith(f"stockd: no token matches {ref!r}")


@pytest.mark.parametrize("lifetime", ["0m", "30 days", "11y", "-1d"])
async def test_token_create_refuses_a_bad_expiry(home: Path, lifetime: str) -> None:
    run = await stockd(
        "token", "create", "--role", "display", "--name", "x", f"--expires-in={lifetime}",
        home=home, url=None,
    )  # fmt: skip
    assert run.returncode == 2
    assert run.stderr_lines[-1].startswith("stockd: --expires-in must be like 90m")


# -- settings -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "names"),
    [
        ('[web]\nport = "x"\n', "bad setting web.port: Input should be a valid integer"),
        ("[web]\nport = 70000\n", "bad setting web.port: Input should be less than or equal"),
        ("[web]\nprot = 8080\n", "bad setting web.prot: Extra inputs are not permitted"),
        ("colour = 1\n", "bad setting colour: Extra inputs are not permitted"),
        ("[database]\npool_size = 1\n", "bad setting database.pool_size"),
        ("[database]\nconnect_timeout_s = 0\n", "bad setting database.connect_timeout_s"),
        ("[database]\nkeepalive_s = 0.5\n", "bad setting database.keepalive_s"),
        ("[database]\nstatement_cache = 3\n", "bad setting database.statement_cache"),
        ("[database]\nstatement_timeout_s = 0\n", "bad setting database.statement_timeout_s"),
        (
            '[database]\nreplica_url = "mysql://db/x"\n',
            "bad setting database.replica_url: Value error, must be a postgresql:// URL",
        ),
        ('[database]\nlisten_url = "db:5432"\n', "bad setting database.listen_url"),
        ("[database]\nreplica_max_lag_s = 0\n", "bad setting database.replica_max_lag_s"),
        ("[gateway]\ncommit_timeout_s = 0\n", "bad setting gateway.commit_timeout_s"),
        ("[gateway]\nreplay_window_s = -1\n", "bad setting gateway.replay_window_s"),
        ("[web\n", "is not valid TOML"),
    ],
)
async def test_a_bad_config_file_stops_with_one_line_naming_the_setting(
    home: Path, tmp_path: Path, toml: str, names: str
) -> None:
    config = write(tmp_path / "stockd.toml", toml.encode())
    run = await stockd("--config", config, "verify", home=home, url=None)
    assert run.returncode == 2
    (line,) = run.stderr_lines
    assert line.startswith("stockd: ")
    assert names in line
    assert str(config) in line
    assert run.stdout == ""


async def test_a_missing_config_file_stops_with_one_line(home: Path, tmp_path: Path) -> None:
    config = tmp_path / "absent.toml"
    run = await stockd("--config", config, "migrate", home=home, url=None)
    assert (run.returncode, run.stderr_lines) == (
        2,
        [f"stockd: config file {config} does not exist"],
    )


@pytest.mark.parametrize("with_file", [False, True])
async def test_a_bad_environment_setting_stops_with_one_line_naming_the_variable(
    home: Path, tmp_path: Path, with_file: bool
) -> None:
    config = write(tmp_path / "stockd.toml", b"[web]\nport = 8081\n")
    args = ("--config", config, "verify") if with_file else ("verify",)
    run = await stockd(*args, home=home, url=None, env={"STOCKD_WEB__PORT": "abc"})
    assert run.returncode == 2
    (line,) = run.stderr_lines
    assert line.startswith("stockd: bad setting web.port: Input should be a valid integer")
    assert line.endswith("[environment STOCKD_WEB__PORT]")


async def test_database_url_in_the_environment_wins_over_the_config_file(
    database_url: str, home: Path, tmp_path: Path
) -> None:
    config = write(
        tmp_path / "stockd.toml", b'[database]\nurl = "postgresql://nobody@127.0.0.1:1/none"\n'
    )
    run = await stockd("--config", config, "verify", home=home, url=database_url)
    assert run.returncode == 0, run.stderr
    unreachable = await stockd(
        "--config", config, "verify", home=home, url=None, env={"STOCKD_DATABASE__WAIT_S": "0"}
    )
    assert unreachable.returncode == 1
    assert unreachable.stderr_lines[-1].startswith(
        "stockd: cannot reach PostgreSQL at postgresql://nobody@127.0.0.1:1/none"
    )


# -- simulate ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("simulate", "--scanners", "0", "--rate", "1", "--seconds", "1"),
        ("simulate", "--scanners", "2", "--rate", "-1", "--seconds", "1"),
        ("simulate", "--scanners", "2", "--rate", "1", "--seconds", "0"),
    ],
)
async def test_simulate_refuses_bad_numbers(home: Path, args: tuple[str, ...]) -> None:
    run = await stockd(*args, home=home, url=None)
    assert run.returncode == 2
    assert run.stderr_lines[-1].startswith("stockd simulate: --scanners 1-256")
    assert not (home / "pgdata").exists()  # it did not start an embedded server either


async def test_simulate_prints_the_gateway_config(home: Path) -> None:
    run = await stockd(
        "simulate",
        "--scanners",
        "2",
        "--rate",
        "1",
        "--seconds",
        "1",
        "--tcp-port",
        "47001",
        "--print-config",
        home=home,
        url=None,
    )
    assert run.returncode == 0, run.stderr
    assert 'url = "socket://127.0.0.1:47002"' in run.stdout
    assert run.stdout.count("[[scanners]]") == 2


async def test_no_command_is_a_usage_error(home: Path) -> None:
    run = await stockd(home=home, url=None)
    assert run.returncode == 2
    assert "usage: stockd" in run.stderr


def test_console_script_is_installed() -> None:
    assert Path(COMMAND[0]).name == "stockd" or shutil.which("stockd") is not None


# -- the long-running commands, started and stopped as a user does ------------------


def scanner_config(path: Path, scanner: PtyScanner) -> Path:
    return write(
        path,
        (
            "[[scanners]]\n"
            'id = "dock-1"\n'
            f'url = "{scanner.path}"\n'
            'preset = "honeywell"\n'
            'terminator = "CRLF"\n'
            'feedback = "honeywell"\n'
            'mode = "receive"\n'
            'location = "A-01"\n'
        ).encode(),
    )


async def catalog(url: str, home: Path, tmp_path: Path) -> None:
    for what, data in (("locations", LOCATIONS_CSV), ("products", PRODUCTS_CSV)):
        path = write(tmp_path / f"{what}.csv", data)
        assert (await stockd("import", what, path, home=home, url=url)).returncode == 0


async def scan(scanner: PtyScanner, *codes: str) -> None:
    """Scan ``codes``, each once its answer to the last came, once the gateway reads the
    port (it opens it after saying it is up): until then ``LOC:A-01``, a harmless code."""
    async with asyncio.timeout(20 * UNIT):
        while scanner.feedback.events == 0:
            scanner.send_scan("LOC:A-01")
            with contextlib.suppress(TimeoutError):
                await scanner.wait_feedback(1, 0.5 * UNIT)
    for code in codes:
        before = scanner.feedback.events
        scanner.send_scan(code)
        await scanner.wait_feedback(before + 1, 10 * UNIT)


async def on_hand(url: str, sku: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchval(
            "SELECT coalesce(sum(s.on_hand), 0) FROM stock s JOIN products p "
            "ON p.id = s.product_id WHERE p.sku = $1",
            sku,
        )
    finally:
        await conn.close()
    return int(found)


async def get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as answer:
        return answer.status, await answer.text()


async def handheld_scan(base: str, token: str, code: str) -> dict[str, Any]:
    """One scan from a handheld page's socket (as the /scan/ page sends it): the reply."""
    url = base.replace("http://", "ws://") + "/scan/ws"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token, "scanner": "web-cli"}))
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 10 * UNIT))
        assert welcome["type"] == "welcome", welcome
        seq = welcome["last_seq"] + 1
        await ws.send(json.dumps({"type": "scan", "seq": seq, "code": code}))
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10 * UNIT))
        return reply


async def test_gateway_reads_a_scanner_until_ctrl_c(
    database_url: str, home: Path, tmp_path: Path
) -> None:
    await catalog(database_url, home, tmp_path)
    async with await PtyScanner.create(tmp_path / "dock-1", HONEYWELL) as scanner:
        config = scanner_config(tmp_path / "stockd.toml", scanner)
        async with running(
            "--config", config, "gateway", home=home, url=database_url, ready=r"stockd gateway: "
        ) as gateway:
            await scan(scanner, "05012345678900", "QTY:3", "4006381333931")
            assert scanner.naks == 0
            assert scanner.acks >= 3
        assert gateway.returncode == 0, gateway.stderr
    gateway.find(rf"1 scanner\(s\), spool at {home}/spool")
    assert await on_hand(database_url, "WIDGET") == 1
    assert await on_hand(database_url, "GADGET") == 3


async def test_web_serves_the_floor_page_and_the_api_until_ctrl_c(
    database_url: str, home: Path
) -> None:
    made = await stockd(
        "token", "create", "--role", "manager", "--name", "m", home=home, url=database_url
    )
    token = made.stdout.strip().splitlines()[-1]
    made = await stockd(
        "token", "create", "--role", "worker", "--name", "w", home=home, url=database_url
    )
    worker = made.stdout.strip().splitlines()[-1]
    async with running(
        "web", home=home, url=database_url, ready=r"stockd web: ", env={"STOCKD_WEB__PORT": "0"}
    ) as web:
        base = web.find(r"floor page and API at (http://[^ ]+)/ ").group(1)
        status, page = await get(f"{base}/")
        assert status == 200
        assert "<title>" in page
        handheld = web.find(r"handheld page at (http://[^ ]+)/scan/\)").group(1)
        assert (await get(f"{handheld}/scan/"))[0] == 200
        console = web.find(r"manager console at (http://[^ ]+)/manage/,").group(1)
        status, page = await get(f"{console}/manage/")
        assert status == 200
        assert "manager console" in page
        assert (await handheld_scan(base, worker, "CMD:PICK"))["type"] == "ack"
        assert (await get(f"{base}/healthz"))[0] == 200
        assert (await get(f"{base}/api/v1/products"))[0] == 401
        status, body = await get(f"{base}/api/v1/products", token)
        assert (status, json.loads(body)) == (200, {"items": [], "next_cursor": None})
    assert web.returncode == 0, web.stderr


async def test_serve_runs_gateway_and_web_in_one_process_until_ctrl_c(
    database_url: str, home: Path, tmp_path: Path
) -> None:
    await catalog(database_url, home, tmp_path)
    made = await stockd(
        "token", "create", "--role", "display", "--name", "d", home=home, url=database_url
    )
    token = made.stdout.strip().splitlines()[-1]
    async with await PtyScanner.create(tmp_path / "dock-1", HONEYWELL) as scanner:
        config = scanner_config(tmp_path / "stockd.toml", scanner)
        async with running(
            "--config", config, "serve",
            home=home, url=database_url, ready=r"stockd serve: ", env={"STOCKD_WEB__PORT": "0"},
        ) as serve:  # fmt: skip
            base = serve.find(r"floor page and API at (http://[^ ]+)/").group(1)
            await scan(scanner, "QTY:4", "05012345678900")
            status, body = await get(f"{base}/api/v1/stock/WIDGET", token)
            assert status == 200, body
            assert json.loads(body)["on_hand"] == 4
            status, body = await get(f"{base}/api/v1/scanners", token)
            assert [s["id"] for s in json.loads(body)["items"]] == ["dock-1"]
            serve.find(r"handheld page at http://[^ ]+/scan/")
            console = serve.find(r"manager console at (http://[^ ]+)/manage/,").group(1)
            assert (await get(f"{console}/manage/"))[0] == 200
            made = await stockd(
                "token", "create", "--role", "worker", "--name", "w", home=home, url=database_url
            )
            worker = made.stdout.strip().splitlines()[-1]
            reply = await handheld_scan(base, worker, "LOC:A-01")
            assert (reply["type"], reply["detail"]) == ("ack", "location A-01")
            status, body = await get(f"{base}/api/v1/scanners", token)
            assert [s["id"] for s in json.loads(body)["items"]] == ["dock-1", "web-cli"]
    assert serve.returncode == 0, serve.stderr
    serve.find(r"stockd serve: 1 scanner\(s\)")


async def test_simulate_drives_scanners_against_a_running_gateway(
    database_url: str, home: Path, tmp_path: Path
) -> None:
    await catalog(database_url, home, tmp_path)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        for sku in ("WIDGET", "GADGET"):
            await StockService(pool).post(
                Envelope(
                    IdempotencyKey(f"seed-{sku}"),
                    Receive(ProductRef(sku=Sku(sku)), LocationCode("A-01"), 1000),
                )
            )
    finally:
        await pool.close()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    shape = ("simulate", "--scanners", "2", "--rate", "4", "--seconds", "3", "--tcp-port", port)
    printed = await stockd(*shape, "--print-config", home=home, url=database_url)
    assert printed.returncode == 0, printed.stderr
    config = write(
        tmp_path / "gateway.toml", f"[gateway]\nreconnect_max_s = 0.2\n\n{printed.stdout}".encode()
    )
    async with running(
        "--config", config, "gateway", home=home, url=database_url, ready=r"stockd gateway: "
    ):
        run = await stockd(*shape, home=home, url=database_url)
    assert run.returncode == 0, run.stderr
    summary = re.search(
        r"sent (\d+) scans \((\d+) deliberately bad\) in [0-9.]+s: (\d+) ack, (\d+) nak", run.stdout
    )
    assert summary is not None, run.stdout
    sent, bad, acks, naks = map(int, summary.groups())
    assert sent >= 10
    assert acks + naks == sent  # every scan answered
    assert acks >= sent - bad - 2  # the first frame after a (re)connect may be dropped


async def test_demo_starts_a_warehouse_on_an_embedded_postgres_and_stops_it_on_ctrl_c(
    home: Path,
) -> None:
    async with running(
        "demo", home=home, url=None, ready=r"simulated scanners are working",
        env={"STOCKD_WEB__PORT": "0"}, within=180,
    ) as demo:  # fmt: skip
        floor = demo.find(r"floor page: +(http://[^/]+)/#token=(stk_\S+)")
        manager = demo.find(r"manager token: +(stk_\S+)").group(1)
        base, display = floor.group(1), floor.group(2)
        assert (await get(f"{base}/"))[0] == 200
        handheld = demo.find(r"handheld page: +(http://[^/]+)/scan/#token=(stk_\S+)")
        assert (await get(f"{handheld.group(1)}/scan/"))[0] == 200
        console = demo.find(r"manager console: +(http://[^/]+)/manage/#token=(stk_\S+)")
        assert console.group(2) == manager
        assert (await get(f"{console.group(1)}/manage/"))[0] == 200
        # the demo's orders, backorders and purchase orders, for the console to show
        status, body = await get(f"{base}/api/v1/backorders", manager)
        assert status == 200
        assert json.loads(body)["items"]
        status, body = await get(f"{base}/api/v1/purchase-orders", manager)
        assert len(json.loads(body)["items"]) == 4
        assert (await handheld_scan(base, handheld.group(2), "CMD:COUNT"))["type"] == "ack"
        status, body = await get(f"{base}/api/v1/products?limit=1", manager)
        assert status == 200
        assert len(json.loads(body)["items"]) == 1
        assert (await get(f"{base}/api/v1/stock?limit=1", display))[0] == 200
        assert embedded_servers(home)
    assert demo.returncode == 0, demo.stderr
    assert "stockd demo: stopping" in "".join(demo.stdout)
    assert embedded_servers(home) == []


# -- every documented command has a test here ----------------------------------------

ROOT = Path(__file__).parents[2]
TESTED = {
    "serve": test_serve_runs_gateway_and_web_in_one_process_until_ctrl_c,
    "gateway": test_gateway_reads_a_scanner_until_ctrl_c,
    "web": test_web_serves_the_floor_page_and_the_api_until_ctrl_c,
    "demo": test_demo_starts_a_warehouse_on_an_embedded_postgres_and_stops_it_on_ctrl_c,
    "migrate": test_migrate_applies_the_schema_once_then_says_it_is_up_to_date,
    "import products": test_import_good_files_then_reimport_updates,
    "import locations": test_import_good_files_then_reimport_updates,
    "import history": test_import_history_loads_past_demand_and_refreshes_the_forecasts,
    "token create": test_token_create_with_expiry_list_and_revoke_as_a_user_would,
    "token revoke": test_token_create_with_expiry_list_and_revoke_as_a_user_would,
    "token list": test_token_create_with_expiry_list_and_revoke_as_a_user_would,
    "verify": test_verify_is_clean_then_reports_a_tampered_stock_row,
    "simulate": test_simulate_drives_scanners_against_a_running_gateway,
    # tested in their own suites, which run the command with stockd(...)
    "labels": "tests/functional/test_labels.py",
    "import operators": "tests/functional/test_operators_e2e.py",
    "webhooks add": "tests/functional/test_webhooks_cli.py",
    "webhooks list": "tests/functional/test_webhooks_cli.py",
    "webhooks remove": "tests/functional/test_webhooks_cli.py",
    "webhooks deliveries": "tests/functional/test_webhooks_cli.py",
}
_TWO_WORDS = ("import", "token", "webhooks")


def documented_commands() -> set[str]:
    """``stockd <command>`` (and ``import``/``token`` with their second word) as the README
    and the command reference show them."""
    found: set[str] = set()
    for doc in (ROOT / "README.md", ROOT / "docs" / "reference" / "commands.md"):
        text = doc.read_text()
        for match in re.finditer(r"(?:`|^ +)stockd ([a-z]+)(?: ([a-z]+))?", text, re.MULTILINE):
            first, second = match.groups()
            found.add(f"{first} {second}" if first in _TWO_WORDS and second else first)
    return found


def test_every_documented_command_has_a_test() -> None:
    documented = documented_commands()
    assert documented == set(TESTED), (
        f"documented but untested: {sorted(documented - set(TESTED))}; "
        f"tested but not documented: {sorted(set(TESTED) - documented)}"
    )
    assert {"import products", "import locations", "import history"} <= documented
    for command, where in TESTED.items():
        if isinstance(where, str):  # a suite of its own runs it as a user would
            text = (ROOT / where).read_text()
            assert "await stockd(" in text, f"{where} does not run stockd"
            # ``import_csvs`` (tests/functional/pty_scans.py) runs ``stockd import WHAT``
            runs_first_word = f'"{command.split()[0]}"' in text or (
                command.startswith("import ") and "await import_csvs(" in text
            )
            assert runs_first_word, (command, where)
            assert f'"{command.split()[-1]}"' in text, (command, where)


def test_every_import_kind_the_cli_takes_is_documented() -> None:
    from stockd.cli import _parser

    parser = _parser()
    kinds = parser.parse_args(["import", "history", "x.csv"])
    assert kinds.what == "history"
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    what = next(a for a in sub.choices["import"]._actions if a.dest == "what")
    assert {f"import {k}" for k in what.choices or ()} == {
        c for c in documented_commands() if c.startswith("import ")
    }
