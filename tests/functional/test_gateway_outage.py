"""PostgreSQL goes away mid-run: scans are spooled, acknowledged, and replayed in order.

The gateway's pool reaches PostgreSQL through :class:`~tests.faultproxy.FaultProxy`;
the test's own pool goes direct, so it can look (and change stock) while the gateway
sees an outage. Every receive scan carries a unique GS1 lot, so each one can be found
in the ledger.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from hardware_mocks.frames import DATALOGIC
from hardware_mocks.frames import GENERIC_BEL
from hardware_mocks.frames import HONEYWELL
from hardware_mocks.frames import ScannerModel
from scanner_gateway.gateway import Gateway
from scanner_gateway.spool import pending_records
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Outcome
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.service import StockService
from stock_core.store.connection import Pool
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.faultproxy import FaultProxy
from tests.gateway_harness import Outage
from tests.gateway_harness import Rig
from tests.gateway_harness import all_accounted_for
from tests.gateway_harness import all_connected
from tests.gateway_harness import drained
from tests.gateway_harness import invariants_hold
from tests.gateway_harness import ledger_rows
from tests.gateway_harness import open_rig
from tests.gateway_harness import outbox_payloads
from tests.gateway_harness import serving
from tests.timing import UNIT

WIDGET = "05012345678900"
GADGET = "4006381333931"
OUTAGE = 10.0  # seconds, by design (issue 3)
_PAUSE = 0.08  # between one scanner's scans: about ten a second each

CUSTOM_FEEDBACK = dataclasses.replace(
    GENERIC_BEL, name="custom", ack=b"\x06", nak=b"\x15!", feedback="custom"
)
DATALOGIC_TAB = dataclasses.replace(DATALOGIC, name="datalogic-tab", terminator=b"\t")
MODELS: tuple[ScannerModel, ...] = (HONEYWELL, DATALOGIC, CUSTOM_FEEDBACK, DATALOGIC_TAB)


class _CutMidCommit(StockService):
    """The gateway's service; :meth:`arm` makes the outage start mid-commit.

    The next ``post_batch`` starts its transaction and the proxy is cut while it is
    in flight: the worst moment, when the commit may or may not have landed.
    """

    def __init__(self, pool: Pool, proxy: FaultProxy) -> None:
        super().__init__(pool)
        self.proxy = proxy
        self._armed: asyncio.Future[None] | None = None

    def arm(self) -> asyncio.Future[None]:
        self._armed = asyncio.get_running_loop().create_future()
        return self._armed

    async def post_batch(self, envelopes: Sequence[Envelope], **bounds: Any) -> list[Outcome]:
        armed, self._armed = self._armed, None
        if armed is None:
            return await super().post_batch(envelopes, **bounds)
        commit = asyncio.ensure_future(super().post_batch(envelopes, **bounds))
        try:
            await asyncio.sleep(0.001)
            await self.proxy.acut()
        finally:
            armed.set_result(None)
        return await commit


@dataclass
class _Sent:
    lot: str
    at: float
    answer: str | None = None


@dataclass
class _Worker:
    rig: Rig
    sent: list[_Sent] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        """Receive scans with fresh lots, one after the other, until ``stop``."""
        aim = "]C1" if self.rig.model.aim else None
        n = 0
        while not stop.is_set():
            lot = f"{self.rig.id}-{n:04d}"
            entry = _Sent(lot, time.monotonic())
            self.sent.append(entry)
            entry.answer = await self.rig.scan(f"01{WIDGET}10{lot}", aim=aim)
            n += 1
            await asyncio.sleep(_PAUSE)


async def test_scans_acknowledged_during_a_ten_second_outage_reach_the_ledger_once_in_order(
    service: StockService, outage: Outage, tmp_path: Path
) -> None:
    rigs = [
        await open_rig(
            f"out{i}",
            "pty" if i % 2 == 0 else "tcp",
            MODELS[i % len(MODELS)],
            tmp_path,
            location="DOCK-1",
        )
        for i in range(8)
    ]
    gateway_service = _CutMidCommit(outage.db.pool, outage.proxy)
    gateway = Gateway(gateway_service, [r.config for r in rigs], tmp_path / "spool")
    workers = [_Worker(r) for r in rigs]
    stop = asyncio.Event()
    async with serving(gateway, *rigs):
        await all_connected(gateway)
        running = [asyncio.create_task(w.run(stop)) for w in workers]
        await asyncio.sleep(1.5 * UNIT)
        async with asyncio.timeout(5 * UNIT):
            await gateway_service.arm()
        cut_at = time.monotonic()
        assert outage.proxy.is_cut
        await asyncio.sleep(OUTAGE)
        await outage.proxy.arestore()
        restored_at = time.monotonic()
        await asyncio.sleep(1.5 * UNIT)
        stop.set()
        async with asyncio.timeout(10 * UNIT):
            await asyncio.gather(*running)
            await gateway.committer.wait_drained()
        spooled = sum(r.counters.spooled for r in gateway.runtimes.values())
        replayed = gateway.committer.replayed

    sent = [s for w in workers for s in w.sent]
    during = [s for s in sent if cut_at <= s.at < restored_at]
    # every scan was answered, and answered ack, even the ones during the outage
    assert Counter(s.answer for s in sent) == {"ack": len(sent)}
    assert len(during) >= 8 * 20, f"only {len(during)} scans during the outage"
    assert spooled >= len(during)
    assert replayed >= spooled
    assert gateway.spool.pending == 0
    assert pending_records(tmp_path / "spool") == []

    # each acknowledged scan is in the ledger exactly once, in send order per scanner
    rows = await ledger_rows(service.pool)
    lots = Counter(r["lot"] for r in rows)
    assert max(lots.values()) == 1, [lot for lot, n in lots.items() if n > 1]
    assert set(lots) == {s.lot for s in sent}
    for worker in workers:
        mine = [r for r in rows if r["scanner"] == worker.rig.id]
        assert [r["lot"] for r in mine] == [s.lot for s in worker.sent], worker.rig.id
        seqs = [r["scan_seq"] for r in mine]
        assert seqs == sorted(seqs), worker.rig.id
    assert all(
        (r["kind"], r["sku"], r["location"], r["delta"])
        == (
            "receive",
            "WIDGET",
            "DOCK-1",
            1,
        )
        for r in rows
    )
    assert (await service.stock_of("WIDGET")).on_hand == len(sent)
    await all_accounted_for(service)
    print(
        f"\nsent {len(sent)}, acked {len(sent)}, during the outage {len(during)},"
        f" spooled {spooled}, replayed {replayed}, in the ledger {len(rows)}"
    )


async def test_spooled_scans_refused_on_replay_become_spool_exceptions_not_drops(
    service: StockService, outage: Outage, tmp_path: Path
) -> None:
    for n, (sku, quantity) in enumerate((("WIDGET", 1), ("GADGET", 2))):
        receive = Receive(ProductRef(sku=Sku(sku)), LocationCode("A-01"), quantity)
        await service.post(Envelope(IdempotencyKey(f"setup:{n}"), receive))
    rig = await open_rig("picker", "pty", HONEYWELL, tmp_path, mode="pick", location="A-01")
    gateway = outage.gateway([rig.config], tmp_path / "spool")
    async with serving(gateway, rig):
        await all_connected(gateway)
        await outage.proxy.acut()
        assert await rig.scan(WIDGET) == "ack"  # spooled
        assert await rig.scan(GADGET) == "ack"  # spooled behind it
        assert await rig.scan("LOC:NOWHERE") == "ack"  # offline: the label is trusted
        assert await rig.scan(GADGET) == "ack"  # spooled, at a location that is not there
        assert gateway.runtimes["picker"].counters.spooled == 3
        assert gateway.spool.pending == 3
        # meanwhile someone else takes the last widget (the database itself is up)
        take = Pick(ProductRef(sku=Sku("WIDGET")), LocationCode("A-01"), 1)
        await service.post(Envelope(IdempotencyKey("elsewhere"), take))
        await outage.proxy.arestore()
        await drained(gateway)

    # both refusals are kept, in spool order, for a manager to see
    widget, nowhere = await service.list_spool_exceptions()
    assert (widget.problem_type, nowhere.problem_type) == ("insufficient-stock", "unknown-location")
    assert "only 0 of WIDGET available at A-01" in widget.reason
    assert "unknown location NOWHERE" in nowhere.reason
    for exception in (widget, nowhere):
        assert exception.scanner == "picker"
        assert exception.key.startswith("picker:")
        assert exception.spooled_at is not None
        assert exception.command["type"] == "Pick"
    assert widget.scan_seq is not None
    assert nowhere.scan_seq is not None
    assert widget.scan_seq < nowhere.scan_seq
    assert gateway.committer.exceptions == 2
    # the refused picks changed nothing; the one spooled between them was replayed
    rows = await ledger_rows(service.pool, "picker")
    assert [(r["kind"], r["sku"], r["location"], r["delta"]) for r in rows] == [
        ("pick", "GADGET", "A-01", -1)
    ]
    assert (await service.stock_of("WIDGET")).on_hand == 0
    assert (await service.stock_of("GADGET")).on_hand == 1
    events = await outbox_payloads(service.pool, "spool.exception")
    assert [e["key"] for e in events] == [widget.key, nowhere.key]
    await invariants_hold(service)
