"""The soak, shortened for CI: the same faults in about 40 seconds of load.

Three PostgreSQL restarts and three gateway SIGKILLs (one while PostgreSQL is down),
32 scanners (one of them also sending garbage), 50 displays reconnecting with
``since``. ``make soak`` runs the full five minutes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.soak.soak import run_soak
from tests.timing import UNIT

pytestmark = [pytest.mark.slow]


@pytest.mark.timeout(180 * UNIT)
async def test_short_soak_loses_no_acknowledged_scan_and_no_feed_event(tmp_path: Path) -> None:
    report = await run_soak(40 * UNIT, seed=11, workdir=tmp_path / "soak")
    print(report.render())
    assert report.problems() == [], report.render()
    assert report.acked > 500
    assert report.pg_restarts == 3
    assert report.gateway_kills == 3
