"""Simulated barcode scanners for tests, ``stockd simulate`` and ``stockd demo``.

- :mod:`~hardware_mocks.frames` builds the bytes real scanners send (pure).
- :mod:`~hardware_mocks.feedback` counts the ack/nak bytes a gateway answers (pure).
- :mod:`~hardware_mocks.pty_scanner` is a scanner on a real pseudo-terminal behind a
  stable symlink, which can be unplugged and plugged back.
- :mod:`~hardware_mocks.device_server` is a serial device server in raw TCP mode
  (what pyserial's ``socket://`` URLs talk to), which can drop and come back.
- :mod:`~hardware_mocks.target` gives both one async surface.
- :mod:`~hardware_mocks.script` parses and plays scan scripts.
- :mod:`~hardware_mocks.load` plans and plays random scan load.

Only ``stock_core.domain.gtin`` and ``stock_core.types`` are imported from the product.
"""

from __future__ import annotations

__all__: list[str] = []
