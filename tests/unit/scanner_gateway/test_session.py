"""ScannerSession: feed decoded scans and outcomes, assert intents, feedback and state."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from scanner_gateway.decoded import Command
from scanner_gateway.decoded import CommandScan
from scanner_gateway.decoded import Decoded
from scanner_gateway.decoded import LocationScan
from scanner_gateway.decoded import OperatorScan
from scanner_gateway.decoded import OrderScan
from scanner_gateway.decoded import ProductScan
from scanner_gateway.decoded import PurchaseOrderScan
from scanner_gateway.decoded import QuantityScan
from scanner_gateway.decoded import ReasonScan
from scanner_gateway.decoded import RejectReason
from scanner_gateway.decoded import ScanRejected
from scanner_gateway.decoded import SerialScan
from scanner_gateway.decoded import Symbology
from scanner_gateway.decoded import TransferScan
from scanner_gateway.intent import Acknowledge
from scanner_gateway.intent import Feedback
from scanner_gateway.intent import Intent
from scanner_gateway.intent import PostCommand
from scanner_gateway.intent import Reject
from scanner_gateway.intent import SetLocation
from scanner_gateway.intent import SignIn
from scanner_gateway.session import Mode
from scanner_gateway.session import ScannerSession
from scanner_gateway.session import SessionStateError
from stock_core.domain.movement import MAX_QUANTITY
from stock_core.domain.movement import Count
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
from stock_core.domain.movement import validate_command
from stock_core.types import Gtin
from stock_core.types import LocationCode
from stock_core.types import OperatorCode
from stock_core.types import OrderNumber
from stock_core.types import PurchaseOrderNumber
from stock_core.types import ReasonCode
from stock_core.types import ScannerId
from stock_core.types import Sku
from stock_core.types import TransferNumber

SCANNER = ScannerId("dock-1")
A = LocationCode("A-01")
B = LocationCode("B-02")
GTIN = Gtin("05012345678900")
OTHER_GTIN = Gtin("00012345600012")
ITEM = ProductRef(barcode=GTIN)
OTHER_ITEM = ProductRef(barcode=OTHER_GTIN)
ORDER = OrderNumber("SO-1")
PO = PurchaseOrderNumber("PO-9")
EXPIRY = date(2030, 1, 31)


def product(
    gtin: str | None = GTIN,
    *,
    sku: str | None = None,
    alias: str | None = None,
    lot: str | None = None,
    expiry: date | None = None,
    count: int | None = None,
) -> ProductScan:
    return ProductScan(
        Symbology.GS1_128,
        gtin=None if gtin is None else Gtin(gtin),
        alias=alias,
        sku=None if sku is None else Sku(sku),
        lot=lot,
        expiry=expiry,
        count=count,
    )


def loc(code: str) -> LocationScan:
    return LocationScan(code=LocationCode(code))


def cmd(command: Command) -> CommandScan:
    return CommandScan(command)


def session(
    mode: Mode = Mode.RECEIVE, location: LocationCode | None = A, delay: float = 0.0
) -> ScannerSession:
    return ScannerSession(SCANNER, mode=mode, location=location, same_code_delay=delay)


def ack(s: ScannerSession, decoded: Decoded, now: float = 0.0) -> Acknowledge:
    intent = s.receive_scan(decoded, now)
    assert isinstance(intent, Acknowledge), intent
    return intent


def reject(s: ScannerSession, decoded: Decoded, now: float = 0.0) -> str:
    intent = s.receive_scan(decoded, now)
    assert isinstance(intent, Reject), intent
    return intent.reason


def post(s: ScannerSession, decoded: Decoded, now: float = 0.0) -> object:
    intent = s.receive_scan(decoded, now)
    assert isinstance(intent, PostCommand), intent
    return intent.command


def set_location(s: ScannerSession, code: str, *, accepted: bool = True) -> Feedback:
    assert s.receive_scan(loc(code), 0.0) == SetLocation(LocationCode(code))
    return s.receive_outcome(accepted)


def counting(*scans: ProductScan, location: LocationCode = A) -> ScannerSession:
    s = session(Mode.COUNT, location)
    for scan in scans:
        ack(s, scan)
    return s


def moving(*scans: ProductScan, source: LocationCode = A) -> ScannerSession:
    s = session(Mode.MOVE, source)
    for scan in scans:
        ack(s, scan)
    return s


# -- construction and read-only state ------------------------------------------------


def test_new_session_starts_in_its_configured_mode_and_location() -> None:
    s = ScannerSession(SCANNER, Mode.PICK, A)
    assert (s.scanner, s.mode, s.location) == (SCANNER, Mode.PICK, A)
    assert (s.order, s.purchase_order, s.quantity, s.pending, s.awaiting) == (
        None,
        None,
        None,
        (),
        None,
    )


def test_new_session_defaults_to_receive_with_no_location() -> None:
    s = ScannerSession(SCANNER)
    assert (s.mode, s.location) == (Mode.RECEIVE, None)


@pytest.mark.parametrize("delay", [-1.0, float("nan")])
def test_negative_or_nan_same_code_delay_is_refused(delay: float) -> None:
    with pytest.raises(ValueError, match="same_code_delay"):
        ScannerSession(SCANNER, same_code_delay=delay)


def test_mode_values_are_the_config_spellings() -> None:
    assert [m.value for m in Mode] == ["receive", "pick", "count", "move", "return", "scrap"]
    assert Mode("pick") is Mode.PICK


def test_snapshot_shows_the_session_for_the_display() -> None:
    s = counting(product(lot="L1", expiry=EXPIRY), product(sku="SKU-7"))
    ack(s, QuantityScan(3))
    assert s.snapshot() == {
        "scanner": "dock-1",
        "mode": "count",
        "location": "A-01",
        "order": None,
        "purchase_order": None,
        "quantity": 3,
        "operator": None,
        "reason": None,
        "pending": [
            {
                "product": f"barcode {GTIN}",
                "sku": None,
                "barcode": GTIN,
                "quantity": 1,
                "lot": "L1",
                "expiry": "2030-01-31",
                "serials": [],
            },
            {
                "product": "SKU-7",
                "sku": "SKU-7",
                "barcode": None,
                "quantity": 1,
                "lot": None,
                "expiry": None,
                "serials": [],
            },
        ],
        "awaiting_outcome": False,
        "last_rejection": None,
        "serial_wait": None,
        "transfer": None,
    }


def test_a_restored_session_is_the_session_its_snapshot_described() -> None:
    s = counting(product(lot="L1", expiry=EXPIRY), product(sku="SKU-7"), product(sku="SKU-7"))
    ack(s, QuantityScan(3))
    reject(s, cmd(Command.PICK))
    back = ScannerSession.restored(SCANNER, s.snapshot())
    assert back.snapshot() == s.snapshot()
    assert back.pending == s.pending
    # and it goes on as the original would: the count posts what both held
    assert post(back, cmd(Command.DONE)) == post(s, cmd(Command.DONE))


def test_a_restored_session_keeps_order_and_purchase_order() -> None:
    s = session(Mode.PICK)
    ack(s, OrderScan(ORDER))
    back = ScannerSession.restored(SCANNER, s.snapshot())
    assert (back.mode, back.order, back.location) == (Mode.PICK, ORDER, A)
    r = session()
    ack(r, PurchaseOrderScan(PO))
    assert ScannerSession.restored(SCANNER, r.snapshot()).purchase_order == PO


def test_a_restored_session_forgets_the_scan_awaiting_its_outcome() -> None:
    s = session(location=None)
    s.receive_scan(loc("B-02"), 0.0)
    back = ScannerSession.restored(SCANNER, s.snapshot(), same_code_delay=1.0)
    assert back.awaiting is None
    assert back.location is None
    assert back.receive_scan(loc("B-02"), 0.0) == SetLocation(B)


@pytest.mark.parametrize(
    "change",
    [
        {"mode": "dance"},
        {"mode": None},
        {"location": 7},
        {"quantity": 0},
        {"quantity": "3"},
        {"pending": "lines"},
        {"pending": ["line"]},
        {"pending": [{"sku": "S", "barcode": None, "quantity": 0}]},
        {"pending": [{"sku": "S", "barcode": "B", "quantity": 1}]},
        {"pending": [{"sku": None, "barcode": None, "quantity": 1}]},
        {"pending": [{"sku": 5, "barcode": None, "quantity": 1}]},
        {"pending": [{"sku": "S", "quantity": 1, "lot": 3}]},
        {"pending": [{"sku": "S", "quantity": 1, "expiry": "soon"}]},
        {"pending": [{"sku": "S"}]},
    ],
)
def test_restoring_what_is_not_a_snapshot_is_a_value_error(change: dict[str, object]) -> None:
    snapshot = {**session().snapshot(), **change}
    with pytest.raises(ValueError, match="not a session snapshot"):
        ScannerSession.restored(SCANNER, snapshot)


def test_restoring_needs_a_mode() -> None:
    with pytest.raises(ValueError, match="not a session snapshot"):
        ScannerSession.restored(SCANNER, {})


def test_snapshot_shows_an_outstanding_scan_and_the_last_rejection() -> None:
    s = session(location=None)
    reject(s, product())
    s.receive_scan(loc("B-02"), 0.0)
    snap = s.snapshot()
    assert snap["awaiting_outcome"] is True
    assert snap["last_rejection"] == "scan a location first"


# -- misuse ----------------------------------------------------------------------------


def test_scan_before_the_outcome_of_a_post_is_misuse() -> None:
    s = session()
    post(s, product())
    with pytest.raises(SessionStateError, match="before the outcome"):
        s.receive_scan(product(), 1.0)


def test_scan_before_the_outcome_of_a_location_check_is_misuse() -> None:
    s = session()
    s.receive_scan(loc("B-02"), 0.0)
    assert s.awaiting == SetLocation(B)
    with pytest.raises(SessionStateError):
        s.receive_scan(cmd(Command.CANCEL), 1.0)


def test_outcome_with_nothing_outstanding_is_misuse() -> None:
    with pytest.raises(SessionStateError, match="no scan waiting"):
        session().receive_outcome(True)


def test_outcome_after_an_acknowledge_is_misuse() -> None:
    s = session()
    ack(s, QuantityScan(2))
    with pytest.raises(SessionStateError):
        s.receive_outcome(True)


def test_second_outcome_for_one_scan_is_misuse() -> None:
    s = session()
    post(s, product())
    assert s.receive_outcome(True) is Feedback.ACK
    with pytest.raises(SessionStateError):
        s.receive_outcome(True)


def test_session_state_error_is_a_runtime_error() -> None:
    assert issubclass(SessionStateError, RuntimeError)


# -- decoder rejections and quantities ---------------------------------------------------


def test_decoder_rejection_is_passed_on_with_its_reason() -> None:
    s = session()
    assert reject(s, ScanRejected(RejectReason.BAD_CHECK_DIGIT, "5012345678901")) == (
        "bad check digit: 5012345678901"
    )
    assert s.snapshot()["last_rejection"] == "bad check digit: 5012345678901"


def test_quantity_scan_sets_a_one_shot_quantity() -> None:
    s = session()
    assert ack(s, QuantityScan(12)).detail == "next scan counts 12"
    assert s.quantity == 12


@pytest.mark.parametrize("quantity", [0, -1, MAX_QUANTITY + 1])
def test_quantity_scan_out_of_range_is_rejected(quantity: int) -> None:
    s = session()
    assert reject(s, QuantityScan(quantity)) == RejectReason.BAD_QUANTITY.value
    assert s.quantity is None


def test_one_shot_quantity_applies_to_the_next_product_scan_only() -> None:
    s = session()
    ack(s, QuantityScan(5))
    assert post(s, product()) == Receive(ITEM, A, 5)
    assert s.quantity is None
    s.receive_outcome(True)
    assert post(s, product()) == Receive(ITEM, A, 1)


def test_one_shot_quantity_multiplies_the_gs1_count() -> None:
    s = session()
    ack(s, QuantityScan(4))
    assert post(s, product(count=6)) == Receive(ITEM, A, 24)


def test_one_shot_quantity_is_used_up_by_a_rejected_product_scan() -> None:
    s = session(location=None)
    ack(s, QuantityScan(5))
    reject(s, product())
    assert s.quantity is None


def test_one_shot_quantity_is_used_up_by_a_product_the_store_refuses() -> None:
    s = session(Mode.PICK)
    ack(s, QuantityScan(5))
    post(s, product())
    assert s.receive_outcome(False, "only 2 on hand") is Feedback.NAK
    assert s.quantity is None


def test_one_shot_quantity_is_used_up_by_a_product_scan_without_a_code() -> None:
    s = session()
    ack(s, QuantityScan(5))
    assert reject(s, product(None)) == RejectReason.UNRECOGNISED.value
    assert s.quantity is None


def test_later_quantity_scan_replaces_the_earlier_one() -> None:
    s = session()
    ack(s, QuantityScan(5))
    ack(s, QuantityScan(7))
    assert post(s, product()) == Receive(ITEM, A, 7)


@pytest.mark.parametrize(
    ("quantity", "count"), [(MAX_QUANTITY, 2), (1, MAX_QUANTITY + 1), (1, 0), (10, 20_000)]
)
def test_product_scan_quantity_out_of_range_is_rejected(quantity: int, count: int) -> None:
    s = session()
    ack(s, QuantityScan(quantity))
    assert reject(s, product(count=count)).startswith("quantity must be 1 to 100000")
    assert s.awaiting is None


def test_product_scan_of_exactly_the_maximum_is_posted() -> None:
    s = session()
    ack(s, QuantityScan(MAX_QUANTITY))
    assert post(s, product()) == Receive(ITEM, A, MAX_QUANTITY)


# -- modes, orders and purchase orders ------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "mode"),
    [
        (Command.RECEIVE, Mode.RECEIVE),
        (Command.PICK, Mode.PICK),
        (Command.COUNT, Mode.COUNT),
        (Command.MOVE, Mode.MOVE),
    ],
)
def test_mode_command_switches_mode(command: Command, mode: Mode) -> None:
    s = session(Mode.PICK if mode is Mode.RECEIVE else Mode.RECEIVE)
    assert ack(s, cmd(command)).detail == f"mode {mode.value}"
    assert (s.mode, s.location) == (mode, A)


def test_switching_mode_drops_the_one_shot_quantity() -> None:
    s = session()
    ack(s, QuantityScan(5))
    ack(s, cmd(Command.PICK))
    assert s.quantity is None


@pytest.mark.parametrize(
    ("scan", "held"),
    [
        (cmd(Command.RECEIVE), "count"),
        (cmd(Command.PICK), "count"),
        (cmd(Command.MOVE), "count"),
        (OrderScan(ORDER), "count"),
        (PurchaseOrderScan(PO), "count"),
    ],
)
def test_leaving_count_with_a_tally_is_rejected(scan: Decoded, held: str) -> None:
    s = counting(product())
    ack(s, QuantityScan(3))
    assert reject(s, scan) == f"finish or cancel the {held} first"
    assert (s.mode, s.pending, s.quantity) == (Mode.COUNT, (Line(ITEM, 1),), 3)


@pytest.mark.parametrize(
    "scan", [cmd(Command.RECEIVE), cmd(Command.COUNT), OrderScan(ORDER), PurchaseOrderScan(PO)]
)
def test_leaving_move_with_items_held_is_rejected(scan: Decoded) -> None:
    s = moving(product())
    assert reject(s, scan) == "finish or cancel the move first"
    assert (s.mode, s.pending) == (Mode.MOVE, (Line(ITEM, 1),))


def test_reselecting_count_keeps_the_tally() -> None:
    s = counting(product())
    ack(s, cmd(Command.COUNT))
    assert (s.mode, s.pending) == (Mode.COUNT, (Line(ITEM, 1),))


def test_order_scan_switches_to_pick_against_that_order() -> None:
    s = session(Mode.RECEIVE)
    ack(s, QuantityScan(2))
    assert ack(s, OrderScan(ORDER)).detail == "picking order SO-1"
    assert (s.mode, s.order, s.purchase_order, s.quantity) == (Mode.PICK, ORDER, None, None)
    assert post(s, product(lot="L1")) == Pick(ITEM, A, 1, lot="L1", order=ORDER)


def test_purchase_order_scan_switches_to_receive_against_it() -> None:
    s = session(Mode.PICK)
    assert ack(s, PurchaseOrderScan(PO)).detail == "receiving purchase order PO-9"
    assert (s.mode, s.purchase_order, s.order) == (Mode.RECEIVE, PO, None)
    assert post(s, product(lot="L1", expiry=EXPIRY)) == Receive(
        ITEM, A, 1, lot="L1", expiry=EXPIRY, purchase_order=PO
    )


def test_purchase_order_scan_drops_the_current_order() -> None:
    s = session()
    ack(s, OrderScan(ORDER))
    ack(s, PurchaseOrderScan(PO))
    assert (s.order, s.purchase_order) == (None, PO)


def test_order_scan_drops_the_current_purchase_order() -> None:
    s = session()
    ack(s, PurchaseOrderScan(PO))
    ack(s, OrderScan(ORDER))
    assert (s.order, s.purchase_order) == (ORDER, None)


def test_another_order_scan_replaces_the_order() -> None:
    s = session()
    ack(s, OrderScan(ORDER))
    ack(s, OrderScan(OrderNumber("SO-2")))
    assert s.order == "SO-2"


def test_reselecting_pick_keeps_the_order() -> None:
    s = session()
    ack(s, OrderScan(ORDER))
    ack(s, cmd(Command.PICK))
    assert s.order == ORDER


def test_leaving_pick_drops_the_order() -> None:
    s = session()
    ack(s, OrderScan(ORDER))
    ack(s, cmd(Command.RECEIVE))
    assert s.order is None
    assert post(s, product()) == Receive(ITEM, A, 1)


def test_leaving_receive_drops_the_purchase_order() -> None:
    s = session()
    ack(s, PurchaseOrderScan(PO))
    ack(s, cmd(Command.COUNT))
    assert s.purchase_order is None


# -- locations ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.RECEIVE, Mode.PICK, Mode.COUNT, Mode.MOVE])
def test_location_becomes_current_when_the_store_knows_it(mode: Mode) -> None:
    s = session(mode, location=None)
    assert set_location(s, "B-02") is Feedback.ACK
    assert s.location == B


def test_unknown_location_leaves_the_current_one() -> None:
    s = session()
    assert set_location(s, "NOPE", accepted=False) is Feedback.NAK
    assert s.location == A


def test_unknown_location_reason_is_kept_for_the_display() -> None:
    s = session()
    s.receive_scan(loc("NOPE"), 0.0)
    s.receive_outcome(False, "unknown location NOPE")
    assert s.snapshot()["last_rejection"] == "unknown location NOPE"


def test_refusal_without_a_reason_gets_a_generic_one() -> None:
    s = session()
    s.receive_scan(loc("NOPE"), 0.0)
    s.receive_outcome(False)
    assert s.snapshot()["last_rejection"] == "refused by the store"


def test_gln_location_scan_is_resolved_by_the_store() -> None:
    s = session()
    assert s.receive_scan(LocationScan(gln="5412345000013"), 0.0) == SetLocation(
        LocationCode("5412345000013")
    )


def test_location_scan_without_code_or_gln_is_rejected() -> None:
    assert reject(session(), LocationScan()) == RejectReason.BAD_LOCATION.value


def test_rescanning_the_current_location_is_checked_again() -> None:
    s = session()
    assert set_location(s, "A-01") is Feedback.ACK


def test_location_scan_keeps_the_one_shot_quantity() -> None:
    s = session()
    ack(s, QuantityScan(3))
    set_location(s, "B-02")
    assert post(s, product()) == Receive(ITEM, B, 3)


def test_count_with_empty_tally_may_change_location() -> None:
    s = session(Mode.COUNT)
    set_location(s, "B-02")
    assert s.location == B


def test_count_location_rescan_is_acknowledged() -> None:
    s = counting(product())
    assert ack(s, loc("A-01")).detail == "counting at A-01"
    assert s.pending == (Line(ITEM, 1),)


def test_count_at_another_location_before_done_is_rejected() -> None:
    s = counting(product())
    assert reject(s, loc("B-02")) == "finish the count at A-01 first"
    assert (s.location, s.pending) == (A, (Line(ITEM, 1),))


# -- products ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [Mode.RECEIVE, Mode.PICK, Mode.COUNT, Mode.MOVE])
def test_product_without_location_is_rejected(mode: Mode) -> None:
    s = session(mode, location=None)
    assert reject(s, product()) == "scan a location first"
    assert (s.pending, s.awaiting) == ((), None)


def test_pick_without_location_is_rejected() -> None:
    s = session(Mode.PICK, location=None)
    assert reject(s, product()) == "scan a location first"


def test_product_by_sku_is_named_by_sku() -> None:
    assert post(session(), product(None, sku="SKU-7")) == Receive(
        ProductRef(sku=Sku("SKU-7")), A, 1
    )


def test_product_by_alias_is_named_by_barcode() -> None:
    assert post(session(), product(None, alias="INT-42")) == Receive(
        ProductRef(barcode="INT-42"), A, 1
    )


def test_receive_posts_a_receive_and_acks_on_success() -> None:
    s = session()
    assert post(s, product(lot="L1", expiry=EXPIRY)) == Receive(ITEM, A, 1, lot="L1", expiry=EXPIRY)
    assert s.receive_outcome(True) is Feedback.ACK
    assert s.awaiting is None


def test_pick_posts_a_pick_and_naks_when_refused() -> None:
    s = session(Mode.PICK)
    assert post(s, product()) == Pick(ITEM, A, 1)
    assert s.receive_outcome(False, "only 0 on hand") is Feedback.NAK
    assert s.awaiting is None


def test_count_tallies_products_per_product_and_lot_in_first_scanned_order() -> None:
    s = session(Mode.COUNT)
    assert ack(s, product(lot="L1")).detail == f"counted 1 × barcode {GTIN} lot L1: 1 in all"
    ack(s, product(OTHER_GTIN))
    ack(s, product(lot="L2"))
    ack(s, QuantityScan(4))
    assert ack(s, product(lot="L1")).detail == f"counted 4 × barcode {GTIN} lot L1: 5 in all"
    ack(s, product(OTHER_GTIN, count=2))
    assert s.pending == (Line(ITEM, 5, "L1"), Line(OTHER_ITEM, 3), Line(ITEM, 1, "L2"))
    assert s.awaiting is None


def test_count_keeps_the_first_known_expiry_of_a_line() -> None:
    s = counting(
        product(lot="L1"),
        product(lot="L1", expiry=EXPIRY),
        product(lot="L1", expiry=date(2031, 1, 1)),
    )
    assert s.pending == (Line(ITEM, 3, "L1", EXPIRY),)


def test_count_line_above_the_maximum_is_rejected_and_tally_kept() -> None:
    s = session(Mode.COUNT)
    ack(s, QuantityScan(MAX_QUANTITY))
    ack(s, product())
    assert reject(s, product()) == f"more than 100000 of barcode {GTIN} in one line"
    assert s.pending == (Line(ITEM, MAX_QUANTITY),)


def test_move_holds_products_until_the_destination() -> None:
    s = session(Mode.MOVE)
    assert ack(s, product(sku="SKU-7")).detail == "holding 1 × SKU-7: 1 in all"
    ack(s, product(sku="SKU-7"))
    assert s.pending == (Line(ProductRef(sku=Sku("SKU-7")), 2),)


# -- moves ---------------------------------------------------------------------------------


def test_move_first_location_becomes_the_source() -> None:
    s = session(Mode.MOVE, location=None)
    set_location(s, "A-01")
    ack(s, product())
    assert post(s, loc("B-02")) == Move(A, B, (Line(ITEM, 1),))


def test_entering_move_uses_the_current_location_as_source() -> None:
    s = session(Mode.PICK)
    ack(s, cmd(Command.MOVE))
    ack(s, product())
    assert post(s, loc("B-02")) == Move(A, B, (Line(ITEM, 1),))


def test_move_location_with_nothing_held_changes_the_source() -> None:
    s = session(Mode.MOVE)
    set_location(s, "B-02")
    assert s.location == B


def test_move_to_destination_posts_one_move_of_all_held_lines() -> None:
    s = moving(product(lot="L1"), product(OTHER_GTIN), product(lot="L1"))
    assert post(s, loc("B-02")) == Move(A, B, (Line(ITEM, 2, "L1"), Line(OTHER_ITEM, 1)))


def test_successful_move_clears_items_and_the_destination_becomes_current() -> None:
    s = moving(product())
    post(s, loc("B-02"))
    assert s.receive_outcome(True) is Feedback.ACK
    assert (s.pending, s.location) == ((), B)
    ack(s, product())
    assert post(s, loc("A-01")) == Move(B, A, (Line(ITEM, 1),))


def test_refused_move_keeps_items_for_another_destination() -> None:
    s = moving(product())
    post(s, loc("B-02"))
    assert s.receive_outcome(False, "unknown location B-02") is Feedback.NAK
    assert (s.pending, s.location) == ((Line(ITEM, 1),), A)
    assert post(s, loc("C-03")) == Move(A, LocationCode("C-03"), (Line(ITEM, 1),))


def test_move_to_the_source_location_is_rejected() -> None:
    s = moving(product())
    assert reject(s, loc("A-01")) == "destination is the source location"
    assert s.pending == (Line(ITEM, 1),)


# -- same-code delay -------------------------------------------------------------------------


def test_same_code_within_the_delay_is_rejected_and_changes_nothing() -> None:
    s = session(Mode.COUNT, delay=0.5)
    ack(s, product(), now=10.0)
    ack(s, QuantityScan(3))
    assert reject(s, product(), now=10.4) == "same code scanned again too soon"
    assert (s.pending, s.quantity) == ((Line(ITEM, 1),), 3)


def test_same_code_after_the_delay_is_accepted() -> None:
    s = session(Mode.COUNT, delay=0.5)
    ack(s, product(), now=10.0)
    ack(s, product(), now=10.5)
    assert s.pending == (Line(ITEM, 2),)


def test_same_code_with_another_lot_is_not_a_repeat() -> None:
    s = session(Mode.COUNT, delay=0.5)
    ack(s, product(lot="L1"), now=10.0)
    ack(s, product(lot="L2"), now=10.1)
    ack(s, product(OTHER_GTIN), now=10.2)
    assert len(s.pending) == 3


def test_same_code_delay_counts_from_the_last_accepted_scan() -> None:
    s = session(Mode.COUNT, delay=0.5)
    ack(s, product(), now=10.0)
    reject(s, product(), now=10.3)
    ack(s, product(), now=10.6)  # 0.6 s after the accepted one, though 0.3 s after the repeat


def test_same_code_after_a_store_accepted_scan_is_rejected() -> None:
    s = session(delay=0.5)
    post(s, product(), now=10.0)
    s.receive_outcome(True)
    assert reject(s, product(), now=10.2) == "same code scanned again too soon"


def test_same_code_after_a_store_refused_scan_is_accepted() -> None:
    s = session(Mode.PICK, delay=0.5)
    post(s, product(), now=10.0)
    s.receive_outcome(False, "out of stock")
    post(s, product(), now=10.1)


def test_same_code_after_a_session_rejected_scan_is_accepted() -> None:
    s = session(Mode.COUNT, delay=0.5)
    reject(s, product(count=MAX_QUANTITY + 1), now=10.0)  # too many, so not accepted
    ack(s, product(), now=10.1)


def test_same_code_is_never_rejected_without_a_delay() -> None:
    s = session(Mode.COUNT)
    ack(s, product(), now=1.0)
    ack(s, product(), now=1.0)


def test_same_code_after_the_clock_went_backwards_is_accepted() -> None:
    s = session(Mode.COUNT, delay=0.5)
    ack(s, product(), now=10.0)
    ack(s, product(), now=3.0)


# -- done, cancel, undo -------------------------------------------------------------------


def test_done_posts_the_count_and_clears_it_on_success() -> None:
    s = counting(product(lot="L1"), product(OTHER_GTIN), product(lot="L1"))
    assert post(s, cmd(Command.DONE)) == Count(A, (Line(ITEM, 2, "L1"), Line(OTHER_ITEM, 1)))
    assert s.receive_outcome(True) is Feedback.ACK
    assert (s.pending, s.mode, s.location) == ((), Mode.COUNT, A)


def test_refused_count_keeps_the_tally() -> None:
    s = counting(product())
    post(s, cmd(Command.DONE))
    assert s.receive_outcome(False, "counted less than reserved") is Feedback.NAK
    assert s.pending == (Line(ITEM, 1),)


def test_done_with_nothing_counted_is_rejected() -> None:
    assert reject(session(Mode.COUNT), cmd(Command.DONE)) == "nothing counted"


def test_done_with_move_items_held_is_rejected() -> None:
    s = moving(product())
    assert reject(s, cmd(Command.DONE)) == "scan the destination location to finish the move"
    assert s.pending == (Line(ITEM, 1),)


def test_done_in_move_with_nothing_held_is_acknowledged() -> None:
    assert ack(session(Mode.MOVE), cmd(Command.DONE)).detail == "done"


def test_done_finishes_the_purchase_order() -> None:
    s = session()
    ack(s, PurchaseOrderScan(PO))
    assert ack(s, cmd(Command.DONE)).detail == "done"
    assert (s.purchase_order, s.mode) == (None, Mode.RECEIVE)


def test_done_finishes_the_order() -> None:
    s = session()
    ack(s, OrderScan(ORDER))
    ack(s, cmd(Command.DONE))
    assert (s.order, s.mode) == (None, Mode.PICK)


def test_cancel_drops_everything_the_session_holds() -> None:
    s = counting(product(), product(OTHER_GTIN))
    ack(s, QuantityScan(4))
    assert ack(s, cmd(Command.CANCEL)).detail == "cancelled count of 2 lines, quantity 4"
    assert (s.pending, s.quantity, s.mode, s.location) == ((), None, Mode.COUNT, A)


def test_cancel_drops_order_and_purchase_order() -> None:
    s = session()
    ack(s, OrderScan(ORDER))
    assert ack(s, cmd(Command.CANCEL)).detail == "cancelled order SO-1"
    ack(s, PurchaseOrderScan(PO))
    assert ack(s, cmd(Command.CANCEL)).detail == "cancelled purchase order PO-9"
    assert (s.order, s.purchase_order) == (None, None)


def test_cancel_drops_held_move_items_and_keeps_the_source() -> None:
    s = moving(product())
    assert ack(s, cmd(Command.CANCEL)).detail == "cancelled move of 1 lines"
    assert (s.pending, s.location) == ((), A)


def test_cancel_with_nothing_held_is_acknowledged() -> None:
    assert ack(session(), cmd(Command.CANCEL)).detail == "cancelled (nothing was held)"


def test_undo_posts_an_undo_for_this_scanner() -> None:
    s = session()
    assert post(s, cmd(Command.UNDO)) == Undo(scanner=SCANNER)
    assert s.receive_outcome(True) is Feedback.ACK


def test_refused_undo_naks() -> None:
    s = session()
    post(s, cmd(Command.UNDO))
    assert s.receive_outcome(False, "nothing to undo") is Feedback.NAK


def test_undo_leaves_the_tally_alone() -> None:
    s = counting(product())
    ack(s, QuantityScan(2))
    post(s, cmd(Command.UNDO))
    s.receive_outcome(True)
    assert (s.pending, s.quantity, s.mode) == ((Line(ITEM, 1),), 2, Mode.COUNT)


# -- invariants over any sequence of scans ---------------------------------------------------

_lots = st.one_of(st.none(), st.sampled_from(["L1", "L2"]))
_expiries = st.one_of(st.none(), st.just(EXPIRY))
_counts = st.one_of(st.none(), st.integers(0, 3), st.integers(0, 2 * MAX_QUANTITY))
_products = st.one_of(
    st.builds(
        product, st.sampled_from([GTIN, OTHER_GTIN]), lot=_lots, expiry=_expiries, count=_counts
    ),
    st.builds(product, st.none(), sku=st.just("SKU-7"), lot=_lots, count=_counts),
    st.builds(product, st.none(), alias=st.just("INT-42")),
    st.just(product(None)),
)
_locations = st.one_of(
    st.sampled_from(["A-01", "B-02"]).map(loc),
    st.just(LocationScan(gln="5412345000013")),
    st.just(LocationScan()),
)
_quantities = st.one_of(
    st.integers(1, 5), st.sampled_from([0, MAX_QUANTITY // 2, MAX_QUANTITY, MAX_QUANTITY + 1])
).map(QuantityScan)
_scans: st.SearchStrategy[Decoded] = st.one_of(
    st.sampled_from(["ann", "bob"]).map(lambda code: OperatorScan(OperatorCode(code))),
    st.sampled_from(["damaged", "lost", "nope"]).map(lambda code: ReasonScan(ReasonCode(code))),
    _products,
    _products,
    _locations,
    _quantities,
    st.sampled_from(Command).map(CommandScan),
    st.just(OrderScan(ORDER)),
    st.just(PurchaseOrderScan(PO)),
    st.sampled_from(RejectReason).map(ScanRejected),
)
_steps = st.lists(st.tuples(_scans, st.booleans(), st.floats(0.0, 1.0)), max_size=60)


def _state(s: ScannerSession) -> tuple[object, ...]:
    return (s.mode, s.location, s.order, s.purchase_order, s.pending, s.operator, s.reason)


def _check_invariants(s: ScannerSession, scan: Decoded, intent: Intent) -> None:
    assert isinstance(intent, PostCommand | SetLocation | SignIn | Acknowledge | Reject)
    assert s.reason is None or s.mode in (Mode.RETURN, Mode.SCRAP)
    if isinstance(intent, PostCommand):
        assert intent.operator == s.operator  # every posting carries who is signed in
        if s.operator is None:
            assert not s.require_operator
        if isinstance(intent.command, Return | Scrap):
            assert intent.command.reason == s.reason
    assert all(1 <= line.quantity <= MAX_QUANTITY for line in s.pending)
    if s.pending:
        assert s.mode in (Mode.COUNT, Mode.MOVE)
        assert s.location is not None
    assert s.order is None or s.mode is Mode.PICK
    assert s.purchase_order is None or s.mode is Mode.RECEIVE
    if scan == CommandScan(Command.CANCEL):
        assert (s.pending, s.quantity, s.order, s.purchase_order) == ((), None, None, None)


@settings(max_examples=400, deadline=None)
@given(
    steps=_steps,
    delay=st.sampled_from([0.0, 0.5]),
    mode=st.sampled_from(Mode),
    require=st.booleans(),
)
def test_any_scan_sequence_gives_one_intent_per_scan_and_keeps_invariants(
    steps: list[tuple[Decoded, bool, float]], delay: float, mode: Mode, require: bool
) -> None:
    s = ScannerSession(
        SCANNER, mode=mode, same_code_delay=delay, operator_idle=2.0, require_operator=require
    )
    now = 0.0
    for scan, accepted, elapsed in steps:
        now += elapsed
        s.receive_tick(now)
        before = _state(s)
        intent = s.receive_scan(scan, now)
        _check_invariants(s, scan, intent)
        if isinstance(intent, PostCommand | SetLocation | SignIn):
            assert s.awaiting == intent
            if isinstance(intent, PostCommand):
                validate_command(intent.command)  # the store gets only well-formed commands
            feedback = s.receive_outcome(accepted, None if accepted else "refused")
            assert feedback is (Feedback.ACK if accepted else Feedback.NAK)
            if not accepted:
                assert _state(s) == before
        else:
            assert s.awaiting is None
            if isinstance(intent, Reject):
                assert _state(s) == before
        assert s.awaiting is None


# -- operators ------------------------------------------------------------------------

ANN = OperatorCode("ann")
BOB = OperatorCode("bob")


def signed_in(
    operator: OperatorCode = ANN, *, mode: Mode = Mode.RECEIVE, **options: object
) -> ScannerSession:
    s = ScannerSession(SCANNER, mode=mode, location=A, **options)  # type: ignore[arg-type]
    assert s.receive_scan(OperatorScan(operator), 0.0) == SignIn(operator)
    assert s.receive_outcome(True) is Feedback.ACK
    return s


def test_a_badge_scan_asks_the_shell_to_check_it_and_signs_in_on_success() -> None:
    s = signed_in()
    assert s.operator == ANN
    assert s.snapshot()["operator"] == "ann"


def test_an_unknown_badge_is_refused_and_leaves_who_was_signed_in() -> None:
    s = signed_in()
    assert s.receive_scan(OperatorScan(BOB), 1.0) == SignIn(BOB)
    assert s.receive_outcome(False, "unknown operator bob") is Feedback.NAK
    assert s.operator == ANN
    assert s.snapshot()["last_rejection"] == "unknown operator bob"


def test_another_badge_replaces_the_operator() -> None:
    s = signed_in()
    assert s.receive_scan(OperatorScan(BOB), 1.0) == SignIn(BOB)
    s.receive_outcome(True)
    assert s.operator == BOB


def test_logout_signs_out() -> None:
    s = signed_in()
    assert ack(s, cmd(Command.LOGOUT), 1.0).detail == "ann signed out"
    assert s.operator is None
    assert ack(s, cmd(Command.LOGOUT), 2.0).detail == "no one was signed in"


def test_every_posting_carries_the_operator_signed_in() -> None:
    s = signed_in()
    intent = s.receive_scan(product(), 1.0)
    assert intent == PostCommand(Receive(ITEM, A, 1), operator=ANN)
    s.receive_outcome(True)
    ack(s, cmd(Command.LOGOUT), 2.0)
    assert s.receive_scan(product(), 3.0) == PostCommand(Receive(ITEM, A, 1), operator=None)


def test_the_operator_is_signed_out_after_the_idle_time_without_a_scan() -> None:
    s = signed_in(operator_idle=60.0)
    assert s.idle_deadline == 60.0
    intent = s.receive_scan(product(), 59.0)  # a scan in time keeps the operator
    assert isinstance(intent, PostCommand)
    assert intent.operator == ANN
    s.receive_outcome(True)
    assert s.idle_deadline == 119.0
    assert s.receive_tick(118.9) is False
    assert s.receive_tick(119.0) is True
    after: tuple[object, object] = (s.operator, s.idle_deadline)
    assert after == (None, None)
    assert s.receive_tick(500.0) is False


def test_an_idle_operator_is_signed_out_before_the_next_scan_counts() -> None:
    s = signed_in(operator_idle=60.0)
    intent = s.receive_scan(product(), 61.0)
    assert isinstance(intent, PostCommand)
    assert intent.operator is None


def test_a_rejected_scan_also_keeps_the_operator_signed_in() -> None:
    s = signed_in(operator_idle=60.0)
    reject(s, ScanRejected(RejectReason.GARBAGE), 50.0)
    assert s.receive_tick(100.0) is False
    assert s.operator == ANN


def test_idle_time_must_be_positive() -> None:
    with pytest.raises(ValueError, match="operator_idle"):
        ScannerSession(SCANNER, operator_idle=0)


def test_require_operator_refuses_product_scans_with_no_one_signed_in() -> None:
    s = session()
    s = ScannerSession(SCANNER, location=A, require_operator=True)
    ack(s, QuantityScan(3))
    assert reject(s, product()) == "sign in first: scan your badge (USR:)"
    assert s.quantity == 3  # the one-shot quantity waits for the real scan
    s.receive_scan(OperatorScan(ANN), 1.0)
    s.receive_outcome(True)
    assert post(s, product(), 2.0) == Receive(ITEM, A, 3)


@pytest.mark.parametrize("scan", [cmd(Command.UNDO)])
def test_require_operator_refuses_whatever_would_post(scan: Decoded) -> None:
    s = ScannerSession(SCANNER, location=A, require_operator=True)
    assert reject(s, scan).startswith("sign in first")
    assert s.awaiting is None


def test_require_operator_refuses_a_count_whose_operator_went_idle() -> None:
    s = signed_in(mode=Mode.COUNT, require_operator=True, operator_idle=10.0)
    ack(s, product(), 1.0)
    assert reject(s, cmd(Command.DONE), 20.0).startswith("sign in first")
    assert s.pending == (Line(ITEM, 1),)


def test_require_operator_still_takes_session_scans() -> None:
    s = ScannerSession(SCANNER, location=A, require_operator=True)
    ack(s, cmd(Command.PICK))
    assert s.receive_scan(loc("B-02"), 1.0) == SetLocation(B)


@pytest.mark.parametrize("scan", [OperatorScan(BOB), cmd(Command.LOGOUT)])
def test_signing_in_or_out_with_lines_held_is_refused(scan: Decoded) -> None:
    s = signed_in(mode=Mode.COUNT)
    ack(s, product(), 1.0)
    assert reject(s, scan, 2.0) == "finish or cancel the count first"
    assert s.operator == ANN


def test_a_restored_session_keeps_its_operator_idle_from_now() -> None:
    s = signed_in()
    back = ScannerSession.restored(SCANNER, s.snapshot(), now=1000.0, operator_idle=60.0)
    assert (back.operator, back.idle_deadline) == (ANN, 1060.0)


# -- returns and scrap ----------------------------------------------------------------

DAMAGED = ReasonCode("damaged")


def returning(mode: Mode = Mode.RETURN, reason: str | None = "damaged") -> ScannerSession:
    s = session(Mode.RECEIVE)
    ack(s, cmd(Command.RETURN if mode is Mode.RETURN else Command.SCRAP))
    assert s.mode is mode
    if reason is not None:
        assert ack(s, ReasonScan(ReasonCode(reason))).detail == f"reason {reason}"
    return s


def test_return_mode_posts_a_return_with_the_reason() -> None:
    s = returning()
    ack(s, QuantityScan(2))
    assert post(s, product(lot="L1", expiry=EXPIRY)) == Return(
        ITEM, A, 2, DAMAGED, lot="L1", expiry=EXPIRY
    )


def test_scrap_mode_posts_a_scrap_with_the_reason() -> None:
    s = returning(Mode.SCRAP, "lost")
    assert post(s, product(lot="L1")) == Scrap(ITEM, A, 1, ReasonCode("lost"), lot="L1")


@pytest.mark.parametrize("mode", [Mode.RETURN, Mode.SCRAP])
def test_a_product_before_a_reason_is_refused_keeping_the_quantity(mode: Mode) -> None:
    s = returning(mode, None)
    ack(s, QuantityScan(4))
    assert reject(s, product()) == "scan a reason first (RSN:<code>)"
    assert s.quantity == 4


def test_an_unknown_reason_is_refused_with_the_list() -> None:
    s = returning()
    assert reject(s, ReasonScan(ReasonCode("stolen"))) == (
        "unknown reason stolen (one of damaged, defective, expired, wrong_item, unwanted, lost)"
    )
    assert s.reason == DAMAGED


def test_the_reason_list_is_configurable() -> None:
    s = ScannerSession(SCANNER, Mode.SCRAP, A, reasons=(ReasonCode("stolen"),))
    ack(s, ReasonScan(ReasonCode("stolen")))
    assert reject(s, ReasonScan(DAMAGED)) == "unknown reason damaged (one of stolen)"


@pytest.mark.parametrize("mode", [Mode.RECEIVE, Mode.PICK, Mode.COUNT, Mode.MOVE])
def test_a_reason_outside_return_and_scrap_is_refused(mode: Mode) -> None:
    s = session(mode)
    assert reject(s, ReasonScan(DAMAGED)).startswith("a reason is for returns and scrap")
    assert s.reason is None


@pytest.mark.parametrize(
    "scan", [cmd(Command.RECEIVE), cmd(Command.SCRAP), cmd(Command.CANCEL), cmd(Command.DONE)]
)
def test_leaving_the_mode_cancel_and_done_drop_the_reason(scan: Decoded) -> None:
    s = returning()
    ack(s, scan)
    assert s.reason is None


def test_reselecting_return_keeps_the_reason() -> None:
    s = returning()
    ack(s, cmd(Command.RETURN))
    assert s.reason == DAMAGED


def test_a_restored_session_keeps_its_reason_while_it_is_listed() -> None:
    s = returning()
    assert ScannerSession.restored(SCANNER, s.snapshot()).reason == DAMAGED
    other = ScannerSession.restored(SCANNER, s.snapshot(), reasons=(ReasonCode("lost"),))
    assert other.reason is None


# -- serials ---------------------------------------------------------------------------


def serial_scan(serial: str = "SN-1", **kwargs: object) -> ProductScan:
    return replace(product(**kwargs), serial=serial)  # type: ignore[arg-type]


def test_a_scan_with_a_serial_posts_that_one_unit() -> None:
    s = session(Mode.PICK)
    assert post(s, serial_scan("SN-1", lot="L1")) == Pick(ITEM, A, 1, lot="L1", serials=("SN-1",))
    assert s.receive_outcome(True) is Feedback.ACK
    ack(s, QuantityScan(2))
    assert reject(s, serial_scan("SN-2")) == f"a serial is one unit: not 2 of barcode {GTIN}"


def test_a_plain_scan_the_store_wants_serials_for_waits_for_them() -> None:
    s = session(Mode.RECEIVE)
    ack(s, QuantityScan(2))
    assert post(s, product()) == Receive(ITEM, A, 2)
    assert s.receive_outcome(False, "serial-tracked", wants_serials=True) is Feedback.ACK
    assert s.serial_wait == Line(ITEM, 2)
    assert s.snapshot()["serial_wait"] == {
        "product": f"barcode {GTIN}",
        "sku": None,
        "barcode": GTIN,
        "quantity": 2,
        "lot": None,
        "expiry": None,
        "serials": [],
    }
    # anything else meanwhile is refused, naming the product
    expected = f"scan the serial of barcode {GTIN} (SN:<serial>) or CMD:CANCEL"
    for scan in (product(), loc("B-02"), cmd(Command.DONE), cmd(Command.PICK)):
        assert reject(s, scan) == expected
    assert post(s, SerialScan("SN-1")) == Receive(ITEM, A, 1, serials=("SN-1",))
    assert s.receive_outcome(False, "serial SN-1 is already in stock") is Feedback.NAK
    assert s.serial_wait == Line(ITEM, 2)  # a refused serial keeps the wait
    assert post(s, SerialScan("SN-2")) == Receive(ITEM, A, 1, serials=("SN-2",))
    assert s.receive_outcome(True) is Feedback.ACK
    assert s.serial_wait == Line(ITEM, 1)
    post(s, SerialScan("SN-3"))
    s.receive_outcome(True)
    assert s.snapshot()["serial_wait"] is None
    assert reject(s, SerialScan("SN-4")) == "SN: follows a product scan of a serial-tracked product"


def test_cancel_drops_the_wait_for_serials_only() -> None:
    s = session(Mode.COUNT)
    ack(s, product(sku="BOLT"))
    assert s.tracking_wanted(product()) == ITEM
    assert isinstance(s.receive_scan(product(), 1.0, serial_tracked=True), Acknowledge)
    assert s.tracking_wanted(product()) is None  # waiting: nothing to look up
    assert ack(s, cmd(Command.CANCEL)).detail == (
        f"cancelled the scan of barcode {GTIN} waiting for serials"
    )
    assert [line.product for line in s.pending] == [ProductRef(sku=Sku("BOLT"))]
    ack(s, cmd(Command.CANCEL))
    assert s.pending == ()


def test_count_and_move_hold_serials() -> None:
    s = session(Mode.COUNT)
    assert isinstance(s.receive_scan(product(), 0.0, serial_tracked=True), Acknowledge)
    ack(s, SerialScan("SN-1"))
    ack(s, serial_scan("SN-2"))
    assert reject(s, serial_scan("SN-2")) == f"serial SN-2 of barcode {GTIN} is held already"
    assert s.pending == (Line(ITEM, 2, serials=("SN-1", "SN-2")),)
    back = ScannerSession.restored(SCANNER, s.snapshot())
    assert back.pending == s.pending
    assert post(s, cmd(Command.DONE)) == Count(A, (Line(ITEM, 2, serials=("SN-1", "SN-2")),))
    m = session(Mode.MOVE)
    m.receive_scan(product(), 0.0, serial_tracked=True)
    ack(m, SerialScan("SN-1"))
    assert reject(m, SerialScan("SN-1")) == (
        "SN: follows a product scan of a serial-tracked product"
    )
    m.receive_scan(product(), 1.0, serial_tracked=True)
    assert reject(m, SerialScan("SN-1")) == f"serial SN-1 of barcode {GTIN} is held already"
    ack(m, SerialScan("SN-9"))
    assert post(m, loc("B-02")) == Move(A, B, (Line(ITEM, 2, serials=("SN-1", "SN-9")),))


def test_a_restored_session_keeps_its_wait_for_serials() -> None:
    s = session(Mode.SCRAP)
    ack(s, ReasonScan(ReasonCode("damaged")))
    post(s, product())
    s.receive_outcome(False, "serial-tracked", wants_serials=True)
    back = ScannerSession.restored(SCANNER, s.snapshot())
    assert back.serial_wait == Line(ITEM, 1)
    assert post(back, SerialScan("S")) == Scrap(ITEM, A, 1, ReasonCode("damaged"), serials=("S",))


def test_a_serial_scan_needs_the_operator_when_required() -> None:
    s = ScannerSession(SCANNER, Mode.COUNT, A, require_operator=True)
    s._serial_wait = Line(ITEM, 1)  # as a scan signed in earlier left it
    assert reject(s, SerialScan("S")) == "sign in first: scan your badge (USR:)"


# -- transfers (TRF:) ---------------------------------------------------------------


TRANSFER = TransferNumber("T-1")


def test_trf_in_pick_mode_ships_each_product_scan_against_the_transfer() -> None:
    s = session(Mode.PICK)
    ack(s, OrderScan(ORDER))
    assert ack(s, TransferScan(TRANSFER)).detail == "shipping transfer T-1"
    assert (s.transfer, s.order) == (TRANSFER, None)  # the order is dropped
    ack(s, QuantityScan(3))
    assert post(s, product(lot="L1")) == ShipTransfer(TRANSFER, A, (Line(ITEM, 3, "L1"),))
    s.receive_outcome(True)
    assert s.transfer == TRANSFER  # it stays for the next scans


def test_trf_in_receive_mode_receives_against_the_transfer_here() -> None:
    s = session(Mode.RECEIVE)
    ack(s, PurchaseOrderScan(PO))
    assert ack(s, TransferScan(TRANSFER)).detail == "receiving transfer T-1"
    assert s.purchase_order is None
    command = post(s, product(lot="L1", expiry=EXPIRY))
    assert command == ReceiveTransfer(TRANSFER, A, (Line(ITEM, 1, "L1", EXPIRY),))


@pytest.mark.parametrize("mode", [Mode.COUNT, Mode.MOVE, Mode.RETURN, Mode.SCRAP])
def test_trf_is_for_pick_and_receive_modes_only(mode: Mode) -> None:
    s = session(mode)
    assert "CMD:PICK or CMD:RECEIVE first" in reject(s, TransferScan(TRANSFER))
    assert s.transfer is None


@pytest.mark.parametrize(
    "scan",
    [
        cmd(Command.RECEIVE),
        cmd(Command.DONE),
        cmd(Command.CANCEL),
        OrderScan(ORDER),
        PurchaseOrderScan(PO),
    ],
)
def test_leaving_pick_done_cancel_or_an_order_drops_the_transfer(scan: Decoded) -> None:
    s = session(Mode.PICK)
    ack(s, TransferScan(TRANSFER))
    ack(s, scan)
    assert s.transfer is None


def test_reselecting_the_mode_keeps_the_transfer_and_a_snapshot_keeps_it() -> None:
    s = session(Mode.PICK)
    ack(s, TransferScan(TRANSFER))
    ack(s, cmd(Command.PICK))
    assert s.transfer == TRANSFER
    assert "transfer T-1" in ack(s, cmd(Command.CANCEL)).detail
    ack(s, TransferScan(TRANSFER))
    assert s.snapshot()["transfer"] == "T-1"
    assert ScannerSession.restored(SCANNER, s.snapshot()).transfer == TRANSFER
    older = {k: v for k, v in s.snapshot().items() if k != "transfer"}
    assert ScannerSession.restored(SCANNER, older).transfer is None
