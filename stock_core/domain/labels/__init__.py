"""What each printed label says, and the ZPL that prints it (SPEC, ``stockd labels``).

Pure: a request and catalog rows in; :class:`Label` values and ZPL text out. Every
label scans back as a code the gateway reads:

=============  ==========================================================================
kind           what the symbol holds
=============  ==========================================================================
locations      ``LOC:<code>`` as Code 128 (default), Data Matrix or QR
products       the unit GTIN (pack size 1) as EAN-8, UPC-A, EAN-13 or ITF-14 by its
               length; or GS1-128 / GS1 Data Matrix with AI 01 (GTIN), 17 (expiry) and
               10 (lot), FNC1 first and after a variable-length field that is not last
commands       every ``CMD:`` the gateway knows and ``QTY:`` 1, 2, 3, 5, 6, 10, 12, 20,
               24, 50, 100 (or those named), as Code 128 (default), Data Matrix or QR
=============  ==========================================================================

GS1 fields go in the order 01, 17, 10: fixed-length fields first, so a label with a
lot and an expiry needs no FNC1 separator inside (fewer ways for a scanner to get it
wrong); the separator rule is applied all the same.

Sizes are sheets of labels (``a4``: 3 × 7 of 63.5 × 38.1 mm, as Avery L7160; ``letter``:
3 × 10 of 66.7 × 25.4 mm, as Avery 5160) or one label per page for label printers
(``100x50``, ``57x32``). ZPL is for label printers only: one ``^XA…^XZ`` per label, at
203, 300 or 600 dpi. The PDF is drawn by :mod:`stock_core.label_pdf`.

Every refusal is a :class:`LabelError` with one line saying what to change.
"""

from __future__ import annotations

from stock_core.domain.labels.label import COMMANDS
from stock_core.domain.labels.label import DPIS
from stock_core.domain.labels.label import MAX_2D_MODULE_MM
from stock_core.domain.labels.label import MAX_LABELS
from stock_core.domain.labels.label import MAX_MODULE_MM
from stock_core.domain.labels.label import MIN_2D_MODULE_MM
from stock_core.domain.labels.label import MIN_MODULE_MM
from stock_core.domain.labels.label import QUANTITIES
from stock_core.domain.labels.label import SIZES
from stock_core.domain.labels.label import SYMBOLS
from stock_core.domain.labels.label import Label
from stock_core.domain.labels.label import LabelError
from stock_core.domain.labels.label import LabelFormat
from stock_core.domain.labels.label import LabelKind
from stock_core.domain.labels.label import LabelRequest
from stock_core.domain.labels.label import LabelSize
from stock_core.domain.labels.label import LocationEntry
from stock_core.domain.labels.label import ProductEntry
from stock_core.domain.labels.label import Symbol
from stock_core.domain.labels.label import command_labels
from stock_core.domain.labels.label import location_labels
from stock_core.domain.labels.label import parse_request
from stock_core.domain.labels.label import product_labels
from stock_core.domain.labels.label import unit_gtin
from stock_core.domain.labels.zpl import too_small
from stock_core.domain.labels.zpl import zpl

__all__ = [
    "COMMANDS",
    "DPIS",
    "MAX_2D_MODULE_MM",
    "MAX_LABELS",
    "MAX_MODULE_MM",
    "MIN_2D_MODULE_MM",
    "MIN_MODULE_MM",
    "QUANTITIES",
    "SIZES",
    "SYMBOLS",
    "Label",
    "LabelError",
    "LabelFormat",
    "LabelKind",
    "LabelRequest",
    "LabelSize",
    "LocationEntry",
    "ProductEntry",
    "Symbol",
    "command_labels",
    "location_labels",
    "parse_request",
    "product_labels",
    "too_small",
    "unit_gtin",
    "zpl",
]
