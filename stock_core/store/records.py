"""Model types from rows: a statement names its columns as the type's fields, so a row
becomes the type without a field-by-field copy."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar

import asyncpg

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["from_record"]

_T = TypeVar("_T", bound="DataclassInstance")


def from_record(cls: type[_T], row: asyncpg.Record, **given: Any) -> _T:
    """``cls`` (a dataclass of ``stock_core.model``) from the row's columns of the same
    names; ``given`` are the fields the row holds in another form (JSON text, an enum's
    value, an array)."""
    columns = {f.name: row[f.name] for f in dataclasses.fields(cls) if f.name not in given}
    return cls(**columns, **given)
