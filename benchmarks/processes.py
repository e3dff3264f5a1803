"""stockd processes under load: waiting for their scanners and their start-up forecast,
where their time goes (py-spy), and the end of a run (everything stopped and closed,
the logs' directory removed or kept)."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import time
from collections.abc import Iterable
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from typing import Protocol

import repo  # noqa: F401  (first: puts the repository on sys.path)
from scratch_db import BenchDatabase

from tests.cluster import StockdProcess
from tests.cluster import write_config

__all__ = [
    "forecaster_settled",
    "load_options",
    "profile_summary",
    "remove_run_dir",
    "start_profile",
    "start_web",
    "tear_down",
    "wait_connected",
]


def load_options(
    doc: str | None,
    *,
    seconds: float,
    scanners: int | None = None,
    rate: float | None = None,
    rates: str | None = None,
    displays: int | None = None,
    keep: bool = False,
) -> argparse.ArgumentParser:
    """The command line of a benchmark that loads ``stockd``, described by ``doc``'s
    first line: ``--seconds`` a step, and each option given a default here: pty
    ``--scanners``, an open loop's ``--rate`` (per second) or the steps' ``--rates``
    (comma-separated; a list of floats in ``args.rates``), feed ``--displays``, and
    ``--keep`` (the logs' directory). The script adds its own."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    if rate is not None:
        parser.add_argument("--rate", type=float, default=rate)
    if rates is not None:
        parser.add_argument("--rates", type=_floats, default=_floats(rates))
    parser.add_argument("--seconds", type=float, default=seconds)
    if scanners is not None:
        parser.add_argument("--scanners", type=int, default=scanners)
    if displays is not None:
        parser.add_argument("--displays", type=int, default=displays)
    if keep:
        parser.add_argument("--keep", action="store_true")
    return parser


def _floats(text: str) -> list[float]:
    return [float(part) for part in text.split(",")]


class Closable(Protocol):
    def close(self) -> None: ...


async def tear_down(
    processes: Iterable[StockdProcess],
    *,
    displays: Iterable[Closable | None] = (),
    ptys: Iterable[Closable] = (),
) -> None:
    """The end of a run's stack: the displays closed, every process still running
    stopped, then the ptys closed."""
    for display in displays:
        if display is not None:
            display.close()
    for proc in processes:
        if proc.running:
            await proc.stop()
    for pty in ptys:
        pty.close()


def remove_run_dir(path: Path | str, keep: bool = False) -> None:
    """A run's logs' directory removed, or with ``keep`` left and said where."""
    if keep:
        print(f"logs kept in {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


async def wait_connected(db: BenchDatabase, ids: Sequence[str], timeout: float = 30.0) -> None:  # noqa: ASYNC109
    """Until every scanner in ``ids`` is ``connected`` in ``scanner_states``."""
    assert db.pool is not None
    deadline = time.monotonic() + timeout
    while True:
        n = await db.pool.fetchval(
            "SELECT count(*) FROM scanner_states WHERE id = ANY($1) AND state = 'connected'",
            list(ids),
        )
        if n == len(ids):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {n} of {len(ids)} scanners connected")
        await asyncio.sleep(0.1)


async def start_profile(
    proc: StockdProcess, out: Path, seconds: float
) -> asyncio.subprocess.Process:
    """``py-spy record`` on a stockd process: collapsed stacks, in ``out``, of the
    samples where a thread held the GIL (where the process's Python time goes).

    py-spy comes from ``PY_SPY`` or ``PATH`` (``pip install py-spy``).
    """
    exe = os.environ.get("PY_SPY") or shutil.which("py-spy") or "py-spy"
    return await asyncio.create_subprocess_exec(
        exe,
        "record",
        "--pid",
        str(proc.pid),
        "--duration",
        str(max(1, int(seconds))),
        "--rate",
        "250",
        "--format",
        "raw",
        "--nonblocking",
        "--threads",
        "--gil",
        "-o",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


_PROJECT_FRAME = re.compile(r"\((?:scanner_gateway|stock_core|web_ui|stockd)/")
_ENTRY_FRAME = re.compile(r"\(stockd/(?:cli|__main__)\.py")


def profile_summary(path: Path, limit: int = 8) -> dict[str, Any]:
    """Where a py-spy raw profile's GIL-holding samples went: the busiest leaf
    functions (self time, any code) and the busiest of the project's own functions
    (inclusive, below the process's entry point), as shares of all samples."""
    own: dict[str, int] = {}
    project: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = stack.split(";")
        leaf = frames[-1]
        own[leaf] = own.get(leaf, 0) + n
        for frame in set(frames):
            if _PROJECT_FRAME.search(frame) and not _ENTRY_FRAME.search(frame):
                project[frame] = project.get(frame, 0) + n

    def ranked(counts: dict[str, int]) -> list[tuple[str, float]]:
        best = sorted(counts.items(), key=lambda kv: -kv[1])[:limit]
        return [(frame, round(n / max(total, 1), 3)) for frame, n in best]

    return {"samples": total, "self": ranked(own), "project_inclusive": ranked(project)}


async def forecaster_settled(proc: StockdProcess, timeout: float = 60.0) -> float:  # noqa: ASYNC109
    """Wait for a web/serve node's start-up forecast sweep to finish; its seconds.

    The sweep runs in a child process, but its many short transactions hold back the
    feed sequencer's xmin, so events published meanwhile can wait for the relay's
    0.25 s poll (measured: scan-to-screen p99 ~250 ms during the sweep, ~15 ms
    after). Benchmarks measure the steady state after it; the report says so.
    """
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if "forecaster:" in proc.tail(200_000):
            break
        await asyncio.sleep(0.2)
    return round(time.monotonic() - began, 1)


async def start_web(database_url: str, work: Path) -> StockdProcess:
    """``stockd web`` with a fresh config in ``work``, started, and its start-up forecast
    sweep waited out (see :func:`forecaster_settled`; the time it took is printed)."""
    config = write_config(work / "stockd.toml")
    web = StockdProcess(
        "web", config, database_url=database_url, home=work / "home", log_dir=work, name="web"
    )
    await web.start()
    sweep = await forecaster_settled(web)
    print(f"(measuring after the web node's start-up forecast sweep: {sweep} s)")
    return web
