"""``stockd demo``: a whole warehouse on an embedded PostgreSQL, scanners working.

It builds a fresh demo database under ``STOCKD_HOME/demo`` (an earlier demo's data
is replaced), loads a sample catalog of a few hundred products with a year of
seasonal demand history, puts stock on the shelves, adds operators and a quarantine
location holding a few returns, starts simulated scanners on real pseudo-terminals read
by the real gateway (each signed in by a worker's badge), serves the floor page and the API,
and prints the floor page URL, the handheld page's (a phone or a mobile computer as a
scanner, signed in with a worker token) and a manager token. Ctrl-C stops it all.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from pathlib import Path

import asyncpg

from hardware_mocks.frames import DATALOGIC
from hardware_mocks.frames import GENERIC_BEL
from hardware_mocks.frames import HONEYWELL
from hardware_mocks.frames import ZEBRA
from hardware_mocks.frames import ScannerModel
from hardware_mocks.load import Catalog
from hardware_mocks.load import LoadPlan
from hardware_mocks.load import run_load
from hardware_mocks.pty_scanner import PtyScanner
from hardware_mocks.warehouse import Warehouse
from hardware_mocks.warehouse import build_warehouse
from scanner_gateway.config import ScannerConfig
from scanner_gateway.gateway import Gateway
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.movement import Return
from stock_core.domain.orders import OrderLineRequest
from stock_core.domain.token import Role
from stock_core.embedded import embedded_url
from stock_core.service import StockService
from stock_core.store.database import EMBEDDED_APP_ROLE
from stock_core.store.database import with_user
from stock_core.store.privileges import ensure_login_role
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import OperatorCode
from stock_core.types import ReasonCode
from stock_core.types import Sku
from stockd import startup
from stockd.run import start_web
from stockd.run import wait_for_signal
from stockd.settings import Settings
from stockd.startup import StartupError
from stockd.startup import close_sockets
from stockd.startup import listen

__all__ = ["run_demo", "seed_demo"]

log = logging.getLogger("stockd.demo")

_MODELS: tuple[tuple[ScannerModel, str, str], ...] = (
    (HONEYWELL, "CRLF", "honeywell"),
    (ZEBRA, "CR", "bel"),
    (DATALOGIC, "CR", "datalogic"),
    (GENERIC_BEL, "LF", "bel"),
)
_SCANNERS = 6
_OPERATORS = (
    ("W0041", "Ann Smith"),
    ("W0042", "Bob Jones"),
    ("W0043", "Cid Moreau"),
    ("W0044", "Dee Okafor"),
    ("W0045", "Eli Novak"),
    ("W0046", "Fay Lindqvist"),
)
"""The demo's workers: one badge per simulated scanner."""
QUARANTINE = "Q-01"
_SCAN_RATE = 0.8
"""Scans per second per simulated worker: a visible pace on the floor page."""


async def _fresh_database(home: Path) -> str:
    """A new, empty ``stockd`` database on the embedded server and its app role; the
    superuser's URL (the demo migrates with it and serves as the app role)."""
    _, url = await embedded_url(home)
    admin = url.replace("/stockd?", "/postgres?")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute("DROP DATABASE IF EXISTS stockd WITH (FORCE)")
        await conn.execute("CREATE DATABASE stockd")
        await ensure_login_role(conn, EMBEDDED_APP_ROLE)
    finally:
        await conn.close()
    return url


async def _stock_shelves(service: StockService, warehouse: Warehouse) -> None:
    envelopes = [
        Envelope(
            IdempotencyKey(f"demo-initial-{p.sku}"),
            Receive(ProductRef(sku=Sku(p.sku)), LocationCode(p.home), p.initial),
            actor="demo",
        )
        for p in warehouse.products
        if p.initial > 0
    ]
    for start in range(0, len(envelopes), 100):
        await service.post_batch(envelopes[start : start + 100])


