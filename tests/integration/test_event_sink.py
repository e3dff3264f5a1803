"""The gateway's event sink writes each event once, even when a write's answer is lost."""

from __future__ import annotations

from typing import Any

from asyncpg import Pool

from scanner_gateway.event_sink import EventSink
from stock_core.errors import DatabaseUnavailableError
from stock_core.service import StockService


class AnswerLostOnce(StockService):
    """Writes the events, then fails as if the deadline dropped the connection as the
    commit went through: the events are in the outbox, the caller was told "unavailable"."""

    lost = 0

    async def append_events(self, *args: Any, **kwargs: Any) -> None:
        await super().append_events(*args, **kwargs)
        if not self.lost:
            self.lost += 1
            raise DatabaseUnavailableError("statement deadline passed")


async def _rejections(pool: Pool) -> list[str]:
    rows = await pool.fetch(
        "SELECT payload->>'code' AS code FROM outbox WHERE type = 'scan.rejected' ORDER BY id"
    )
    return [r["code"] for r in rows]


async def test_a_write_retried_after_its_answer_was_lost_shows_each_event_once(
    pool: Pool,
) -> None:
    service = AnswerLostOnce(pool)
    sink = EventSink(service, "gw", dict)
    sink.origin = "spool-1:7"
    sink.publish("scan.rejected", {"scanner": "s1", "code": "A", "reason": "r"})
    sink.publish("scan.rejected", {"scanner": "s1", "code": "B", "reason": "r"})
    await sink.flush()
    assert service.lost == 1
    assert len(sink.events) == 2  # kept: the write was not known to have gone through
    await sink.flush()
    assert not sink.events
    assert await _rejections(pool) == ["A", "B"]
    # the next run of the gateway (a new epoch) numbers from 1 again: not a duplicate
    sink.origin = "spool-1:8"
    sink.publish("scan.rejected", {"scanner": "s1", "code": "C", "reason": "r"})
    await sink.flush()
    assert await _rejections(pool) == ["A", "B", "C"]


async def test_events_without_an_origin_are_each_written(service: StockService, pool: Pool) -> None:
    event = ("scan.rejected", {"scanner": "s1", "code": "A", "reason": "r"})
    await service.append_events([event, event])
    assert await _rejections(pool) == ["A", "A"]
