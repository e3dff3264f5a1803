"""A gateway writes its spool's state for every node to show."""

from __future__ import annotations

import asyncio
from pathlib import Path

from scanner_gateway.gateway import Gateway
from stock_core.service import StockService
from stock_core.store.connection import Pool
from tests.timing import UNIT


async def test_the_spool_state_reaches_the_database_and_follows_the_spool(
    pool: Pool, tmp_path: Path
) -> None:
    service = StockService(pool)
    gateway = Gateway(service, [], tmp_path / "spool", name="edge-1", spool_cap_bytes=10**7)
    await gateway.start()
    try:
        states = []
        for _ in range(int(100 * UNIT)):  # the first write comes within a second
            states = await service.gateway_states()
            if states:
                break
            await asyncio.sleep(0.05)
        (state,) = states
        assert state.name == "edge-1"
        assert state.spool["depth"] == 0
        assert state.spool["cap_bytes"] == 10**7
        assert state.spool["replaying"] is False
        assert gateway.spool_state() == state.spool
    finally:
        await gateway.stop()
