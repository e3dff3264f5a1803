"""From envelopes to outcomes: group commit, and the spool when PostgreSQL is away.

:class:`Committer` takes envelopes from every scanner. With group commit on, whatever
is queued is posted as one transaction (:class:`~stock_core.group_commit.GroupCommit`;
the store plans plain scans set-wise, each with its own outcome); with it off, each
envelope is its own transaction (as many at once as the pool has connections). When
the database cannot be reached, cannot take writes (a read-only replica after a
failover), or does not answer within ``commit_timeout``, the envelopes are appended
to the spool and fsynced, and the scanner is told they were taken (:data:`SPOOLED`).
While anything is spooled, new envelopes are spooled behind it, so each scanner's
scans reach the ledger in the order they were made. A spool that is full or cannot
be written refuses the scan instead (a :class:`~scanner_gateway.errors.SpoolRejection`
outcome: the scanner hears ``nak``, and nothing of it stays in the spool).

The replay task drains the spool in order, a batch per transaction. A scan refused on
replay becomes a spool exception; so does a damaged record whose fields can still be
read (:class:`~scanner_gateway.errors.CorruptSpoolRecordError`), reported before the
spool moves past it. Outages are retried for as long as they last. Anything else that
makes a batch fail is narrowed down by replaying one record at a time; a record that
still fails after ``replay_attempts`` tries (with backoff) becomes a spool exception
(:class:`~scanner_gateway.errors.ReplayFailedError`) and replay moves on.

A timed-out commit may in fact have landed. Replaying it is harmless: its idempotency
key returns the first outcome. The commit deadline is kept by dropping the connection
(:func:`stock_core.store.failover.bounded`), never by waiting for a hung server to
acknowledge a cancel, and connecting is inside it: a scan is answered within about
``commit_timeout`` however sick the database. After an outage every connection of the
pool is dropped, so the next ones are made afresh, host by host, and find the new
primary. A commit a synchronous standby never confirmed counts as an outage too: it
is spooled, and its replay on the new primary settles it by its key.

**Failover to a new timeline.** Every scan that committed is kept for
``replay_window`` seconds (:class:`~scanner_gateway.window.RecentWindow`). When a
connection finds PostgreSQL on a new timeline or another system (an asynchronous
standby promoted without the last commits), nothing more is posted until that window
is posted again, oldest first: scans the new primary has answer with their first
outcome and change nothing; those it lacks are applied (counted in
``window_restored``; one refused now becomes a spool exception). Then the spool
replays, then new scans commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import KW_ONLY
from dataclasses import InitVar
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from datetime import UTC
from datetime import datetime
from typing import Final

from scanner_gateway.errors import CorruptSpoolRecordError
from scanner_gateway.errors import ReplayFailedError
from scanner_gateway.errors import SpoolFullError
from scanner_gateway.errors import SpoolWriteError
from scanner_gateway.spool import Quarantined
from scanner_gateway.spool import Spool
from scanner_gateway.spool import SpoolRecord
from scanner_gateway.spool import SpoolStatus
from scanner_gateway.spool.window import WindowLog
from scanner_gateway.window import RecentWindow
from stock_core.domain.batch import products_named
from stock_core.domain.lineage import Lineage
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import MovementOutcome
from stock_core.domain.movement import Outcome
from stock_core.errors import StockRejection
from stock_core.group_commit import GroupCommit
from stock_core.service import StockService
from stock_core.service import is_unavailable

__all__ = ["SPOOLED", "Committer", "Spooled", "is_unavailable"]

log = logging.getLogger(__name__)


class Spooled:
    """The envelope is durably in the spool; it reaches the ledger on replay."""

    def __repr__(self) -> str:
        return "SPOOLED"


SPOOLED: Final = Spooled()

_REPLAY_BATCH = 256
_PROBE_INTERVAL = 0.5
_GRACE = 1.0
"""Seconds past the commit deadline before the caller's own timeout cancels: the
store's deadline (which drops the connection) always comes first."""
_MAX_BACKOFF = 30.0


