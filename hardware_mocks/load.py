"""Random but realistic scan load: many workers scanning at a steady rate.

:class:`LoadPlan` is pure: :meth:`LoadPlan.scans_for` gives each scanner a
reproducible sequence (from ``seed``) of timed scans that reads like a worker's day:
a mode command and a location first, then mostly product scans (plain codes, some as
GS1-128, GS1 DataMatrix or Digital Link with lot and expiry), now and then ``QTY:n``
before a product, a new location or a mode switch, and a small share of deliberately
bad codes (a wrong check digit, or a valid GTIN nobody registered).

:func:`run_load` plays the plans on real targets on a monotonic schedule: scanner
``k`` of ``n`` starts ``k/n`` of a period late so scanners interleave, each scan goes
out at its planned time (late ones immediately, none after the run's deadline), and
the run is bounded by ``seconds + settle_timeout`` plus one late send.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import math
import random
from collections import Counter
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import timedelta
from types import MappingProxyType
from typing import Final

from hardware_mocks.errors import NotConnectedError
from hardware_mocks.errors import WriteTimeoutError
from hardware_mocks.feedback import FeedbackCounts
from hardware_mocks.frames import Aim
from hardware_mocks.frames import corrupt_check_digit
from hardware_mocks.frames import digital_link
from hardware_mocks.frames import ean13
from hardware_mocks.frames import gs1_date
from hardware_mocks.frames import gs1_element_string
from hardware_mocks.frames import gtin14
from hardware_mocks.target import ScanTarget
from hardware_mocks.target import send_bytes
from stock_core.domain.gtin import is_valid_gtin

__all__ = [
    "SAMPLE_CATALOG",
    "Catalog",
    "LoadPlan",
    "LoadReport",
    "PlannedScan",
    "ScanKind",
    "ScannerLoad",
    "run_load",
]

_LATE_GRACE = 1.0
"""Seconds past ``seconds`` after which unsent scans are skipped, not sent late."""
_QUIET_SETTLE = 0.2
"""Seconds to collect feedback from a model that is silent on good scans."""


class ScanKind(enum.Enum):
    COMMAND = "command"
    LOCATION = "location"
    QUANTITY = "quantity"
    PRODUCT = "product"
    PRODUCT_GS1 = "product_gs1"
    PRODUCT_LINK = "product_link"
    BAD_CHECK_DIGIT = "bad_check_digit"
    UNKNOWN_PRODUCT = "unknown_product"

    @property
    def is_bad(self) -> bool:
        return self in (ScanKind.BAD_CHECK_DIGIT, ScanKind.UNKNOWN_PRODUCT)


@dataclass(frozen=True)
class Catalog:
    """Product barcodes (GTINs or alias codes) and location codes the load uses."""

    products: tuple[str, ...]
    locations: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.products or not self.locations:
            raise ValueError("a catalog needs at least one product and one location")


SAMPLE_CATALOG: Final = Catalog(
    products=tuple(ean13(f"501234567{n:03d}") for n in range(1, 41)),
    locations=tuple(f"{aisle}-{bay:02d}" for aisle in "ABC" for bay in range(1, 9)),
)


@dataclass(frozen=True)
class PlannedScan:
    """One scan: ``at`` seconds after the start, what it is, its text and AIM override."""

    at: float
    kind: ScanKind
    text: str
    aim: str | None = None


@dataclass(frozen=True)
class LoadPlan:
    """``scanners`` workers, each scanning ``rate_per_scanner`` times a second for
    ``seconds``. ``bad_share`` of product scans are deliberately bad; ``gs1_share`` of
    good product scans carry GS1 data. ``settle_timeout`` bounds the wait for the
    last feedback."""

    scanners: int
    rate_per_scanner: float
    seconds: float
    seed: int = 0
    catalog: Catalog = SAMPLE_CATALOG
    bad_share: float = 0.05
    gs1_share: float = 0.2
    settle_timeout: float = 2.0

    def __post_init__(self) -> None:
        if self.scanners < 1:
            raise ValueError(f"scanners must be at least 1, not {self.scanners}")
        for name in ("rate_per_scanner", "seconds"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, not {value}")
        for name in ("bad_share", "gs1_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        if self.settle_timeout < 0:
            raise ValueError(f"settle_timeout must not be negative: {self.settle_timeout}")

    def scans_for(self, scanner: int) -> list[PlannedScan]:
        """The timed scans of scanner ``scanner`` (0-based); the same for the same seed."""
        if not 0 <= scanner < self.scanners:
            raise ValueError(f"scanner {scanner} is not in 0..{self.scanners - 1}")
        period = 1 / self.rate_per_scanner
        phase = period * scanner / self.scanners
        count = max(0, math.ceil((self.seconds - phase) / period))
        times = [phase + i * period for i in range(count)]
        worker = _Worker(self, random.Random(f"{self.seed}:{scanner}"))
        return [worker.next_scan(at) for at in times if at < self.seconds]


class _Worker:
    """The habits of one simulated worker; draws from its own random stream."""

    def __init__(self, plan: LoadPlan, rng: random.Random) -> None:
        self._plan = plan
        self._rng = rng
        self._gtins = [code for code in plan.catalog.products if is_valid_gtin(code)]
        self._scanned = 0
        self._quantity_pending = False

    def next_scan(self, at: float) -> PlannedScan:
        self._scanned += 1
        kind, text, aim = self._choose()
        self._quantity_pending = kind is ScanKind.QUANTITY
        return PlannedScan(at=at, kind=kind, text=text, aim=aim)

    def _choose(self) -> tuple[ScanKind, str, str | None]:
        rng = self._rng
        if self._scanned == 1:
            return self._mode()
        if self._scanned == 2:
            return self._location()
        if self._quantity_pending:
            return self._good_product()
        roll = rng.random()
        if roll < 0.05:
            return self._location()
        if roll < 0.07:
            return self._mode()
        if roll < 0.15:
            return ScanKind.QUANTITY, f"QTY:{rng.randint(2, 24)}", None
        return self._product()

    def _mode(self) -> tuple[ScanKind, str, str | None]:
        command = self._rng.choices(["RECEIVE", "PICK", "COUNT"], weights=[6, 3, 1])[0]
        return ScanKind.COMMAND, f"CMD:{command}", None

    def _location(self) -> tuple[ScanKind, str, str | None]:
        return ScanKind.LOCATION, f"LOC:{self._rng.choice(self._plan.catalog.locations)}", None

    def _product(self) -> tuple[ScanKind, str, str | None]:
        if self._rng.random() < self._plan.bad_share:
            return self._bad_product()
        return self._good_product()

    def _bad_product(self) -> tuple[ScanKind, str, str | None]:
        rng = self._rng
        if self._gtins and rng.random() < 0.5:
            code = corrupt_check_digit(rng.choice(self._gtins), rng.randint(1, 9))
            return ScanKind.BAD_CHECK_DIGIT, code, None
        # 2xx prefixes are for restricted circulation: never a registered trade item.
        while True:
            code = ean13(f"2{rng.randrange(10**11):011d}")
            if code not in self._plan.catalog.products:
                return ScanKind.UNKNOWN_PRODUCT, code, None

    def _good_product(self) -> tuple[ScanKind, str, str | None]:
        rng = self._rng
        code = rng.choice(self._plan.catalog.products)
        if code not in self._gtins or rng.random() >= self._plan.gs1_share:
            return ScanKind.PRODUCT, code, None
        lot = f"L{rng.randrange(1, 10_000):04d}"
        expiry = date(2030, 1, 1) + timedelta(days=rng.randrange(0, 730))
        form = rng.random()
        if form < 0.2:
            return ScanKind.PRODUCT_LINK, digital_link(code, lot, expiry), Aim.QR.value
        element_string = gs1_element_string(
            [("01", gtin14(code)), ("17", gs1_date(expiry)), ("10", lot)]
        )
        aim = Aim.GS1_DATAMATRIX if form < 0.5 else Aim.GS1_128
        return ScanKind.PRODUCT_GS1, element_string, aim.value


@dataclass(frozen=True)
class ScannerLoad:
    """What one scanner did: frames sent by kind, failed and skipped sends, and the
    acks and naks heard during the run."""

    name: str
    sent: Mapping[ScanKind, int]
    failed: int
    skipped: int
    acks: int
    naks: int

    @property
    def frames_sent(self) -> int:
        return sum(self.sent.values())


@dataclass(frozen=True)
class LoadReport:
    scanners: tuple[ScannerLoad, ...]
    elapsed: float
    sent: Mapping[ScanKind, int] = field(init=False)

    def __post_init__(self) -> None:
        total: Counter[ScanKind] = Counter()
        for scanner in self.scanners:
            total.update(scanner.sent)
        object.__setattr__(self, "sent", MappingProxyType(dict(total)))

    @property
    def frames_sent(self) -> int:
        return sum(scanner.frames_sent for scanner in self.scanners)

    @property
    def acks(self) -> int:
        return sum(scanner.acks for scanner in self.scanners)

    @property
    def naks(self) -> int:
        return sum(scanner.naks for scanner in self.scanners)

    @property
    def bad_sent(self) -> int:
        return sum(count for kind, count in self.sent.items() if kind.is_bad)


async def run_load(targets: Sequence[ScanTarget], plan: LoadPlan) -> LoadReport:
    """Drive ``targets`` (one per planned scanner) with ``plan``'s scans."""
    if len(targets) != plan.scanners:
        raise ValueError(f"the plan has {plan.scanners} scanners, {len(targets)} targets given")
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(_drive(target, plan, index, start))
            for index, target in enumerate(targets)
        ]
    return LoadReport(scanners=tuple(task.result() for task in tasks), elapsed=loop.time() - start)


