"""The ZPL that prints labels: GS1-128 and GS1 Data Matrix with FNC1, symbols sized to
fit the label at the printer's resolution."""

from __future__ import annotations

import re
from collections.abc import Sequence

from stock_core.domain.labels.label import _DPMM
from stock_core.domain.labels.label import MAX_2D_MODULE_MM
from stock_core.domain.labels.label import MAX_MODULE_MM
from stock_core.domain.labels.label import MIN_2D_MODULE_MM
from stock_core.domain.labels.label import MIN_MODULE_MM
from stock_core.domain.labels.label import Label
from stock_core.domain.labels.label import LabelError
from stock_core.domain.labels.label import LabelSize
from stock_core.domain.labels.label import Symbol

__all__ = ["too_small", "zpl"]


# Retail symbols: the ZPL command, digits dropped (the printer adds the check digit),
# modules with quiet zones, modules of the left quiet zone.
_ZPL_RETAIL = {
    Symbol.EAN13: ("^BE", 1, 113, 11),
    Symbol.UPCA: ("^BU", 1, 113, 9),
    Symbol.EAN8: ("^B8", 1, 81, 7),
    Symbol.ITF14: ("^B2", 0, 156, 10),  # Interleaved 2 of 5 (ratio 3): all 14 digits
}


# Data Matrix ECC 200 square sizes and their data codewords; QR versions (ECC M) and
# their byte capacity: for the module size that makes the symbol fit.
_DATAMATRIX = (
    (10, 3), (12, 5), (14, 8), (16, 12), (18, 18), (20, 22), (22, 30), (24, 36),
    (26, 44), (32, 62), (36, 86), (40, 114), (44, 144), (48, 174), (52, 204),
)  # fmt: skip


_QR_BYTES = (14, 26, 42, 62, 84, 106, 122, 152, 180, 213)


_DIGIT_RUN = re.compile(r"[0-9]{4,}")


def _code128_modules(data: str, fnc1: int = 0) -> int:
    """An upper bound of a Code 128 symbol's width, quiet zones included: digit runs of
    four or more packed two to a character (code set C), the rest one each."""
    characters = 2 + fnc1  # start, check
    rest = data
    for run in _DIGIT_RUN.findall(data):
        characters += (len(run) + 1) // 2 + 2  # the run, a switch in and out
        rest = rest.replace(run, "", 1)
    characters += len(rest)
    return 11 * characters + 13 + 20


