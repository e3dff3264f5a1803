"""The real ``stockd`` console script in a subprocess, against a fresh test database."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from stock_core.domain.movement import Envelope, ProductRef, Receive
from stock_core.service import StockService
from stock_core.types import IdempotencyKey, LocationCode, Sku
from tests.integration.catalog_fixture import LOCATIONS_CSV, PRODUCTS_CSV
from tests.pg import PgCluster
from tests.timing import UNIT

_SCRIPT = Path(sys.executable).with_name("stockd")
_COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "stockd"]


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.strip().splitlines()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "stockd-home"
    path.mkdir()
    return path


async def stockd(
    *args: str | Path, home: Path, url: str | None, env: dict[str, str] | None = None
) -> Run:
    """Run ``stockd ARGS`` with only the settings given here (no inherited STOCKD_*)."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("STOCKD_") and k != "DATABASE_URL"
    }
    environment["STOCKD_HOME"] = str(home)
    if url is not None:
        environment["DATABASE_URL"] = url
    environment.update(env or {})
    process = await asyncio.create_subprocess_exec(
        *_COMMAND,
        *map(str, args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
        cwd=home,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60 * UNIT)
    finally:
        if process.returncode is None:  # timed out or cancelled: never leave it running
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode())


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
    admin = await asyncpg.connect(pg_cluster.admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
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
        "verify: 1 problem(s) (1 movements, 1 stock_rows, 5 products, 4 locations)",
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
    unreachable = await stockd("--config", config, "verify", home=home, url=None)
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
    assert _SCRIPT.exists() or shutil.which("stockd") is not None
