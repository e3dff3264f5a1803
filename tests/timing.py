"""One timing unit for every wait in the tests: scale it on a slow machine."""

from __future__ import annotations

import os

__all__ = ["UNIT"]

UNIT = float(os.environ.get("STOCKD_TEST_TIME_UNIT", "1.0"))
"""Seconds; every timeout and pause in tests is a multiple of this."""
