"""The bytes real barcode scanners send, and the scanner models that send them (pure).

A *frame* is what one scan puts on the wire: an optional AIM symbology identifier
(ISO/IEC 15424, e.g. ``]E0``), the data, and the configured suffix (terminator).
GS1 data (GS1-128, GS1 DataMatrix, GS1 QR) carries FNC1 separators as ASCII 29 (GS);
FNC1 in first position is not transmitted, the AIM identifier (``]C1``, ``]d2``,
``]Q3``) says it was there.

Model presets (``ScannerModel``) and why:

``HONEYWELL``
    115200 8N1, suffix CR LF (what Honeywell's "RS232 Interface" plug-and-play code
    programs), AIM identifier prefix on (the configuration stockd recommends), host
    ACK: the gateway answers ``ESC 7 ,`` (``b"\\x1b7,"``) for good and ``ESC 8 ,``
    (``b"\\x1b8,"``) for bad. Gateway feedback driver ``honeywell``.
``ZEBRA``
    9600 8N1, scan data format ``<DATA> <SUFFIX 1>`` with suffix 1 = CR, no code ID,
    and "Beep on <BEL>": no good-read answer, BEL (0x07) for bad. Driver ``bel``.
``DATALOGIC``
    9600 8N1, global suffix CR, no label ID, and the ACK/NAK option with Datalogic's
    default characters: ACK 0x06 for good, NAK 0x15 for bad. Driver ``datalogic``.
``GENERIC_BEL``
    9600 8N1, suffix LF, no AIM, BEL (0x07) for bad only. Driver ``bel``.

Other set-ups: ``dataclasses.replace(HONEYWELL, terminator=b"", ack=..., nak=...)``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Final
from urllib.parse import quote

from stock_core.domain.gtin import GTIN_LENGTHS
from stock_core.domain.gtin import check_digit

__all__ = [
    "DATALOGIC",
    "GENERIC_BEL",
    "GS",
    "HONEYWELL",
    "PRESETS",
    "TERMINATORS",
    "ZEBRA",
    "Aim",
    "ScannerModel",
    "corrupt_check_digit",
    "digital_link",
    "ean8",
    "ean13",
    "frame",
    "gs1_date",
    "gs1_element_string",
    "gs1_from_hri",
    "gtin14",
    "guess_aim",
    "terminator_name",
    "upca",
    "with_check_digit",
]

GS: Final = "\x1d"
"""ASCII 29, Group Separator: how scanners transmit a GS1 FNC1 separator."""

TERMINATORS: Final[Mapping[str, bytes]] = MappingProxyType(
    {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "TAB": b"\t", "none": b""}
)
"""Suffixes by the names the gateway's ``terminator`` setting uses (SPEC "Scanners")."""


class Aim(enum.StrEnum):
    """AIM symbology identifiers (ISO/IEC 15424) a scanner may prefix to its data."""

    EAN13 = "]E0"
    """EAN-13, UPC-A and UPC-E."""
    EAN8 = "]E4"
    CODE128 = "]C0"
    GS1_128 = "]C1"
    ITF = "]I1"
    """Interleaved 2 of 5 with its check digit checked: ITF-14."""
    CODE39 = "]A0"
    DATAMATRIX = "]d1"
    GS1_DATAMATRIX = "]d2"
    QR = "]Q1"
    GS1_QR = "]Q3"
    GS1_DATABAR = "]e0"


# GS1 General Specifications figure 7.8.5-2: element strings whose AI starts with
# these two digits have a predefined total length (AI + data) and need no FNC1 after
# them. Every other AI (10, 21, 30, 37, 400, 8xxx, …) is variable-length.
_PREDEFINED_LENGTH: Final[Mapping[str, int]] = MappingProxyType(
    {
        "00": 20,
        "01": 16,
        "02": 16,
        "03": 16,
        "04": 18,
        "11": 8,
        "12": 8,
        "13": 8,
        "14": 8,
        "15": 8,
        "16": 8,
        "17": 8,
        "18": 8,
        "19": 8,
        "20": 4,
        "31": 10,
        "32": 10,
        "33": 10,
        "34": 10,
        "35": 10,
        "36": 10,
        "41": 16,
    }
)


def _require_digits(code: str, what: str) -> None:
    if not code or not code.isascii() or not code.isdigit():
        raise ValueError(f"{what} must be digits, got {code!r}")


def with_check_digit(body: str) -> str:
    """``body`` followed by its GS1 mod-10 check digit."""
    _require_digits(body, "a GTIN body")
    return f"{body}{check_digit(body)}"


