"""The web app in functional tests: stopping its outbox relay before its cleanup."""

from __future__ import annotations

import asyncio

__all__ = ["stop_relays"]


async def stop_relays() -> None:
    """Cancel the app's outbox relay until it has stopped, before the app's own cleanup.

    Works around a teardown hang outside the API: ``OutboxRelay.run`` waits with
    ``asyncio.wait_for(self._wake.wait(), ...)``, and on Python 3.11 ``wait_for``
    swallows a cancellation that arrives as the event is set (a NOTIFY), so the app
    cleanup's single ``task.cancel(); await task`` can wait forever.
    """
    for task in asyncio.all_tasks():
        if task.get_name() == "outbox-relay":
            while not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=0.05)
