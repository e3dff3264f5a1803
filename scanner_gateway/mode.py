"""The scanner session's rules: its modes, the rules in prose, the transition tables.

The header comment below states what each scan does, given the scans before it; the
tables are those rules as data: what a product scan, a location scan and ``CMD:DONE``
do in each :class:`Mode`, what the lines a mode holds are called, whether ``RSN:``
applies, and which command selects which mode.
:class:`~scanner_gateway.session.ScannerSession` only applies them. Pure values: no I/O.
"""

# Rules of the session (h11 ``_state.py`` style: the tables below are these rules as
# data, the methods of ScannerSession only apply them).
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
# * Mode commands (MODE_COMMANDS) switch mode -> Acknowledge, and drop the one-shot
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
#   Exceptions (OnLocation):
#     COUNT with a tally: same location -> Acknowledge, another -> Reject.
#     MOVE with items held: another location -> PostCommand(Move(source -> it)); on
#     success the items are dropped and the destination becomes current (and the next
#     source); on failure the items stay held. The source itself -> Reject.
# * Product scan: needs a current location. RECEIVE/PICK -> PostCommand(Receive/Pick)
#   carrying the current PO/order; COUNT -> added to the tally; MOVE -> added to the
#   held items (OnProduct). Quantities are 1..MAX_QUANTITY per scan and per held
#   line (summed per product ref + lot, in first-scanned order).
# * same_code_delay > 0: the same code + lot within that many seconds of its last
#   accepted scan -> Reject, changing nothing (not even the one-shot quantity: the
#   repeat is a double read, not the scan the worker meant it for).
# * CMD:DONE (OnDone): COUNT posts Count(location, lines) (none -> Reject; lines kept
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
# * RETURN and SCRAP modes (MODE_COMMANDS) post Return/Scrap for each product scan,
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
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from scanner_gateway.decoded import Command
from scanner_gateway.posting import Posting
from stock_core.domain.movement import Pick
from stock_core.domain.movement import Receive
from stock_core.domain.movement import Return
from stock_core.domain.movement import Scrap

__all__ = [
    "MODE_COMMANDS",
    "MODE_RULES",
    "Mode",
    "ModeRules",
    "OnDone",
    "OnLocation",
    "OnProduct",
    "held_name",
]


class Mode(enum.Enum):
    """What a product scan does. Values are the config and display spellings."""

    RECEIVE = "receive"
    PICK = "pick"
    COUNT = "count"
    MOVE = "move"
    RETURN = "return"
    SCRAP = "scrap"


class OnProduct(enum.Enum):
    """A product scan that posts nothing (else the class it posts); values: the ack verb."""

    TALLY = "counted"
    HOLD = "holding"


class OnLocation(enum.Enum):
    """What a location scan does in a mode."""

    SET = "set"  # always SetLocation
    SET_UNLESS_COUNTING = "set unless counting"  # with a tally: only the same location
    SOURCE_OR_DESTINATION = "source or destination"  # with items held: Move to it


class OnDone(enum.Enum):
    """What ``CMD:DONE`` does in a mode."""

    FINISH = "finish"  # Acknowledge, dropping order and PO
    POST_COUNT = "post count"  # Count(location, lines); nothing counted -> Reject
    NEED_DESTINATION = "need destination"  # items held -> Reject, else FINISH


@dataclass(frozen=True)
class ModeRules:
    """One mode's row of the table."""

    product: Posting | OnProduct
    location: OnLocation
    done: OnDone
    holds: str | None  # what held lines are called in this mode; None: it holds none
    reasons: bool = False  # RSN: sets the reason of what this mode posts


MODE_RULES: Final[Mapping[Mode, ModeRules]] = MappingProxyType(
    {
        Mode.RECEIVE: ModeRules(Receive, OnLocation.SET, OnDone.FINISH, None),
        Mode.PICK: ModeRules(Pick, OnLocation.SET, OnDone.FINISH, None),
        Mode.COUNT: ModeRules(
            OnProduct.TALLY, OnLocation.SET_UNLESS_COUNTING, OnDone.POST_COUNT, "count"
        ),
        Mode.MOVE: ModeRules(
            OnProduct.HOLD, OnLocation.SOURCE_OR_DESTINATION, OnDone.NEED_DESTINATION, "move"
        ),
        Mode.RETURN: ModeRules(Return, OnLocation.SET, OnDone.FINISH, None, reasons=True),
        Mode.SCRAP: ModeRules(Scrap, OnLocation.SET, OnDone.FINISH, None, reasons=True),
    }
)

MODE_COMMANDS: Final[Mapping[Command, Mode]] = MappingProxyType(
    {
        Command.RECEIVE: Mode.RECEIVE,
        Command.PICK: Mode.PICK,
        Command.COUNT: Mode.COUNT,
        Command.MOVE: Mode.MOVE,
        Command.RETURN: Mode.RETURN,
        Command.SCRAP: Mode.SCRAP,
    }
)


def held_name(mode: Mode) -> str:
    """What the lines ``mode`` holds are called in the session's answers (its value if none)."""
    return MODE_RULES[mode].holds or mode.value
