"""The per-scanner session: what one decoded scan means, given the scans before it.

:class:`ScannerSession` is a sans-I/O state machine, one per scanner. The shell feeds
it decoded scans with :meth:`~ScannerSession.receive_scan` and gets back exactly one
*intent* per scan (:mod:`scanner_gateway.intent`); for an outstanding one it does the
store call and reports back with :meth:`~ScannerSession.receive_outcome`, which answers
the ``Feedback`` to send to the scanner. The session imports no I/O and never reads a
clock: ``now`` comes with each scan (any monotonic seconds). Its rules are stated,
beside the tables that are them as data, in :mod:`scanner_gateway.mode`; the methods
here only apply them. Its parts: ``mode``, ``held``, ``recent_codes``,
``operator_slot``, ``posting`` and ``snapshot`` beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace

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
from scanner_gateway.mode import MODE_COMMANDS
from scanner_gateway.mode import MODE_RULES
from scanner_gateway.mode import Mode
from scanner_gateway.mode import OnDone
from scanner_gateway.mode import OnLocation
from scanner_gateway.mode import OnProduct
from scanner_gateway.mode import held_name
from scanner_gateway.operator_slot import OperatorSlot
from scanner_gateway.posting import Carried
from scanner_gateway.posting import command_for
from scanner_gateway.posting import product_of
from scanner_gateway.recent_codes import CodeKey
from scanner_gateway.recent_codes import RecentCodes
from scanner_gateway.snapshot import SessionSnapshot
from stock_core.domain.movement import MAX_QUANTITY
from stock_core.domain.movement import Count
from stock_core.domain.movement import Line
from stock_core.domain.movement import Move
from stock_core.domain.movement import ProductRef
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


class SessionStateError(RuntimeError):
    """Misuse of :class:`ScannerSession` by its shell (error family 2).

    Raised when a scan arrives while an earlier one still waits for its outcome, or
    an outcome arrives with no scan waiting for one. Scanner input never raises this.
    """


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
        self._carried = Carried()
        self._scanner = scanner
        self._mode = mode
        self._location = location
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
        return self._carried.order

    @property
    def purchase_order(self) -> PurchaseOrderNumber | None:
        return self._carried.purchase_order

    @property
    def transfer(self) -> TransferNumber | None:
        """The transfer product scans ship (PICK) or receive (RECEIVE) against."""
        return self._carried.transfer

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
            and isinstance(MODE_RULES[self._mode].product, OnProduct)
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
        return self._carried.reason

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
        reason = saved.reason if saved.reason in session._reasons else None
        session._carried = Carried(saved.order, saved.purchase_order, saved.transfer, reason)
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
            order=self._carried.order,
            purchase_order=self._carried.purchase_order,
            quantity=self._quantity,
            operator=self._slot.operator,
            reason=self._carried.reason,
            pending=self.pending,
            awaiting_outcome=self._awaiting is not None,
            last_rejection=self._last_rejection,
            serial_wait=self._serial_wait,
            transfer=self._carried.transfer,
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
        rules = MODE_RULES[self._mode]
        location = self._location
        assert location is not None  # a product scan waited here
        if isinstance(rules.product, OnProduct):  # TALLY or HOLD: a held serial
            intent = self._hold_serial(rules.product, wait, serial)
            if isinstance(intent, Acknowledge):
                self._use_serial()
            return intent
        one = replace(wait, quantity=1, serials=(serial,))
        command = command_for(rules.product, one, location, self._carried)
        return self._await(PostCommand(command), serial=True)

    def _hold_serial(self, on_product: OnProduct, line: Line, serial: str) -> Intent:
        """Hold one unit of ``line``'s product and lot with ``serial`` (COUNT, MOVE)."""
        total = self._lines.add_serial(line.product, serial, line.lot, line.expiry)
        if total is None:
            return Reject(f"serial {serial} of {line.product} is held already")
        return Acknowledge(f"{on_product.value} {line.product} serial {serial}: {total}")

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
            return Reject(f"finish or cancel the {held_name(self._mode)} first")
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
        if not MODE_RULES[self._mode].reasons:
            return Reject("a reason is for returns and scrap: scan CMD:RETURN or CMD:SCRAP first")
        if code not in self._reasons:
            return Reject(f"unknown reason {code} (one of {', '.join(self._reasons)})")
        self._carried = replace(self._carried, reason=code)
        return Acknowledge(f"reason {code}")

    def _set_transfer(self, number: TransferNumber) -> Intent:
        if self._mode not in (Mode.PICK, Mode.RECEIVE):
            return Reject(
                "TRF: ships in pick mode or receives in receive mode: scan CMD:PICK "
                "or CMD:RECEIVE first"
            )
        self._carried = replace(self._carried, order=None, purchase_order=None, transfer=number)
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
                return self._switch_mode(MODE_COMMANDS[command])

    def _switch_mode(
        self,
        mode: Mode,
        *,
        order: OrderNumber | None = None,
        purchase_order: PurchaseOrderNumber | None = None,
    ) -> Intent:
        leaving = mode is not self._mode
        refusal = self._holding() if leaving else None
        if refusal is not None:
            return refusal
        self._mode = mode
        self._quantity = None
        if leaving or order is not None or purchase_order is not None:
            reason = None if leaving else self._carried.reason
            self._carried = Carried(order, purchase_order, reason=reason)
        if order is not None:
            return Acknowledge(f"picking order {order}")
        if purchase_order is not None:
            return Acknowledge(f"receiving purchase order {purchase_order}")
        return Acknowledge(f"mode {mode.value}")

    def _done(self) -> Intent:
        match MODE_RULES[self._mode].done:
            case OnDone.POST_COUNT:
                if not self._lines:
                    return Reject("nothing counted")
                assert self._location is not None  # a tally needs a location
                return self._await(PostCommand(Count(self._location, self.pending)))
            case OnDone.NEED_DESTINATION if self._lines:
                return Reject("scan the destination location to finish the move")
            case _:
                self._carried = Carried()
                return Acknowledge("done")

    def _cancel(self) -> Intent:
        held, carried = held_name(self._mode), self._carried
        dropped = [
            text
            for text, present in (
                (f"{held} of {len(self._lines)} lines", bool(self._lines)),
                (f"quantity {self._quantity}", self._quantity is not None),
                (f"order {carried.order}", carried.order is not None),
                (f"purchase order {carried.purchase_order}", carried.purchase_order is not None),
                (f"transfer {carried.transfer}", carried.transfer is not None),
                (f"reason {carried.reason}", carried.reason is not None),
            )
            if present
        ]
        self._lines.clear()
        self._quantity = None
        self._carried = Carried()
        return Acknowledge("cancelled " + (", ".join(dropped) or "(nothing was held)"))

    def _scan_location(self, decoded: LocationScan) -> Intent:
        location = decoded.code or (LocationCode(decoded.gln) if decoded.gln else None)
        if not location:
            return Reject(RejectReason.BAD_LOCATION.value)
        match MODE_RULES[self._mode].location:
            case OnLocation.SET_UNLESS_COUNTING if self._lines:
                if location == self._location:
                    return Acknowledge(f"counting at {location}")
                return Reject(f"finish the count at {self._location} first")
            case OnLocation.SOURCE_OR_DESTINATION if self._lines:
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
        rules = MODE_RULES[self._mode]
        refusal = self._operator_missing()
        if refusal is None and rules.reasons and self._carried.reason is None:
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
        if isinstance(rules.product, OnProduct) and serials:
            intent = self._hold_serial(rules.product, waits, serials[0])
            if isinstance(intent, Acknowledge):
                self._recent.stamp(*seen)
            return intent
        if isinstance(rules.product, OnProduct) and serial_tracked:
            self._serial_wait = waits
            self._recent.stamp(*seen)
            return Acknowledge(f"{product} is serial-tracked: scan its serials (SN:)")
        if isinstance(rules.product, OnProduct):  # TALLY or HOLD: a held line
            total = self._lines.add(product, quantity, decoded.lot, decoded.expiry)
            if total > MAX_QUANTITY:
                return Reject(f"more than {MAX_QUANTITY} of {product} in one line")
            self._recent.stamp(*seen)
            lot = "" if decoded.lot is None else f" lot {decoded.lot}"
            return Acknowledge(f"{rules.product.value} {quantity} × {product}{lot}: {total} in all")
        command = command_for(
            rules.product, replace(waits, serials=serials), location, self._carried
        )
        return self._await(PostCommand(command), seen, waits=None if serials else waits)
