"""``stockd simulate``: simulated scanners driving a running gateway.

The simulated scanners are pseudo-terminals at stable paths (``--ptys DIR``,
default ``STOCKD_HOME/sim``) or raw TCP device servers (``--tcp-port P``: ports P,
P+1, …). ``--print-config`` prints the ``[[scanners]]`` tables to give the gateway;
the gateway picks the scanners up by itself (it retries opening them). Scans are
drawn from the database's products with stock, so most are accepted; a few are
deliberately bad.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from hardware_mocks.device_server import DeviceServer
from hardware_mocks.frames import HONEYWELL
from hardware_mocks.load import Catalog
from hardware_mocks.load import LoadPlan
from hardware_mocks.load import run_load
from hardware_mocks.pty_scanner import PtyScanner
from hardware_mocks.target import ScanTarget
from stock_core.service import StockService
from stockd import startup
from stockd.settings import Settings

__all__ = ["scanner_tables", "simulate"]


def scanner_tables(count: int, pty_dir: Path | None, tcp_port: int | None) -> str:
    """The ``[[scanners]]`` TOML a gateway needs to read the simulated scanners."""
    tables = []
    for n in range(1, count + 1):
        url = f"socket://127.0.0.1:{tcp_port + n - 1}" if tcp_port else f"{pty_dir}/scanner-{n}"
        tables.append(
            "[[scanners]]\n"
            f'id = "sim-{n}"\n'
            f'url = "{url}"\n'
            'preset = "honeywell"\n'
            'terminator = "CRLF"\n'
            'feedback = "honeywell"\n'
            f'mode = "{"receive" if n % 2 else "pick"}"\n'
        )
    return "\n".join(tables)


async def simulate(
    settings: Settings,
    *,
    scanners: int,
    rate: float,
    seconds: float,
    pty_dir: Path | None,
    tcp_port: int | None,
    print_config: bool,
) -> int:
    pty_dir = pty_dir or settings.home / "sim"
    if print_config:
        print(scanner_tables(scanners, pty_dir, tcp_port))
        return 0
    async with startup.database(settings) as db:
        codes, locations = await StockService(db.pool).simulation_catalog()
    if not codes or not locations:
        print("stockd simulate: no products with stock to scan; import and receive some first")
        return 1
    plan = LoadPlan(
        scanners=scanners,
        rate_per_scanner=rate,
        seconds=seconds,
        catalog=Catalog(products=tuple(codes), locations=tuple(locations)),
        # every scan is answered out loud: wait for the last answers (the wait ends as
        # soon as they are all in) rather than report a busy gateway's late ones as lost
        settle_timeout=10.0,
    )
    targets: list[ScanTarget] = []
    try:
        for n in range(1, scanners + 1):
            if tcp_port:
                server = DeviceServer(port=tcp_port + n - 1, model=HONEYWELL, name=f"sim-{n}")
                await server.start()
                targets.append(server)
            else:
                pty_dir.mkdir(parents=True, exist_ok=True)
                targets.append(await PtyScanner.create(pty_dir / f"scanner-{n}", HONEYWELL))
        print(
            f"stockd simulate: {scanners} scanner(s) at "
            f"{'127.0.0.1:' + str(tcp_port) + '+' if tcp_port else pty_dir}; "
            f"{rate}/s each for {seconds}s (gateway config: stockd simulate --print-config)",
            flush=True,
        )
        await asyncio.sleep(1.0)  # let the gateway open the new ports
        report = await run_load(targets, plan)
    finally:
        for target in targets:
            with contextlib.suppress(Exception):
                if isinstance(target, DeviceServer):
                    await target.close()
                else:
                    await target.aclose()
    print(
        f"sent {report.frames_sent} scans ({report.bad_sent} deliberately bad) in "
        f"{report.elapsed:.1f}s: {report.acks} ack, {report.naks} nak"
    )
    for load in report.scanners:
        print(f"  {load.name}: sent {load.frames_sent}, ack {load.acks}, nak {load.naks}")
    return 0
