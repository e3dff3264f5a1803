"""Figures and their record: percentiles, verdicts against targets, CPU shares, the
machine a run was on, and the JSON results files."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import time
from collections.abc import Iterator
from collections.abc import Sequence
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]  # (pgserver depends on it)
from repo import RESULTS
from repo import ROOT

__all__ = ["CpuMeter", "machine_facts", "percentiles", "quiet_gc", "verdict", "write_results"]


def percentiles(values: Sequence[float], scale: float = 1000.0) -> dict[str, float]:
    """p50/p90/p99/max (times ``scale``: seconds to ms by default) and the count."""
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return round(ordered[index] * scale, 2)

    return {
        "n": len(ordered),
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "max": round(ordered[-1] * scale, 2),
        "mean": round(statistics.fmean(ordered) * scale, 2),
    }


def verdict(value: float, target: float, *, at_most: bool = False) -> str:
    ok = value <= target if at_most else value >= target
    sign = "<=" if at_most else ">="
    return f"target {sign} {target:g}: {'HOLDS' if ok else 'MISSES'}"


def _git(*args: str) -> str:
    run = subprocess.run(
        ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False
    )
    return run.stdout.strip()


def machine_facts(pg_version: str, pg_where: str) -> dict[str, Any]:
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "postgres_version": pg_version,
        "postgres": pg_where,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "note": "a shared 2-core VM: other work may run meanwhile; see each phase's"
        " cpu_cores.other",
        "git_commit": commit + ("+dirty" if dirty else ""),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


@contextlib.contextmanager
def quiet_gc() -> Iterator[None]:
    """No collector pauses in the bench process while it stamps arrivals: the
    latencies measured must be stockd's, not the load generator's."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def write_results(name: str, data: dict[str, Any]) -> Path:
    """``results/<name>.json`` (the latest run) and one line appended to
    ``results/<name>.history.jsonl`` (every run, for medians over runs)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    data["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    with (RESULTS / f"{name}.history.jsonl").open("a") as history:
        history.write(json.dumps(data, default=str, separators=(",", ":")) + "\n")
    print(f"results: {path.relative_to(ROOT)}")
    return path


class CpuMeter:
    """CPU seconds used by this process and by given pids (and their children) over a span.

    Reported as a share of one core, so "1.0" means one core was busy all along: on a
    two-core box it tells whether the bench itself, PostgreSQL or stockd was the
    bottleneck. ``machine`` is every core's busy time; ``other`` what none of the
    named processes used (other work on a shared machine, the kernel);
    ``gateway.kernel`` (and ``web.kernel``) the part of that process's share spent
    in system calls.
    """

    def __init__(self, **pids: int) -> None:
        self.pids = pids
        self._start: dict[str, float] = {}
        self._t0 = 0.0
        self.seconds: dict[str, float] = {}
        """CPU seconds of each over the last span, unrounded (for per-request figures)."""

    @staticmethod
    def _tree_cpu(pid: int) -> float:
        """CPU of ``pid``, its live descendants, and the children it already reaped
        (PostgreSQL backends come and go; their time lands in the postmaster's)."""
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            return 0.0
        total = 0.0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        return total

    @staticmethod
    def _kernel_cpu(pid: int) -> float:
        with contextlib.suppress(psutil.Error):
            return float(psutil.Process(pid).cpu_times().system)
        return 0.0

    def _sample(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        sample = {"bench": usage.ru_utime + usage.ru_stime}
        for name, pid in self.pids.items():
            sample[name] = self._tree_cpu(pid)
            if name in ("gateway", "web", "serve"):
                sample[f"{name}.kernel"] = self._kernel_cpu(pid)
        t = psutil.cpu_times()
        sample["machine"] = sum(t) - t.idle - getattr(t, "iowait", 0.0)
        return sample

    def start(self) -> None:
        self._start = self._sample()
        self._t0 = time.monotonic()

    def stop(self) -> dict[str, float]:
        end = self._sample()
        span = max(time.monotonic() - self._t0, 1e-9)
        self.seconds = {k: end[k] - self._start.get(k, 0.0) for k in end}
        out = {k: round((end[k] - self._start.get(k, 0.0)) / span, 2) for k in end}
        # What else ran on the machine meanwhile (other people's work, the kernel).
        named = sum(v for k, v in out.items() if k != "machine" and "." not in k)
        out["other"] = round(out["machine"] - named, 2)
        return out
