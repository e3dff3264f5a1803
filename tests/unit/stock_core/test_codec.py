"""Envelopes to JSON-able dicts and back (the gateway spool's record body)."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stock_core.domain.codec import envelope_from_dict
from stock_core.domain.codec import envelope_to_dict
from stock_core.domain.movement import Adjust
from stock_core.domain.movement import Command
from stock_core.domain.movement import Count
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Line
from stock_core.domain.movement import Move
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.movement import ReceiveTransfer
from stock_core.domain.movement import Return
from stock_core.domain.movement import Scrap
from stock_core.domain.movement import ShipTransfer
from stock_core.domain.movement import Undo
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import MovementId
from stock_core.types import OperatorCode
from stock_core.types import OrderNumber
from stock_core.types import PurchaseOrderNumber
from stock_core.types import ReasonCode
from stock_core.types import ScannerId
from stock_core.types import Sku
from stock_core.types import TransferNumber
from stock_core.types import WarehouseCode

ITEM = ProductRef(sku=Sku("WIDGET"))
CASE = ProductRef(barcode="15012345678907")
A = LocationCode("A-01")
B = LocationCode("B-01")


@pytest.mark.parametrize(
    "command",
    [
        Receive(ITEM, A, 3),
        Receive(
            CASE,
            A,
            2,
            lot="L1",
            expiry=date(2030, 1, 31),
            note="dock",
            purchase_order=PurchaseOrderNumber("PO-1"),
        ),
        Pick(CASE, A, 1, lot="L1", order=OrderNumber("SO-9")),
        Adjust(ITEM, A, -4, note="damaged"),
        Count(A, (Line(ITEM, 0), Line(CASE, 2, lot="L1", expiry=date(2031, 2, 1)))),
        Move(A, B, (Line(ITEM, 5),), note="restock"),
        Undo(scanner=ScannerId("dock-1")),
        Undo(movement_id=MovementId(42)),
        Return(CASE, A, 2, ReasonCode("damaged"), lot="L1", expiry=date(2030, 1, 31), note="rma"),
        Scrap(ITEM, A, 1, ReasonCode("lost")),
        ShipTransfer(
            TransferNumber("T-1"), A, (Line(ITEM, 2, lot="L1"),), WarehouseCode("EAST"), "n"
        ),
        ShipTransfer(TransferNumber("T-1"), A, (Line(CASE, 1),)),
        ReceiveTransfer(TransferNumber("T-1"), B, (Line(ITEM, 2),), note="dock"),
    ],
)
def test_every_command_survives_a_json_round_trip(command: Command) -> None:
    envelope = Envelope(
        IdempotencyKey("dock-1:17"),
        command,
        actor="worker",
        scanner=ScannerId("dock-1"),
        scan_seq=17,
        operator=OperatorCode("ann"),
    )
    data = json.loads(json.dumps(envelope_to_dict(envelope)))
    assert data["type"] == type(command).__name__
    assert envelope_from_dict(data) == envelope


def test_defaults_are_restored_when_absent() -> None:
    data = envelope_to_dict(Envelope(IdempotencyKey("k"), Receive(ITEM, A, 1)))
    assert (data["actor"], data["scanner"], data["scan_seq"]) == ("system", None, None)
    assert "operator" not in data  # a spool written before operators reads the same
    del data["actor"], data["scanner"], data["scan_seq"]
    assert envelope_from_dict(data) == Envelope(IdempotencyKey("k"), Receive(ITEM, A, 1))


def _good() -> dict[str, Any]:
    return envelope_to_dict(
        Envelope(IdempotencyKey("k"), Count(A, (Line(ITEM, 1, expiry=date(2030, 1, 1)),)))
    )


def _with(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    data = _good()
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({}, "not an envelope: 'type'"),
        ({**_good(), "type": "Explode"}, "not an envelope: 'Explode'"),
        ({k: v for k, v in _good().items() if k != "key"}, "not an envelope: 'key'"),
        (_with(("command", "colour"), "red"), "not an envelope"),
        (_with(("command", "lines"), [{"quantity": 1}]), "not an envelope: 'product'"),
        (_with(("command", "lines"), ["nope"]), "not an envelope"),
        (_with(("command", "lines", 0, "product"), "WIDGET"), "product must be an object"),
        (_with(("command", "lines", 0, "product"), {}), "exactly one"),
        (_with(("command", "lines", 0, "expiry"), "31/01/2030"), "Invalid isoformat"),
        (_with(("command",), None), "not an envelope"),
    ],
)
def test_anything_that_is_not_an_envelope_is_a_value_error(
    data: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        envelope_from_dict(data)


def test_a_bad_expiry_on_a_receive_is_a_value_error() -> None:
    data = envelope_to_dict(Envelope(IdempotencyKey("k"), Receive(ITEM, A, 1)))
    data["command"]["expiry"] = "tomorrow"
    with pytest.raises(ValueError, match="Invalid isoformat"):
        envelope_from_dict(data)


_refs = st.builds(ProductRef, sku=st.text(min_size=1).map(Sku)) | st.builds(
    ProductRef, barcode=st.text(min_size=1)
)
_lines = st.builds(
    Line,
    _refs,
    st.integers(0, 100_000),
    st.none() | st.text(min_size=1, max_size=20),
    st.none() | st.dates(),
)
_commands = st.one_of(
    st.builds(
        Receive,
        _refs,
        st.text().map(LocationCode),
        st.integers(1, 100_000),
        st.none() | st.text(min_size=1),
        st.none() | st.dates(),
    ),
    st.builds(Count, st.text().map(LocationCode), st.lists(_lines, max_size=3).map(tuple)),
    st.builds(
        Move,
        st.text().map(LocationCode),
        st.text().map(LocationCode),
        st.lists(_lines, max_size=3).map(tuple),
    ),
)


@given(_commands, st.none() | st.text(min_size=1).map(ScannerId), st.none() | st.integers(0))
def test_round_trip_is_exact_for_any_envelope(
    command: Command, scanner: ScannerId | None, seq: int | None
) -> None:
    envelope = Envelope(IdempotencyKey("k"), command, scanner=scanner, scan_seq=seq)
    assert envelope_from_dict(json.loads(json.dumps(envelope_to_dict(envelope)))) == envelope
