"""Driving a real gateway with simulated scanners, and reading back what it wrote.

A :class:`Rig` is one simulated scanner (a :class:`PtyScanner` at a stable path, or
a :class:`DeviceServer` behind a ``socket://`` URL) together with the
:class:`ScannerConfig` a gateway needs to serve it. :meth:`Rig.scan` sends one scan
and waits for the gateway's answer. Models whose good-read answer is silent (Zebra,
generic BEL) cannot hear an ack, so for them the rig watches the in-process gateway's
own feedback counters instead; a rig without a gateway needs a model that acks.

:func:`serving` runs a gateway for the length of a block; :func:`drained` waits until
it has posted everything it spooled; :func:`invariants_hold` is the closing check.
The ``*_rows`` helpers read the ledger and the outbox straight from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Literal

from hardware_mocks.device_server import DeviceServer
from hardware_mocks.frames import ScannerModel
from hardware_mocks.pty_scanner import PtyScanner
from scanner_gateway.config import ScannerConfig
from scanner_gateway.gateway import Gateway
from stock_core.model import ScannerState
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.store.database import Database
from tests.faultproxy import FaultProxy
from tests.timing import UNIT

__all__ = [
    "Answer",
    "Outage",
    "Rig",
    "Transport",
    "all_accounted_for",
    "all_connected",
    "byte_escapes",
    "drained",
    "eventually",
    "honeywell_config",
    "invariants_hold",
    "ledger_rows",
    "open_rig",
    "outbox_payloads",
    "scanner_state",
    "serving",
    "stock_rows",
]

Answer = Literal["ack", "nak"]
Transport = Literal["pty", "tcp"]

SCAN_TIMEOUT = 5 * UNIT


def byte_escapes(data: bytes) -> str:
    r"""``data`` as the ``\xNN`` escapes a config file's custom ``ack``/``nak`` take."""
    return "".join(f"\\x{b:02x}" for b in data)


@dataclass
class Rig:
    """One simulated scanner and the gateway configuration that serves it."""

    id: str
    target: PtyScanner | DeviceServer
    model: ScannerModel
    config: ScannerConfig
    gateway: Gateway | None = None
    answers: list[Answer | None] = field(default_factory=list)

    @property
    def transport(self) -> Transport:
        return "pty" if isinstance(self.target, PtyScanner) else "tcp"

    async def send(self, text: str, *, aim: str | bool | None = None) -> None:
        if isinstance(self.target, PtyScanner):
            self.target.send_scan(text, aim=aim)  # non-blocking pty write
        else:
            # The gateway may see its connect succeed a moment before the server has
            # taken the connection: wait for that, as a worker waits for the box.
            await self.target.wait_connected(SCAN_TIMEOUT)
            await self.target.send_scan(text, aim=aim)

    def _gateway_answers(self) -> tuple[int, int]:
        assert self.gateway is not None, f"{self.id}: a silent-ack model needs the gateway"
        counters = self.gateway.runtimes[self.id].counters
        return counters.acks, counters.naks

    async def scan(
        self,
        text: str,
        *,
        aim: str | bool | None = None,
        timeout: float = SCAN_TIMEOUT,  # noqa: ASYNC109
    ) -> Answer | None:
        """Send one scan and wait for its answer; ``None`` if none came in time."""
        before = self.target.feedback
        silent_ack = not self.model.ack
        gw_before = self._gateway_answers() if silent_ack else (0, 0)
        await self.send(text, aim=aim)
        answer: Answer | None
        try:
            if silent_ack:
                gw_after = await eventually(
                    lambda: (a := self._gateway_answers()) != gw_before and a,
                    timeout,
                    f"{self.id}: answer to {text!r}",
                )
                assert isinstance(gw_after, tuple)
                answer = "ack" if gw_after[0] > gw_before[0] else "nak"
                if answer == "nak":  # the nak bytes must reach the scanner
                    await self.target.wait_feedback(before.events + 1, timeout)
            else:
                after = await self.target.wait_feedback(before.events + 1, timeout)
                answer = "ack" if after.acks > before.acks else "nak"
        except TimeoutError:
            answer = None
        self.answers.append(answer)
        return answer

    async def close(self) -> None:
        if isinstance(self.target, PtyScanner):
            await self.target.aclose()
        else:
            await self.target.close()


@dataclass(frozen=True)
class Outage:
    """A gateway's database that a test can take away: the fault proxy, and the
    gateway's own pool (``db``) that reaches PostgreSQL only through it."""

    proxy: FaultProxy
    db: Database

    def gateway(self, configs: list[ScannerConfig], spool_dir: Path, **options: Any) -> Gateway:
        """A gateway whose service posts over ``db``, through the proxy."""
        return Gateway(StockService(self.db.pool), configs, spool_dir, **options)


def scanner_state(scanner_id: str, state: str, **fields: Any) -> ScannerState:
    """What gateway ``gw-1`` says of a scanner in ``state``: a receiving tty at DOCK-1
    that has scanned nothing yet, but for ``fields``."""
    defaults: dict[str, Any] = {
        "gateway": "gw-1",
        "url": f"/dev/tty{scanner_id}",
        "detail": "",
        "mode": "receive",
        "location": "DOCK-1",
        "last_scan_at": None,
        "last_code": None,
        "counters": {},
    }
    return ScannerState(id=scanner_id, state=state, **(defaults | fields))