def _brief(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 200 else text[:197] + "..."


@dataclass(eq=False)
class Committer:
    service: StockService
    spool: Spool
    _: KW_ONLY
    group_commit: bool = True
    batch_max: int = 256
    commit_timeout: float = 1.5
    workers: InitVar[int] = 2
    replay_attempts: int = 5
    """Tries of a record that fails on replay for a reason other than an outage."""
    replay_backoff: float = 0.5
    """Seconds before its second try; doubled for each one after."""
    replay_window: InitVar[float] = 60.0
    window: RecentWindow = field(init=False)
    _window_log: WindowLog | None = field(init=False, repr=False)
    """The window on disk too (``spool_dir/window.log``), for a restart after a failover."""
    _log_queue: list[tuple[list[Envelope], datetime]] = field(
        default_factory=list, init=False, repr=False
    )
    _log_wake: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _window_due: list[Envelope] | None = field(default=None, init=False, repr=False)
    """The window to post again after a failover, oldest first (``None``: none)."""
    _epoch: int | None = field(default=None, init=False, repr=False)
    """The failover count of the pool this committer has caught up with."""
    _group: GroupCommit[Outcome | Spooled] = field(init=False, repr=False)
    _replay_wake: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False, repr=False)
    _replaying: bool = field(default=False, init=False, repr=False)
    _one_by_one: int = field(default=0, init=False, repr=False)
    """Records still to replay one at a time, to find the one a batch failed on."""
    _failing: tuple[str, int] | None = field(default=None, init=False, repr=False)
    """(key, tries) of the record that keeps failing on replay."""
    online: bool = field(default=True, init=False)
    replayed: int = field(default=0, init=False)
    spooled: int = field(default=0, init=False)
    refused: int = field(default=0, init=False)
    """Scans the spool could not take (full, or the disk failed): nak'd."""
    exceptions: int = field(default=0, init=False)
    batches: int = field(default=0, init=False)
    window_replayed: int = field(default=0, init=False)
    """Scans posted again from the window after failovers."""
    window_restored: int = field(default=0, init=False)
    """Of those, the ones the new primary lacked (lost by the old one's standby)."""
    failovers: int = field(default=0, init=False)

    def __post_init__(self, workers: int, replay_window: float) -> None:
        self.window = RecentWindow(replay_window)
        self._window_log = WindowLog(self.spool.directory, replay_window) if replay_window else None
        # Off, each envelope is its own transaction, as many at once as the pool has
        # connections: a scan waits for a connection in this queue, never inside its
        # commit timeout (where waiting would look like an outage and spool it).
        self._group = GroupCommit(
            self._post,
            batch_max=self.batch_max if self.group_commit else 1,
            concurrency=workers if self.group_commit else self.service.pool.get_max_size(),
            keys_of=products_named,
        )

    def spool_status(self, now: datetime | None = None) -> SpoolStatus:
        """The spool's depth, size, age and alarms, and whether it is draining now."""
        status = self.spool.status(now)
        return replace(status, replaying=self._replaying and status.depth > 0)

    async def start(self) -> None:
        self._epoch = self.service.lineage_epoch()
        self.service.on_failover(self._failed_over)
        if self._window_log is not None:
            await self._load_window(self._window_log)
            self._tasks.append(asyncio.create_task(self._keep_window(), name="window-log"))
        if self.spool.backlog:
            self.online = False
            log.warning("spool holds %d scan(s) from before: replaying", self.spool.pending)
        self._tasks.append(asyncio.create_task(self._replay_forever(), name="spool-replay"))
        self._replay_wake.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._group.close()

    async def submit(self, envelope: Envelope) -> Outcome | Spooled:
        """The envelope's outcome, or :data:`SPOOLED` once it is durably spooled."""
        return await self._group.submit(envelope)

    async def wait_drained(self) -> None:
        """Wait until the spool is empty (bound it with ``asyncio.timeout``)."""
        while self.spool.backlog:
            self._replay_wake.set()
            await asyncio.sleep(0.05)

    def _failed_over(self, old: Lineage | None, new: Lineage) -> None:
        """A connection found PostgreSQL on ``new`` (was ``old``): post the window again
        before anything else."""
        self.failovers += 1
        self._window_due = self.window.envelopes(asyncio.get_running_loop().time())
        self.online = False
        log.warning(
            "failover (%s, was %s): posting the last %g s of scans again (%d)",
            new,
            old,
            self.window.seconds,
            len(self._window_due),
        )
        self._replay_wake.set()

    def _committed(self, envelopes: list[Envelope], outcomes: list[Outcome]) -> None:
        committed = [
            e for e, o in zip(envelopes, outcomes, strict=True) if isinstance(o, MovementOutcome)
        ]
        self.window.receive_committed(committed, asyncio.get_running_loop().time())
        if self._window_log is not None and committed:
            self._log_queue.append((committed, datetime.now(UTC)))
            self._log_wake.set()

    async def _load_window(self, window_log: WindowLog) -> None:
        """What a gateway before this one committed within the window (its log)."""
        try:
            records = await window_log.load(datetime.now(UTC))
        except OSError as exc:
            log.warning("cannot read the replay window in %s: %s", window_log.directory, exc)
            return
        now_wall, now = datetime.now(UTC), asyncio.get_running_loop().time()
        for record in records:
            age = (now_wall - record.spooled_at).total_seconds()
            self.window.receive_committed([record.envelope], now - max(age, 0.0))

    async def _keep_window(self) -> None:
        """Write committed envelopes to the window log, off the scanners' reply path."""
        assert self._window_log is not None
        while True:
            await self._log_wake.wait()
            self._log_wake.clear()
            queue, self._log_queue = self._log_queue, []
            for envelopes, at in queue:
                try:
                    await self._window_log.append(envelopes, at)
                except OSError as exc:  # the window is a second line: never stop for it
                    log.warning("cannot keep the replay window on disk: %s", exc)

    async def _post(self, envelopes: list[Envelope]) -> list[Outcome | Spooled]:
        if self.online and not self.spool.backlog and self._window_due is None:
            try:
                async with asyncio.timeout(self.commit_timeout + _GRACE):
                    outcomes = await self.service.post_batch(
                        envelopes, deadline=self.commit_timeout, epoch=self._epoch
                    )
                self.batches += 1
                self._committed(envelopes, outcomes)
                return list(outcomes)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                if self.online:
                    log.warning("PostgreSQL unavailable (%s): spooling scans", _brief(exc))
                    self.service.drop_connections()
                self.online = False
        try:
            await self.spool.append(envelopes)
        except SpoolFullError as exc:
            self.refused += len(envelopes)
            return [exc] * len(envelopes)
        except OSError as exc:
            self.refused += len(envelopes)
            log.error("cannot write the spool (%s): %d scan(s) refused", exc, len(envelopes))
            refusal = SpoolWriteError(
                f"not taken: the database is unreachable and the spool cannot be written"
                f" ({exc.strerror or exc})"
            )
            return [refusal] * len(envelopes)
        self.spooled += len(envelopes)
        self._replay_wake.set()
        return [SPOOLED] * len(envelopes)

    async def _replay_forever(self) -> None:
        while True:
            if not self.spool.backlog and self._window_due is None:
                self._replaying = False
                self._replay_wake.clear()
                await self._replay_wake.wait()
                continue
            try:
                delay = await self._replay_some()
            except Exception:  # never let the spool stop draining for good
                log.exception("spool replay failed; retrying")
                delay = _PROBE_INTERVAL
            if delay:
                await asyncio.sleep(delay)

    async def _replay_some(self) -> float:
        """Replay the oldest spooled scans; the pause before the next go (0: go on)."""
        if self._window_due is not None:
            return await self._replay_window(self._window_due)
        if not await self._report_damage():
            return _PROBE_INTERVAL
        records = await self.spool.head(1 if self._one_by_one else _REPLAY_BATCH)
        if not await self._report_damage():  # damage the read just met
            return _PROBE_INTERVAL
        try:
            outcomes, failures = await self._post_replayed(
                [r.envelope for r in records], [r.spooled_at for r in records], epoch=self._epoch
            )
        except Exception as exc:
            if is_unavailable(exc):
                if self._replaying:
                    self.service.drop_connections()
                self._replaying = False
                return _PROBE_INTERVAL
            return await self._refused_on_replay(records, exc)
        self._committed([r.envelope for r in records], outcomes)
        await self._passed(records, len(failures))
        for envelope, rejection, _ in failures:
            log.warning(
                "spooled scan %s refused on replay: %s (kept as a spool exception)",
                envelope.key,
                rejection.reason,
            )
        return 0.0

    async def _post_replayed(
        self,
        envelopes: list[Envelope],
        spooled_at: list[datetime],
        *,
        epoch: int | None = None,
    ) -> tuple[list[Outcome], list[tuple[Envelope, StockRejection, datetime]]]:
        """Post replayed scans as one batch, within the commit timeout, and keep those the
        ledger refuses as spool exceptions (with when each was spooled): the outcomes,
        and the refusals."""
        async with asyncio.timeout(self.commit_timeout * 2 + _GRACE):
            outcomes = await self.service.post_batch(
                envelopes, deadline=self.commit_timeout * 2, epoch=epoch
            )
            failures = [
                (e, o, at)
                for e, o, at in zip(envelopes, outcomes, spooled_at, strict=True)
                if isinstance(o, StockRejection)
            ]
            await self.service.record_spool_exceptions(failures, deadline=self.commit_timeout * 2)
        return outcomes, failures

    async def _passed(self, records: list[SpoolRecord], exceptions: int) -> None:
        await self.spool.remove_head(len(records))
        self._replaying = True
        self._failing = None
        self._one_by_one = max(0, self._one_by_one - len(records))
        self.replayed += len(records)
        self.exceptions += exceptions
        if not self.spool.backlog:
            self.online = True
            log.info("spool drained: %d scan(s) replayed (%d spooled)", self.replayed, self.spooled)

    async def _replay_window(self, due: list[Envelope]) -> float:
        """Post the next batch of the window again after a failover (0: go on)."""
        batch = due[:_REPLAY_BATCH]
        now = datetime.now(UTC)
        if batch:
            try:
                outcomes, failures = await self._post_replayed(batch, [now] * len(batch))
            except Exception as exc:
                if is_unavailable(exc):
                    return _PROBE_INTERVAL
                raise
            restored = [
                e
                for e, o in zip(batch, outcomes, strict=True)
                if isinstance(o, MovementOutcome) and not o.replayed
            ]
            self.window_replayed += len(batch)
            self.window_restored += len(restored)
            self.exceptions += len(failures)
            for envelope, rejection, _ in failures:
                log.warning(
                    "scan %s from the window refused after the failover: %s (kept as a"
                    " spool exception)",
                    envelope.key,
                    rejection.reason,
                )
            del due[: len(batch)]
            if due:
                return 0.0
        self._window_due = None
        self._epoch = self.service.lineage_epoch()
        log.warning(
            "replayed %d scan(s) of the window after the failover: %d were missing on the"
            " new primary and are now committed",
            self.window_replayed,
            self.window_restored,
        )
        if not self.spool.backlog:
            self.online = True
        return 0.0

    async def _report_damage(self) -> bool:
        """Keep damaged records whose fields still read as spool exceptions, before the
        spool moves past them; ``False`` while the database is away."""
        found = self.spool.unreported()
        if not found:
            return True
        lost = [
            (q.salvaged.envelope, _corrupt(q), q.salvaged.spooled_at)
            for q in found
            if q.salvaged is not None
        ]
        if lost:
            try:
                async with asyncio.timeout(self.commit_timeout * 2):
                    await self.service.record_spool_exceptions(
                        lost, deadline=self.commit_timeout * 2
                    )
            except Exception as exc:
                if is_unavailable(exc):
                    return False
                log.exception(
                    "cannot keep %d damaged spooled scan(s) as spool exceptions", len(lost)
                )
            else:
                self.exceptions += len(lost)
        self.spool.reported(found)
        return True

    async def _refused_on_replay(self, records: list[SpoolRecord], exc: Exception) -> float:
        """A batch failed, and not for an outage: find the record at fault, try it a few
        times, then keep it as a spool exception and go on."""
        if len(records) > 1:
            log.warning(
                "replaying %d spooled scan(s) failed (%s): replaying them one at a time",
                len(records),
                _brief(exc),
            )
            self._one_by_one = len(records)
            return 0.0
        (record,) = records
        key = record.envelope.key
        tries = self._failing[1] + 1 if self._failing and self._failing[0] == key else 1
        self._failing = (key, tries)
        if tries < self.replay_attempts:
            delay = min(self.replay_backoff * 2.0 ** (tries - 1), _MAX_BACKOFF)
            log.warning(
                "spooled scan %s failed on replay (try %d of %d: %s); again in %.1f s",
                key,
                tries,
                self.replay_attempts,
                _brief(exc),
                delay,
            )
            return delay
        error = ReplayFailedError(f"replay failed {tries} times: {_brief(exc)}")
        try:
            async with asyncio.timeout(self.commit_timeout * 2):
                await self.service.record_spool_exceptions(
                    [(record.envelope, error, record.spooled_at)],
                    deadline=self.commit_timeout * 2,
                )
        except Exception as second:
            if is_unavailable(second):
                return _PROBE_INTERVAL
            await self.spool.quarantine_record(
                record, f"{error.reason}; and as a spool exception: {_brief(second)}"
            )
        else:
            log.error("spooled scan %s kept as a spool exception: %s", key, error.reason)
        await self._passed(records, 1)
        return 0.0


def _corrupt(q: Quarantined) -> CorruptSpoolRecordError:
    return CorruptSpoolRecordError(
        f"damaged in the spool ({q.reason}), not replayed: check the scan and post it by"
        f" hand if it happened (raw bytes in {q.path})"
    )
