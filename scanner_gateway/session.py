"""The per-scanner session: what one decoded scan means, given the scans before it.

:class:`ScannerSession` is a sans-I/O state machine, one per scanner. The shell feeds
it decoded scans with :meth:`~ScannerSession.receive_scan` and gets back exactly one
*intent* per scan (:mod:`scanner_gateway.intent`); for an outstanding one it does the
store call and reports back with :meth:`~ScannerSession.receive_outcome`, which answers
the ``Feedback`` to send to the scanner. The session imports no I/O and never reads a
clock: ``now`` comes with each scan (any monotonic seconds). Its parts: ``held``,
``recent_codes``, ``operator_slot``, ``posting`` and ``snapshot`` beside it.
"""

# Rules of the session (h11 ``_state.py`` style: the tables below are these rules as
# data, the methods only apply them).
#
# * One scan in, exactly one intent out: PostCommand (the shell posts it to the store),
#   SetLocation (the shell checks the location exists), SignIn (the shell checks the
#   badge names an operator), Acknowledge (a session-only change: ack) or Reject (nak +
#   scan.rejected with the reason). A Reject changes nothing, except that a product
#   scan uses up the one-shot quantity (see below).
# * Exactly one scan may be outstanding. After PostCommand, SetLocation or SignIn the next call
#   must be receive_outcome(); receive_scan() before it, or receive_outcome() with
#   nothing outstanding, raises SessionStateError. A failed outcome (NAK) leaves the
#   session as it was before that scan.
# * ScanRejected from the decoder -> Reject(str(scan)).
# * QTY:n -> the next product scan counts n (times its own GS1 count); replaces an
#   earlier QTY. Consumed by the next product scan whatever its outcome.
# * Mode commands (_MODE_COMMANDS) switch mode -> Acknowledge, and drop the one-shot
#   quantity. ORD:n switches to PICK with that order current, PO:n to RECEIVE with that
#   purchase order current (dropping the other). Leaving a mode drops order and PO;
#   re-selecting the current mode keeps them. While count lines or move items are
#   held, switching to another mode (ORD:/PO: included) is rejected.
# * TRF:n, in PICK or RECEIVE only (else Reject), makes transfer n current (dropping
#   order and PO; ORD:/PO: drop it): each product scan then ships against it from the
#   current location (PICK) or receives against it there (RECEIVE). Leaving the mode,
#   CMD:DONE and CMD:CANCEL drop it.
# * LOC: (or a GS1 414 GLN, which the store resolves) -> SetLocation; the location
#   becomes current on a good outcome. In MOVE the current location is the source.
#   Exceptions (_OnLocation):
#     COUNT with a tally: same location -> Acknowledge, another -> Reject.
#     MOVE with items held: another location -> PostCommand(Move(source -> it)); on
#     success the items are dropped and the destination becomes current (and the next
#     source); on failure the items stay held. The source itself -> Reject.
# * Product scan: needs a current location. RECEIVE/PICK -> PostCommand(Receive/Pick)
#   carrying the current PO/order; COUNT -> added to the tally; MOVE -> added to the
#   held items (_OnProduct). Quantities are 1..MAX_QUANTITY per scan and per held
#   line (summed per product ref + lot, in first-scanned order).
# * same_code_delay > 0: the same code + lot within that many seconds of its last
#   accepted scan -> Reject, changing nothing (not even the one-shot quantity: the
#   repeat is a double read, not the scan the worker meant it for).
# * CMD:DONE (_OnDone): COUNT posts Count(location, lines) (none -> Reject; lines kept
#   on failure); MOVE with items held -> Reject (finish by scanning the destination);
#   otherwise -> Acknowledge, dropping order and PO.
# * CMD:CANCEL drops held lines, one-shot quantity, order and PO -> Acknowledge. The
#   mode and the location stay.
# * CMD:UNDO -> PostCommand(Undo(scanner=this scanner)); held lines are untouched.
# * Operators. USR:code -> SignIn(code); on a good outcome that operator is signed in
#   (replacing another). CMD:LOGOUT signs out -> Acknowledge. Both are rejected while
#   count lines or move items are held (finish or cancel first). An operator is also
#   signed out by `operator_idle` seconds without a scan: checked before each scan and
#   by receive_tick(now) (the shell's timer; idle_deadline says when). Every
#   PostCommand carries the operator signed in when it is made (None where none).
# * require_operator: with no one signed in, a product scan and any scan that would
#   post (CMD:UNDO, CMD:DONE of a count, a move's destination) -> Reject, changing
#   nothing (not even the one-shot quantity).
# * RETURN and SCRAP modes (_MODE_COMMANDS) post Return/Scrap for each product scan,
#   with the current reason. RSN:code sets the reason -> Acknowledge; only in those
#   modes, and only a code on the configured list (else Reject). A product scan with
#   no reason set -> Reject, changing nothing. Leaving the mode, CMD:CANCEL and
#   CMD:DONE drop the reason.
# * Serials. A product scan with a serial (GS1 AI 21) moves that one unit: its
#   quantity must be 1 (a QTY: or a GS1 count above 1 -> Reject); it posts with
#   serials=(serial,), or holds a serial line in COUNT and MOVE. A product scan
#   without one waits for its serials when the product is serial-tracked: in the modes
#   that post, the store's refusal says so (receive_outcome(..., wants_serials=True)
#   -> ACK); in COUNT and MOVE the shell says so with the scan (receive_scan(...,
#   serial_tracked=True) -> Acknowledge; tracking_wanted() tells the shell when to
#   look). While waiting, SN:<serial> takes one unit of it (posting it, or adding it to
#   the held line) until the scan's quantity is used up; CMD:CANCEL drops the wait
#   only (held lines stay; a second CMD:CANCEL drops them); anything else -> Reject
#   naming the product. A refused SN: post keeps the wait. SN: with nothing waiting
#   -> Reject.

