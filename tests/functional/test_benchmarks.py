"""Every benchmark script starts as ``python benchmarks/bench_NAME.py`` does: its
imports resolve (the scripts are not type-checked, and their helper modules are
imported by plain name from ``benchmarks/``, the repository put on ``sys.path`` by
``benchmarks/repo.py``) and ``--help`` answers."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.functional.command import communicate_within

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(path.name for path in (ROOT / "benchmarks").glob("bench_*.py"))


def test_the_benchmarks_are_found() -> None:
    assert "bench_throughput.py" in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
async def test_a_benchmark_script_starts_and_explains_itself(script: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "benchmarks" / script),
        "--help",
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},  # they find the repo
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await communicate_within(process, 60)
    assert process.returncode == 0, err.decode()
    assert out.decode().startswith("usage:")
