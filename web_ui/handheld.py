"""Handheld scanners: the ``/scan/`` page's socket at ``/scan/ws`` (issue 21).

A phone or an Android mobile computer running the page is a scanner like a serial
one: the browser sends the raw scan line, and this shell runs the gateway's own
decoder (:func:`scanner_gateway.symbology.decode`) and session
(:class:`scanner_gateway.session.ScannerSession`) on it, and posts what the session
asks through :class:`~stock_core.service.StockService` (the group-commit path the
API's writes take). The scan language lives in those pure cores only; the page
never interprets a scan.

Protocol (JSON text messages):

* client ``{"type": "hello", "token", "scanner", "gs1_separator"?}``: a ``worker``
  token; ``scanner`` is the handheld's id (1-64 of ``A-Za-z0-9._-``, made once by the
  page and kept on the device); ``gs1_separator`` what the device sends for FNC1
  (``GS`` by default, or one of ``| ~ ^ # @ ` { } $``). Server ``{"type": "welcome",
  "scanner", "worker", "last_seq", "session"}``: ``last_seq`` is the last scan this
  handheld has had taken.
* client ``{"type": "scan", "seq", "code"}``: ``seq`` is the handheld's own sequence
  (1, 2, 3 … kept on the device across reloads). Server, exactly once per scan and in
  order: ``{"type": "ack" | "nak", "seq", "code", "detail" | "reason", "session",
  "movements", "replayed"}``. ``seq`` and the handheld's id are the scan's
  idempotency key (``handheld:<scanner>:<seq>``): a scan sent again (a reply lost
  with the connection, a page replaying its offline queue) gets its first reply
  again, ``"replayed": true``, and changes nothing.
* client ``{"type": "ping"}`` -> ``{"type": "pong"}``. Anything else gets
  ``{"type": "error", "reason"}``, and the socket stays open.

Limits: as the feed's, ``max_pending_hellos`` sockets waiting to say hello and
``max_feed_clients`` handhelds per node; beyond either the upgrade is refused with 503
``busy`` (the page reconnects with backoff).

Close codes (:data:`CLOSE`): 4400 malformed hello, 4401 bad token, 4403 not a worker
token, 4408 no hello in time, 4409 the same handheld connected again (the newer
socket wins), 1013 the database is away (the page keeps its scans and comes back),
1001 the server is shutting down.

Each scan is recorded after its outcome, in one transaction: the session as it now
is, the reply, the handheld's scanner state (``GET /api/v1/scanners``, the floor
page) and its ``scan.rejected`` event for a nak. If the database goes away between
the movement and that record, the socket closes without a reply; the scan comes
again and is taken from the session as it was before it, and the movement's
idempotency key answers its first outcome. So a scan changes stock once, whatever
fails when.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any
from typing import Literal

from aiohttp import WSMsgType
from aiohttp import web
from pydantic import AwareDatetime
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import ValidationError

from scanner_gateway.intent import Acknowledge
from scanner_gateway.intent import Feedback
from scanner_gateway.intent import PostCommand
from scanner_gateway.intent import Reject
from scanner_gateway.intent import SetLocation
from scanner_gateway.intent import SignIn
from scanner_gateway.posting import wants_serials
from scanner_gateway.session import ScannerSession
from scanner_gateway.symbology import decode
from stock_core.domain.movement import Envelope
from stock_core.domain.movement import MovementOutcome
from stock_core.domain.token import Role
from stock_core.errors import DatabaseUnavailableError
from stock_core.errors import StockRejection
from stock_core.model import ScannerState
from stock_core.model import Token
from stock_core.service import is_unavailable
from stock_core.types import IdempotencyKey
from stock_core.types import ScannerId
from web_ui.hello import HELLO_CLOSE
from web_ui.hello import Close
from web_ui.hello import Greeting
from web_ui.hello import close_with
from web_ui.hello import greet
from web_ui.keys import CONFIG
from web_ui.keys import SERVICE
from web_ui.problem import ProblemError

__all__ = ["CLOSE", "HANDHELDS", "Handhelds", "close_all", "setup"]

log = logging.getLogger(__name__)

CLOSE: dict[str, tuple[int, str]] = {
    "malformed": Close(4400, "expected a JSON hello message with token and scanner"),
    "unauthorized": Close(4401, "unknown, revoked or expired token"),
    "forbidden": Close(4403, "scanning needs a worker token"),
    "replaced": Close(4409, "this handheld connected again"),
    "unavailable": Close(1013, "database unavailable; scans wait on the device"),
    **HELLO_CLOSE,
}


_MAX_MESSAGE = 16 * 1024
_MAX_CODE = 4096
_COMMIT_TIMEOUT = 10.0
_GATEWAY = "handheld"


class Hello(Greeting):
    scanner: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    gs1_separator: str = Field(default="GS", pattern=r"^(GS|[|~^#@`{}$])$")


class Scan(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["scan"]
    seq: int = Field(ge=1, le=2**53 - 1)
    code: str = Field(max_length=_MAX_CODE)
    offline: bool = False
    """Taken while the device could not reach the server (the worker heard "saved")."""
    taken_at: AwareDatetime | None = None


class Handhelds:
    """This node's handheld sockets, one per handheld id."""

    def __init__(self) -> None:
        self.by_scanner: dict[str, web.WebSocketResponse] = {}
        self.awaiting_hello = 0
        self.leaving: set[asyncio.Task[None]] = set()
        """Tasks recording handhelds offline (held: the loop keeps weak references)."""


