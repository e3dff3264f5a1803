"""Scanner configuration: one ``[[scanners]]`` table each (SPEC, Scanners)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import field_validator
from pydantic import model_validator

from scanner_gateway.framing import DEFAULT_MAX_LENGTH
from scanner_gateway.framing import Terminator
from stock_core.domain.warehouse import check_warehouse_code

__all__ = ["FEEDBACK_BYTES", "PRESETS", "ScannerConfig", "parse_byte_string"]

PRESETS: dict[str, dict[str, object]] = {
    "honeywell": {"baudrate": 115200, "bytesize": 8, "parity": "N", "stopbits": 1},
    "zebra": {"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1},
    "datalogic": {"baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1},
}

FEEDBACK_BYTES: dict[str, tuple[bytes, bytes]] = {
    "none": (b"", b""),
    "bel": (b"", b"\x07"),
    "honeywell": (b"\x1b7,", b"\x1b8,"),
    # Datalogic's ACK/NAK host-acknowledge option with its default characters
    "datalogic": (b"\x06", b"\x15"),
}

# GS1's 82-character set (GS1 General Specifications, figure 7.11-1) can appear in
# AI values, so the FNC1 stand-in must be a character outside it (or a control code).
_GS1_CHARACTERS = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
_BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def parse_byte_string(text: str) -> bytes:
    r"""Custom ack/nak bytes: ``"\x06"``, ``"\e7,"`` escapes or hex like ``"1b 37 2c"``."""
    compact = text.replace(" ", "")
    if compact and re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", compact) and " " in text:
        return bytes.fromhex(compact)
    out = text.replace("\\e", "\\x1b").encode("latin-1").decode("unicode_escape")
    return out.encode("latin-1")


class ScannerConfig(BaseModel):
    """One scanner on a serial line, a USB virtual COM port or a device server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    url: str = Field(min_length=1)
    preset: Literal["honeywell", "zebra", "datalogic"] | None = None
    baudrate: int = 9600
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: float = 1
    terminator: Terminator = Terminator.AUTO
    idle_gap_ms: float = Field(default=80.0, gt=0, le=10_000)
    max_length: int = Field(default=DEFAULT_MAX_LENGTH, ge=16, le=8192)
    mode: Literal["receive", "pick", "count", "move"] = "receive"
    location: str | None = None
    warehouse: str | None = None
    """The warehouse this scanner works in: ``LOC:`` codes of another are refused."""
    same_code_delay_ms: float = Field(default=0.0, ge=0, le=60_000)
    require_operator: bool = False
    """Refuse product scans (and anything that would post) while no one is signed in."""
    operator_idle_minutes: float | None = Field(default=None, gt=0, le=24 * 60)
    """Sign the operator out after this long without a scan (default: the gateway's)."""
    feedback: Literal["none", "bel", "honeywell", "datalogic", "custom"] = "none"
    ack: str | None = None
    nak: str | None = None
    gs1_separator: str = Field(default="GS", validate_default=True)
    """What the scanner sends for GS1's FNC1: ``GS`` (ASCII 29, the default), one
    character outside GS1's character set such as ``|`` or ``~``, or an escape such as
    ``\\x1e``."""

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("1-64 letters, digits, '.', '_' or '-'")
        return value

    @field_validator("warehouse")
    @classmethod
    def _check_warehouse(cls, value: str | None) -> str | None:
        return None if value is None else check_warehouse_code(value)

    @field_validator("gs1_separator")
    @classmethod
    def _check_separator(cls, value: str) -> str:
        if value.upper() == "GS":
            return "\x1d"
        try:
            raw = parse_byte_string(value)
        except (UnicodeError, ValueError):
            raw = b""
        if len(raw) != 1 or raw[0] > 0x7F:
            raise ValueError("GS, or one ASCII character or escape such as '|' or '\\x1e'")
        char = raw.decode("ascii")
        if char in "\r\n\t\x00\x11\x13":
            raise ValueError("a terminator or a character the framer strips cannot stand for FNC1")
        if char in _GS1_CHARACTERS or char in " ]":
            raise ValueError(f"{char!r} can be part of GS1 data: pick one such as '|', '~' or '^'")
        return char

    @field_validator("stopbits")
    @classmethod
    def _check_stopbits(cls, value: float) -> float:
        if value not in (1, 1.5, 2):
            raise ValueError("must be 1, 1.5 or 2")
        return value

    @field_validator("baudrate")
    @classmethod
    def _check_baud(cls, value: int) -> int:
        if value not in _BAUDS:
            raise ValueError(f"must be one of {', '.join(map(str, _BAUDS))}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("preset") in PRESETS:
            return {**PRESETS[str(data["preset"])], **data}
        return data

    @model_validator(mode="after")
    def _check_feedback(self) -> ScannerConfig:
        if self.feedback == "custom" and not (self.ack or self.nak):
            raise ValueError("feedback = 'custom' needs ack and/or nak bytes")
        if self.feedback != "custom" and (self.ack or self.nak):
            raise ValueError("ack/nak bytes are only used with feedback = 'custom'")
        for name in ("ack", "nak"):
            value = getattr(self, name)
            if value is not None:
                try:
                    parse_byte_string(value)
                except (UnicodeError, ValueError) as exc:
                    raise ValueError(f"{name} is not a byte string: {exc}") from None
        return self

    def feedback_bytes(self) -> tuple[bytes, bytes]:
        """(ack, nak) bytes written back to the scanner."""
        if self.feedback == "custom":
            return (
                parse_byte_string(self.ack) if self.ack else b"",
                parse_byte_string(self.nak) if self.nak else b"",
            )
        return FEEDBACK_BYTES[self.feedback]