def honeywell_config(scanner_id: str, path: Path, **config: Any) -> ScannerConfig:
    """The config of a Honeywell on the pty at ``path``, as a site writes it: the
    ``honeywell`` preset and feedback, CRLF; ``config`` overrides or adds fields."""
    settings: dict[str, Any] = {
        "id": scanner_id,
        "url": str(path),
        "preset": "honeywell",
        "terminator": "CRLF",
        "feedback": "honeywell",
    }
    return ScannerConfig(**(settings | config))


async def open_rig(
    scanner_id: str,
    transport: Transport,
    model: ScannerModel,
    directory: Path,
    **config: Any,
) -> Rig:
    """A simulated scanner of ``model`` and a config whose feedback driver speaks it.

    ``config`` overrides :class:`ScannerConfig` fields (``terminator`` defaults to the
    model's own, ``feedback`` to the model's driver, or ``custom`` with its bytes).
    """
    target: PtyScanner | DeviceServer
    if transport == "pty":
        target = await PtyScanner.create(directory / scanner_id, model, name=scanner_id)
        url = str(target.path)
    else:
        target = DeviceServer(model=model, name=scanner_id)
        await target.start()
        url = target.url
    settings: dict[str, Any] = {
        "id": scanner_id,
        "url": url,
        "baudrate": model.baudrate,
        "terminator": model.terminator_name,
        "feedback": model.feedback,
    }
    if model.feedback == "custom":
        settings["ack"] = byte_escapes(model.ack or b"") or None
        settings["nak"] = byte_escapes(model.nak or b"") or None
    settings.update(config)
    return Rig(scanner_id, target, model, ScannerConfig(**settings))


async def eventually(
    probe: Callable[[], object],
    timeout: float,  # noqa: ASYNC109
    what: str = "condition",
    interval: float = 0.02,
) -> object:
    """Poll ``probe`` until it returns something truthy; ``TimeoutError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not within {timeout}s (last: {value!r})")
        await asyncio.sleep(interval)


async def all_connected(gateway: Gateway, within: float = 5 * UNIT) -> None:
    """Wait until every scanner ``gateway`` serves is connected."""
    await eventually(
        lambda: all(s.state == "connected" for s in gateway.statuses()),
        within,
        "all scanners connected",
    )


@contextlib.asynccontextmanager
async def serving(gateway: Gateway, *rigs: Rig) -> AsyncIterator[Gateway]:
    """``gateway`` started for the block; stopped after it, and ``rigs`` closed."""
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()
        for rig in rigs:
            await rig.close()


async def drained(gateway: Gateway, within: float = 10.0) -> None:
    """Wait (``within`` seconds, times ``UNIT``) until ``gateway`` has posted all it
    spooled, then until the events of those posts are written."""
    async with asyncio.timeout(within * UNIT):
        await gateway.committer.wait_drained()
    await gateway.events.flush()


async def invariants_hold(service: StockService) -> None:
    """``service.verify()`` finds every invariant holding (its report shown if not)."""
    report = await service.verify()
    assert report.ok, report.render()


async def all_accounted_for(service: StockService) -> None:
    """After a fault run: no scan was left a spool exception, and every invariant holds."""
    assert await service.list_spool_exceptions() == []
    await invariants_hold(service)


async def ledger_rows(pool: Pool, scanner: str | None = None) -> list[dict[str, Any]]:
    """Movements in id order, with SKU and location code."""
    rows = await pool.fetch(
        """
        SELECT m.id, m.kind, p.sku, l.code AS location, m.lot, m.delta, m.idempotency_key,
               m.scanner, m.scan_seq, m.reverses
        FROM movements m JOIN products p ON p.id = m.product_id
                         JOIN locations l ON l.id = m.location_id
        WHERE $1::text IS NULL OR m.scanner = $1
        ORDER BY m.id
        """,
        scanner,
    )
    return [dict(r) for r in rows]


async def stock_rows(pool: Pool) -> dict[tuple[str, str], int]:
    """On-hand by (sku, location), lots added up, zero rows left out."""
    rows = await pool.fetch(
        """
        SELECT p.sku, l.code AS location, sum(s.on_hand)::bigint AS on_hand
        FROM stock s JOIN products p ON p.id = s.product_id
                     JOIN locations l ON l.id = s.location_id
        GROUP BY p.sku, l.code HAVING sum(s.on_hand) <> 0
        """
    )
    return {(r["sku"], r["location"]): r["on_hand"] for r in rows}


async def outbox_payloads(pool: Pool, event_type: str) -> list[Mapping[str, Any]]:
    """Payloads of outbox events of one type, in id order."""
    rows = await pool.fetch("SELECT payload FROM outbox WHERE type = $1 ORDER BY id", event_type)
    return [json.loads(r["payload"]) for r in rows]