HANDHELDS = web.AppKey("handhelds", Handhelds)


class _Unavailable(Exception):
    """The database could not be reached: close with 1013, keep nothing in memory."""


def _printable(code: str) -> str:
    text = code.replace("\x1d", "<GS>")
    return text if len(text) <= 80 else text[:77] + "..."


def _movement(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind,
        "sku": record.sku,
        "location": record.location,
        "lot": record.lot,
        "delta": record.delta,
        "on_hand_after": record.on_hand_after,
    }


class _Handheld:
    """One connected handheld: its session, counters and the last scan it took."""

    def __init__(
        self,
        app: web.Application,
        ws: web.WebSocketResponse,
        hello: Hello,
        token: Token,
        session: ScannerSession,
        last_seq: int,
    ) -> None:
        self.app = app
        self.ws = ws
        self.id = ScannerId(hello.scanner)
        self.separator = "\x1d" if hello.gs1_separator == "GS" else hello.gs1_separator
        self.worker = token.name
        self.session = session
        self.last_seq = last_seq
        self.counters = {"frames": 0, "acks": 0, "naks": 0, "committed": 0, "rejected": 0}
        self.last_scan_at: datetime | None = None
        self.last_code: str | None = None

    def state(self, state: str) -> ScannerState:
        return ScannerState(
            id=self.id,
            gateway=_GATEWAY,
            url="browser",
            state=state,
            detail=f"signed in as {self.worker}",
            mode=self.session.mode.value,
            location=self.session.location,
            last_scan_at=self.last_scan_at,
            last_code=self.last_code,
            counters=dict(self.counters),
            operator=self.session.operator,
        )

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(message, default=str, separators=(",", ":")))

    async def status(self, state: str) -> None:
        event = ("scanner.status", {"scanner": self.id, "state": state, "detail": "handheld"})
        await self.app[SERVICE].save_handheld_status(self.state(state), event)

    async def take(self, scan: Scan) -> None:
        """Answer one scan exactly once: from its kept reply, or by taking it."""
        service = self.app[SERVICE]
        if scan.seq <= self.last_seq:
            reply = await _guarded(service.handheld_reply(self.id, scan.seq))
            if reply is None:  # long gone: it was taken, and its reply forgotten
                reply = {"type": "ack", "seq": scan.seq, "detail": "already taken"}
            await self.send({**reply, "replayed": True})
            return
        reply, events, refused_late = await self._decide(scan)
        self.counters["frames"] += 1
        self.counters["acks" if reply["type"] == "ack" else "naks"] += 1
        self.last_scan_at = datetime.now(UTC)
        self.last_code = reply["code"]
        snapshot = self.session.snapshot()
        reply["session"] = snapshot
        await _guarded(
            service.save_handheld_scan(
                self.state("connected"),
                snapshot,
                scan.seq,
                reply,
                self.worker,
                events,
                refused_late,
            )
        )
        self.last_seq = scan.seq
        await self.send({**reply, "replayed": False})

    async def _look_up(self, lookup: Awaitable[Any]) -> Any:
        """What a scan looks up (a location, an operator); when the database is away, the
        session hears that the scan failed before _Unavailable closes the socket."""
        try:
            return await _guarded(lookup)
        except _Unavailable:
            self.session.receive_outcome(False, "database unavailable")
            raise

    async def _decide(
        self, scan: Scan
    ) -> tuple[
        dict[str, Any],
        list[tuple[str, dict[str, Any]]],
        list[tuple[Envelope, StockRejection, datetime | None]],
    ]:
        service = self.app[SERVICE]
        code = _printable(scan.code)
        decoded = decode(
            scan.code.encode(),
            reference_year=datetime.now(UTC).year,
            gs1_separator=self.separator,
        )
        signed_in = self.session.operator
        tracked = False
        wanted = self.session.tracking_wanted(decoded)
        if wanted is not None:  # a count's or move's scan: does it wait for serials?
            tracked = await _guarded(service.product_tracking(wanted)) == "serial"
        now = asyncio.get_running_loop().time()
        intent = self.session.receive_scan(decoded, now, serial_tracked=tracked)
        reply: dict[str, Any] = {"seq": scan.seq, "code": code, "movements": []}
        reason: str | None = None
        detail = ""
        refused_late: list[tuple[Envelope, StockRejection, datetime | None]] = []
        match intent:
            case Reject(reason=reason):
                pass
            case Acknowledge(detail=detail):
                pass
            case SetLocation(location=location):
                found = await self._look_up(service.find_location(location))
                reason = None if found is not None else f"unknown location {location}"
                detail = f"location {found}"
                self.session.receive_outcome(found is not None, reason)
            case SignIn(operator=operator):
                known = await self._look_up(service.find_operator(operator))
                reason = None if known is not None else f"unknown operator {operator}"
                detail = "" if known is None else f"signed in: {known.name} ({operator})"
                self.session.receive_outcome(known is not None, reason)
            case PostCommand(command=command, operator=operator):
                envelope = Envelope(
                    key=IdempotencyKey(f"handheld:{self.id}:{scan.seq}"),
                    command=command,
                    actor=f"handheld:{self.worker}",
                    scanner=self.id,
                    scan_seq=scan.seq,
                    operator=operator,
                )
                try:
                    outcome: MovementOutcome | StockRejection = await _guarded(
                        service.post(envelope)
                    )
                except StockRejection as rejection:
                    outcome = rejection
                except _Unavailable:
                    self.session.receive_outcome(False, "database unavailable")
                    raise
                except Exception:
                    log.exception("handheld %s: scan %d failed", self.id, scan.seq)
                    outcome = StockRejection("internal error")
                if isinstance(outcome, StockRejection):
                    reason = outcome.reason
                    if scan.offline:
                        refused_late.append((envelope, outcome, scan.taken_at))
                else:
                    self.counters["committed"] += 1
                    reply["movements"] = [_movement(m) for m in outcome.movements]
                    detail = _summary(outcome)
                waits = wants_serials(outcome)
                self.session.receive_outcome(reason is None, reason, wants_serials=waits)
                if waits:  # acknowledged: it waits for SN:<serial>
                    detail, reason = f"{reason}", None
                    refused_late.clear()
        events: list[tuple[str, dict[str, Any]]] = []
        if self.session.operator != signed_in:
            status = {"scanner": self.id, "state": "connected", "detail": "handheld"}
            events.append(("scanner.status", {**status, "operator": self.session.operator}))
        if reason is not None:
            self.counters["rejected"] += 1
            events.append(("scan.rejected", {"scanner": self.id, "code": code, "reason": reason}))
            reply.update(type=Feedback.NAK.value, reason=reason)
        else:
            reply.update(type=Feedback.ACK.value, detail=detail)
        return reply, events, refused_late


