"""The pure rules of warehouses and transfers (``stock_core.domain.warehouse``)."""

from __future__ import annotations

from datetime import date

import pytest

from stock_core.domain.warehouse import LotInTransit
from stock_core.domain.warehouse import ReceiptPart
from stock_core.domain.warehouse import TransferStatus
from stock_core.domain.warehouse import allocate_receipt
from stock_core.domain.warehouse import check_warehouse
from stock_core.domain.warehouse import check_warehouse_code
from stock_core.domain.warehouse import transfer_status


@pytest.mark.parametrize("code", ["MAIN", "EAST-2", "W_1", "9", "A" * 32])
def test_a_warehouse_code_is_upper_case_letters_digits_and_dashes(code: str) -> None:
    assert check_warehouse_code(code) == code


@pytest.mark.parametrize("code", ["", "east", "-A", "A B", "A" * 33, "É"])
def test_other_warehouse_codes_are_refused_with_the_rule(code: str) -> None:
    with pytest.raises(ValueError, match="upper-case letters, digits"):
        check_warehouse_code(code)


def test_a_warehouse_name_is_trimmed_and_printable() -> None:
    assert check_warehouse("EAST", "  East depot ") == ("EAST", "East depot")
    with pytest.raises(ValueError, match="printable"):
        check_warehouse("EAST", "a\tb")
    with pytest.raises(ValueError, match="at most 200"):
        check_warehouse("EAST", "x" * 201)


def test_a_transfer_is_in_transit_until_received_then_partial_then_received() -> None:
    assert transfer_status([]) is TransferStatus.IN_TRANSIT
    assert transfer_status([(5, 0), (3, 0)]) is TransferStatus.IN_TRANSIT
    assert transfer_status([(5, 5), (3, 0)]) is TransferStatus.PARTIAL
    assert transfer_status([(5, 5), (3, 3)]) is TransferStatus.RECEIVED


LOTS = [
    LotInTransit("L2", date(2030, 5, 1), 4),
    LotInTransit("", None, 10),
    LotInTransit("L1", date(2030, 1, 1), 3),
    LotInTransit("L0", date(2029, 1, 1), 0),
]


def test_a_receipt_takes_the_earliest_expiry_first_and_undated_last() -> None:
    assert allocate_receipt(LOTS, 5) == [
        ReceiptPart("L1", date(2030, 1, 1), 3),
        ReceiptPart("L2", date(2030, 5, 1), 2),
    ]
    assert allocate_receipt(LOTS, 17)[-1] == ReceiptPart("", None, 10)  # type: ignore[index]


def test_a_receipt_of_a_named_lot_takes_only_it() -> None:
    assert allocate_receipt(LOTS, 4, "L2") == [ReceiptPart("L2", date(2030, 5, 1), 4)]
    assert allocate_receipt(LOTS, 5, "L2") is None


def test_a_receipt_of_more_than_is_in_transit_is_refused() -> None:
    assert allocate_receipt(LOTS, 18) is None
    assert allocate_receipt([], 1) is None
