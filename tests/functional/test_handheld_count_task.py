"""A count on the handheld page inside a blind count task: kept on the task, and the
replies never tell the worker what was expected."""

from __future__ import annotations

import json

from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.service import StockService
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku
from tests.functional.conftest import ServerFactory
from tests.functional.test_handheld_socket import GADGET
from tests.functional.test_handheld_socket import Handheld


async def test_a_handheld_count_in_a_blind_task_is_kept_and_tells_nothing_expected(
    start_server: ServerFactory, worker: str, service: StockService
) -> None:
    command = Receive(ProductRef(sku=Sku("GADGET")), LocationCode("A-02"), 17)
    await service.post(Envelope(IdempotencyKey("seed"), command))
    task = await service.open_count_task(locations=["A-02"], blind=True)
    hh = Handheld(await start_server(), worker)
    await hh.connect()
    replies = []
    for seq, code in enumerate(["CMD:COUNT", "LOC:A-02", "QTY:3", GADGET, "CMD:DONE"], 1):
        reply = await hh.scan(seq, code)
        assert reply["type"] == "ack", reply
        replies.append(reply)
    await hh.close()
    # The expected quantity (17) is in no reply: no movement, no figure of stock.
    assert all(reply["movements"] == [] for reply in replies)
    text = json.dumps([{k: v for k, v in r.items() if k != "session"} for r in replies])
    assert "17" not in text
    assert "expected" not in text
    assert (await service.stock_of("GADGET")).on_hand == 17
    seen = await service.count_task(task.id)
    assert [(x.sku, x.counted) for x in seen.lines] == [("GADGET", 3)]
    assert (await service.verify()).ok
