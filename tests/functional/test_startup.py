"""Start-up failures are one line (SPEC, promise 9), for the real commands.

Each case runs ``stockd`` as a user would and checks: a non-zero exit within a bound,
exactly one line on standard error naming the cause and the setting to change, no
traceback, and no embedded PostgreSQL left running under its home.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from scanner_gateway.spool import Spool
from stock_core.store.database import with_user
from tests.functional.command import Run
from tests.functional.command import embedded_servers
from tests.functional.command import stockd
from tests.integration.catalog_fixture import PRODUCTS_CSV
from tests.pg import APP_ROLE
from tests.pg import PgCluster
from tests.timing import UNIT

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"
"""Nothing listens on port 1: every connection attempt is refused at once."""


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


@pytest.fixture
async def locked_spool(home: Path) -> AsyncIterator[Path]:
    """The spool directory of ``home``, held by another gateway (this test process)."""
    spool = Spool(home / "spool")
    await spool.open()
    try:
        yield home / "spool"
    finally:
        await spool.close()


def one_line(run: Run, within: float) -> str:
    """The single line a failed start printed; checks the exit, the time and the rest."""
    assert run.returncode == 1, (run.returncode, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr, run.stderr
    assert len(run.stderr_lines) == 1, run.stderr
    assert run.seconds < within * UNIT, f"took {run.seconds:.1f} s"
    (line,) = run.stderr_lines
    assert line.startswith("stockd: ")
    return line


@pytest.mark.parametrize(
    ("command", "database"),
    [("web", "url"), ("web", "embedded"), ("serve", "url"), ("serve", "embedded"), ("demo", None)],
)
async def test_a_taken_port_stops_start_up_with_one_line(
    command: str, database: str | None, home: Path, taken_port: int, database_url: str
) -> None:
    run = await stockd(
        command,
        home=home,
        url=database_url if database == "url" else None,
        env={"STOCKD_WEB__PORT": str(taken_port)},
    )
    line = one_line(run, within=10)
    assert line == f"stockd: port {taken_port} is in use: set [web] port or STOCKD_WEB__PORT"
    assert embedded_servers(home) == []


async def test_a_host_that_is_not_this_machine_stops_web_with_one_line(
    home: Path, database_url: str
) -> None:
    for host, says in (
        ("192.0.2.1", "host 192.0.2.1 is not an address of this machine"),  # TEST-NET-1
        ("no-such-host.invalid", "cannot listen on host 'no-such-host.invalid'"),
    ):
        run = await stockd("web", home=home, url=database_url, env={"STOCKD_WEB__HOST": host})
        line = one_line(run, within=30)
        assert line.startswith(f"stockd: {says}")
        assert line.endswith(": set [web] host or STOCKD_WEB__HOST")


@pytest.mark.parametrize("command", ["gateway", "serve"])
@pytest.mark.parametrize("database", ["url", "embedded"])
async def test_a_spool_held_by_another_gateway_stops_start_up_with_one_line(
    command: str, database: str, home: Path, locked_spool: Path, database_url: str
) -> None:
    run = await stockd(
        command,
        home=home,
        url=database_url if database == "url" else None,
        env={"STOCKD_WEB__PORT": "0"},
        within=120,
    )
    line = one_line(run, within=60)
    assert line.startswith(f"stockd: spool {locked_spool} is in use by another gateway (pid ")
    assert embedded_servers(home) == []  # the embedded server it started is stopped


async def test_a_demo_whose_start_fails_late_stops_its_embedded_postgres(home: Path) -> None:
    """The spool is refused after the demo database is built: all of it stops again."""
    spool = Spool(home / "demo" / "spool")
    await spool.open()
    try:
        run = await stockd("demo", home=home, url=None, env={"STOCKD_WEB__PORT": "0"}, within=120)
    finally:
        await spool.close()
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    assert run.stderr_lines[-1].startswith(
        f"stockd: spool {home / 'demo' / 'spool'} is in use by another gateway"
    )
    assert embedded_servers(home) == []


@pytest.mark.parametrize(
    "args",
    [
        ("web",),
        ("migrate",),
        ("verify",),
        ("import", "products", "products.csv"),
        ("token", "list"),
        ("labels", "locations", "-o", "bins.pdf"),
        ("simulate", "--scanners", "1", "--rate", "1", "--seconds", "1", "--tcp-port", "1"),
    ],
    ids=lambda a: " ".join(a),
)
async def test_an_unreachable_database_is_waited_for_then_one_line(
    args: tuple[str, ...], home: Path
) -> None:
    (home / "products.csv").write_bytes(PRODUCTS_CSV)
    run = await stockd(*args, home=home, url=UNREACHABLE, env={"STOCKD_DATABASE__WAIT_S": "2"})
    line = one_line(run, within=15)
    assert run.seconds >= 2, "it did not wait for the database"
    assert line.startswith(
        "stockd: cannot reach PostgreSQL at postgresql://nobody@127.0.0.1:1/none (waited 2 s: "
    )
    assert line.endswith(
        "set [database] url or DATABASE_URL, or wait longer with [database] wait_s"
    )


@pytest.mark.parametrize("command", ["web", "migrate", "verify"])
async def test_a_database_that_refuses_stockd_fails_at_once_with_one_line(
    command: str, home: Path, pg_cluster: PgCluster
) -> None:
    cases = [
        (
            pg_cluster.url_for("no_such_database_here"),
            'database "no_such_database_here" does not exist',
        ),
        ("mysql://db.example/stockd", "bad setting database.url: invalid DSN"),
    ]
    for url, says in cases:
        run = await stockd(command, home=home, url=url, env={"STOCKD_WEB__PORT": "0"})
        line = one_line(run, within=15)
        assert says in line
        assert line.endswith("set [database] url or DATABASE_URL")


@pytest.mark.parametrize("command", ["web", "verify", "demo"])
async def test_an_embedded_postgres_that_cannot_start_is_one_line(
    command: str, tmp_path: Path
) -> None:
    home = tmp_path / "a-file"
    home.write_text("not a directory")
    run = await stockd(command, home=home, url=None, env={"STOCKD_WEB__PORT": "0"}, cwd=tmp_path)
    line = one_line(run, within=30)
    assert str(home) in line
    assert "set STOCKD_HOME" in line


async def test_an_app_role_without_its_grants_stops_start_up_with_one_line(
    home: Path, database_url: str, admin_database_url: str
) -> None:
    admin = await asyncpg.connect(admin_database_url)
    try:
        await admin.execute(f"REVOKE INSERT ON outbox FROM {APP_ROLE}")
    finally:
        await admin.close()
    for command in ("verify", "web"):
        run = await stockd(command, home=home, url=database_url, env={"STOCKD_WEB__PORT": "0"})
        line = one_line(run, within=15)
        assert line.startswith(
            f"stockd: bad setting database.url: the role of postgresql://{APP_ROLE}@"
        ), line
        assert "lacks INSERT on table outbox: grant them (docs/how-to/deploy.md)" in line
    # stockd migrate as the owner, naming the role, grants them back
    owner = {
        "STOCKD_DATABASE__ADMIN_URL": admin_database_url,
        "STOCKD_DATABASE__APP_ROLE": APP_ROLE,
    }
    run = await stockd("migrate", home=home, url=database_url, env=owner)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines() == [
        "schema is up to date",
        f"role {APP_ROLE} has the privileges stockd needs, and no more",
    ]
    assert (await stockd("verify", home=home, url=database_url)).returncode == 0


async def test_a_bad_admin_url_or_app_role_stops_start_up_with_one_line_naming_it(
    home: Path, database_url: str, admin_database_url: str
) -> None:
    refused = with_user(admin_database_url, "no_such_owner_x")
    cases = [
        (
            {"STOCKD_DATABASE__ADMIN_URL": UNREACHABLE, "STOCKD_DATABASE__WAIT_S": "0"},
            "stockd: cannot reach PostgreSQL at postgresql://nobody@127.0.0.1:1/none",
            "set [database] admin_url or STOCKD_DATABASE__ADMIN_URL, or wait longer with "
            "[database] wait_s",
        ),
        (
            {"STOCKD_DATABASE__ADMIN_URL": refused},
            "stockd: bad setting database.admin_url: PostgreSQL at postgresql://no_such_owner_x@",
            'role "no_such_owner_x" does not exist',
        ),
        (
            {"STOCKD_DATABASE__ADMIN_URL": "mysql://db.example/stockd"},
            "stockd: bad setting database.admin_url: not a PostgreSQL URL",
            "",
        ),
        (
            {
                "STOCKD_DATABASE__ADMIN_URL": admin_database_url,
                "STOCKD_DATABASE__APP_ROLE": "nobody_here",
            },
            "stockd: bad setting database.app_role: role nobody_here does not exist",
            "create it as a login role (docs/how-to/deploy.md) or name another",
        ),
    ]
    for env, starts, says in cases:
        run = await stockd("migrate", home=home, url=database_url, env=env)
        line = one_line(run, within=15)
        assert line.startswith(starts), line
        assert says in line, line
    # a role name is an identifier stockd quotes, checked like any setting (exit 2)
    run = await stockd(
        "migrate",
        home=home,
        url=database_url,
        env={"STOCKD_DATABASE__APP_ROLE": "Robert'); DROP TABLE movements;--"},
    )
    assert run.returncode == 2
    assert run.stderr_lines == [
        "stockd: bad setting database.app_role: String should match pattern "
        "'^[a-z_][a-z0-9_]{0,62}$' [environment STOCKD_DATABASE__APP_ROLE]"
    ]
