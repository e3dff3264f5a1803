"""One async surface over both kinds of simulated scanner, for scripts and load runs.

Nothing here blocks the event loop: pty writes and plugging go through a worker
thread, device-server calls are awaited directly.
"""

from __future__ import annotations

import asyncio
from typing import TypeAlias

from hardware_mocks.device_server import DeviceServer
from hardware_mocks.pty_scanner import PtyScanner

__all__ = ["ScanTarget", "disconnect", "reconnect", "send_bytes", "send_split"]

ScanTarget: TypeAlias = PtyScanner | DeviceServer


async def send_bytes(target: ScanTarget, data: bytes) -> None:
    """Put ``data`` on the wire from the scanner's side."""
    if isinstance(target, PtyScanner):
        await asyncio.to_thread(target.send_raw, data)
    else:
        await target.send_raw(data)


async def send_split(target: ScanTarget, data: bytes, at: int, pause: float) -> None:
    """``data`` in two writes split at byte ``at``, ``pause`` seconds apart."""
    await send_bytes(target, data[:at])
    await asyncio.sleep(pause)
    await send_bytes(target, data[at:])


async def disconnect(target: ScanTarget) -> None:
    """Unplug the pty scanner, or drop the device server."""
    if isinstance(target, PtyScanner):
        await target.aunplug()
    else:
        await target.drop()


async def reconnect(target: ScanTarget) -> None:
    """Plug the pty scanner back in, or restart the device server."""
    if isinstance(target, PtyScanner):
        await target.areplug()
    else:
        await target.restart()
