"""Labels drawn as a PDF: vector symbols from zint, pages from reportlab.

No database and no files: :class:`~stock_core.domain.labels.Label` values in, the PDF's
bytes out. zint (libzint) encodes every symbol, GS1 ones with real FNC1 characters and
their AIs checked, and hands back its bars and modules as rectangles, which are drawn
as vectors so the print is as sharp as the printer allows. Each label is laid out in
its cell of the sheet (see :class:`~stock_core.domain.labels.LabelSize`):

* a linear symbol across the label's width, with its quiet zones, then the code in
  words, large, and the caption and detail lines below it;
* a 2D symbol on the left, square, with those lines beside it.

Modules keep within the domain's limits (``MIN_MODULE_MM`` to ``MAX_MODULE_MM`` for
bars, ``MIN_2D_MODULE_MM`` to ``MAX_2D_MODULE_MM`` for 2D symbols); a code that would
need them narrower is refused with a hint (a larger size, or a 2D symbol). Text is
Helvetica; characters outside its Windows-1252 repertoire print as ``?``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import zint
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from stock_core.domain.labels import MAX_2D_MODULE_MM
from stock_core.domain.labels import MAX_MODULE_MM
from stock_core.domain.labels import MIN_2D_MODULE_MM
from stock_core.domain.labels import MIN_MODULE_MM
from stock_core.domain.labels import Label
from stock_core.domain.labels import LabelError
from stock_core.domain.labels import LabelSize
from stock_core.domain.labels import Symbol
from stock_core.domain.labels import too_small

__all__ = ["render_pdf"]

_ZINT = {
    Symbol.CODE128: zint.Symbology.CODE128,
    Symbol.GS1_128: zint.Symbology.GS1_128,
    Symbol.DATAMATRIX: zint.Symbology.DATAMATRIX,
    Symbol.GS1_DATAMATRIX: zint.Symbology.DATAMATRIX,
    Symbol.QR: zint.Symbology.QRCODE,
    Symbol.EAN13: zint.Symbology.EANX,
    Symbol.EAN8: zint.Symbology.EANX,
    Symbol.UPCA: zint.Symbology.UPCA,
    Symbol.ITF14: zint.Symbology.ITF14,
}
_BOLD = "Helvetica-Bold"
_REGULAR = "Helvetica"
_QR_ECC_M = 2


@dataclass(frozen=True)
class _Box:
    """A rectangle in points, origin at the page's bottom left."""

    x: float
    y: float
    width: float
    height: float


def _vector(label: Label) -> zint.Vector:
    """The symbol's bars or modules, quiet zones included (2 units per module)."""
    symbol = zint.Symbol()
    symbol.symbology = _ZINT[label.symbol]
    symbol.show_text = False
    symbol.output_options = zint.OutputOptions.BARCODE_QUIET_ZONES
    symbol.warn_level = zint.WarningLevel.FAIL_ALL
    data = label.data
    if label.symbol.gs1:
        symbol.input_mode = zint.InputMode.GS1
        data = "".join(f"[{ai}]{value}" for ai, value in label.elements)
    elif label.symbol in (Symbol.EAN13, Symbol.EAN8, Symbol.UPCA, Symbol.ITF14):
        data = label.data[:-1]  # zint adds the check digit (the domain checked it)
    if _ZINT[label.symbol] is zint.Symbology.DATAMATRIX:
        symbol.option_3 = int(zint.DataMatrixOptions.SQUARE)
    if label.symbol is Symbol.QR:
        symbol.option_1 = _QR_ECC_M
    try:
        symbol.encode(data)
    except RuntimeError as exc:  # zint's refusal, e.g. too much data for the symbol
        raise LabelError(f"{label.text}: cannot be a {label.symbol.value} symbol: {exc}") from exc
    symbol.buffer_vector()
    return symbol.vector


def _draw_symbol(
    canvas: Canvas, vector: zint.Vector, box: _Box, x_scale: float, y_scale: float
) -> None:
    for rect in vector.rectangles:
        canvas.rect(
            box.x + rect.x * x_scale,
            box.y + box.height - (rect.y + rect.height) * y_scale,
            rect.width * x_scale,
            rect.height * y_scale,
            stroke=0,
            fill=1,
        )


def _printable(text: str) -> str:
    """What Helvetica can show (its Windows-1252 repertoire); the rest as ``?``."""
    return text.encode("cp1252", "replace").decode("cp1252")


