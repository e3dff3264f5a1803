"""ScannerConfig: presets, validation, and the feedback bytes each driver writes."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from scanner_gateway.config import FEEDBACK_BYTES
from scanner_gateway.config import PRESETS
from scanner_gateway.config import ScannerConfig
from scanner_gateway.config import parse_byte_string
from scanner_gateway.framing import Terminator


def config(**fields: Any) -> ScannerConfig:
    return ScannerConfig(**{"id": "dock-1", "url": "/dev/ttyUSB0", **fields})


def problem(**fields: Any) -> str:
    """The validation message for one bad config."""
    with pytest.raises(ValidationError) as caught:
        config(**fields)
    (error,) = caught.value.errors()
    return f"{'.'.join(map(str, error['loc']))}: {error['msg']}"


def test_defaults_are_9600_8n1_auto_terminator_no_feedback() -> None:
    c = config()
    assert (c.baudrate, c.bytesize, c.parity, c.stopbits) == (9600, 8, "N", 1)
    assert (c.terminator, c.mode, c.feedback, c.location) == (
        Terminator.AUTO,
        "receive",
        "none",
        None,
    )
    assert c.same_code_delay_ms == 0
    assert c.feedback_bytes() == (b"", b"")


@pytest.mark.parametrize(
    ("preset", "baudrate"), [("honeywell", 115200), ("zebra", 9600), ("datalogic", 9600)]
)
def test_presets_set_the_line(preset: str, baudrate: int) -> None:
    c = config(preset=preset)
    assert (c.baudrate, c.bytesize, c.parity, c.stopbits) == (baudrate, 8, "N", 1)
    assert PRESETS[preset]["baudrate"] == baudrate


def test_explicit_settings_win_over_the_preset() -> None:
    c = config(preset="honeywell", baudrate=9600, parity="E", bytesize=7)
    assert (c.baudrate, c.bytesize, c.parity) == (9600, 7, "E")


@pytest.mark.parametrize(
    ("feedback", "ack", "nak"),
    [
        ("none", b"", b""),
        ("bel", b"", b"\x07"),
        ("honeywell", b"\x1b7,", b"\x1b8,"),
        ("datalogic", b"\x06", b"\x15"),
    ],
)
def test_feedback_drivers_write_their_bytes(feedback: str, ack: bytes, nak: bytes) -> None:
    assert config(feedback=feedback).feedback_bytes() == (ack, nak) == FEEDBACK_BYTES[feedback]


@pytest.mark.parametrize(
    ("ack", "nak", "expected"),
    [
        (r"\x06", r"\x15", (b"\x06", b"\x15")),
        (r"\e7,", r"\e8,", (b"\x1b7,", b"\x1b8,")),  # \e is ESC
        ("1b 37 2c", "1b 38 2c", (b"\x1b7,", b"\x1b8,")),  # hex with spaces
        ("OK\\r\\n", None, (b"OK\r\n", b"")),  # ack only: bad scans stay silent
        (None, "\x07", (b"", b"\x07")),  # a real control character, as TOML \u0007 gives
    ],
)
def test_custom_feedback_bytes(
    ack: str | None, nak: str | None, expected: tuple[bytes, bytes]
) -> None:
    assert config(feedback="custom", ack=ack, nak=nak).feedback_bytes() == expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"id": "dock 1"}, "id: Value error, 1-64 letters"),
        ({"id": ""}, "id: Value error, 1-64 letters"),
        ({"id": "x" * 65}, "id: Value error, 1-64 letters"),
        ({"url": ""}, "url: String should have at least 1 character"),
        ({"baudrate": 12345}, "baudrate: Value error, must be one of 1200, 2400"),
        ({"bytesize": 9}, "bytesize: Input should be 5, 6, 7 or 8"),
        ({"parity": "X"}, "parity: Input should be 'N', 'E', 'O', 'M' or 'S'"),
        ({"stopbits": 3}, "stopbits: Value error, must be 1, 1.5 or 2"),
        ({"terminator": "ETX"}, "terminator: Input should be 'CR', 'LF', 'CRLF', 'TAB'"),
        ({"idle_gap_ms": 0}, "idle_gap_ms: Input should be greater than 0"),
        ({"max_length": 8}, "max_length: Input should be greater than or equal to 16"),
        ({"mode": "ship"}, "mode: Input should be 'receive', 'pick', 'count' or 'move'"),
        ({"same_code_delay_ms": -1}, "same_code_delay_ms: Input should be greater than or"),
        ({"preset": "symbol"}, "preset: Input should be 'honeywell', 'zebra' or 'datalogic'"),
        ({"feedback": "beep"}, "feedback: Input should be 'none', 'bel', 'honeywell'"),
        ({"feedback": "custom"}, ": Value error, feedback = 'custom' needs ack and/or nak"),
        ({"ack": r"\x06"}, ": Value error, ack/nak bytes are only used with feedback = 'custom'"),
        ({"feedback": "custom", "ack": "\\"}, ": Value error, ack is not a byte string"),
        ({"feedback": "custom", "nak": "\u20ac"}, ": Value error, nak is not a byte string"),
        ({"baud": 9600}, "baud: Extra inputs are not permitted"),
        ({"warehouse": "east"}, "warehouse: Value error, warehouse code 'east' must be 1-32"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(fields: dict[str, Any], message: str) -> None:
    # whole-config problems (feedback with ack/nak) have no field location: ": ..."
    assert problem(**fields).startswith(message)


def test_a_scanner_may_name_its_warehouse() -> None:
    assert ScannerConfig(id="d", url="/dev/null", warehouse="EAST-2").warehouse == "EAST-2"
    assert ScannerConfig(id="d", url="/dev/null").warehouse is None


def test_config_is_frozen() -> None:
    c = config()
    with pytest.raises(ValidationError):
        c.baudrate = 115200  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"\x1b\x37\x2c", b"\x1b7,"),
        ("06 15", b"\x06\x15"),
        ("", b""),
        ("\u00ff", b"\xff"),
    ],
)
def test_parse_byte_string(text: str, expected: bytes) -> None:
    assert parse_byte_string(text) == expected


@pytest.mark.parametrize(
    ("setting", "char"), [("GS", "\x1d"), ("gs", "\x1d"), ("|", "|"), ("~", "~"), ("\\x1e", "\x1e")]
)
def test_the_gs1_separator_is_gs_or_one_character_outside_gs1_data(setting: str, char: str) -> None:
    assert config().gs1_separator == "\x1d"
    assert config(gs1_separator=setting).gs1_separator == char


@pytest.mark.parametrize("setting", ["A", "7", "-", "]", " ", "||", "\\r", "\\t", "\\x00", "é"])
def test_a_gs1_separator_that_could_be_data_is_refused(setting: str) -> None:
    assert problem(gs1_separator=setting).startswith("gs1_separator: Value error")