from __future__ import annotations

import enum
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from types import MappingProxyType
from typing import Final

from scanner_gateway.decoded import Command
from scanner_gateway.decoded import CommandScan
from scanner_gateway.decoded import Decoded
from scanner_gateway.decoded import LocationScan
from scanner_gateway.decoded import OperatorScan
from scanner_gateway.decoded import OrderScan
from scanner_gateway.decoded import ProductScan
from scanner_gateway.decoded import PurchaseOrderScan
from scanner_gateway.decoded import QuantityScan
from scanner_gateway.decoded import ReasonScan
from scanner_gateway.decoded import RejectReason
from scanner_gateway.decoded import ScanRejected
from scanner_gateway.decoded import SerialScan
from scanner_gateway.decoded import TransferScan
from scanner_gateway.held import HeldLines
from scanner_gateway.intent import Acknowledge
from scanner_gateway.intent import Feedback
from scanner_gateway.intent import Intent
from scanner_gateway.intent import Outstanding
from scanner_gateway.intent import PostCommand
from scanner_gateway.intent import Reject
from scanner_gateway.intent import SetLocation
from scanner_gateway.intent import SignIn
from scanner_gateway.operator_slot import OperatorSlot
from scanner_gateway.posting import Posting
from scanner_gateway.posting import command_for
from scanner_gateway.posting import product_of
from scanner_gateway.recent_codes import CodeKey
from scanner_gateway.recent_codes import RecentCodes
from scanner_gateway.snapshot import SessionSnapshot
from stock_core.domain.movement import MAX_QUANTITY
from stock_core.domain.movement import Command as MovementCommand
from stock_core.domain.movement import Count
from stock_core.domain.movement import Line
from stock_core.domain.movement import Move
from stock_core.domain.movement import Pick
from stock_core.domain.movement import ProductRef
from stock_core.domain.movement import Receive
from stock_core.domain.movement import Return
from stock_core.domain.movement import Scrap
from stock_core.domain.movement import Undo
from stock_core.domain.operator import DEFAULT_IDLE_MINUTES
from stock_core.domain.returns import DEFAULT_REASONS
from stock_core.types import LocationCode
from stock_core.types import OperatorCode
from stock_core.types import OrderNumber
from stock_core.types import PurchaseOrderNumber
from stock_core.types import ReasonCode
from stock_core.types import ScannerId
from stock_core.types import TransferNumber

__all__ = ["Mode", "ScannerSession", "SessionStateError"]


class Mode(enum.Enum):
    """What a product scan does. Values are the config and display spellings."""

    RECEIVE = "receive"
    PICK = "pick"
    COUNT = "count"
    MOVE = "move"
    RETURN = "return"
    SCRAP = "scrap"


class SessionStateError(RuntimeError):
    """Misuse of :class:`ScannerSession` by its shell (error family 2).

    Raised when a scan arrives while an earlier one still waits for its outcome, or
    an outcome arrives with no scan waiting for one. Scanner input never raises this.
    """