async def _drive(target: ScanTarget, plan: LoadPlan, index: int, start: float) -> ScannerLoad:
    loop = asyncio.get_running_loop()
    before = target.feedback
    sent: Counter[ScanKind] = Counter()
    failed = skipped = 0
    deadline = start + plan.seconds + _LATE_GRACE
    for scan in plan.scans_for(index):
        delay = start + scan.at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if loop.time() > deadline:
            skipped += 1
            continue
        try:
            await send_bytes(target, target.model.frame(scan.text, aim=scan.aim))
        except (NotConnectedError, WriteTimeoutError):
            failed += 1
        else:
            sent[scan.kind] += 1
    await _settle(target, before, sent.total(), plan.settle_timeout)
    after = target.feedback
    return ScannerLoad(
        name=target.name,
        sent=MappingProxyType(dict(sent)),
        failed=failed,
        skipped=skipped,
        acks=after.acks - before.acks,
        naks=after.naks - before.naks,
    )


async def _settle(target: ScanTarget, before: FeedbackCounts, frames: int, limit: float) -> None:
    """Wait for the answers still on their way: all of them when every scan is
    answered out loud, else a short quiet period."""
    if target.model.ack and target.model.nak:
        with contextlib.suppress(TimeoutError):
            await target.wait_feedback(before.events + frames, limit)
    else:
        await asyncio.sleep(min(_QUIET_SETTLE, limit))
