"""``stockd``: the console script (SPEC, Commands)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

from scanner_gateway.errors import SpoolError
from stock_core.domain.token import Role
from stock_core.domain.token import parse_duration
from stock_core.errors import CatalogImportError
from stock_core.errors import DatabaseUnavailableError
from stock_core.service import StockService
from stock_core.store.database import Database
from stockd import startup
from stockd.labels import add_labels_parser
from stockd.labels import run_labels
from stockd.settings import Settings
from stockd.settings import SettingsError
from stockd.settings import load_settings
from stockd.settings import tls_context
from stockd.startup import StartupError
from stockd.webhooks import add_webhooks_parser
from stockd.webhooks import webhooks_work

__all__ = ["main"]

log = logging.getLogger("stockd")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stockd", description="Real-time warehouse scanning and stock tracking."
    )
    parser.add_argument("--config", type=Path, help="TOML config file")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in (
        ("serve", "gateway + HTTP API + feed in one process"),
        ("gateway", "scanners only (an edge box on the floor)"),
        ("web", "HTTP API + feed + floor page only"),
        ("demo", "everything on an embedded PostgreSQL with simulated scanners"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="TOML config file")
    sub.add_parser("migrate", help="bring the schema up to date (idempotent)")
    imp = sub.add_parser(
        "import",
        help="bulk load products, locations, operators or past demand (history) from CSV",
    )
    imp.add_argument("what", choices=("products", "locations", "operators", "history"))
    imp.add_argument("file", type=Path)
    sub.add_parser("verify", help="check the ledger invariants; exit 1 with a report if broken")
    token = sub.add_parser("token", help="API tokens: create, revoke, list")
    actions = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="print a new token once")
    create.add_argument(
        "--role", required=True, choices=("admin", "manager", "worker", "display", "shop")
    )
    create.add_argument("--name", required=True)
    create.add_argument(
        "--expires-in",
        metavar="DURATION",
        help="lifetime such as 90m, 12h, 30d, 8w (default: none)",
    )
    revoke = actions.add_parser("revoke", help="revoke a token on every node, feeds included")
    revoke.add_argument("ref", metavar="ID_OR_PREFIX", help="token id, prefix or the token itself")
    actions.add_parser("list", help="every token: id, prefix, role, status, expiry, name")
    add_labels_parser(sub)
    add_webhooks_parser(sub)
    sim = sub.add_parser("simulate", help="drive simulated scanners against a running gateway")
    sim.add_argument("--scanners", type=int, required=True)
    sim.add_argument("--rate", type=float, required=True)
    sim.add_argument("--seconds", type=float, required=True)
    sim.add_argument("--ptys", type=Path, help="directory for pseudo-terminal scanners")
    sim.add_argument("--tcp-port", type=int, help="first TCP port for device-server scanners")
    sim.add_argument(
        "--print-config", action="store_true", help="print the gateway's [[scanners]] and exit"
    )
    return parser


async def _with_database(
    settings: Settings, work: Callable[[Database], Awaitable[int]], *, run_migrations: bool = True
) -> int:
    async with startup.database(settings, run_migrations=run_migrations, serving=False) as db:
        if db.embedded is not None:
            print(f"stockd: using embedded PostgreSQL under {settings.home}", file=sys.stderr)
        return await work(db)


async def _migrate(db: Database) -> int:
    """The migrations ran as the database opened (over ``admin_url`` when set)."""
    if db.applied:
        for m in db.applied:
            print(f"applied migration {m.version:04d} {m.name}")
    else:
        print("schema is up to date")
    if db.app_role:
        print(f"role {db.app_role} has the privileges stockd needs, and no more")
    return EXIT_OK


def _import(what: str, path: Path) -> Callable[[Database], Awaitable[int]]:
    async def run(db: Database) -> int:
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            print(f"stockd: cannot read {path}: {exc.strerror}", file=sys.stderr)
            return EXIT_FAILED
        service = StockService(db.pool)
        lines = max(data.count(b"\n") - 1, 0)
        from tqdm import tqdm

        with tqdm(
            total=lines,
            desc=f"loading {what}",
            unit=" rows",
            file=sys.stderr,
            disable=lines < 2000 or None,
        ) as bar:
            loaders = {
                "products": service.import_products,
                "locations": service.import_locations,
                "operators": service.import_operators,
                "history": service.import_history,
            }
            try:
                summary = await loaders[what](data, _progress(bar))
            except CatalogImportError as exc:
                bar.close()
                print(f"{path}: {exc}", file=sys.stderr)
                for problem in exc.problems:
                    print(f"{path}:{problem.line}: {problem.reason}", file=sys.stderr)
                return EXIT_FAILED
        made = f"; new warehouses: {', '.join(summary.warehouses)}" if summary.warehouses else ""
        print(f"{what}: {summary.created} created, {summary.updated} updated{made}", flush=True)
        if what == "history":
            return await _forecast_now(service)
        return EXIT_OK

    return run


async def _forecast_now(service: StockService) -> int:
    """New history changes the forecasts: refresh them and the projected stock-out alerts
    now, as the web node's forecaster would at its next hourly run."""
    try:
        sweep = await service.evaluate_projected_stockouts()
    except DatabaseUnavailableError:
        raise
    except Exception as exc:  # the history is loaded; the web node's forecaster retries
        log.debug("forecast after the history import failed", exc_info=True)
        print(
            f"stockd: history loaded, but the forecast run failed ({type(exc).__name__}: "
            f"{exc}); the web node's forecaster runs again within the hour",
            file=sys.stderr,
        )
        return EXIT_OK
    raised, cleared = len(sweep["raised"]), len(sweep["cleared"])
    print(
        f"forecasts: {sweep['evaluated']} products, {len(sweep['short'])} projected to run "
        f"out ({raised} alert(s) raised, {cleared} cleared)"
    )
    return EXIT_OK


