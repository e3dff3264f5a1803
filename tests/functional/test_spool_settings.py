"""The spool's cap as an operator sets it: a bad value is one line, a good one reaches
the gateway."""

from __future__ import annotations

from pathlib import Path

from stock_core.store.connection import Pool
from stock_core.store.database import Database
from stockd.run import _gateway
from stockd.settings import Settings
from tests.functional.command import stockd


async def test_a_spool_cap_of_zero_stops_the_gateway_with_one_line(tmp_path: Path) -> None:
    run = await stockd(
        "gateway", home=tmp_path, url=None, env={"STOCKD_GATEWAY__SPOOL_CAP_MB": "0"}
    )
    assert run.returncode != 0
    assert len(run.stderr_lines) == 1, run.stderr
    assert "spool_cap_mb" in run.stderr
    assert "Traceback" not in run.stderr


async def test_the_spool_cap_setting_reaches_the_spool(
    pool: Pool, database_url: str, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path, gateway={"spool_cap_mb": 3})
    gateway = _gateway(settings, Database(pool=pool, url=database_url, embedded=None))
    assert gateway.spool.cap_bytes == 3 * 1024 * 1024
