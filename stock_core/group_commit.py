"""Group commit: envelopes from many callers posted together, a batch per transaction.

Callers :meth:`~GroupCommit.submit` one envelope each and wait for its own outcome.
Up to ``concurrency`` workers each take whatever is queued (at most ``batch_max``) and
post it as one batch; while they do, new envelopes queue up and form the next batch,
so batches grow with load and one caller alone still goes straight through. Workers
start when there is work and end when the queue is empty: nothing to start or stop,
and nothing left running once every caller has its answer. A caller that stops
waiting (a client gone) does not take its envelope back: it is posted anyway, and its
idempotency key answers a retry.

Two envelopes with one idempotency key never share a batch (a batch refuses that);
the later one waits for the next batch and answers as a replay. With ``keys_of``
(what an envelope locks, e.g. the products it names), an envelope whose keys a batch
in flight holds waits for the next batch too: concurrent batches then never wait on
each other's row locks (a hot SKU would otherwise serialise them behind each
other's commit), and they keep their order.

The gateway's committer and the HTTP API's writes both come through here, each with
its own ``post`` (the gateway's spools when PostgreSQL is away).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections import deque
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Hashable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Generic
from typing import TypeVar

from stock_core.domain.movement import Envelope

__all__ = ["GroupCommit"]

_R = TypeVar("_R")


@dataclass
class _Pending(Generic[_R]):
    envelope: Envelope
    future: asyncio.Future[_R] = field(repr=False)


class GroupCommit(Generic[_R]):
    """Posts submitted envelopes in batches through ``post`` (one result per envelope)."""

    def __init__(
        self,
        post: Callable[[list[Envelope]], Awaitable[Sequence[_R]]],
        *,
        batch_max: int = 256,
        concurrency: int = 2,
        keys_of: Callable[[Envelope], Sequence[Hashable]] | None = None,
    ) -> None:
        if batch_max < 1 or concurrency < 1:
            raise ValueError("batch_max and concurrency must be at least 1")
        self._post = post
        self.batch_max = batch_max
        self.concurrency = concurrency
        self._keys_of = keys_of
        self._queue: deque[_Pending[_R]] = deque()
        self._held: Counter[Hashable] = Counter()
        """Keys of the batches in flight."""
        self._workers: set[asyncio.Task[None]] = set()
        self._active = 0  # counted by hand: a finished task leaves its set a step later
        self.batches = 0
        self.posted = 0

    @property
    def waiting(self) -> int:
        """Envelopes queued and not yet taken into a batch."""
        return len(self._queue)

    async def submit(self, envelope: Envelope) -> _R:
        """Post ``envelope`` with whatever else is queued; its own result, or its error."""
        future: asyncio.Future[_R] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieve)  # a caller that left must not leave a warning
        self._queue.append(_Pending(envelope, future))
        if self._active < self.concurrency:
            self._active += 1
            task = asyncio.create_task(self._work(), name="group-commit")
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)
        return await asyncio.shield(future)

    def _take(self) -> tuple[list[_Pending[_R]], list[Hashable]]:
        """The next batch, and the keys it holds while in flight."""
        batch: list[_Pending[_R]] = []
        idempotency_keys: set[str] = set()
        keys: set[Hashable] = set()
        later: list[_Pending[_R]] = []
        while self._queue and len(batch) < self.batch_max:
            pending = self._queue.popleft()
            wanted = self._keys_of(pending.envelope) if self._keys_of is not None else ()
            if pending.envelope.key in idempotency_keys or any(self._held[k] for k in wanted):
                later.append(pending)
                continue
            idempotency_keys.add(pending.envelope.key)
            keys.update(wanted)
            batch.append(pending)
        self._queue.extendleft(reversed(later))
        held = list(keys)
        self._held.update(held)
        return batch, held

    async def _work(self) -> None:
        try:
            await self._drain()
        finally:
            self._active -= 1  # no await between the empty queue and this line

    async def _drain(self) -> None:
        while self._queue:
            batch, held = self._take()
            if not batch:
                return  # all that waits is held by batches in flight; they take it next
            try:
                results = await self._post([p.envelope for p in batch])
            except asyncio.CancelledError:
                for p in batch:
                    if not p.future.done():
                        p.future.cancel()
                raise
            except Exception as exc:  # every caller hears it; nobody waits forever
                for p in batch:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            finally:
                self._held.subtract(held)
                self._held += Counter()  # drop keys at zero
            self.batches += 1
            self.posted += len(batch)
            for p, result in zip(batch, results, strict=True):
                if not p.future.done():
                    p.future.set_result(result)

    async def close(self) -> None:
        """Cancel the workers; callers still waiting are cancelled too."""
        workers = list(self._workers)
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while self._queue:
            self._queue.popleft().future.cancel()


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