def _with_check_digit_of_length(body: str, length: int) -> str:
    _require_digits(body, "a GTIN body")
    if len(body) != length:
        raise ValueError(f"expected {length} digits before the check digit, got {len(body)}")
    return with_check_digit(body)


def ean13(body12: str) -> str:
    """An EAN-13 from its first 12 digits."""
    return _with_check_digit_of_length(body12, 12)


def ean8(body7: str) -> str:
    """An EAN-8 from its first 7 digits."""
    return _with_check_digit_of_length(body7, 7)


def upca(body11: str) -> str:
    """A UPC-A from its first 11 digits."""
    return _with_check_digit_of_length(body11, 11)


def gtin14(gtin: str, indicator: int = 0) -> str:
    """The GTIN-14 for ``gtin`` (8, 12, 13 or 14 digits, check digit included).

    ``indicator`` (0-9) is the packaging level digit: 0 keeps the item's own GTIN
    (zero-padded), 1-8 give the case codes printed as ITF-14, with a new check digit.
    The given check digit is not verified: bad codes are built on purpose elsewhere.
    """
    _require_digits(gtin, "a GTIN")
    if len(gtin) not in GTIN_LENGTHS:
        raise ValueError(f"a GTIN has 8, 12, 13 or 14 digits, not {len(gtin)}")
    if not 0 <= indicator <= 9:
        raise ValueError(f"the indicator digit is 0-9, not {indicator}")
    core = gtin[:-1].zfill(13)[-12:]
    return with_check_digit(f"{indicator}{core}")


def corrupt_check_digit(code: str, delta: int = 1) -> str:
    """``code`` with its last digit shifted by ``delta`` (1-9): a bad check digit."""
    _require_digits(code, "a GTIN")
    if not 1 <= delta <= 9:
        raise ValueError(f"delta is 1-9, not {delta}")
    return f"{code[:-1]}{(int(code[-1]) + delta) % 10}"


def gs1_date(day: date) -> str:
    """A GS1 date field (AI 11, 13, 15, 17): ``YYMMDD``."""
    return day.strftime("%y%m%d")


def gs1_element_string(ais: Sequence[tuple[str, str]]) -> str:
    """Concatenate GS1 element strings as a scanner transmits them.

    Each item is ``(ai, data)``, e.g. ``("01", "09506000134352")``. A GS separator
    follows every variable-length element except the last; predefined-length ones
    (00, 01, 02, 11-19, 20, 31xx-36xx, 41x, …) need none, and their length is checked.
    Check digits are not verified. Raises ``ValueError`` for malformed input.
    """
    if not ais:
        raise ValueError("a GS1 element string needs at least one AI")
    parts: list[str] = []
    last = len(ais) - 1
    for index, (ai, data) in enumerate(ais):
        _require_digits(ai, "an AI")
        if not 2 <= len(ai) <= 4:
            raise ValueError(f"an AI has 2 to 4 digits, not {ai!r}")
        if not data or GS in data or not data.isascii() or not data.isprintable():
            raise ValueError(f"AI ({ai}) needs printable ASCII data, got {data!r}")
        total = _PREDEFINED_LENGTH.get(ai[:2])
        if total is not None and len(ai) + len(data) != total:
            raise ValueError(f"AI ({ai}) takes {total - len(ai)} characters, got {len(data)}")
        parts.append(ai + data)
        if total is None and index != last:
            parts.append(GS)
    return "".join(parts)


def gs1_from_hri(hri: str) -> str:
    """The element string for a human-readable form like ``(01)09506000134352(10)A1``."""
    if not hri.startswith("("):
        raise ValueError(f"GS1 human-readable text starts with '(': {hri!r}")
    ais: list[tuple[str, str]] = []
    for chunk in hri[1:].split("("):
        ai, sep, data = chunk.partition(")")
        if not sep:
            raise ValueError(f"unclosed AI in {hri!r}")
        ais.append((ai, data))
    return gs1_element_string(ais)


