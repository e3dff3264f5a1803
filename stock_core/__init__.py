"""stockd's domain and everything that talks to PostgreSQL.

``stock_core`` imports neither ``scanner_gateway`` nor ``web_ui``: dependencies
point here. ``stock_core.domain`` is pure (no I/O); ``stock_core.store`` is the only
package that imports asyncpg; ``stock_core.service`` is the single write API.
"""

from __future__ import annotations

__all__: list[str] = []
