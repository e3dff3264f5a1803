"""The gateway shell: many scanners, one committer, one spool, one event sink.

Per scanner: a :class:`~scanner_gateway.serial_link.SerialLink` moves bytes, a fresh
:class:`~scanner_gateway.framing.LineFramer` per connection cuts frames, ``decode``
reads them and the :class:`~scanner_gateway.session.ScannerSession` decides. One task
per scanner handles its frames in order, one at a time, so a slow or noisy scanner
only ever waits on itself. This module owns every clock read and timeout.

Busy is slow, never lossy (SPEC promise 8): every frame read goes on its scanner's
queue and gets exactly one reply, ack or nak, in the order the frames came. When
``_PAUSE_AT`` frames wait there, the gateway stops reading that port
(:meth:`SerialLink.pause_reading`) and resumes below ``_RESUME_AT``; meanwhile the
bytes wait in the OS and serial buffers. Frame timing (the idle gap, the partial
first frame) uses the link's line time, which stands still while reading is paused.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import socket
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any

from scanner_gateway.committer import Committer
from scanner_gateway.committer import Spooled
from scanner_gateway.committer import is_unavailable
from scanner_gateway.config import ScannerConfig
from scanner_gateway.decoded import Decoded
from scanner_gateway.decoded import ProductScan
from scanner_gateway.decoded import ScanRejected
from scanner_gateway.event_sink import EventSink
from scanner_gateway.framing import BaudMismatchSuspected
from scanner_gateway.framing import FrameDropped
from scanner_gateway.framing import FrameGarbled
from scanner_gateway.framing import FrameReceived
from scanner_gateway.framing import FrameTooLong
from scanner_gateway.framing import LineFramer
from scanner_gateway.intent import Acknowledge
from scanner_gateway.intent import Feedback
from scanner_gateway.intent import PostCommand
from scanner_gateway.intent import Reject
from scanner_gateway.intent import SetLocation
from scanner_gateway.intent import SignIn
from scanner_gateway.posting import wants_serials
from scanner_gateway.runtime import Refused
from scanner_gateway.runtime import ScannerRuntime
from scanner_gateway.serial_link import LinkState
from scanner_gateway.serial_link import SerialLink
from scanner_gateway.session import Mode
from scanner_gateway.session import ScannerSession
from scanner_gateway.spool import DEFAULT_CAP_BYTES
from scanner_gateway.spool import Spool
from scanner_gateway.spool import claim_epoch
from scanner_gateway.spool import spool_identity
from scanner_gateway.symbology import decode
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import ProductRef
from stock_core.domain.operator import DEFAULT_IDLE_MINUTES
from stock_core.domain.returns import DEFAULT_REASONS
from stock_core.errors import StockRejection
from stock_core.errors import WrongWarehouseError
from stock_core.model import GatewayState
from stock_core.model import ScannerState
from stock_core.service import StockService
from stock_core.types import IdempotencyKey
from stock_core.types import LocationCode
from stock_core.types import ReasonCode
from stock_core.types import ScannerId

__all__ = ["Gateway", "ScannerRuntime"]

log = logging.getLogger(__name__)

_PAUSE_AT = 64
"""Entries waiting on one scanner's queue (a frame, or a run of frames refused
together) at which its port is no longer read."""
_RESUME_AT = _PAUSE_AT // 2
"""... and below which it is read again."""
_FIRST_FRAME_WINDOW = 1.0
_EPOCH_SPAN = 1_000_000_000


def _printable(frame: bytes) -> str:
    text = frame.decode("utf-8", errors="replace").replace("\x1d", "<GS>")
    return text if len(text) <= 80 else text[:77] + "..."


def _decodes_cleanly(decoded: Decoded) -> bool:
    if isinstance(decoded, ScanRejected):
        return False
    return not (isinstance(decoded, ProductScan) and decoded.alias is not None)


class Gateway:
    """Serves every configured scanner until :meth:`stop`."""

    def __init__(
        self,
        service: StockService,
        scanners: list[ScannerConfig],
        spool_dir: Path,
        *,
        name: str | None = None,
        group_commit: bool = True,
        batch_max: int = 256,
        reconnect_max: float = 5.0,
        commit_timeout: float = 1.5,
        commit_workers: int = 2,
        spool_cap_bytes: int = DEFAULT_CAP_BYTES,
        replay_window: float = 60.0,
        operator_idle: float = DEFAULT_IDLE_MINUTES * 60,
        reasons: Sequence[ReasonCode] = DEFAULT_REASONS,
    ) -> None:
        self.service = service
        self.name = name or socket.gethostname()
        self.spool_dir = spool_dir
        self.spool = Spool(spool_dir, cap_bytes=spool_cap_bytes)
        self.committer = Committer(
            service,
            self.spool,
            group_commit=group_commit,
            batch_max=batch_max,
            commit_timeout=commit_timeout,
            workers=commit_workers,
            replay_window=replay_window,
        )
        self.reconnect_max = reconnect_max
        self.runtimes = {
            c.id: ScannerRuntime(
                config=c,
                session=ScannerSession(
                    ScannerId(c.id),
                    mode=Mode(c.mode),
                    location=LocationCode(c.location) if c.location else None,
                    same_code_delay=c.same_code_delay_ms / 1000,
                    operator_idle=(
                        operator_idle
                        if c.operator_idle_minutes is None
                        else c.operator_idle_minutes * 60
                    ),
                    require_operator=c.require_operator,
                    reasons=reasons,
                ),
            )
            for c in scanners
        }
        self.events = EventSink(service, self.name, self.spool_state)
        self._executor = ThreadPoolExecutor(
            max_workers=len(scanners) + 4, thread_name_prefix="serial"
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._epoch = 0
        self._identity = ""
        self._seq = 0

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._epoch = await loop.run_in_executor(self._executor, claim_epoch, self.spool_dir)
        self._identity = await loop.run_in_executor(self._executor, spool_identity, self.spool_dir)
        self.events.origin = f"{self._identity}:{self._epoch}"
        await self.spool.open()
        await self.committer.start()
        self._tasks.append(asyncio.create_task(self.events.run(), name="gateway-events"))
        for runtime in self.runtimes.values():
            runtime.link = SerialLink(
                runtime.config,
                on_bytes=functools.partial(self._on_bytes, runtime),
                on_state=functools.partial(self._on_state, runtime),
                executor=self._executor,
                reconnect_max=self.reconnect_max,
            )
            self._tasks.append(asyncio.create_task(runtime.link.run(), name=f"link-{runtime.id}"))
            self._tasks.append(
                asyncio.create_task(self._serve(runtime), name=f"scanner-{runtime.id}")
            )
        log.info("gateway %s serving %d scanner(s)", self.name, len(self.runtimes))

    async def stop(self) -> None:
        for runtime in self.runtimes.values():
            if runtime.operator_timer is not None:
                runtime.operator_timer.cancel()
                runtime.operator_timer = None
            if runtime.link:
                runtime.link.stop()
        link_tasks = [t for t in self._tasks if t.get_name().startswith("link-")]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3.0):
                await asyncio.gather(*link_tasks, return_exceptions=True)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.committer.stop()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await self.events.flush(all_states=True)
        self.events.close()
        await self.spool.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _state_changed(self, runtime: ScannerRuntime) -> None:
        self.events.mark_changed(runtime.id, functools.partial(runtime.snapshot, self.name))

    def spool_state(self) -> dict[str, Any]:
        """The spool's status as written for every node to show (JSON-ready)."""
        return dataclasses.asdict(self.committer.spool_status())

    def gateway_state(self) -> GatewayState:
        """This gateway's state now, as a web node in this process shows it."""
        return GatewayState(self.name, self.spool_state(), datetime.now(UTC))

    def statuses(self) -> list[ScannerState]:
        return [r.snapshot(self.name) for r in self.runtimes.values()]

    # -- bytes in (called on the loop by the link) -----------------------------------

    def _on_state(self, runtime: ScannerRuntime, state: LinkState, detail: str) -> None:
        now = runtime.now()
        if state is LinkState.CONNECTED:
            runtime.framer = self._new_framer(runtime.config)
            runtime.connected_at = now
            runtime.fresh = True
        elif runtime.framer is not None:
            runtime.framer.receive_eof()
            self._drain_framer(runtime, now)
            runtime.framer = None
            if state is LinkState.RECONNECTING:
                runtime.counters.disconnects += 1
        log.info("scanner %s %s %s", runtime.id, state.value, detail)
        self.events.publish(
            "scanner.status",
            {
                "scanner": runtime.id,
                "state": state.value,
                "detail": detail,
                "operator": runtime.session.operator,
            },
        )
        self._state_changed(runtime)

    def _operator_changed(self, runtime: ScannerRuntime) -> None:
        """Tell the floor who is signed in now (``scanner.status`` with ``operator``)."""
        link = runtime.link
        self.events.publish(
            "scanner.status",
            {
                "scanner": runtime.id,
                "state": runtime.state.value,
                "detail": link.detail if link else "",
                "operator": runtime.session.operator,
            },
        )

    @staticmethod
    def _new_framer(config: ScannerConfig) -> LineFramer:
        idle = config.idle_gap_ms / 1000
        return LineFramer(config.terminator, max_length=config.max_length, idle_gap=idle)

    def _on_bytes(self, runtime: ScannerRuntime, data: bytes, now: float) -> None:
        framer = runtime.framer
        if framer is None:
            return
        framer.receive_bytes(data, now)
        self._drain_framer(runtime, now)

    def _on_idle(self, runtime: ScannerRuntime) -> None:
        runtime.idle_timer = None
        if runtime.framer is not None:
            now = runtime.now()
            runtime.framer.receive_idle(now)
            self._drain_framer(runtime, now)

    def _drain_framer(self, runtime: ScannerRuntime, now: float) -> None:
        framer = runtime.framer
        if framer is None:
            return
        refused: Refused | None = None
        for event in framer.events_received():
            match event:
                case FrameReceived(data=data):
                    runtime.counters.frames += 1
                    first = runtime.fresh and now - runtime.connected_at < _FIRST_FRAME_WINDOW
                    runtime.fresh = False
                    runtime.queue.put_nowait((data, first))
                    refused = None
                case FrameGarbled(data=data):
                    runtime.counters.garbled += 1
                    runtime.fresh = False
                    reason = "unreadable scan (noise or wrong baud rate)"
                    refused = self._reject_frame(runtime, refused, data, reason)
                case FrameTooLong(length=length):
                    runtime.counters.too_long += 1
                    runtime.fresh = False
                    reason = f"scan too long ({length} bytes)"
                    refused = self._reject_frame(runtime, refused, b"", reason)
                case BaudMismatchSuspected(count=count):
                    runtime.counters.baud_warnings += 1
                    runtime.health = f"{count} high-bit byte(s): check baud rate and parity"
                case FrameDropped():
                    runtime.counters.partial_dropped += 1
        link = runtime.link
        if link is not None and not link.paused and runtime.queue.qsize() >= _PAUSE_AT:
            link.pause_reading()
            runtime.counters.paused += 1
            log.debug("scanner %s: %d scans waiting, reading paused", runtime.id, _PAUSE_AT)
        self._arm_idle(runtime)

    def _arm_idle(self, runtime: ScannerRuntime) -> None:
        """(Re)start the idle-gap timer; none while reading is paused (no time passes)."""
        if runtime.idle_timer is not None:
            runtime.idle_timer.cancel()
            runtime.idle_timer = None
        framer = runtime.framer
        if framer is None or (runtime.link is not None and runtime.link.paused):
            return
        deadline = framer.deadline()
        if deadline is not None:
            loop = asyncio.get_running_loop()
            delay = max(deadline - runtime.now(), 0.0)
            runtime.idle_timer = loop.call_later(delay, self._on_idle, runtime)

    def _resume_if_served(self, runtime: ScannerRuntime) -> None:
        link = runtime.link
        if link is not None and link.paused and runtime.queue.qsize() < _RESUME_AT:
            link.resume_reading()
            self._arm_idle(runtime)

    @staticmethod
    def _reject_frame(
        runtime: ScannerRuntime, refused: Refused | None, frame: bytes, reason: str
    ) -> Refused:
        """Queue a frame refused before decoding, with the refusals just before it."""
        if refused is None:
            refused = Refused([])
            runtime.queue.put_nowait(refused)
        refused.frames.append((frame, reason))
        return refused

    def _announce_rejection(self, runtime: ScannerRuntime, frame: bytes, reason: str) -> None:
        """A ``scan.rejected`` event, rate-limited per scanner (the nak never is)."""
        if not runtime.bucket.take(time.monotonic()):
            runtime.counters.suppressed += 1
            return
        runtime.counters.rejected += 1
        event: dict[str, object] = {
            "scanner": runtime.id,
            "code": _printable(frame),
            "reason": reason,
        }
        if runtime.config.warehouse is not None:
            event["warehouse"] = runtime.config.warehouse  # a scoped floor page shows it
        self.events.publish("scan.rejected", event)

    # -- scans ---------------------------------------------------------------------

    async def _reply(self, runtime: ScannerRuntime, feedback: Feedback, count: int = 1) -> None:
        """``count`` times ``feedback``, in one write."""
        ack, nak = runtime.config.feedback_bytes()
        if feedback is Feedback.ACK:
            runtime.counters.acks += count
            data = ack
        else:
            runtime.counters.naks += count
            data = nak
        if data and runtime.link is not None:
            await runtime.link.write(data * count)

    def _envelope(self, runtime: ScannerRuntime, post: PostCommand) -> Envelope:
        self._seq += 1
        seq = self._epoch * _EPOCH_SPAN + self._seq
        return Envelope(
            key=IdempotencyKey(f"{runtime.id}:{self._identity}:{seq}"),
            command=post.command,
            actor=f"scanner:{runtime.id}",
            scanner=runtime.id,
            scan_seq=seq,
            operator=post.operator,
        )

    async def _serve(self, runtime: ScannerRuntime) -> None:
        while True:
            item = await runtime.queue.get()
            self._resume_if_served(runtime)
            if isinstance(item, Refused):
                for refused, reason in item.frames:
                    self._announce_rejection(runtime, refused, reason)
                await self._reply(runtime, Feedback.NAK, len(item.frames))
                if runtime.queue.empty():
                    self._state_changed(runtime)
            else:
                frame, first = item
                try:
                    await self._handle(runtime, frame, first)
                except Exception:
                    log.exception("scanner %s: scan %r failed", runtime.id, frame)
                    if runtime.session.awaiting is not None:
                        runtime.session.receive_outcome(False, "internal error")
                    await self._reply(runtime, Feedback.NAK)
            if not runtime.queue.empty():
                # Refusals and session-only scans are answered without waiting on
                # anything: yield, so a backlog of them is served one turn at a time.
                await asyncio.sleep(0)

    async def _handle(self, runtime: ScannerRuntime, frame: bytes, first: bool) -> None:
        decoded = decode(
            frame,
            max_length=runtime.config.max_length,
            reference_year=datetime.now(UTC).year,
            gs1_separator=runtime.config.gs1_separator,
        )
        if first and not _decodes_cleanly(decoded):
            runtime.counters.partial_dropped += 1
            log.info("scanner %s: dropped partial first frame %r", runtime.id, frame)
            return
        runtime.last_scan_at = datetime.now(UTC)
        runtime.last_code = _printable(frame)
        signed_in = runtime.session.operator
        tracked = await self._serial_tracked(runtime.session.tracking_wanted(decoded))
        intent = runtime.session.receive_scan(decoded, time.monotonic(), serial_tracked=tracked)
        reason: str | None = None
        feedback = Feedback.NAK
        match intent:
            case Reject(reason=reason):
                pass
            case Acknowledge():
                feedback = Feedback.ACK
            case SetLocation(location=location):
                try:
                    timeout = self.committer.commit_timeout
                    async with asyncio.timeout(timeout + 1.0):  # the deadline drops first
                        found = await self.service.find_location(
                            location, deadline=timeout, warehouse=runtime.config.warehouse
                        )
                    if found is None:
                        reason = f"unknown location {location}"
                except WrongWarehouseError as exc:
                    found, reason = None, exc.reason
                except Exception as exc:
                    if not is_unavailable(exc):
                        raise
                    found = location  # offline: trust the label; the store checks on replay
                feedback = runtime.session.receive_outcome(found is not None, reason)
            case SignIn(operator=operator):
                try:
                    async with asyncio.timeout(self.committer.commit_timeout):
                        known = await self.service.find_operator(operator) is not None
                except Exception as exc:
                    if not is_unavailable(exc):
                        raise
                    known = True  # offline: trust the badge, as a location label
                if not known:
                    reason = f"unknown operator {operator}"
                feedback = runtime.session.receive_outcome(known, reason)
            case PostCommand():
                outcome = await self.committer.submit(self._envelope(runtime, intent))
                if isinstance(outcome, StockRejection):
                    reason = outcome.reason
                elif isinstance(outcome, Spooled):
                    runtime.counters.spooled += 1
                else:
                    runtime.counters.committed += 1
                feedback = runtime.session.receive_outcome(
                    reason is None, reason, wants_serials=wants_serials(outcome)
                )
        if reason is not None and feedback is Feedback.NAK:
            self._announce_rejection(runtime, frame, reason)
        await self._reply(runtime, feedback)
        if runtime.session.operator != signed_in:
            self._operator_changed(runtime)
        self._watch_operator(runtime)
        self._state_changed(runtime)

    async def _serial_tracked(self, product: ProductRef | None) -> bool:
        """Whether ``product`` (a count's or move's scan) is serial-tracked; offline, it is
        taken as not (the store refuses it on replay if it is)."""
        if product is None:
            return False
        try:
            timeout = self.committer.commit_timeout
            async with asyncio.timeout(timeout + 1.0):
                tracking = await self.service.product_tracking(product, deadline=timeout)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            return False
        return tracking == "serial"

    def _watch_operator(self, runtime: ScannerRuntime) -> None:
        """(Re)arm the timer that signs an idle operator out (the session decides)."""
        if runtime.operator_timer is not None:
            runtime.operator_timer.cancel()
            runtime.operator_timer = None
        deadline = runtime.session.idle_deadline
        if deadline is not None:
            delay = max(0.0, deadline - time.monotonic())
            loop = asyncio.get_running_loop()
            runtime.operator_timer = loop.call_later(delay, self._on_operator_idle, runtime)

    def _on_operator_idle(self, runtime: ScannerRuntime) -> None:
        runtime.operator_timer = None
        if runtime.session.awaiting is not None:
            return  # a scan is being decided: its end re-arms the timer
        if runtime.session.receive_tick(time.monotonic()):
            log.info("scanner %s: operator signed out after idling", runtime.id)
            self._operator_changed(runtime)
            self._state_changed(runtime)
        else:
            self._watch_operator(runtime)
