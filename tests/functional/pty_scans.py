"""Scanning end to end through the real ``stockd`` command: CSV imports, Honeywell pty
scanners and the ``[[scanners]]`` config that serves them, and the beep each scan gets.

The suites that run ``stockd gateway`` or ``stockd serve`` as a user would (returns,
transfers, operators) set up the same way: import the catalog with ``stockd import``,
write a config naming their pty scanners, wait until the starting gateway answers a
first scan, then compare each scan's answer with the one they expect.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from collections.abc import Sequence
from pathlib import Path

from hardware_mocks.pty_scanner import PtyScanner
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.service import StockService
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.functional.command import Run
from tests.functional.command import Running
from tests.functional.command import running
from tests.functional.command import stockd
from tests.timing import UNIT

__all__ = [
    "answer",
    "expect_answers",
    "first_answer",
    "honeywell_scanner",
    "import_csvs",
    "running_gateway",
    "seed_widgets",
    "verify_holds",
    "write",
]


def write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path``; the path, for passing on to a command."""
    path.write_bytes(data)
    return path


async def import_csvs(
    tmp_path: Path, home: Path, url: str, *tables: tuple[str, bytes]
) -> dict[str, Run]:
    """``stockd import WHAT FILE`` for each ``(what, csv)`` in turn, each required to
    succeed; the runs by ``what``."""
    runs = {}
    for what, data in tables:
        run = await stockd(
            "import", what, write(tmp_path / f"{what}.csv", data), home=home, url=url
        )
        assert run.returncode == 0, run.stderr
        runs[what] = run
    return runs


async def seed_widgets(service: StockService, units: int) -> None:
    """``units`` WIDGET received at A-01 before any scan (key ``seed``)."""
    receive = Receive(ProductRef(sku=Sku("WIDGET")), LocationCode("A-01"), units)
    await service.post(Envelope(IdempotencyKey("seed"), receive))


def honeywell_scanner(scanner_id: str, path: Path, **settings: str | bool | float) -> str:
    """A ``[[scanners]]`` TOML section for a Honeywell on the pty at ``path``, with
    ``settings`` (strings quoted) after the preset's lines."""
    lines = [
        "[[scanners]]",
        f'id = "{scanner_id}"',
        f'url = "{path}"',
        'preset = "honeywell"',
        'terminator = "CRLF"',
        'feedback = "honeywell"',
    ]
    for key, value in settings.items():
        shown = f'"{value}"' if isinstance(value, str) else str(value).lower()
        lines.append(f"{key} = {shown}")
    return "\n".join(lines) + "\n\n"


@contextlib.asynccontextmanager
async def running_gateway(config: Path, home: Path, url: str) -> AsyncIterator[Running]:
    """``stockd --config CONFIG gateway`` for the block, once it says it is up."""
    async with running(
        "--config", config, "gateway", home=home, url=url, ready=r"stockd gateway: "
    ) as gateway:
        yield gateway


async def answer(scanner: PtyScanner, code: str) -> str:
    """Scan ``code`` and wait for its beep: ``ack`` or ``nak``."""
    before = scanner.feedback
    scanner.send_scan(code)
    after = await scanner.wait_feedback(before.events + 1, 10 * UNIT)
    return "ack" if after.acks > before.acks else "nak"


async def first_answer(scanner: PtyScanner, code: str) -> None:
    """Send ``code`` until the gateway, starting, answers it (it opens its ports after
    saying it is up)."""
    async with asyncio.timeout(20 * UNIT):
        while scanner.feedback.events == 0:
            scanner.send_scan(code)
            with contextlib.suppress(TimeoutError):
                await scanner.wait_feedback(1, 0.5 * UNIT)


async def expect_answers(scanner: PtyScanner, steps: Sequence[tuple[str, str]]) -> None:
    """Scan each ``(code, expected answer)`` in turn; all answers must be as expected."""
    got = [await answer(scanner, code) for code, _ in steps]
    assert got == [want for _, want in steps]


async def verify_holds(home: Path, url: str) -> None:
    """``stockd verify`` finds every invariant holding."""
    verify = await stockd("verify", home=home, url=url)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "all invariants hold" in verify.stdout