def _fit_line(
    text: str, font: str, size: float, width: float, smallest: float
) -> tuple[str, float]:
    """``text`` at the largest size down to ``smallest`` that fits; cut with … if none."""
    text = _printable(text)
    while size > smallest and stringWidth(text, font, size) > width:
        size = max(smallest, size * 0.92)
    if stringWidth(text, font, size) <= width:
        return text, size
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…", size


def _lines(label: Label, big: float) -> list[tuple[str, str, float]]:
    small = max(big * 0.62, 5.5)
    found = [(label.text, _BOLD, big)]
    found += [(line, _REGULAR, small) for line in (label.caption, label.detail) if line]
    return found


def _draw_text(
    canvas: Canvas, lines: list[tuple[str, str, float]], box: _Box, smallest: float
) -> None:
    """Lines from the box's top down, each fitted to its width (the callers size the
    lines to the box's height)."""
    top = box.y + box.height
    for text, font, size in lines:
        shown, fitted = _fit_line(text, font, size, box.width, min(smallest, size))
        top -= fitted
        canvas.setFont(font, fitted)
        canvas.drawString(box.x, top, shown)
        top -= fitted * 0.25


def _draw_linear(
    canvas: Canvas, label: Label, vector: zint.Vector, cell: _Box, size: LabelSize
) -> None:
    pad = min(2.5 * mm, cell.height * 0.08)
    big = min(max(cell.height * 0.16, 7.0), 22.0)
    lines = _lines(label, big)
    while len(lines) > 1 and sum(s * 1.25 for _, _, s in lines) > cell.height * 0.42:
        lines.pop()
    text_height = sum(s * 1.25 for _, _, s in lines)
    modules = vector.width / 2
    room = cell.width - 1 * mm  # the symbol's quiet zones are in its width already
    module = min(room / modules, MAX_MODULE_MM * mm)
    if module < MIN_MODULE_MM * mm:
        raise too_small(label, size)
    width = module * modules
    bars = _Box(
        cell.x + (cell.width - width) / 2,
        cell.y + pad + text_height,
        width,
        cell.height - 2 * pad - text_height,
    )
    _draw_symbol(canvas, vector, bars, module / 2, bars.height / vector.height)
    text_left = cell.x + max(pad, (cell.width - width) / 2 + 10 * module)
    text = _Box(text_left, cell.y + pad, cell.x + cell.width - pad - text_left, text_height)
    _draw_text(canvas, lines, text, 5.5)


def _draw_matrix(
    canvas: Canvas, label: Label, vector: zint.Vector, cell: _Box, size: LabelSize
) -> None:
    pad = min(2.5 * mm, cell.height * 0.08)
    side = min(cell.height - 2 * pad, (cell.width - 2 * pad) * 0.5)
    module = min(side / (vector.width / 2), MAX_2D_MODULE_MM * mm)
    side = module * vector.width / 2
    if module < MIN_2D_MODULE_MM * mm:
        raise too_small(label, size)
    square = _Box(cell.x + pad, cell.y + (cell.height - side) / 2, side, side)
    _draw_symbol(canvas, vector, square, module / 2, module / 2)
    left = square.x + side + pad / 2
    lines = _lines(label, min(max(cell.height * 0.14, 7.0), 20.0))
    # The text starts level with the symbol's first row of modules (below its quiet
    # zone), or higher when it would not fit above the label's bottom margin.
    first_row = min(r.y for r in vector.rectangles) * module / 2
    top = max(square.y + side - first_row, cell.y + pad + sum(s * 1.25 for _, _, s in lines))
    top = min(top, cell.y + cell.height - pad)
    text = _Box(left, cell.y + pad, cell.x + cell.width - pad - left, top - cell.y - pad)
    _draw_text(canvas, lines, text, 5.5)


def render_pdf(labels: Sequence[Label], size: LabelSize, *, title: str = "stockd labels") -> bytes:
    """The labels on as many pages of ``size`` as they need, in order."""
    buffer = io.BytesIO()
    page_width, page_height = size.page[0] * mm, size.page[1] * mm
    canvas = Canvas(buffer, pagesize=(page_width, page_height), invariant=True)
    canvas.setTitle(title)
    canvas.setCreator("stockd")
    page = 0
    for index, label in enumerate(labels):
        on_page, left, top = size.cell(index)
        if on_page != page:
            canvas.showPage()
            page = on_page
        width, height = size.label[0] * mm, size.label[1] * mm
        cell = _Box(left * mm, page_height - top * mm - height, width, height)
        vector = _vector(label)
        if label.symbol.two_dimensional:
            _draw_matrix(canvas, label, vector, cell, size)
        else:
            _draw_linear(canvas, label, vector, cell, size)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