# -- The transition tables ---------------------------------------------------------


class _OnProduct(enum.Enum):
    """A product scan that posts nothing (else the class it posts); values: the ack verb."""

    TALLY = "counted"
    HOLD = "holding"


class _OnLocation(enum.Enum):
    SET = "set"  # always SetLocation
    SET_UNLESS_COUNTING = "set unless counting"  # with a tally: only the same location
    SOURCE_OR_DESTINATION = "source or destination"  # with items held: Move to it


class _OnDone(enum.Enum):
    FINISH = "finish"  # Acknowledge, dropping order and PO
    POST_COUNT = "post count"  # Count(location, lines); nothing counted -> Reject
    NEED_DESTINATION = "need destination"  # items held -> Reject, else FINISH


@dataclass(frozen=True)
class _ModeRules:
    product: Posting | _OnProduct
    location: _OnLocation
    done: _OnDone
    holds: str | None  # what held lines are called in this mode; None: it holds none
    reasons: bool = False  # RSN: sets the reason of what this mode posts


_MODE_RULES: Final[Mapping[Mode, _ModeRules]] = MappingProxyType(
    {
        Mode.RECEIVE: _ModeRules(Receive, _OnLocation.SET, _OnDone.FINISH, None),
        Mode.PICK: _ModeRules(Pick, _OnLocation.SET, _OnDone.FINISH, None),
        Mode.COUNT: _ModeRules(
            _OnProduct.TALLY, _OnLocation.SET_UNLESS_COUNTING, _OnDone.POST_COUNT, "count"
        ),
        Mode.MOVE: _ModeRules(
            _OnProduct.HOLD, _OnLocation.SOURCE_OR_DESTINATION, _OnDone.NEED_DESTINATION, "move"
        ),
        Mode.RETURN: _ModeRules(Return, _OnLocation.SET, _OnDone.FINISH, None, reasons=True),
        Mode.SCRAP: _ModeRules(Scrap, _OnLocation.SET, _OnDone.FINISH, None, reasons=True),
    }
)

_MODE_COMMANDS: Final[Mapping[Command, Mode]] = MappingProxyType(
    {
        Command.RECEIVE: Mode.RECEIVE,
        Command.PICK: Mode.PICK,
        Command.COUNT: Mode.COUNT,
        Command.MOVE: Mode.MOVE,
        Command.RETURN: Mode.RETURN,
        Command.SCRAP: Mode.SCRAP,
    }
)


@dataclass(frozen=True)
class _Awaiting:
    """The intent whose outcome the session waits for, and what to stamp on success."""

    intent: Outstanding
    seen: tuple[CodeKey, float] | None = None
    waits: Line | None = None
    """What waits for serials if the store says the product is serial-tracked."""
    serial: bool = False
    """An SN: post: on success one unit of the wait is used up."""


# -- The session --------------------------------------------------------------------


