"""Sample spool records for the spool's tests: built, encoded, and in the legacy
``spool.log`` format."""

from __future__ import annotations

import json
import struct
import zlib
from datetime import UTC
from datetime import date
from datetime import datetime

from scanner_gateway.spool.codec import SpoolRecord
from scanner_gateway.spool.codec import encode_record
from stock_core.domain.codec import envelope_to_dict
from stock_core.domain.movement import Command
from stock_core.domain.movement import Count
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import Line
from stock_core.domain.movement import Move
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.movement import Undo
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import ScannerId
from stock_core.types import Sku

__all__ = ["A01", "AT", "B01", "COMMANDS", "WIDGET", "legacy_record", "record", "stream"]

AT = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
WIDGET = ProductRef(barcode="05012345678900")
A01, B01 = LocationCode("A-01"), LocationCode("B-01")

COMMANDS: list[Command] = [
    Receive(WIDGET, A01, 3, lot="L1", expiry=date(2026, 1, 31)),
    Pick(ProductRef(sku=Sku("GADGET")), A01, 1),
    Count(A01, (Line(WIDGET, 12), Line(ProductRef(sku=Sku("BOLT")), 0, lot="X"))),
    Move(A01, B01, (Line(WIDGET, 2, lot="L1", expiry=date(2026, 1, 31)),)),
    Undo(scanner=ScannerId("dock-1")),
]


def record(n: int, command: Command | None = None, at: datetime = AT) -> SpoolRecord:
    envelope = Envelope(
        IdempotencyKey(f"dock-1:{1_000_000_000 + n}"),
        command if command is not None else Receive(WIDGET, A01, 1, lot=f"LOT{n}"),
        actor="scanner:dock-1",
        scanner=ScannerId("dock-1"),
        scan_seq=1_000_000_000 + n,
    )
    return SpoolRecord(envelope, at)


def stream(records: list[SpoolRecord]) -> bytes:
    return b"".join(encode_record(r) for r in records)


def legacy_record(rec: SpoolRecord) -> bytes:
    """A record as the single-file spool of earlier versions wrote it (``spool.log``)."""
    payload = json.dumps(
        {"envelope": envelope_to_dict(rec.envelope), "at": rec.spooled_at.isoformat()},
        separators=(",", ":"),
    ).encode()
    return b"SP" + struct.pack(">II", len(payload), zlib.crc32(payload)) + payload
