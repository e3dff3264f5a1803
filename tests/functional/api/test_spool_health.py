"""Each gateway's spool in /healthz and /metrics: from the database, and a gateway in
this process live (it is known even with PostgreSQL away)."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from typing import Any

from stock_core.domain.token import Role
from stock_core.model import GatewayState
from stock_core.model import ScannerState
from stock_core.service import StockService
from stock_core.store.database import Database
from tests.functional.web_app import stop_relays
from web_ui.app import create_app
from web_ui.config import WebConfig


def _spool(depth: int, *, full: bool = False) -> dict[str, Any]:
    return {
        "depth": depth,
        "size_bytes": depth * 300,
        "cap_bytes": 1 << 30,
        "oldest_age_s": 12.5 if depth else None,
        "replaying": False,
        "quarantined": 1,
        "alarm": full,
        "full": full,
    }


async def test_spools_of_every_gateway_show_in_health_and_metrics(
    database: Database, service: StockService, aiohttp_client: Any
) -> None:
    await service.save_gateway_state("edge-far", _spool(40))
    here = GatewayState("edge-here", _spool(7, full=True), datetime.now(UTC))
    config = WebConfig(database=database, live_gateway=lambda: here)
    client = await aiohttp_client(create_app(config))
    try:
        response = await client.get("/healthz")
        health = await response.json()
        metrics = await (await client.get("/metrics")).text()
    finally:
        await stop_relays()
    assert response.status == 200  # the database answers
    assert health["status"] == "degraded"  # a spool is full
    assert [(s["gateway"], s["depth"], s["full"]) for s in health["spools"]] == [
        ("edge-far", 40, False),
        ("edge-here", 7, True),
    ]
    assert health["spools"][0]["oldest_age_s"] == 12.5
    assert 'stockd_spool{figure="depth",gateway="edge-far"} 40.0' in metrics
    assert 'stockd_spool{figure="full",gateway="edge-here"} 1.0' in metrics
    assert 'stockd_spool{figure="quarantined",gateway="edge-here"} 1.0' in metrics


async def test_each_scanner_shows_its_gateways_spool(
    database: Database, service: StockService, aiohttp_client: Any
) -> None:
    await service.save_gateway_state("edge-far", _spool(40))
    state = ScannerState(
        "dock-1",
        "edge-far",
        "/dev/ttyUSB0",
        "connected",
        "",
        "receive",
        "A-01",
        None,
        None,
        {"frames": 3},
    )
    await service.save_scanner_states([state])
    text, _ = await service.create_token("floor", Role.DISPLAY)
    client = await aiohttp_client(create_app(WebConfig(database=database)))
    try:
        response = await client.get("/api/v1/scanners", headers={"Authorization": f"Bearer {text}"})
        page = await response.json()
    finally:
        await stop_relays()
    assert response.status == 200
    (item,) = page["items"]
    assert (item["id"], item["spool"]["gateway"], item["spool"]["depth"]) == (
        "dock-1",
        "edge-far",
        40,
    )