class ScannerSession:
    """The state of one scanner: mode, location, order/PO, one-shot quantity, held lines,
    the operator signed in and the reason for returns and scrap."""

    def __init__(
        self,
        scanner: ScannerId,
        mode: Mode = Mode.RECEIVE,
        location: LocationCode | None = None,
        same_code_delay: float = 0.0,
        *,
        operator_idle: float = DEFAULT_IDLE_MINUTES * 60,
        require_operator: bool = False,
        reasons: Sequence[ReasonCode] = DEFAULT_REASONS,
    ) -> None:
        self._recent = RecentCodes(same_code_delay)
        self._slot = OperatorSlot(operator_idle, required=require_operator)
        self._reasons = tuple(reasons)
        self._reason: ReasonCode | None = None
        self._scanner = scanner
        self._mode = mode
        self._location = location
        self._order: OrderNumber | None = None
        self._purchase_order: PurchaseOrderNumber | None = None
        self._transfer: TransferNumber | None = None
        self._quantity: int | None = None
        self._lines = HeldLines()
        self._awaiting: _Awaiting | None = None
        self._last_rejection: str | None = None
        self._serial_wait: Line | None = None

    # -- read-only state ----------------------------------------------------------

    @property
    def scanner(self) -> ScannerId:
        return self._scanner

    @property
    def mode(self) -> Mode:
        return self._mode

    @property
    def location(self) -> LocationCode | None:
        """The current location; in MOVE, the source of the held items."""
        return self._location

    @property
    def order(self) -> OrderNumber | None:
        return self._order

    @property
    def purchase_order(self) -> PurchaseOrderNumber | None:
        return self._purchase_order

    @property
    def transfer(self) -> TransferNumber | None:
        """The transfer product scans ship (PICK) or receive (RECEIVE) against."""
        return self._transfer

    @property
    def quantity(self) -> int | None:
        """The one-shot quantity set by ``QTY:``, waiting for the next product scan."""
        return self._quantity

    @property
    def pending(self) -> tuple[Line, ...]:
        """Held, uncommitted lines: the count tally or the items being moved."""
        return self._lines.lines

    @property
    def serial_wait(self) -> Line | None:
        """The product scan waiting for its serials (``SN:``): its quantity is how many."""
        return self._serial_wait

    def tracking_wanted(self, decoded: Decoded) -> ProductRef | None:
        """The product whose tracking the shell should look up before :meth:`receive_scan`
        (a COUNT or MOVE scan without a serial, which holds rather than posts), if any."""
        if (
            isinstance(decoded, ProductScan)
            and decoded.serial is None
            and self._serial_wait is None
            and isinstance(_MODE_RULES[self._mode].product, _OnProduct)
        ):
            return product_of(decoded)
        return None

    @property
    def operator(self) -> OperatorCode | None:
        """The operator signed in (as of the last scan or tick), if any."""
        return self._slot.operator

    @property
    def require_operator(self) -> bool:
        """Whether scans that post are refused while no one is signed in."""
        return self._slot.required

    @property
    def reason(self) -> ReasonCode | None:
        """The reason returns and scrap are posted with (``RSN:``), if set."""
        return self._reason

    @property
    def idle_deadline(self) -> float | None:
        """When the operator is signed out for want of a scan (``now`` units), if signed in."""
        return self._slot.deadline

    @property
    def awaiting(self) -> PostCommand | SetLocation | SignIn | None:
        """The intent waiting for :meth:`receive_outcome`, if any."""
        return None if self._awaiting is None else self._awaiting.intent

    @classmethod
    def restored(
        cls,
        scanner: ScannerId,
        snapshot: Mapping[str, object],
        same_code_delay: float = 0.0,
        *,
        now: float | None = None,
        operator_idle: float = DEFAULT_IDLE_MINUTES * 60,
        require_operator: bool = False,
        reasons: Sequence[ReasonCode] = DEFAULT_REASONS,
    ) -> ScannerSession:
        """A session as :meth:`snapshot` described it (a handheld's session, kept in the
        database between its connections). The same-code delay starts afresh, and a
        scan that was awaiting its outcome is forgotten: its scan is sent again. An
        operator signed in stays so, idle from ``now``.

        Raises :class:`ValueError` when ``snapshot`` is not one :meth:`snapshot` made.
        """
        try:
            saved = SessionSnapshot.from_json(scanner, snapshot)
            session = cls(
                scanner,
                mode=Mode(saved.mode),
                location=saved.location,
                same_code_delay=same_code_delay,
                operator_idle=operator_idle,
                require_operator=require_operator,
                reasons=reasons,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a session snapshot: {exc!r}") from exc
        session._slot.operator = saved.operator
        session._slot.last_scan = now if saved.operator is not None else None
        # a reason no longer on the list is dropped
        session._reason = saved.reason if saved.reason in session._reasons else None
        session._order, session._purchase_order = saved.order, saved.purchase_order
        session._transfer = saved.transfer
        session._quantity = saved.quantity
        session._last_rejection = saved.last_rejection
        session._lines = HeldLines(saved.pending)
        session._serial_wait = saved.serial_wait
        return session

    def snapshot(self) -> dict[str, object]:
        """The session as JSON-ready values, for the floor display and the API."""
        return SessionSnapshot(
            scanner=self._scanner,
            mode=self._mode.value,
            location=self._location,
            order=self._order,
            purchase_order=self._purchase_order,
            quantity=self._quantity,
            operator=self._slot.operator,
            reason=self._reason,
            pending=self.pending,
            awaiting_outcome=self._awaiting is not None,
            last_rejection=self._last_rejection,
            serial_wait=self._serial_wait,
            transfer=self._transfer,
        ).to_json()

    # -- input --------------------------------------------------------------------

    def receive_scan(self, decoded: Decoded, now: float, *, serial_tracked: bool = False) -> Intent:
        """Take one decoded scan (at monotonic time ``now``) and say what to do about it.

        ``serial_tracked``: the shell found the product of a scan that
        :meth:`tracking_wanted` named to be serial-tracked."""
        if self._awaiting is not None:
            raise SessionStateError(
                "a scan arrived before the outcome of the previous one was reported"
            )
        self.receive_tick(now)
        self._slot.last_scan = now
        if self._serial_wait is not None:
            intent = self._while_waiting(decoded)
        else:
            intent = self._intent_for(decoded, now, serial_tracked)
        if isinstance(intent, Reject):
            self._last_rejection = intent.reason
        return intent

    def receive_tick(self, now: float) -> bool:
        """Sign the operator out when ``now`` is past :attr:`idle_deadline`; say if it did."""
        return self._slot.tick(now)

    def receive_outcome(
        self, accepted: bool, reason: str | None = None, *, wants_serials: bool = False
    ) -> Feedback:
        """Take the shell's report on the outstanding PostCommand or SetLocation.

        ``wants_serials``: the store refused a product scan's post because the product is
        serial-tracked and the scan named no serial: the scan is acknowledged and waits
        for its serials (``SN:``)."""
        awaiting = self._awaiting
        if awaiting is None:
            raise SessionStateError("an outcome was reported with no scan waiting for one")
        self._awaiting = None
        if wants_serials and awaiting.waits is not None:
            self._serial_wait = awaiting.waits
            if awaiting.seen is not None:
                self._recent.stamp(*awaiting.seen)
            return Feedback.ACK
        if not accepted:
            self._last_rejection = reason or "refused by the store"
            return Feedback.NAK
        match awaiting.intent:
            case SetLocation(location=location):
                self._location = location
            case SignIn(operator=operator):
                self._slot.operator = operator
            case PostCommand(command=Move(to_location=destination)):
                self._lines.clear()
                self._location = destination
            case PostCommand(command=Count()):
                self._lines.clear()
            case _:
                pass  # receive, pick, undo: the session holds nothing for them
        if awaiting.serial:
            self._use_serial()
        if awaiting.seen is not None:
            self._recent.stamp(*awaiting.seen)
        return Feedback.ACK

    # -- transitions --------------------------------------------------------------

    def _while_waiting(self, decoded: Decoded) -> Intent:
        """A scan while a product scan waits for its serials."""
        wait = self._serial_wait
        assert wait is not None
        match decoded:
            case SerialScan(serial=serial):
                return self._scan_serial(wait, serial)
            case CommandScan(command=Command.CANCEL):
                self._serial_wait = None
                return Acknowledge(f"cancelled the scan of {wait.product} waiting for serials")
            case _:
                return Reject(f"scan the serial of {wait.product} (SN:<serial>) or CMD:CANCEL")

    def _use_serial(self) -> None:
        wait = self._serial_wait
        assert wait is not None
        left = wait.quantity - 1
        self._serial_wait = replace(wait, quantity=left) if left else None

    def _scan_serial(self, wait: Line, serial: str) -> Intent:
        refusal = self._operator_missing()
        if refusal is not None:
            return refusal
        rules = _MODE_RULES[self._mode]
        location = self._location
        assert location is not None  # a product scan waited here
        if isinstance(rules.product, _OnProduct):  # TALLY or HOLD: a held serial
            total = self._lines.add_serial(wait.product, serial, wait.lot, wait.expiry)
            if total is None:
                return Reject(f"serial {serial} of {wait.product} is held already")
            self._use_serial()
            return Acknowledge(f"{rules.product.value} {wait.product} serial {serial}: {total}")
        one = replace(wait, quantity=1, serials=(serial,))
        return self._await(PostCommand(self._posting(rules.product, one, location)), serial=True)

    def _posting(self, posting: Posting, line: Line, location: LocationCode) -> MovementCommand:
        return command_for(
            posting,
            line,
            location,
            order=self._order,
            purchase_order=self._purchase_order,
            reason=self._reason,
            transfer=self._transfer,
        )

    def _intent_for(self, decoded: Decoded, now: float, serial_tracked: bool) -> Intent:
        match decoded:
            case ScanRejected():
                return Reject(str(decoded))
            case QuantityScan(quantity=quantity):
                return self._set_quantity(quantity)
            case CommandScan(command=command):
                return self._command(command)
            case OrderScan(number=number):
                return self._switch_mode(Mode.PICK, order=number)
            case PurchaseOrderScan(number=number):
                return self._switch_mode(Mode.RECEIVE, purchase_order=number)
            case TransferScan(number=number):
                return self._set_transfer(number)
            case LocationScan():
                return self._scan_location(decoded)
            case OperatorScan(code=code):
                return self._sign_in(code)
            case ReasonScan(code=code):
                return self._set_reason(code)
            case SerialScan():
                return Reject("SN: follows a product scan of a serial-tracked product")
            case _:
                return self._scan_product(decoded, now, serial_tracked)

    def _await(
        self,
        intent: Outstanding,
        seen: tuple[CodeKey, float] | None = None,
        *,
        waits: Line | None = None,
        serial: bool = False,
    ) -> Intent:
        if isinstance(intent, PostCommand):
            refusal = self._operator_missing()
            if refusal is not None:
                return refusal
            intent = replace(intent, operator=self._slot.operator)
        self._awaiting = _Awaiting(intent, seen, waits, serial)
        return intent

    def _operator_missing(self) -> Reject | None:
        if self._slot.missing:
            return Reject("sign in first: scan your badge (USR:)")
        return None

    def _holding(self) -> Reject | None:
        if self._lines:
            held = _MODE_RULES[self._mode].holds or self._mode.value
            return Reject(f"finish or cancel the {held} first")
        return None

    def _sign_in(self, code: OperatorCode) -> Intent:
        return self._holding() or self._await(SignIn(code))

    def _sign_out(self) -> Intent:
        refusal = self._holding()
        if refusal is not None:
            return refusal
        operator, self._slot.operator = self._slot.operator, None
        return Acknowledge("no one was signed in" if operator is None else f"{operator} signed out")

    def _set_reason(self, code: ReasonCode) -> Intent:
        if not _MODE_RULES[self._mode].reasons:
            return Reject("a reason is for returns and scrap: scan CMD:RETURN or CMD:SCRAP first")
        if code not in self._reasons:
            return Reject(f"unknown reason {code} (one of {', '.join(self._reasons)})")
        self._reason = code
        return Acknowledge(f"reason {code}")

    def _set_transfer(self, number: TransferNumber) -> Intent:
        if self._mode not in (Mode.PICK, Mode.RECEIVE):
            return Reject(
                "TRF: ships in pick mode or receives in receive mode: scan CMD:PICK "
                "or CMD:RECEIVE first"
            )
        self._transfer = number
        self._order = self._purchase_order = None
        verb = "shipping" if self._mode is Mode.PICK else "receiving"
        return Acknowledge(f"{verb} transfer {number}")

    def _set_quantity(self, quantity: int) -> Intent:
        if not 1 <= quantity <= MAX_QUANTITY:
            return Reject(RejectReason.BAD_QUANTITY.value)
        self._quantity = quantity
        return Acknowledge(f"next scan counts {quantity}")

    def _command(self, command: Command) -> Intent:
        match command:
            case Command.DONE:
                return self._done()
            case Command.CANCEL:
                return self._cancel()
            case Command.UNDO:
                return self._await(PostCommand(Undo(scanner=self._scanner)))
            case Command.LOGOUT:
                return self._sign_out()
            case _:
                return self._switch_mode(_MODE_COMMANDS[command])

    def _switch_mode(
        self,
        mode: Mode,
        *,
        order: OrderNumber | None = None,
        purchase_order: PurchaseOrderNumber | None = None,
    ) -> Intent:
        leaving = mode is not self._mode
        if leaving and self._lines:
            held = _MODE_RULES[self._mode].holds or self._mode.value
            return Reject(f"finish or cancel the {held} first")
        self._mode = mode
        self._quantity = None
        if leaving:
            self._reason = None
        if leaving or order is not None or purchase_order is not None:
            self._order, self._purchase_order = order, purchase_order
            self._transfer = None
        if order is not None:
            return Acknowledge(f"picking order {order}")
        if purchase_order is not None:
            return Acknowledge(f"receiving purchase order {purchase_order}")
        return Acknowledge(f"mode {mode.value}")

    def _done(self) -> Intent:
        match _MODE_RULES[self._mode].done:
            case _OnDone.POST_COUNT:
                if not self._lines:
                    return Reject("nothing counted")
                assert self._location is not None  # a tally needs a location
                return self._await(PostCommand(Count(self._location, self.pending)))
            case _OnDone.NEED_DESTINATION if self._lines:
                return Reject("scan the destination location to finish the move")
            case _:
                self._order = self._purchase_order = None
                self._transfer = None
                self._reason = None
                return Acknowledge("done")

    def _cancel(self) -> Intent:
        held = _MODE_RULES[self._mode].holds or self._mode.value
        dropped = [
            text
            for text, present in (
                (f"{held} of {len(self._lines)} lines", bool(self._lines)),
                (f"quantity {self._quantity}", self._quantity is not None),
                (f"order {self._order}", self._order is not None),
                (f"purchase order {self._purchase_order}", self._purchase_order is not None),
                (f"transfer {self._transfer}", self._transfer is not None),
                (f"reason {self._reason}", self._reason is not None),
            )
            if present
        ]
        self._lines.clear()
        self._quantity = None
        self._order = self._purchase_order = None
        self._transfer = None
        self._reason = None
        return Acknowledge("cancelled " + (", ".join(dropped) or "(nothing was held)"))

    def _scan_location(self, decoded: LocationScan) -> Intent:
        location = decoded.code or (LocationCode(decoded.gln) if decoded.gln else None)
        if not location:
            return Reject(RejectReason.BAD_LOCATION.value)
        match _MODE_RULES[self._mode].location:
            case _OnLocation.SET_UNLESS_COUNTING if self._lines:
                if location == self._location:
                    return Acknowledge(f"counting at {location}")
                return Reject(f"finish the count at {self._location} first")
            case _OnLocation.SOURCE_OR_DESTINATION if self._lines:
                assert self._location is not None  # held items need a source
                if location == self._location:
                    return Reject("destination is the source location")
                return self._await(PostCommand(Move(self._location, location, self.pending)))
            case _:
                return self._await(SetLocation(location))

    def _scan_product(self, decoded: ProductScan, now: float, serial_tracked: bool) -> Intent:
        seen_key: CodeKey = (decoded.code, decoded.lot)
        if self._recent.too_soon(seen_key, now):
            return Reject("same code scanned again too soon")
        rules = _MODE_RULES[self._mode]
        refusal = self._operator_missing()
        if refusal is None and rules.reasons and self._reason is None:
            refusal = Reject("scan a reason first (RSN:<code>)")
        if refusal is not None:
            return refusal
        one_shot, self._quantity = self._quantity, None
        product = product_of(decoded)
        if product is None:
            return Reject(RejectReason.UNRECOGNISED.value)
        location = self._location
        if location is None:
            return Reject("scan a location first")
        quantity = (one_shot or 1) * (1 if decoded.count is None else decoded.count)
        if not 1 <= quantity <= MAX_QUANTITY:
            return Reject(f"quantity must be 1 to {MAX_QUANTITY}, not {quantity}")
        seen = (seen_key, now)
        serials: tuple[str, ...] = ()
        if decoded.serial is not None:
            if quantity != 1:
                return Reject(f"a serial is one unit: not {quantity} of {product}")
            serials = (decoded.serial,)
        waits = Line(product, quantity, decoded.lot, decoded.expiry)
        if isinstance(rules.product, _OnProduct) and serials:
            total = self._lines.add_serial(product, serials[0], decoded.lot, decoded.expiry)
            if total is None:
                return Reject(f"serial {serials[0]} of {product} is held already")
            self._recent.stamp(*seen)
            return Acknowledge(f"{rules.product.value} {product} serial {serials[0]}: {total}")
        if isinstance(rules.product, _OnProduct) and serial_tracked:
            self._serial_wait = waits
            self._recent.stamp(*seen)
            return Acknowledge(f"{product} is serial-tracked: scan its serials (SN:)")
        if isinstance(rules.product, _OnProduct):  # TALLY or HOLD: a held line
            total = self._lines.add(product, quantity, decoded.lot, decoded.expiry)
            if total > MAX_QUANTITY:
                return Reject(f"more than {MAX_QUANTITY} of {product} in one line")
            self._recent.stamp(*seen)
            lot = "" if decoded.lot is None else f" lot {decoded.lot}"
            return Acknowledge(f"{rules.product.value} {quantity} × {product}{lot}: {total} in all")
        command = self._posting(rules.product, replace(waits, serials=serials), location)
        return self._await(PostCommand(command), seen, waits=None if serials else waits)
