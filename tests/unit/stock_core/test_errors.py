"""The stock_core error tree: families, problem types, and stored rejections replayed."""

from __future__ import annotations

import json

import pytest

from stock_core.errors import CatalogImportError
from stock_core.errors import CountBelowReservedError
from stock_core.errors import DatabaseUnavailableError
from stock_core.errors import IdempotencyConflictError
from stock_core.errors import ImportProblem
from stock_core.errors import InsufficientStockError
from stock_core.errors import InvalidMovementError
from stock_core.errors import NothingToUndoError
from stock_core.errors import SerialConflictError
from stock_core.errors import StockError
from stock_core.errors import StockRejection
from stock_core.errors import StockUsageError
from stock_core.errors import UnknownLocationError
from stock_core.errors import UnknownProductError
from stock_core.errors import rejection_from_dict

_ALL_REJECTIONS = [
    (StockRejection("plain"), "rejected", 422),
    (InsufficientStockError("WIDGET", "A-01", 5, 3), "insufficient-stock", 409),
    (UnknownProductError("0501"), "unknown-product", 404),
    (UnknownLocationError("Z-9"), "unknown-location", 404),
    (InvalidMovementError("bad quantity"), "invalid-movement", 422),
    (NothingToUndoError("nothing"), "nothing-to-undo", 409),
    (CountBelowReservedError("counted 1 but 2 reserved"), "count-below-reserved", 409),
    (IdempotencyConflictError("k-1"), "idempotency-conflict", 409),
]


@pytest.mark.parametrize(("error", "problem_type", "status"), _ALL_REJECTIONS)
def test_every_rejection_has_a_stable_type_and_status(
    error: StockRejection, problem_type: str, status: int
) -> None:
    assert isinstance(error, StockError)
    assert (error.problem_type, error.http_status) == (problem_type, status)
    assert error.reason == str(error)
    assert error.reason


def test_insufficient_stock_names_the_shortfall() -> None:
    error = InsufficientStockError("WIDGET", "A-01 lot L1", 5, 3)
    assert error.reason == "only 3 of WIDGET available at A-01 lot L1, 5 asked (short 2)"
    assert error.to_dict() == {
        "problem_type": "insufficient-stock",
        "reason": error.reason,
        "sku": "WIDGET",
        "location": "A-01 lot L1",
        "requested": 5,
        "available": 3,
        "shortfall": 2,
    }


@pytest.mark.parametrize(
    ("error", "reason", "details"),
    [
        (UnknownProductError("0501"), "unknown product 0501", {"code": "0501"}),
        (UnknownLocationError("Z-9"), "unknown location Z-9", {"code": "Z-9"}),
        (
            IdempotencyConflictError("k-1"),
            "idempotency key k-1 was already used for a different request",
            {},
        ),
        (NothingToUndoError("nothing left"), "nothing left", {}),
    ],
)
def test_rejections_render_their_reason_and_details(
    error: StockRejection, reason: str, details: dict[str, object]
) -> None:
    assert error.reason == reason
    assert error.to_dict() == {"problem_type": error.problem_type, "reason": reason, **details}


@pytest.mark.parametrize(("error", "problem_type", "status"), _ALL_REJECTIONS)
def test_a_stored_rejection_comes_back_as_the_same_class_with_its_details(
    error: StockRejection, problem_type: str, status: int
) -> None:
    stored = json.loads(json.dumps(error.to_dict()))
    again = rejection_from_dict(stored)
    assert type(again) is type(error)
    assert again.reason == error.reason
    assert again.to_dict() == error.to_dict()
    assert again.problem_type == problem_type


def test_a_replayed_shortfall_keeps_its_numbers() -> None:
    again = rejection_from_dict(InsufficientStockError("W", "A", 9, 4).to_dict())
    assert isinstance(again, InsufficientStockError)
    assert (again.requested, again.available, again.shortfall) == (9, 4, 5)


def test_a_replayed_serial_conflict_keeps_the_serial_status() -> None:
    """A serial conflict stored with its key comes back whole (its status once did
    not, and rendering the replayed 409 failed)."""
    error = SerialConflictError("PHONE", "SN-1", "in_stock", "A-01", "already in stock")
    again = rejection_from_dict(json.loads(json.dumps(error.to_dict())))
    assert isinstance(again, SerialConflictError)
    assert (again.serial_status, again.status, again.location) == ("in_stock", "in_stock", "A-01")
    assert again.to_dict() == error.to_dict()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"problem_type": "from-a-newer-version", "reason": "who knows"}, "who knows"),
        ({}, "rejected"),
    ],
)
def test_an_unknown_stored_rejection_is_a_plain_rejection(
    data: dict[str, object], reason: str
) -> None:
    again = rejection_from_dict(data)
    assert type(again) is StockRejection
    assert again.reason == reason


@pytest.mark.parametrize(
    ("error", "bases"),
    [
        (StockUsageError("called wrongly"), (StockError, RuntimeError)),
        (DatabaseUnavailableError("down"), (StockError,)),
        (CatalogImportError([]), (StockError,)),
    ],
)
def test_the_other_families_sit_under_stock_error(
    error: StockError, bases: tuple[type[Exception], ...]
) -> None:
    assert isinstance(error, bases)
    assert not isinstance(error, StockRejection)


def test_catalog_import_error_carries_every_problem() -> None:
    problems = [ImportProblem(3, "bad"), ImportProblem(9, "worse")]
    error = CatalogImportError(problems)
    assert error.problems == tuple(problems)
    assert str(error) == "2 bad line(s); nothing was loaded"
    assert [str(p) for p in error.problems] == ["line 3: bad", "line 9: worse"]
