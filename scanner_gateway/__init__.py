"""The scanner gateway: serial ingestion, decoding, per-scanner sessions, feedback, spool.

Pure cores (``framing``, ``symbology``, ``gs1``, ``session``) do no I/O; the shell
(``serial_link``, ``gateway``, ``spool``) owns every port, thread, clock and timeout.
"""

from __future__ import annotations

__all__: list[str] = []
