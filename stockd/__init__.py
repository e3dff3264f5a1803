"""The ``stockd`` command: the composition root that wires the packages together."""

from __future__ import annotations

__all__: list[str] = []