def _datamatrix_modules(data: str, fnc1: int) -> int | None:
    codewords = fnc1 + sum((len(r) + 1) // 2 for r in re.findall(r"[0-9]+", data))
    codewords += len(re.sub(r"[0-9]+", "", data))
    for size, capacity in _DATAMATRIX:
        if codewords <= capacity:
            return size + 2  # a one-module quiet zone each side
    return None


def _qr_modules(data: str) -> int | None:
    for version, capacity in enumerate(_QR_BYTES, start=1):
        if len(data.encode()) <= capacity:
            return 17 + 4 * version + 8
    return None


def _field(text: str) -> str:
    """Field data for ``^FH\\``: the ZPL command characters and the indicator in hex."""
    return text.replace("\\", "\\5C").replace("^", "\\5E").replace("~", "\\7E")


def _gs1_zpl(label: Label, start: str, fnc1: str, escape: tuple[str, str]) -> tuple[str, str, int]:
    """A GS1 label's ZPL field data, its element string (AIs and values, for sizing) and
    how many FNC1 it holds. The data: ``start`` then the element string, ``fnc1`` as
    separator, the symbol's escape character written as ``escape`` says. GS1-128:
    ``>;>8`` (start C, FNC1), ``>8``, ``>`` as ``><``; GS1 Data Matrix: ``_1`` (FNC1)
    first and as separator, ``_`` as ``__``."""
    parts = [start]
    for ai, value, separator in label.gs1_segments:
        parts.append(ai + value.replace(*escape))
        if separator:
            parts.append(fnc1)
    fnc1s = 1 + sum(separator for _, _, separator in label.gs1_segments)
    return "".join(parts), "".join(a + v for a, v in label.elements), fnc1s


def _fit(modules: int | None, room: int, label: Label, size: LabelSize, dpmm: int) -> int:
    """Dots per module: as many as fit ``room`` dots, within the module limits."""
    smallest, largest = (MIN_MODULE_MM, MAX_MODULE_MM)
    if label.symbol.two_dimensional:
        smallest, largest = (MIN_2D_MODULE_MM, MAX_2D_MODULE_MM)
    dots = 0 if modules is None else min(room // modules, max(round(largest * dpmm), 1))
    if dots < smallest * dpmm:
        raise too_small(label, size)
    return dots


def too_small(label: Label, size: LabelSize) -> LabelError:
    """The refusal of a code too long for the label at the narrowest module."""
    return LabelError(
        f"{label.text} does not fit a {size.name} label as {label.symbol.value}: "
        "use a larger size or a 2D symbol"
    )


def _zpl_symbol(label: Label, size: LabelSize, dpmm: int) -> list[str]:
    """The symbol's ZPL fields, placed in the label's upper part."""
    pad = 2 * dpmm
    width = round(size.label[0] * dpmm)
    height = round(size.label[1] * dpmm)
    if label.symbol.two_dimensional:
        room = min(round(height * 0.62), width // 2)
        if label.symbol is Symbol.QR:
            dots = min(_fit(_qr_modules(label.data), room, label, size, dpmm), 10)
            return [f"^FO{pad},{pad}^BQN,2,{dots}^FH\\^FDMA,{_field(label.data)}^FS"]
        if label.symbol is Symbol.GS1_DATAMATRIX:
            data, elements, fnc1s = _gs1_zpl(label, "_1", "_1", ("_", "__"))
            modules = _datamatrix_modules(elements, fnc1s)
        else:
            data = label.data.replace("_", "__")
            modules = _datamatrix_modules(label.data, 0)
        dots = _fit(modules, room, label, size, dpmm)
        return [f"^FO{pad + dots},{pad + dots}^BXN,{dots},200,,,,_^FH\\^FD{_field(data)}^FS"]
    room = width - 2 * pad
    bars = round(height * 0.45)
    if label.symbol in _ZPL_RETAIL:
        command, drop, modules, quiet = _ZPL_RETAIL[label.symbol]
        dots = _fit(modules, room, label, size, dpmm)
        digits = label.data[: len(label.data) - drop]
        ratio = ",3" if label.symbol is Symbol.ITF14 else ""
        left = pad + (room - dots * modules) // 2 + quiet * dots
        return [f"^BY{dots}{ratio}", f"^FO{left},{pad}{command}N,{bars},N,N^FD{digits}^FS"]
    if label.symbol is Symbol.GS1_128:
        data, elements, fnc1s = _gs1_zpl(label, ">;>8", ">8", (">", "><"))
        modules = _code128_modules(elements, fnc1s)
    else:
        data = label.data.replace(">", "><")
        modules = _code128_modules(label.data)
    dots = _fit(modules, room, label, size, dpmm)
    left = pad + (room - dots * modules) // 2 + 10 * dots
    return [f"^BY{dots}", f"^FO{left},{pad}^BCN,{bars},N,N,N,A^FH\\^FD{_field(data)}^FS"]


def _zpl_text(label: Label, size: LabelSize, dpmm: int) -> list[str]:
    """The code in words, then the caption and detail, below or beside the symbol."""
    pad = 2 * dpmm
    width = round(size.label[0] * dpmm)
    height = round(size.label[1] * dpmm)
    if label.symbol.two_dimensional:
        left = pad + min(round(height * 0.62), width // 2) + pad
        top = pad
    else:
        left = pad
        top = pad + round(height * 0.45) + dpmm
    room = width - left - pad
    # Font 0 characters are about 0.6 of their height wide.
    big = max(min(round(height * 0.16), room * 5 // (3 * len(label.text))), 2 * dpmm)
    small = max(round(big * 0.6), 2 * dpmm)
    lines = [(label.text, big), (label.caption, small), (label.detail, small)]
    fields = []
    for text, font in lines:
        if not text or top + font > height - dpmm // 2:
            continue
        characters = max(room * 5 // (3 * font), 1)
        shown = text if len(text) <= characters else text[: characters - 1] + "…"
        fields.append(
            f"^FO{left},{top}^A0N,{font},{font}^FB{room},1,0,L,0^FH\\^FD{_field(shown)}^FS"
        )
        top += font + dpmm
    return fields


def zpl(labels: Sequence[Label], size: LabelSize, dpi: int = 203) -> str:
    """One ``^XA…^XZ`` format per label, UTF-8 text (``^CI28``), for a ``dpi`` printer."""
    if size.sheet:
        raise LabelError(f"ZPL prints on label rolls, not {size.name} sheets")
    dpmm = _DPMM[dpi]
    width = round(size.label[0] * dpmm)
    length = round(size.label[1] * dpmm)
    formats = []
    for label in labels:
        fields = ["^XA", "^CI28", f"^PW{width}", f"^LL{length}", "^LH0,0"]
        fields += _zpl_symbol(label, size, dpmm)
        fields += _zpl_text(label, size, dpmm)
        fields.append("^XZ")
        formats.append("\n".join(fields) + "\n")
    return "".join(formats)
