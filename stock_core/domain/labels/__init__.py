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

from stock_core.domain.labels import label as _label
from stock_core.domain.labels.label import *  # noqa: F403 (its __all__ is ours)
from stock_core.domain.labels.zpl import too_small
from stock_core.domain.labels.zpl import zpl

# The package's names are label.py's, and zpl.py's two.
__all__ = ["too_small", "zpl"]
__all__ += _label.__all__