def _summary(outcome: MovementOutcome) -> str:
    verbs = {
        "receive": "received",
        "pick": "picked",
        "count": "counted",
        "undo": "undone",
        "return": "returned",
        "scrap": "scrapped",
    }
    parts = []
    for m in outcome.movements:
        if m.kind == "move_out":
            continue
        lot = f" lot {m.lot}" if m.lot else ""
        verb = "moved" if m.kind == "move_in" else verbs.get(m.kind, m.kind)
        parts.append(f"{verb} {abs(m.delta)} × {m.sku}{lot} at {m.location}")
    return "; ".join(parts) or "nothing to change"


async def _guarded(work: Any) -> Any:
    """``work`` within the commit deadline; an outage or a missed deadline is _Unavailable."""
    try:
        async with asyncio.timeout(_COMMIT_TIMEOUT):
            return await work
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        raise _Unavailable(str(exc)) from exc


async def _close(ws: web.WebSocketResponse, why: str) -> None:
    await close_with(ws, CLOSE, why)


async def handheld_handler(request: web.Request) -> web.WebSocketResponse:
    app = request.app
    config = app[CONFIG]
    sockets = app[HANDHELDS]
    if sockets.awaiting_hello >= config.max_pending_hellos:
        raise ProblemError("busy", f"{config.max_pending_hellos} sockets are waiting to say hello")
    if len(sockets.by_scanner) >= config.max_feed_clients:
        raise ProblemError("busy", f"this node serves {config.max_feed_clients} handhelds")
    ws = web.WebSocketResponse(heartbeat=config.heartbeat, max_msg_size=_MAX_MESSAGE)
    greeted = await greet(request, ws, sockets, config.hello_timeout, Hello, CLOSE, Role.WORKER)
    if greeted is None:
        return ws
    hello, token = greeted
    try:
        stored = await app[SERVICE].handheld_session(hello.scanner)
    except DatabaseUnavailableError:
        await _close(ws, "unavailable")
        return ws
    scanner = ScannerId(hello.scanner)
    config = app[CONFIG]
    idle, reasons = config.operator_idle, config.reasons
    required = config.handheld_require_operator
    session = ScannerSession(
        scanner, operator_idle=idle, require_operator=required, reasons=reasons
    )
    last_seq = 0
    if stored is not None:
        last_seq = stored.last_seq
        try:
            session = ScannerSession.restored(
                scanner,
                stored.session,
                now=asyncio.get_running_loop().time(),
                operator_idle=idle,
                require_operator=required,
                reasons=reasons,
            )
        except ValueError:
            log.exception("handheld %s: its stored session is unreadable; starting afresh", scanner)
    handheld = _Handheld(app, ws, hello, token, session, last_seq)
    earlier = sockets.by_scanner.get(scanner)
    sockets.by_scanner[scanner] = ws
    if earlier is not None:
        with contextlib.suppress(Exception):
            await _close(earlier, "replaced")
    try:
        await _serve(handheld)
    finally:
        if sockets.by_scanner.get(scanner) is ws:
            del sockets.by_scanner[scanner]
            # aiohttp cancels the handler of a socket its peer closed: write on apart
            task = asyncio.create_task(_offline(handheld), name=f"handheld-offline-{scanner}")
            sockets.leaving.add(task)
            task.add_done_callback(sockets.leaving.discard)
    return ws


