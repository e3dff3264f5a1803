"""Webhook rules: patterns, Standard Webhooks signatures, bodies, coalescing, retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from stock_core.domain.webhook import EVENT_TYPES
from stock_core.domain.webhook import GIVE_UP_AFTER
from stock_core.domain.webhook import MAX_PATTERNS
from stock_core.domain.webhook import Subscriber
from stock_core.domain.webhook import coalesce_key
from stock_core.domain.webhook import matches
from stock_core.domain.webhook import message_body
from stock_core.domain.webhook import new_secret
from stock_core.domain.webhook import next_attempt_delay
from stock_core.domain.webhook import parse_patterns
from stock_core.domain.webhook import plan_deliveries
from stock_core.domain.webhook import secret_key
from stock_core.domain.webhook import sign
from stock_core.domain.webhook import signature_headers


def test_patterns_are_types_families_or_star_each_once() -> None:
    assert parse_patterns(["alert.*", "backorder.created", "alert.*", "*"]) == (
        "alert.*",
        "backorder.created",
        "*",
    )


@pytest.mark.parametrize("bad", ["alert", "nope.*", "backorder.shipped", "", "**"])
def test_unknown_patterns_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        parse_patterns([bad])


def test_pattern_lists_are_not_empty_and_every_known_pattern_fits() -> None:
    with pytest.raises(ValueError, match="at least one"):
        parse_patterns([])
    families = {f"{t.split('.')[0]}.*" for t in EVENT_TYPES}
    assert len(parse_patterns(["*", *EVENT_TYPES, *families])) <= MAX_PATTERNS


def test_star_matches_all_but_stock_changed_which_is_opt_in() -> None:
    assert matches(["*"], "backorder.filled")
    assert not matches(["*"], "stock.changed")
    assert matches(["stock.changed"], "stock.changed")
    assert matches(["stock.*"], "stock.changed")
    assert matches(["alert.*"], "alert.raised")
    assert not matches(["alert.*"], "order.shipped")
    assert not matches(["order.created"], "order.shipped")


def test_signature_is_the_one_standardwebhooks_verifies() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(secret_key(secret)) == 32
    body = b'{"type":"order.shipped","timestamp":"2031-01-01T00:00:00+00:00","data":{}}'
    now = int(time.time())
    headers = signature_headers(secret, "msg_7", now, body)
    assert headers["webhook-id"] == "msg_7"
    assert headers["webhook-signature"] == sign(secret, "msg_7", now, body)
    assert Webhook(secret).verify(body, headers) == json.loads(body)


def test_a_known_signature() -> None:
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    assert sign(secret, "msg_1", 1700000000, b"{}") == (
        "v1," + base64.b64encode(_hmac(key, b"msg_1.1700000000.{}")).decode()
    )


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("abc", "starts with whsec_"),
        ("whsec_!!!", "base64"),
        ("whsec_" + base64.b64encode(b"short").decode(), "24 to 64 bytes"),
    ],
)
def test_bad_secrets_are_refused(secret: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        secret_key(secret)


def test_body_wraps_the_feed_event_with_its_seq() -> None:
    event = {"seq": 9, "type": "order.shipped", "ts": "2031-01-01T00:00:00+00:00", "order": "A"}
    assert json.loads(message_body(event)) == {
        "type": "order.shipped",
        "timestamp": "2031-01-01T00:00:00+00:00",
        "data": event,
    }


def _event(seq: int, type_: str, sku: str = "W") -> dict[str, object]:
    return {"seq": seq, "type": type_, "ts": "2031-01-01T00:00:00+00:00", "sku": sku}


def test_plan_gives_each_subscriber_its_unseen_matching_events_coalescing_stock() -> None:
    events = [
        _event(1, "stock.changed"),
        _event(2, "backorder.created"),
        _event(3, "stock.changed"),
        _event(4, "stock.changed", "X"),
        _event(5, "alert.raised"),
    ]
    subs = [Subscriber(1, ("*",), 2), Subscriber(2, ("stock.changed", "alert.*"), 0)]
    planned = [(p.webhook_id, p.msg_id, p.coalesce_key) for p in plan_deliveries(events, subs)]
    assert planned == [
        (1, "msg_5", None),
        (2, "msg_3", "stock.changed:W"),
        (2, "msg_4", "stock.changed:X"),
        (2, "msg_5", None),
    ]
    assert coalesce_key(_event(1, "alert.raised")) is None


def test_retries_are_at_most_a_minute_apart_in_the_first_hour_then_sparser_for_a_day() -> None:
    first_hour = [next_attempt_delay(n, timedelta(minutes=n)) for n in range(1, 60)]
    assert [d.total_seconds() for d in first_hour[:7] if d] == [1, 2, 5, 10, 20, 30, 60]
    assert all(d is not None and d <= timedelta(minutes=1) for d in first_hour)
    assert next_attempt_delay(70, timedelta(hours=1)) == timedelta(minutes=5)
    assert next_attempt_delay(80, timedelta(hours=1, minutes=20)) == timedelta(minutes=20)
    assert next_attempt_delay(90, timedelta(hours=5)) == timedelta(hours=1)
    assert next_attempt_delay(99, GIVE_UP_AFTER - timedelta(minutes=3)) == timedelta(minutes=3)
    assert next_attempt_delay(99, GIVE_UP_AFTER) is None
    with pytest.raises(ValueError, match="failed attempt"):
        next_attempt_delay(0, timedelta(0))