async def _place_orders(service: StockService, warehouse: Warehouse, today: date) -> None:
    """Customer orders (some waiting on backorder), purchase orders with expected dates
    and one receipt that fills a backorder in part: what a manager's console shows.

    Uses products the simulated scanners do not pick (the first 60), so reservations
    never refuse the demo's picks."""
    quiet = [p for p in warehouse.products[60:] if p.initial > 0][:12]
    if len(quiet) < 12:  # pragma: no cover - the demo warehouse has 300 products
        return
    for n, product in enumerate(quiet[:8]):
        # every other order asks for more than is on the shelf: the rest is backordered
        quantity = product.initial + 5 + 3 * n if n % 2 else max(1, product.initial // 4)
        lines = [OrderLineRequest(product.sku, quantity)]
        if n % 3 == 0:
            lines.append(OrderLineRequest(quiet[8 + n % 4].sku, 2))
        await service.create_order(
            f"SO-{1001 + n}", lines, priority=n % 3, customer=f"customer {n % 5 + 1}"
        )
    short = quiet[1:8:2]  # the backordered ones
    for n, product in enumerate(short):
        await service.create_purchase_order(
            f"PO-{2001 + n}",
            today + timedelta(days=3 + 4 * n),
            [OrderLineRequest(product.sku, product.reorder_qty + 20)],
            supplier=f"supplier {n + 1}",
        )
    # a partial fill: five units of the first purchase order arrive
    await service.receive_purchase_order(
        "PO-2001",
        short[0].home,
        [OrderLineRequest(short[0].sku, 5)],
        key="demo-po-2001-first",
        actor="demo",
    )


async def seed_demo(service: StockService, warehouse: Warehouse, today: date) -> None:
    """Load the demo warehouse: locations, products, a year of demand history, stock on
    the shelves, customer orders with backorders and purchase orders."""
    await service.import_locations(warehouse.locations_csv())
    await service.import_products(warehouse.products_csv())
    await service.import_history(warehouse.history_csv())
    await _stock_shelves(service, warehouse)
    await _place_orders(service, warehouse, today)
    await _operators_and_returns(service, warehouse)


async def _operators_and_returns(service: StockService, warehouse: Warehouse) -> None:
    """The workers (badges ``USR:W0041`` …), a quarantine location and three customer
    returns waiting in it, each with its reason and who took it in."""
    lines = "".join(f"{code},{name}\n" for code, name in _OPERATORS)
    await service.import_operators(f"code,name\n{lines}".encode())
    await service.import_locations(
        f"code,zone,name,gln,type\n{QUARANTINE},RET,Returns cage,,quarantine\n".encode()
    )
    reasons = ("damaged", "wrong_item", "unwanted")
    for n, product in enumerate(warehouse.products[90:93]):
        returned = Return(
            ProductRef(sku=Sku(product.sku)),
            LocationCode(QUARANTINE),
            1 + n,
            ReasonCode(reasons[n]),
            note=f"RMA-{501 + n}",
        )
        await service.post(
            Envelope(
                IdempotencyKey(f"demo-return-{n}"),
                returned,
                actor="demo",
                operator=OperatorCode(_OPERATORS[n][0]),
            )
        )


def _sign_in(scanners: list[PtyScanner]) -> None:
    """Each simulated worker scans their badge first (the gateway reads a port's scans
    in order, so it is signed in before their first product scan)."""
    for scanner, (code, _) in zip(scanners, _OPERATORS, strict=False):
        scanner.send_scan(f"USR:{code}")


async def _keep_scanning(scanners: list[PtyScanner], catalog: Catalog) -> None:
    for round_ in itertools.count():
        plan = LoadPlan(
            scanners=len(scanners),
            rate_per_scanner=_SCAN_RATE,
            seconds=300,
            seed=round_,
            catalog=catalog,
            bad_share=0.06,
        )
        report = await run_load(scanners, plan)
        log.info("demo round %d: %d scans sent", round_, sum(report.sent.values()))


async def run_demo(settings: Settings) -> int:
    sockets = listen(settings.web)  # a port in use stops the demo before anything starts
    home = settings.home / "demo"
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(close_sockets, sockets)
        try:
            home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StartupError(
                f"cannot make the demo's directory {home}: {exc.strerror}: set STOCKD_HOME"
            ) from exc
        print(f"stockd demo: embedded PostgreSQL under {home} (a fresh demo database)", flush=True)
        try:
            url = await _fresh_database(home)
        except Exception as exc:  # pgserver: initdb or pg_ctl failed, a full disk, ...
            raise StartupError(
                f"cannot start the demo's embedded PostgreSQL under {home}: "
                f"{type(exc).__name__}: {exc}: set STOCKD_HOME to a writable directory"
            ) from exc
        today = datetime.now(UTC).date()
        warehouse = await asyncio.to_thread(build_warehouse, today)
        database = settings.database.model_copy(
            update={
                "url": with_user(url, EMBEDDED_APP_ROLE),
                "admin_url": url,
                "app_role": EMBEDDED_APP_ROLE,
            }
        )
        demo_settings = settings.model_copy(update={"home": home, "database": database})
        db = await stack.enter_async_context(startup.database(demo_settings, max_size=20))
        service = StockService(db.pool)
        await seed_demo(service, warehouse, today)
        manager, _ = await service.create_token("demo manager", Role.MANAGER)
        display, _ = await service.create_token("demo floor display", Role.DISPLAY)
        worker, _ = await service.create_token("demo handheld", Role.WORKER)
        pty_dir = home / "pty"
        pty_dir.mkdir(exist_ok=True)
        scanners: list[PtyScanner] = []
        configs: list[ScannerConfig] = []
        for n in range(_SCANNERS):
            model, terminator, feedback = _MODELS[n % len(_MODELS)]
            scanner = await PtyScanner.create(pty_dir / f"scanner-{n + 1}", model, seed=n)
            stack.push_async_callback(scanner.aclose)
            scanners.append(scanner)
            configs.append(
                ScannerConfig(
                    id=f"{'dock' if n == 0 else 'aisle'}-{n + 1}",
                    url=str(scanner.path),
                    baudrate=model.baudrate,
                    terminator=terminator,
                    feedback=feedback,
                    mode="receive" if n == 0 else "pick",
                )
            )
        gateway = Gateway(service, configs, home / "spool", name="demo")
        await gateway.start()
        stack.push_async_callback(gateway.stop)
        runner, base = await start_web(
            settings, db, gateway.statuses, sockets=sockets, live_gateway=gateway.gateway_state
        )
        stack.push_async_callback(runner.cleanup)
        busy = warehouse.products[:60]
        catalog = Catalog(
            products=tuple(p.gtin for p in busy),
            locations=tuple(sorted({p.home for p in busy})),
        )
        _sign_in(scanners)
        load = asyncio.create_task(_keep_scanning(scanners, catalog), name="demo-load")
        stack.push_async_callback(_cancel, load)
        stack.callback(print, "stockd demo: stopping", flush=True)
        print(
            f"\n  floor page:      {base}/#token={display}\n"
            f"  manager console: {base}/manage/#token={manager}\n"
            f"  handheld page:   {base}/scan/#token={worker}\n"
            f"  API:             {base}/api/v1/  (docs at {base}/api/v1/docs)\n"
            f"  manager token:   {manager}\n"
            f"  {_SCANNERS} simulated scanners are working; Ctrl-C stops the demo.\n",
            flush=True,
        )
        await wait_for_signal()
    return 0


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
