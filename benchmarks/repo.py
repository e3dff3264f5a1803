"""Where the repository is, put on ``sys.path`` so the benchmark scripts, run as
``python benchmarks/bench_*.py``, import stockd's packages (every helper module here
imports this one before them)."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["RESULTS", "ROOT"]

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"
"""The latest result of each benchmark, and every run's in its history file."""
