"""Count tasks: opened by a manager, counted by workers, confirmed and approved.

:mod:`.recording` keeps a count on the open task of its location (the ledger's writer
calls it instead of posting); :mod:`.tasks` opens, shows, confirms and approves tasks
(posting through the ledger). The rules are :mod:`stock_core.domain.count_task`'s.
"""

from __future__ import annotations

__all__: list[str] = []
