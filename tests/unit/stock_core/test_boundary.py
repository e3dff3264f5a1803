"""The store's database boundary: asyncpg's errors translated by class, retries bounded."""

from __future__ import annotations

import asyncpg
import pytest

from stock_core.errors import ConstraintRejectedError
from stock_core.errors import DatabaseUnavailableError
from stock_core.errors import StockRejection
from stock_core.store._boundary import checked
from stock_core.store._boundary import is_unavailable
from stock_core.store._boundary import retrying
from stock_core.store._boundary import translated


def _check_violation() -> asyncpg.CheckViolationError:
    error = asyncpg.CheckViolationError.new(
        {"M": "new row violates check", "n": "stock_on_hand_check", "C": "23514"}
    )
    assert isinstance(error, asyncpg.CheckViolationError)
    return error


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError("refused"),
        TimeoutError(),
        asyncpg.ConnectionDoesNotExistError("gone"),
        asyncpg.exceptions.AdminShutdownError("shutting down"),
        asyncpg.exceptions.ReadOnlySQLTransactionError("read-only"),
    ],
)
def test_losing_the_server_becomes_database_unavailable(error: BaseException) -> None:
    with (
        pytest.raises(DatabaseUnavailableError, match=r"^feed relay: ") as caught,
        translated("feed relay"),
    ):
        raise error
    assert caught.value.__cause__ is error


def test_other_database_errors_pass_through_untranslated() -> None:
    with pytest.raises(asyncpg.UniqueViolationError), translated():
        raise asyncpg.UniqueViolationError("duplicate")


def test_a_check_violation_is_a_constraint_rejection_naming_the_constraint() -> None:
    with pytest.raises(ConstraintRejectedError) as caught, checked():
        raise _check_violation()
    rejection = caught.value
    assert isinstance(rejection, StockRejection)
    assert rejection.constraint == "stock_on_hand_check"
    assert rejection.to_dict() == {
        "problem_type": "rejected",
        "reason": "refused: it would break stock_on_hand_check",
    }
    assert rejection.http_status == 422


def test_an_outage_is_recognised_through_the_chain_of_causes() -> None:
    closed = asyncpg.InterfaceError("the underlying connection is closed")
    assert is_unavailable(closed) is False
    closed.__context__ = asyncpg.ConnectionDoesNotExistError("gone")
    assert is_unavailable(closed) is True
    wrapped = RuntimeError("commit failed")
    wrapped.__cause__ = closed
    assert is_unavailable(wrapped) is True
    looped = ValueError("bad")
    looped.__context__ = looped
    assert is_unavailable(looped) is False
    assert is_unavailable(DatabaseUnavailableError("down")) is True


async def test_a_serialization_failure_is_run_again_once() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) < 2:
            raise asyncpg.SerializationError("could not serialize")
        return "done"

    assert await retrying(attempt) == "done"
    assert len(calls) == 2


async def test_retries_give_up_after_the_last_attempt() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise asyncpg.DeadlockDetectedError("deadlock")

    with pytest.raises(asyncpg.DeadlockDetectedError):
        await retrying(attempt)
    assert len(calls) == 2


async def test_an_outage_while_retrying_is_not_retried() -> None:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        raise ConnectionResetError("reset")

    with pytest.raises(DatabaseUnavailableError):
        await retrying(attempt)
    assert len(calls) == 1
