"""Movement commands: the rules knowable without I/O, and request fingerprints (pure)."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stock_core.domain.movement import MAX_QUANTITY
from stock_core.domain.movement import Adjust
from stock_core.domain.movement import Command
from stock_core.domain.movement import Count
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Line
from stock_core.domain.movement import Move
from stock_core.domain.movement import MovementKind
from stock_core.domain.movement import MovementOutcome
from stock_core.domain.movement import MovementRecord
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.movement import ReceiveTransfer
from stock_core.domain.movement import Return
from stock_core.domain.movement import Scrap
from stock_core.domain.movement import ShipTransfer
from stock_core.domain.movement import Undo
from stock_core.domain.movement import request_fingerprint
from stock_core.domain.movement import validate_command
from stock_core.errors import InvalidMovementError
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import MovementId
from stock_core.types import ReasonCode
from stock_core.types import ScannerId
from stock_core.types import Sku
from stock_core.types import TransferNumber
from stock_core.types import WarehouseCode

ITEM = ProductRef(sku=Sku("WIDGET"))
CASE = ProductRef(barcode="15012345678907")
A = LocationCode("A-01")
B = LocationCode("B-01")


def envelope(command: Command, key: str = "k1") -> Envelope:
    return Envelope(key=IdempotencyKey(key), command=command)


def test_movement_kinds_are_the_spec_strings() -> None:
    assert [k.value for k in MovementKind] == [
        "receive",
        "pick",
        "adjust",
        "count",
        "move_out",
        "move_in",
        "undo",
        "return",
        "scrap",
        "transfer_out",
        "transfer_in",
    ]
    assert MovementKind("move_in") is MovementKind.MOVE_IN


@pytest.mark.parametrize(("sku", "barcode"), [(None, None), (Sku("WIDGET"), "05012345678900")])
def test_product_ref_names_exactly_one_of_sku_or_barcode(
    sku: Sku | None, barcode: str | None
) -> None:
    with pytest.raises(InvalidMovementError, match="exactly one"):
        ProductRef(sku=sku, barcode=barcode)


@pytest.mark.parametrize(("ref", "text"), [(ITEM, "WIDGET"), (CASE, "barcode 15012345678907")])
def test_product_ref_reads_as_what_it_names(ref: ProductRef, text: str) -> None:
    assert str(ref) == text


@pytest.mark.parametrize(
    "command",
    [
        Receive(ITEM, A, 1),
        Receive(CASE, A, MAX_QUANTITY, lot="L" * 20, expiry=date(2030, 1, 1), note="n"),
        Pick(ITEM, A, 7, lot="LOT-1"),
        Adjust(ITEM, A, -MAX_QUANTITY),
        Adjust(ITEM, A, MAX_QUANTITY, lot="L1"),
        Count(A, (Line(ITEM, 0), Line(CASE, 3, lot="L1"), Line(ITEM, MAX_QUANTITY))),
        Count(A, (Line(ITEM, 0, lot="L2"),)),
        Move(A, B, (Line(ITEM, 1), Line(CASE, 2, lot="L1"))),
        Undo(scanner=ScannerId("s1")),
        Undo(movement_id=MovementId(3)),
        Return(ITEM, A, 2, ReasonCode("damaged"), lot="L1", expiry=date(2030, 1, 1)),
        Scrap(CASE, A, MAX_QUANTITY, ReasonCode("wrong_item_2")),
        ShipTransfer(TransferNumber("T-1"), A, (), WarehouseCode("EAST")),  # opened empty
        ShipTransfer(TransferNumber("T-1"), A, (Line(ITEM, 3, lot="L1"),)),
        ReceiveTransfer(TransferNumber("T-1"), B, (Line(ITEM, 3),)),
    ],
)
def test_valid_commands_pass(command: Command) -> None:
    validate_command(command)


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (Receive(ITEM, A, 0), "quantity must be between 1 and 100000, not 0"),
        (Receive(ITEM, A, MAX_QUANTITY + 1), "between 1 and 100000, not 100001"),
        (Pick(ITEM, A, -3), "between 1 and 100000, not -3"),
        (Receive(ITEM, A, True), "quantity must be a whole number"),
        (Pick(ITEM, A, 2.0), "quantity must be a whole number"),  # type: ignore[arg-type]
        (Receive(ITEM, A, 1, lot=""), "a lot is 1 to 20 printable characters"),
        (Pick(ITEM, A, 1, lot="L" * 21), "a lot is 1 to 20 printable characters"),
        (Receive(ITEM, A, 1, lot="L\x1d1"), "a lot is 1 to 20 printable characters"),
        (Adjust(ITEM, A, 0), "an adjustment is non-zero and at most 100000 either way"),
        (Adjust(ITEM, A, MAX_QUANTITY + 1), "non-zero and at most 100000"),
        (Adjust(ITEM, A, -MAX_QUANTITY - 1), "non-zero and at most 100000"),
        (Adjust(ITEM, A, True), "delta must be a whole number"),
        (Adjust(ITEM, A, "3"), "delta must be a whole number"),  # type: ignore[arg-type]
        (Adjust(ITEM, A, 2, lot="L" * 21), "a lot is 1 to 20"),
        (Count(A, ()), "nothing to post: no lines"),
        (Count(A, (Line(ITEM, 2), Line(CASE, -1))), "a count cannot be negative"),
        (Count(A, (Line(ITEM, MAX_QUANTITY + 1),)), "between 1 and 100000, not 100001"),
        (Count(A, (Line(ITEM, False),)), "quantity must be a whole number"),
        (Count(A, (Line(ITEM, 0, lot="L" * 21),)), "a lot is 1 to 20"),  # even when zero
        (Count(A, (Line(ITEM, 4, lot=""),)), "a lot is 1 to 20"),
        (Move(A, A, (Line(ITEM, 1),)), "a move needs two different locations"),
        (Move(A, B, ()), "nothing to post: no lines"),
        (Move(A, B, (Line(ITEM, 0),)), "between 1 and 100000, not 0"),
        (Move(A, B, (Line(ITEM, 1, lot="L" * 21),)), "a lot is 1 to 20"),
        (Undo(), "undo names a scanner or a movement id (exactly one)"),
        (Undo(scanner=ScannerId("s1"), movement_id=MovementId(1)), "exactly one"),
        (Return(ITEM, A, 0, ReasonCode("damaged")), "between 1 and 100000, not 0"),
        (Scrap(ITEM, A, 1, ReasonCode("")), "a reason is a code of 1 to 32"),
        (Scrap(ITEM, A, 1, ReasonCode("Damaged")), "lower-case"),
        (Return(ITEM, A, 1, ReasonCode("x" * 33)), "a reason is a code"),
        (Return(ITEM, A, 1, ReasonCode("damaged"), lot=""), "a lot is 1 to 20"),
        (ShipTransfer(TransferNumber("T-1"), A, ()), "nothing to post: no lines"),
        (ShipTransfer(TransferNumber("T-1"), A, (Line(ITEM, 0),)), "between 1 and 100000"),
        (ReceiveTransfer(TransferNumber("T-1"), B, ()), "nothing to post: no lines"),
    ],
)
def test_invalid_commands_are_refused_with_a_reason(command: Command, reason: str) -> None:
    with pytest.raises(InvalidMovementError) as info:
        validate_command(command)
    assert reason in info.value.reason
    assert info.value.http_status == 422


def test_fingerprint_is_stable_and_ignores_who_asked_and_the_key() -> None:
    command = Receive(ITEM, A, 3, lot="L1", expiry=date(2030, 5, 1))
    first = request_fingerprint(envelope(command))
    again = request_fingerprint(
        Envelope(IdempotencyKey("other"), command, actor="bob", scanner=ScannerId("s9"))
    )
    assert first == again
    assert len(first) == 64
    assert int(first, 16) >= 0


@pytest.mark.parametrize(
    ("command", "stored"),
    [
        (
            Receive(ITEM, A, 3, lot="L1", expiry=date(2030, 5, 1)),
            "61486768cbd3f8e0ec2c37c61462adef511b974d8a4ee58fb2c6ef8e343c448f",
        ),
        (
            Move(A, B, (Line(ITEM, 2, expiry=date(2031, 1, 1)),)),
            "be7b21cc3393c3360e60c30d19cc899f6e8486b5beeafaa404c47451325c5950",
        ),
    ],
)
def test_fingerprint_text_never_changes(command: Command, stored: str) -> None:
    """Fingerprints are stored with their keys: a new way of computing one must give the
    same text, or a replay after an upgrade would be refused as a reused key (these are
    the values the first, ``dataclasses.asdict``-based version gave)."""
    assert request_fingerprint(envelope(command)) == stored


@pytest.mark.parametrize(
    "other",
    [
        Receive(ITEM, A, 4, lot="L1", expiry=date(2030, 5, 1)),
        Receive(ITEM, A, 3, lot="L1", expiry=date(2030, 5, 2)),
        Receive(ITEM, B, 3, lot="L1", expiry=date(2030, 5, 1)),
        Pick(ITEM, A, 3, lot="L1"),
        Receive(ProductRef(barcode="WIDGET"), A, 3, lot="L1", expiry=date(2030, 5, 1)),
    ],
)
def test_fingerprint_tells_different_requests_apart(other: Command) -> None:
    command = Receive(ITEM, A, 3, lot="L1", expiry=date(2030, 5, 1))
    assert request_fingerprint(envelope(command)) != request_fingerprint(envelope(other))


def test_fingerprint_of_nested_lines_and_datetimes() -> None:
    count = Count(A, (Line(ITEM, 2, expiry=date(2031, 1, 1)),))
    move = Move(A, B, (Line(ITEM, 2, expiry=date(2031, 1, 1)),))
    assert request_fingerprint(envelope(count)) != request_fingerprint(envelope(move))
    odd = Receive(ITEM, A, 1, expiry=datetime(2030, 1, 1, tzinfo=UTC))
    assert request_fingerprint(envelope(odd)) != request_fingerprint(
        envelope(Receive(ITEM, A, 1, expiry=date(2030, 1, 1)))
    )


def test_fingerprint_refuses_values_json_cannot_hold() -> None:
    with pytest.raises(TypeError, match="object"):
        request_fingerprint(envelope(Receive(ITEM, A, 1, note=object())))  # type: ignore[arg-type]


@given(
    st.integers(min_value=1, max_value=MAX_QUANTITY),
    st.text(alphabet="ABC123-", min_size=1, max_size=20) | st.none(),
)
def test_every_in_range_receive_is_valid(quantity: int, lot: str | None) -> None:
    validate_command(Receive(ITEM, A, quantity, lot=lot))


@given(st.integers().filter(lambda n: not 1 <= n <= MAX_QUANTITY))
def test_every_out_of_range_pick_is_refused(quantity: int) -> None:
    with pytest.raises(InvalidMovementError):
        validate_command(Pick(ITEM, A, quantity))


def test_outcome_and_record_shapes() -> None:
    record = MovementRecord(
        id=MovementId(1),
        ts=datetime(2030, 1, 1, tzinfo=UTC),
        kind=MovementKind.RECEIVE,
        sku=Sku("WIDGET"),
        location=A,
        lot="",
        delta=5,
        on_hand_after=5,
        scanner=None,
        scan_seq=None,
        actor="system",
    )
    outcome = MovementOutcome(IdempotencyKey("k"), (record,))
    assert (outcome.replayed, outcome.extra, record.note, record.reverses) == (
        False,
        {},
        None,
        None,
    )
    assert MovementOutcome(IdempotencyKey("k"), ()).extra is not outcome.extra
    default = Envelope(IdempotencyKey("k"), Undo(scanner=ScannerId("s1")))
    assert (default.actor, default.scanner, default.scan_seq) == ("system", None, None)


@pytest.mark.parametrize("not_a_command", [object(), Line(ITEM, 1), None])
def test_validating_something_that_is_not_a_command_is_a_caller_bug(
    not_a_command: object,
) -> None:
    with pytest.raises(AssertionError):
        validate_command(not_a_command)  # type: ignore[arg-type]
