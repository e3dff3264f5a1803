"""Stock reports: inventory turnover, deadstock and slow movers, valuation; and their CSV.

Pure: the store sums the ledger (on-hand at an instant is the sum of the deltas before
it; outbound units are picks less the undo rows that reverse them) and these functions
turn the sums into figures. Money is :class:`~decimal.Decimal` at the products' current
``unit_cost`` (stockd keeps no cost history), rounded to cents in the reports.

* **Turnover** over ``[start, end)``: cost of goods moved out (outbound units ×
  unit cost) divided by the average inventory value (the mean of the on-hand value at
  ``start`` and at ``end``); per product, per category and in total. Undefined
  (``None``) when the average inventory value is zero. ``days_of_supply`` is the
  period's length divided by the turnover.
* **Deadstock and slow movers** at ``as_of``, looking back ``days``: products with
  stock and no outbound movement in the window are ``dead``; products that moved but
  whose stock would last longer than ``slow_cover_days`` at the window's rate are
  ``slow``. Each with the value tied up (on hand × unit cost) and the last outbound day.
* **Valuation** at an instant: on hand × unit cost per product, per category, in total.
* **Expiry** on ``today``: every stock row (product, location, lot) holding units whose
  expiry date is before ``today + days``: ``expired`` when the date is before
  ``today`` (a lot is good through the day it expires), else ``expiring``, with the
  days left (negative once expired), the units not held for an order, and the value.

Dates given for a period are whole days in UTC: ``period_bounds(from, to)`` covers the
first day's midnight up to the midnight after the last day.
"""

from __future__ import annotations

from stock_core.domain.reports.deadstock import DeadstockLine
from stock_core.domain.reports.deadstock import DeadstockReport
from stock_core.domain.reports.deadstock import ProductActivity
from stock_core.domain.reports.deadstock import deadstock_csv
from stock_core.domain.reports.deadstock import deadstock_report
from stock_core.domain.reports.expiry import DatedStock
from stock_core.domain.reports.expiry import ExpiryLine
from stock_core.domain.reports.expiry import ExpiryReport
from stock_core.domain.reports.expiry import expiry_csv
from stock_core.domain.reports.expiry import expiry_report
from stock_core.domain.reports.period import DEFAULT_SLOW_COVER_DAYS
from stock_core.domain.reports.period import instant
from stock_core.domain.reports.period import period_bounds
from stock_core.domain.reports.turnover import CategoryTurnover
from stock_core.domain.reports.turnover import ProductPeriod
from stock_core.domain.reports.turnover import TurnoverLine
from stock_core.domain.reports.turnover import TurnoverReport
from stock_core.domain.reports.turnover import turnover_csv
from stock_core.domain.reports.turnover import turnover_report
from stock_core.domain.reports.valuation import ProductHolding
from stock_core.domain.reports.valuation import ValuationLine
from stock_core.domain.reports.valuation import ValuationReport
from stock_core.domain.reports.valuation import valuation_csv
from stock_core.domain.reports.valuation import valuation_report

__all__ = [
    "DEFAULT_SLOW_COVER_DAYS",
    "CategoryTurnover",
    "DatedStock",
    "DeadstockLine",
    "DeadstockReport",
    "ExpiryLine",
    "ExpiryReport",
    "ProductActivity",
    "ProductHolding",
    "ProductPeriod",
    "TurnoverLine",
    "TurnoverReport",
    "ValuationLine",
    "ValuationReport",
    "deadstock_csv",
    "deadstock_report",
    "expiry_csv",
    "expiry_report",
    "instant",
    "period_bounds",
    "turnover_csv",
    "turnover_report",
    "valuation_csv",
    "valuation_report",
]