async def _offline(handheld: _Handheld) -> None:
    try:
        await _guarded(handheld.status("offline"))
    except Exception as exc:  # the page went; its state stays "connected"
        log.warning("handheld %s: could not record it offline: %r", handheld.id, exc)


async def _serve(handheld: _Handheld) -> None:
    ws = handheld.ws
    try:
        await _guarded(handheld.status("connected"))
        await handheld.send(
            {
                "type": "welcome",
                "scanner": handheld.id,
                "worker": handheld.worker,
                "last_seq": handheld.last_seq,
                "session": handheld.session.snapshot(),
            }
        )
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            await _message(handheld, msg.data)
    except _Unavailable as exc:
        log.warning("handheld %s: database unavailable (%s)", handheld.id, exc)
        await _close(ws, "unavailable")
    except ConnectionError:
        pass


async def _message(handheld: _Handheld, data: str) -> None:
    try:
        body = json.loads(data)
    except ValueError:
        body = None
    kind = body.get("type") if isinstance(body, dict) else None
    if kind == "ping":
        await handheld.send({"type": "pong", "last_seq": handheld.last_seq})
        return
    if kind != "scan":
        await handheld.send({"type": "error", "reason": "expected a scan or a ping"})
        return
    try:
        scan = Scan.model_validate(body)
    except ValidationError as exc:
        reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        await handheld.send({"type": "error", "seq": body.get("seq"), "reason": reason})
        return
    await handheld.take(scan)


def setup(app: web.Application, page: Path) -> None:
    """The socket, and the page's service worker from ``page`` (the page's folder; the
    page itself is one of :data:`web_ui.pages.PAGES`). The worker is served at
    ``/scan/sw.js`` so that its scope is the page's URL."""
    app[HANDHELDS] = Handhelds()
    worker = page / "sw.js"

    async def service_worker(request: web.Request) -> web.FileResponse:
        return web.FileResponse(
            worker,
            headers={"Cache-Control": "no-cache", "Content-Type": "text/javascript"},
        )

    app.router.add_get("/scan/ws", handheld_handler)
    app.router.add_get("/scan/sw.js", service_worker)


async def close_all(app: web.Application) -> None:
    code, message = CLOSE["going_away"]
    sockets = app[HANDHELDS]
    for ws in list(sockets.by_scanner.values()):
        with contextlib.suppress(Exception):
            await ws.close(code=code, message=message.encode())
    if sockets.leaving:
        await asyncio.wait(set(sockets.leaving), timeout=2.0)