def digital_link(
    gtin: str,
    lot: str | None = None,
    expiry: date | str | None = None,
    *,
    serial: str | None = None,
    host: str = "https://id.gs1.org",
) -> str:
    """A GS1 Digital Link URI: ``{host}/01/{gtin14}[/10/{lot}][/21/{serial}][?17=YYMMDD]``.

    The GTIN is zero-padded to 14 digits (its check digit is not verified).
    """
    _require_digits(gtin, "a GTIN")
    if len(gtin) not in GTIN_LENGTHS:
        raise ValueError(f"a GTIN has 8, 12, 13 or 14 digits, not {len(gtin)}")
    uri = f"{host.rstrip('/')}/01/{gtin.zfill(14)}"
    if lot is not None:
        uri += f"/10/{quote(lot, safe='')}"
    if serial is not None:
        uri += f"/21/{quote(serial, safe='')}"
    if expiry is not None:
        uri += f"?17={gs1_date(expiry) if isinstance(expiry, date) else expiry}"
    return uri


def guess_aim(text: str) -> Aim:
    """The AIM identifier a scanner would most likely report for ``text``."""
    if GS in text:
        return Aim.GS1_128
    if text.isascii() and text.isdigit():
        if len(text) in (12, 13):
            return Aim.EAN13
        if len(text) == 8:
            return Aim.EAN8
        if len(text) == 14:
            return Aim.ITF
        if len(text) > 14:
            return Aim.GS1_128
    if text.startswith(("http://", "https://", "HTTP://", "HTTPS://")):
        return Aim.QR
    return Aim.CODE128


def frame(text: str, *, aim: str | None = None, terminator: bytes = b"\r") -> bytes:
    """One scan as bytes on the wire: ``aim`` prefix + ``text`` (Latin-1) + ``terminator``."""
    if aim is not None and (len(aim) != 3 or not aim.startswith("]")):
        raise ValueError(f"an AIM identifier is ']' and two characters, not {aim!r}")
    return f"{aim or ''}{text}".encode("latin-1") + terminator


def terminator_name(terminator: bytes) -> str:
    """The gateway setting name (``CR``, ``LF``, ``CRLF``, ``TAB``, ``none``) for a suffix."""
    for name, value in TERMINATORS.items():
        if value == terminator:
            return name
    raise ValueError(f"no terminator setting sends {terminator!r}")


@dataclass(frozen=True)
class ScannerModel:
    """How one scanner model is configured: line settings, framing and feedback bytes.

    ``ack``/``nak`` are the bytes the gateway writes back for a good/bad scan
    (``None``: that outcome is silent). ``feedback`` names the gateway driver that
    speaks them (SPEC "Scanners": ``none``, ``bel``, ``honeywell``, ``datalogic``).
    """

    name: str
    baudrate: int
    terminator: bytes
    aim: bool
    ack: bytes | None
    nak: bytes | None
    feedback: str
    bytesize: int = 8
    parity: str = "N"
    stopbits: int = 1

    @property
    def terminator_name(self) -> str:
        return terminator_name(self.terminator)

    def frame(
        self,
        text: str,
        *,
        aim: str | bool | None = None,
        terminator: bytes | None = None,
    ) -> bytes:
        """``text`` framed as this model sends it.

        ``aim``: ``None`` follows the model (a guessed identifier when it has AIM on),
        ``True``/``False`` force a guessed identifier or none, a string is used as is.
        ``terminator``: ``None`` follows the model, ``b""`` sends none.
        """
        if aim is None:
            aim = self.aim
        prefix: str | None
        if isinstance(aim, str):
            prefix = aim
        elif aim:
            prefix = guess_aim(text)
        else:
            prefix = None
        return frame(
            text,
            aim=prefix,
            terminator=self.terminator if terminator is None else terminator,
        )


HONEYWELL: Final = ScannerModel(
    name="honeywell",
    baudrate=115200,
    terminator=b"\r\n",
    aim=True,
    ack=b"\x1b7,",
    nak=b"\x1b8,",
    feedback="honeywell",
)
ZEBRA: Final = ScannerModel(
    name="zebra",
    baudrate=9600,
    terminator=b"\r",
    aim=False,
    ack=None,
    nak=b"\x07",
    feedback="bel",
)
DATALOGIC: Final = ScannerModel(
    name="datalogic",
    baudrate=9600,
    terminator=b"\r",
    aim=False,
    ack=b"\x06",
    nak=b"\x15",
    feedback="datalogic",
)
GENERIC_BEL: Final = ScannerModel(
    name="generic-bel",
    baudrate=9600,
    terminator=b"\n",
    aim=False,
    ack=None,
    nak=b"\x07",
    feedback="bel",
)

PRESETS: Final[Mapping[str, ScannerModel]] = MappingProxyType(
    {model.name: model for model in (HONEYWELL, ZEBRA, DATALOGIC, GENERIC_BEL)}
)
