"""Stock alerts: raised and cleared with stock, listed and acknowledged."""

from __future__ import annotations

__all__: list[str] = []
