"""Envelopes to JSON-able dicts and back: for the gateway's spool and spool exceptions.

Pure and strict: a dict that does not describe a valid envelope raises ``ValueError``.
"""

from __future__ import annotations

from dataclasses import fields
from dataclasses import is_dataclass
from datetime import date
from typing import Any

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
from stock_core.errors import InvalidMovementError
from stock_core.types import IdempotencyKey
from stock_core.types import OperatorCode
from stock_core.types import ScannerId

__all__ = ["envelope_from_dict", "envelope_to_dict"]

_COMMANDS: dict[str, type[Command]] = {
    cls.__name__: cls
    for cls in (
        Receive,
        Pick,
        Adjust,
        Count,
        Move,
        Undo,
        Return,
        Scrap,
        ShipTransfer,
        ReceiveTransfer,
    )
}
_DATES = frozenset({"expiry"})


def _encode(value: object) -> object:
    if isinstance(value, ProductRef):
        return {"sku": value.sku, "barcode": value.barcode}
    if isinstance(value, Line):
        return {f.name: _encode(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    if is_dataclass(value):  # pragma: no cover - every command type is listed above
        raise ValueError(f"cannot encode {type(value).__name__}")
    return value


def envelope_to_dict(envelope: Envelope) -> dict[str, Any]:
    command = envelope.command
    encoded = {
        "key": envelope.key,
        "actor": envelope.actor,
        "scanner": envelope.scanner,
        "scan_seq": envelope.scan_seq,
        "type": type(command).__name__,
        "command": {f.name: _encode(getattr(command, f.name)) for f in fields(command)},
    }
    if envelope.operator is not None:  # absent, not null: older spools read the same
        encoded["operator"] = envelope.operator
    return encoded


def _ref(data: object) -> ProductRef:
    if not isinstance(data, dict):
        raise ValueError("product must be an object")
    return ProductRef(sku=data.get("sku"), barcode=data.get("barcode"))


def _decode_field(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "product":
        return _ref(value)
    if name in _DATES:
        return date.fromisoformat(value)
    if name == "serials":
        return tuple(value)
    if name == "lines":
        return tuple(
            Line(
                product=_ref(item["product"]),
                quantity=item["quantity"],
                lot=item.get("lot"),
                expiry=date.fromisoformat(item["expiry"]) if item.get("expiry") else None,
                serials=tuple(item.get("serials") or ()),
            )
            for item in value
        )
    return value


def envelope_from_dict(data: dict[str, Any]) -> Envelope:
    try:
        cls = _COMMANDS[data["type"]]
        body = data["command"]
        command = cls(**{name: _decode_field(name, value) for name, value in body.items()})
        return Envelope(
            key=IdempotencyKey(data["key"]),
            command=command,
            actor=data.get("actor", "system"),
            scanner=ScannerId(data["scanner"]) if data.get("scanner") else None,
            scan_seq=data.get("scan_seq"),
            operator=OperatorCode(data["operator"]) if data.get("operator") else None,
        )
    except (KeyError, TypeError, AttributeError, InvalidMovementError) as exc:
        raise ValueError(f"not an envelope: {exc}") from exc
