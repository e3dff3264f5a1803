"""The replay window: what committed lately, oldest first, for as long as it lasts."""

from __future__ import annotations

import pytest

from scanner_gateway.window import RecentWindow
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import Sku


def scan(key: str) -> Envelope:
    return Envelope(
        IdempotencyKey(key), Receive(ProductRef(sku=Sku("S")), LocationCode("DOCK-1"), 1)
    )


def test_committed_scans_come_back_oldest_first_and_stay() -> None:
    window = RecentWindow(60)
    window.receive_committed([scan("a"), scan("b")], now=100.0)
    window.receive_committed([scan("c")], now=101.0)
    assert [e.key for e in window.envelopes(now=102.0)] == ["a", "b", "c"]
    assert [e.key for e in window.envelopes(now=102.0)] == ["a", "b", "c"]
    assert len(window) == 3


def test_scans_older_than_the_window_are_forgotten() -> None:
    window = RecentWindow(10)
    window.receive_committed([scan("old")], now=100.0)
    window.receive_committed([scan("new")], now=105.0)
    assert [e.key for e in window.envelopes(now=110.0)] == ["old", "new"]
    assert [e.key for e in window.envelopes(now=110.5)] == ["new"]
    window.receive_committed([], now=200.0)
    assert len(window) == 0


def test_a_scan_committed_twice_is_posted_once() -> None:
    window = RecentWindow(60)
    window.receive_committed([scan("a")], now=1.0)
    window.receive_committed([scan("a"), scan("b")], now=2.0)
    assert [e.key for e in window.envelopes(now=3.0)] == ["a", "b"]


def test_a_zero_window_keeps_nothing() -> None:
    window = RecentWindow(0)
    window.receive_committed([scan("a")], now=1.0)
    assert window.envelopes(now=1.0) == []


def test_a_negative_window_is_misuse() -> None:
    with pytest.raises(ValueError, match="negative"):
        RecentWindow(-1)
