"""Scanners that go away come back by themselves, and their state is visible.

A pty scanner is unplugged (its device node disappears) and plugged back at the same
path; a serial device server drops its connection and stops listening, then comes
back on the same port. A scanner whose URL can never work shows ``misconfigured``,
and a bad serial setting in the config file stops start-up with one clear line.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from itertools import groupby
from pathlib import Path

import pytest

from hardware_mocks.device_server import DeviceServer
from hardware_mocks.frames import DATALOGIC
from hardware_mocks.frames import HONEYWELL
from hardware_mocks.pty_scanner import PtyScanner
from scanner_gateway.config import ScannerConfig
from scanner_gateway.gateway import Gateway
from stock_core.model import ScannerState
from stock_core.service import StockService
from stock_core.store.connection import Pool
from tests.functional.command import stockd
from tests.gateway_harness import Rig
from tests.gateway_harness import eventually
from tests.gateway_harness import ledger_rows
from tests.gateway_harness import open_rig
from tests.gateway_harness import outbox_payloads
from tests.timing import UNIT

WIDGET = "05012345678900"
GADGET = "4006381333931"


@pytest.fixture
async def rigs(tmp_path: Path) -> AsyncIterator[dict[str, Rig]]:
    opened = {
        "usb-1": await open_rig("usb-1", "pty", HONEYWELL, tmp_path, location="DOCK-1"),
        "net-1": await open_rig("net-1", "tcp", DATALOGIC, tmp_path, location="DOCK-1"),
    }
    try:
        yield opened
    finally:
        for rig in opened.values():
            await rig.close()


def _status(gateway: Gateway, scanner: str) -> ScannerState:
    (status,) = [s for s in gateway.statuses() if s.id == scanner]
    return status


async def _wait_state(gateway: Gateway, scanner: str, state: str) -> ScannerState:
    await eventually(
        lambda: _status(gateway, scanner).state == state,
        5 * UNIT,
        f"{scanner} {state}",
    )
    return _status(gateway, scanner)


async def test_unplugged_pty_and_dropped_device_server_come_back_by_themselves(
    service: StockService, pool: Pool, rigs: dict[str, Rig], tmp_path: Path
) -> None:
    usb, net = rigs["usb-1"], rigs["net-1"]
    pty, server = usb.target, net.target
    assert isinstance(pty, PtyScanner)
    assert isinstance(server, DeviceServer)
    gateway = Gateway(
        service, [usb.config, net.config], tmp_path / "spool", name="gw", reconnect_max=0.5
    )
    await gateway.start()
    try:
        await _wait_state(gateway, "usb-1", "connected")
        await _wait_state(gateway, "net-1", "connected")
        assert await usb.scan(WIDGET) == "ack"
        assert await net.scan(GADGET) == "ack"

        # the USB scanner is pulled out, and plugged back in a moment later
        await pty.aunplug()
        gone = await _wait_state(gateway, "usb-1", "reconnecting")
        assert gone.detail
        await asyncio.sleep(0.6 * UNIT)  # a few reopen attempts find no device node
        assert _status(gateway, "usb-1").state == "reconnecting"
        assert _status(gateway, "net-1").state == "connected"  # the other is untouched
        await pty.areplug()
        await _wait_state(gateway, "usb-1", "connected")
        assert await usb.scan(WIDGET) == "ack"

        # the device server loses power, then comes back on the same port
        await server.drop()
        await _wait_state(gateway, "net-1", "reconnecting")
        await asyncio.sleep(0.6 * UNIT)
        assert _status(gateway, "net-1").state == "reconnecting"
        await server.restart()
        await _wait_state(gateway, "net-1", "connected")
        assert await net.scan(GADGET) == "ack"
        assert await usb.scan(GADGET) == "ack"
        counters = {s.id: s.counters for s in gateway.statuses()}
        await gateway.events.flush(all_states=True)  # not only those due (1/s at most)
        saved = {
            r["id"]: r["state"] for r in await pool.fetch("SELECT id, state FROM scanner_states")
        }
    finally:
        await gateway.stop()

    assert counters["usb-1"]["disconnects"] == 1
    assert counters["net-1"]["disconnects"] == 1
    assert saved == {"usb-1": "connected", "net-1": "connected"}
    # the state changes went out as events, in order
    events = await outbox_payloads(pool, "scanner.status")
    for scanner in ("usb-1", "net-1"):
        states = [e["state"] for e in events if e["scanner"] == scanner]
        assert [k for k, _ in groupby(states)] == [
            "connected",
            "reconnecting",
            "connected",
            "stopped",  # by gateway.stop()
        ]
    # scans after the comeback were taken and counted, once each
    rows = await ledger_rows(pool)
    assert [(r["scanner"], r["sku"]) for r in rows if r["scanner"] == "usb-1"] == [
        ("usb-1", "WIDGET"),
        ("usb-1", "WIDGET"),
        ("usb-1", "GADGET"),
    ]
    assert [(r["scanner"], r["sku"]) for r in rows if r["scanner"] == "net-1"] == [
        ("net-1", "GADGET"),
        ("net-1", "GADGET"),
    ]
    assert (await service.stock_of("WIDGET")).on_hand == 2
    assert (await service.stock_of("GADGET")).on_hand == 3


@pytest.mark.parametrize(
    "url",
    ["foo://x", "socket://127.0.0.1", "socket://127.0.0.1:4001?speed=fast", "rfc2217://host:0"],
)
async def test_a_scanner_whose_url_cannot_work_shows_misconfigured(
    service: StockService, pool: Pool, rigs: dict[str, Rig], tmp_path: Path, url: str
) -> None:
    usb = rigs["usb-1"]
    bad = ScannerConfig(id="bad-1", url=url, preset="zebra", feedback="bel")
    gateway = Gateway(service, [bad, usb.config], tmp_path / "spool", reconnect_max=0.5)
    await gateway.start()
    try:
        status = await _wait_state(gateway, "bad-1", "misconfigured")
        assert status.detail
        await _wait_state(gateway, "usb-1", "connected")
        assert await usb.scan(WIDGET) == "ack"  # the others are served all the same
        await asyncio.sleep(0.6 * UNIT)
        assert _status(gateway, "bad-1").state == "misconfigured"  # it stays so
        await gateway.events.flush()
    finally:
        await gateway.stop()
    events = [e for e in await outbox_payloads(pool, "scanner.status") if e["scanner"] == "bad-1"]
    assert [k for k, _ in groupby(e["state"] for e in events)] == ["misconfigured", "stopped"]
    assert events[0]["detail"]
    assert (await service.stock_of("WIDGET")).on_hand == 1


async def test_a_bad_baud_rate_in_the_config_file_stops_start_up_naming_it(
    tmp_path: Path,
) -> None:
    config = tmp_path / "stockd.toml"
    config.write_text(
        '[[scanners]]\nid = "dock-1"\nurl = "/dev/ttyUSB0"\nbaudrate = 12345\n'
        'terminator = "CRLF"\nfeedback = "honeywell"\n'
    )
    run = await stockd("gateway", "--config", config, home=tmp_path, url=None, within=20)
    assert run.returncode == 2
    assert run.stdout == ""
    (line,) = run.stderr_lines
    assert "scanners.0.baudrate" in line
    assert "115200" in line  # says what would do