def _progress(bar: Any) -> Callable[[int], None]:
    def advance(rows: int) -> None:
        bar.update(rows)

    return advance


def _create_token(
    name: str, role: str, lifetime: timedelta | None
) -> Callable[[Database], Awaitable[int]]:
    async def run(db: Database) -> int:
        expires_at = None if lifetime is None else datetime.now(UTC) + lifetime
        text, info = await StockService(db.pool).create_token(
            name, Role(role), expires_at=expires_at
        )
        until = "" if info.expires_at is None else f", expires {_when(info.expires_at)}"
        print(f"created {info.role} token {info.prefix} for {info.name!r}{until}; shown once:")
        print(text)
        return EXIT_OK

    return run


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _revoke_token(ref: str) -> Callable[[Database], Awaitable[int]]:
    async def run(db: Database) -> int:
        service = StockService(db.pool)
        found = await service.find_tokens(ref)
        if not found:
            print(
                f"stockd: no token matches {ref!r} (give its id, its prefix or the token; "
                "stockd token list shows them)",
                file=sys.stderr,
            )
            return EXIT_FAILED
        if len(found) > 1:
            print(
                f"stockd: {ref!r} is token {found[0].id}'s id or token {found[1].id}'s prefix: "
                f"give stk_{ref} for the prefix",
                file=sys.stderr,
            )
            return EXIT_FAILED
        token = found[0]
        what = f"{token.role} token {token.prefix} (id {token.id}, {token.name!r})"
        if token.revoked_at is not None:
            print(f"{what} was already revoked on {_when(token.revoked_at)}")
            return EXIT_OK
        await service.revoke_token(token.id)
        print(f"revoked {what}; web nodes refuse it and close its feeds now")
        return EXIT_OK

    return run


async def _list_tokens(db: Database) -> int:
    service = StockService(db.pool)
    now = datetime.now(UTC)
    print(f"{'id':>5}  {'prefix':8}  {'role':7}  {'status':7}  {'expires':20}  name")
    after = 0
    while page := await service.list_tokens(after=after, limit=500):
        for token in page:
            status = "active"
            if token.revoked_at is not None:
                status = "revoked"
            elif token.expired(now):
                status = "expired"
            expires = "never" if token.expires_at is None else _when(token.expires_at)
            print(
                f"{token.id:>5}  {token.prefix:8}  {token.role.value:7}  {status:7}  "
                f"{expires:20}  {token.name}"
            )
        after = page[-1].id
    return EXIT_OK


async def _verify(db: Database) -> int:
    report = await StockService(db.pool).verify()
    print(report.render())
    return EXIT_OK if report.ok else EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        logging.getLogger("stock_core.store.database").setLevel(logging.WARNING)
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"stockd: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _command(args, settings)
    except KeyboardInterrupt:
        return 130
    except (StartupError, DatabaseUnavailableError, SpoolError) as exc:
        print(f"stockd: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # one line, never a traceback (promise 9); -v shows it
        log.debug("stockd %s failed", args.command, exc_info=True)
        print(
            f"stockd: {args.command} failed: {type(exc).__name__}: {exc} "
            "(stockd -v shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED


def _command(args: argparse.Namespace, settings: Settings) -> int:
    command = args.command
    if command in ("serve", "web"):
        try:  # a bad certificate stops start-up at once, in one line
            tls_context(settings.web)
        except SettingsError as exc:
            print(f"stockd: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if command in ("gateway", "serve", "web", "demo"):
        from stockd import demo
        from stockd import run

        runner = {
            "gateway": run.run_gateway,
            "serve": run.run_serve,
            "web": run.run_web,
            "demo": demo.run_demo,
        }[command]
        return asyncio.run(runner(settings))
    if command == "simulate":
        if not (1 <= args.scanners <= 256 and 0 < args.rate <= 100 and 0 < args.seconds <= 86400):
            print(
                "stockd simulate: --scanners 1-256, --rate (0, 100] per second, "
                "--seconds (0, 86400]",
                file=sys.stderr,
            )
            return EXIT_USAGE
        from stockd.simulate import simulate

        return asyncio.run(
            simulate(
                settings,
                scanners=args.scanners,
                rate=args.rate,
                seconds=args.seconds,
                pty_dir=args.ptys,
                tcp_port=args.tcp_port,
                print_config=args.print_config,
            )
        )
    if command == "labels":
        return run_labels(args, settings, _with_database)
    work: Callable[[Database], Awaitable[int]]
    if command == "migrate":
        work = _migrate
    elif command == "verify":
        work = _verify
    elif command == "webhooks":
        chosen = webhooks_work(args)
        if isinstance(chosen, int):
            return chosen
        work = chosen
    elif command == "token" and args.action == "revoke":
        work = _revoke_token(args.ref)
    elif command == "token" and args.action == "list":
        work = _list_tokens
    elif command == "token":
        name = args.name.strip()
        if not 1 <= len(name) <= 100 or not name.isprintable():
            print("stockd: --name must be 1 to 100 printable characters", file=sys.stderr)
            return EXIT_USAGE
        lifetime = None
        if args.expires_in is not None:
            lifetime = parse_duration(args.expires_in)
            if lifetime is None:
                print(
                    "stockd: --expires-in must be like 90m, 12h, 30d or 8w "
                    "(one minute to ten years)",
                    file=sys.stderr,
                )
                return EXIT_USAGE
        work = _create_token(name, args.role, lifetime)
    else:
        assert command == "import", command
        work = _import(args.what, args.file)
    return asyncio.run(_with_database(settings, work))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
