"""The pure rules of tracking and serial numbers (stock_core.domain.serial)."""

from __future__ import annotations

import pytest

from stock_core.domain.serial import SerialState
from stock_core.domain.serial import SerialStatus
from stock_core.domain.serial import Tracking
from stock_core.domain.serial import arrival_refusal
from stock_core.domain.serial import check_serial
from stock_core.domain.serial import check_serials
from stock_core.domain.serial import departure_refusal
from stock_core.domain.serial import reported_status
from stock_core.domain.serial import status_after
from stock_core.domain.serial import tracking_refusal
from stock_core.domain.serial import transit_refusal
from stock_core.errors import InvalidMovementError

IN_A1 = SerialState("S1", SerialStatus.IN_STOCK, 1, "A-01")


@pytest.mark.parametrize("serial", ["", "a b", "x" * 65, "é", 7, None])
def test_a_serial_is_1_to_64_printable_characters_without_spaces(serial: object) -> None:
    with pytest.raises(InvalidMovementError):
        check_serial(serial)


def test_a_well_formed_serial_is_itself() -> None:
    assert check_serial("SN-0001/x") == "SN-0001/x"


def test_serials_are_named_once_and_their_number_is_the_quantity() -> None:
    check_serials(("A", "B"), 2)
    check_serials((), 5)
    with pytest.raises(InvalidMovementError, match="named twice"):
        check_serials(("A", "A"), 2)
    with pytest.raises(InvalidMovementError, match="number of serials: 1, not 2"):
        check_serials(("A",), 2)


def test_tracking_refusals() -> None:
    serial, lot, none = Tracking.SERIAL, Tracking.LOT, Tracking.NONE
    assert tracking_refusal("P", serial, serials=("A",), lot=None) is None
    refused = tracking_refusal("P", serial, serials=(), lot=None)
    assert refused is not None
    assert "serial-tracked" in refused.reason
    pack = tracking_refusal("P", serial, serials=("A",), lot=None, pack_size=6)
    assert pack is not None
    assert "pack of 6" in pack.reason
    other = tracking_refusal("W", none, serials=("A",), lot=None)
    assert other is not None
    assert other.reason == "W is not serial-tracked: it takes no serials"
    no_lot = tracking_refusal("M", lot, serials=(), lot=None, arriving=True)
    assert no_lot is not None
    assert no_lot.to_dict()["tracking"] == "lot"
    assert tracking_refusal("M", lot, serials=(), lot="L1", arriving=True) is None
    assert tracking_refusal("M", lot, serials=(), lot=None) is None  # a pick may draw FEFO


def test_a_serial_arrives_unless_in_stock_or_in_transit() -> None:
    assert arrival_refusal("P", "S1", None) is None
    assert arrival_refusal("P", "S1", SerialState("S1", SerialStatus.SHIPPED)) is None
    here = arrival_refusal("P", "S1", IN_A1)
    assert here is not None
    assert here.reason == "serial S1 of P is already in stock at A-01"
    moving = arrival_refusal("P", "S1", SerialState("S1", SerialStatus.IN_TRANSIT))
    assert moving is not None
    assert moving.reason.endswith("already in transit")


def test_a_serial_departs_only_from_where_it_is() -> None:
    assert departure_refusal("P", "S1", IN_A1, 1, "A-01") is None
    elsewhere = departure_refusal("P", "S1", IN_A1, 2, "A-02")
    assert elsewhere is not None
    assert elsewhere.reason.endswith("it is in stock at A-01")
    unknown = departure_refusal("P", "S9", None, 1, "A-01")
    assert unknown is not None
    assert unknown.to_dict()["serial_status"] == "unknown"
    gone = departure_refusal("P", "S1", SerialState("S1", SerialStatus.SCRAPPED), 1, "A-01")
    assert gone is not None
    assert gone.reason.endswith("it is scrapped")


def test_a_serial_comes_off_a_transfer_only_when_in_transit_on_it() -> None:
    moving = SerialState("S1", SerialStatus.IN_TRANSIT)
    assert transit_refusal("P", "S1", moving, "TR-1", on_it=True) is None
    other = transit_refusal("P", "S1", moving, "TR-1", on_it=False)
    assert other is not None
    assert other.reason == (
        "serial S1 of P is not in transit on transfer TR-1: it is in transit on another transfer"
    )
    here = transit_refusal("P", "S1", IN_A1, "TR-1", on_it=False)
    assert here is not None
    assert here.reason.endswith("it is in stock at A-01")
    unknown = transit_refusal("P", "S9", None, "TR-1", on_it=False)
    assert unknown is not None
    assert unknown.to_dict()["serial_status"] == "unknown"


def test_status_after_a_ledger_row() -> None:
    assert status_after("receive", 1) is SerialStatus.IN_STOCK
    assert status_after("pick", -1) is SerialStatus.SHIPPED
    assert status_after("scrap", -1) is SerialStatus.SCRAPPED
    assert status_after("transfer_out", -1) is SerialStatus.IN_TRANSIT
    assert status_after("count", -1) is SerialStatus.MISSING


def test_in_stock_at_a_quarantine_location_reads_as_quarantined() -> None:
    assert reported_status(SerialStatus.IN_STOCK, "quarantine") is SerialStatus.QUARANTINED
    assert reported_status(SerialStatus.IN_STOCK, "storage") is SerialStatus.IN_STOCK
    assert reported_status(SerialStatus.SHIPPED, None) is SerialStatus.SHIPPED
