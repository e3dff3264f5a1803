"""The Patroni drill in the test suite: the leader killed while scanners and a display run.

Brings up deploy/ha's stack (etcd, two PostgreSQL 15 nodes under Patroni in
synchronous mode, HAProxy, pgbouncer) from Debian's packages, runs ``stockd serve``
on the multi-host URL with eight pty scanners and a display, SIGKILLs the leader's
Patroni and PostgreSQL, and checks every promise: no acknowledged scan lost or
counted twice, no refusal, every scan answered within 2 s, the display's feed
without gaps or duplicates, scans committing on the new leader within 30 s, and
``stockd verify`` clean. The figures are printed (``-s`` shows them).

Opt-in (``STOCKD_HA_TESTS=1``, ``make test-ha``; see ``conftest.py``). The other
faults (``freeze-leader``, ``read-only``, ``async-lag``) run the same way with
``STOCKD_HA_TESTS=all``, or one at a time with ``python -m tests.ha.drill``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ha.conftest import HA_TESTS
from tests.ha.drill import FAULTS
from tests.ha.drill import Fault
from tests.ha.drill import run_drill

pytestmark = pytest.mark.slow  # and opt-in: see tests/ha/conftest.py

_ALL = HA_TESTS == "all"


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(
            f,
            marks=()
            if f == "kill-leader" or _ALL
            else pytest.mark.skip(reason="set STOCKD_HA_TESTS=all to run this drill too"),
        )
        for f in FAULTS
    ],
)
async def test_a_failover_keeps_every_promise(fault: Fault, tmp_path: Path) -> None:
    report = await run_drill(fault, workdir=tmp_path)
    print("\n" + report.render())
    assert not report.problems(), report.render()
    assert report.spooled > 0  # the fault was felt, and outlived


@pytest.mark.timeout(600)
@pytest.mark.skipif(not _ALL, reason="set STOCKD_HA_TESTS=all to run the three-node drill")
async def test_three_nodes_the_leader_killed_keeps_every_promise(tmp_path: Path) -> None:
    """Three nodes (a synchronous standby and an asynchronous one): Patroni promotes the
    synchronous one, the multi-host URL names all three, and the promises hold."""
    report = await run_drill("kill-leader", nodes=3, workdir=tmp_path)
    print("\n" + report.render())
    assert not report.problems(), report.render()
    assert report.spooled > 0
