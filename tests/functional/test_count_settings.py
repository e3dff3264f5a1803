"""``[counts] approval_percent`` reaches ``stockd web``; a bad value stops start-up."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.service import StockService
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.functional.command import running
from tests.functional.command import stockd


async def test_stockd_web_holds_lines_by_the_configured_approval_percent(
    service: StockService, database_url: str, home: Path
) -> None:
    command = Receive(ProductRef(sku=Sku("WIDGET")), LocationCode("A-01"), 10)
    await service.post(Envelope(IdempotencyKey("seed"), command))
    made = await stockd(
        "token", "create", "--role", "manager", "--name", "m", home=home, url=database_url
    )
    token = made.stdout.strip().splitlines()[-1]
    config = home / "stockd.toml"
    config.write_text("[counts]\napproval_percent = 25\n")
    env = {"STOCKD_WEB__PORT": "0"}
    async with running(
        "--config", config, "web", home=home, url=database_url, ready=r"stockd web: ", env=env
    ) as web:
        base = web.find(r"floor page and API at (http://[^ ]+)/ ").group(1)
        auth = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(base_url=base, headers=auth) as http:
            async with http.post("/api/v1/count-tasks", json={"locations": ["A-01"]}) as r:
                task = await r.json()
            url = f"/api/v1/count-tasks/{task['id']}"
            body = {"location": "A-01", "lines": [{"sku": "WIDGET", "quantity": 8}]}
            async with http.post(url + "/counts", json=body) as r:
                assert r.status == 200
            async with http.post(url + "/confirm") as r:
                confirmed = await r.json()
    assert web.returncode == 0, web.stderr
    # -20 % is within 25 % (the default 10 % would hold it)
    assert [(x["variance"], x["status"]) for x in confirmed["lines"]] == [(-2, "posted")]
    assert (await service.stock_of("WIDGET")).on_hand == 8


async def test_a_bad_approval_percent_stops_start_up_in_one_line(home: Path) -> None:
    run = await stockd("verify", home=home, url=None, env={"STOCKD_COUNTS__APPROVAL_PERCENT": "-1"})
    assert run.returncode == 2
    (line,) = run.stderr_lines
    assert line.startswith("stockd: bad setting counts.approval_percent:")
