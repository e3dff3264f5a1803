r"""Scan scripts: a warehouse worker's scans as a text file, one scan per line.

::

    # receive two cases at the dock
    CMD:RECEIVE
    LOC:DOCK-1
    QTY:2
    05012345678900
    (01)15012345678907(17)261231(10)LOT42
    ]d2(01)15012345678907(10)LOT42
    @sleep 0.5
    @unplug
    @replug
    @noise 20
    @raw 1b 37 2c

Rules:

- Blank lines and lines whose first non-blank character is ``#`` are skipped. Leading
  and trailing blanks are stripped.
- A line starting with ``]`` and two more characters sets that scan's AIM identifier
  (``]E0``, ``]C1``, ``]d2``, …); otherwise the scanner model decides.
- Text starting with ``(`` is GS1 human-readable form: ``(01)…(17)…(10)…`` becomes the
  element string, with GS (ASCII 29) after variable-length fields.
- ``\xHH`` is the byte HH and ``\\`` a backslash (write ``\x1d`` for GS, ``\x40`` for a
  scan that starts with ``@``, ``\x23`` for one that starts with ``#``).
- Directives: ``@sleep SECONDS``, ``@unplug``, ``@replug``, ``@noise N`` (N random
  bytes), ``@raw HEX`` (bytes as hex, blanks allowed).

:func:`parse_script` is pure and raises :class:`ScriptError` naming the line;
:func:`run_script` plays the steps against a :class:`PtyScanner` or a
:class:`DeviceServer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from hardware_mocks.device_server import DeviceServer
from hardware_mocks.errors import ScriptError
from hardware_mocks.feedback import Feedback
from hardware_mocks.feedback import FeedbackCounts
from hardware_mocks.frames import gs1_from_hri
from hardware_mocks.target import ScanTarget
from hardware_mocks.target import disconnect
from hardware_mocks.target import reconnect
from hardware_mocks.target import send_bytes

__all__ = [
    "Noise",
    "Raw",
    "Replug",
    "Scan",
    "ScriptError",
    "ScriptReport",
    "Sleep",
    "Step",
    "Unplug",
    "parse_script",
    "run_script",
]

_MAX_NOISE = 65536
_CONNECT_SETTLE = 0.05
"""Seconds between a gateway's TCP connect and the next scan: pyserial flushes input
right after connecting, so a scan sent at once could be thrown away."""
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|\\)|\\")


@dataclass(frozen=True)
class _Step:
    """A step of a script; ``line`` is where it stands (for :class:`ScriptError`)."""

    line: int


@dataclass(frozen=True)
class Scan(_Step):
    """Send one scan. ``aim`` ``None`` leaves the AIM prefix to the scanner model."""

    text: str
    aim: str | None = None


@dataclass(frozen=True)
class Sleep(_Step):
    """``@sleep SECONDS``."""

    seconds: float


@dataclass(frozen=True)
class Unplug(_Step):
    """``@unplug``: unplug the scanner, or drop the device server's connection."""


@dataclass(frozen=True)
class Replug(_Step):
    """``@replug``: plug it back in, or listen again and wait for the gateway."""


@dataclass(frozen=True)
class Noise(_Step):
    """``@noise N``: N random bytes."""

    count: int


@dataclass(frozen=True)
class Raw(_Step):
    """``@raw HEX``: these bytes as they are."""

    data: bytes


Step = Scan | Sleep | Unplug | Replug | Noise | Raw


def _unescape(text: str, line: int) -> str:
    def replace(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape is None:
            raise ScriptError(line, r"a backslash starts \xHH or \\")
        return "\\" if escape == "\\" else chr(int(escape[1:], 16))

    return _ESCAPE.sub(replace, text)


def _parse_scan(text: str, line: int) -> Scan:
    aim: str | None = None
    if text.startswith("]"):
        if len(text) < 3:
            raise ScriptError(line, f"an AIM identifier is ']' and two characters: {text!r}")
        aim, text = text[:3], text[3:]
    text = _unescape(text, line)
    if text.startswith("("):
        try:
            text = gs1_from_hri(text)
        except ValueError as exc:
            raise ScriptError(line, str(exc)) from exc
    if not text:
        raise ScriptError(line, "empty scan")
    return Scan(line=line, text=text, aim=aim)


def _parse_directive(text: str, line: int) -> Step:
    name, _, argument = text[1:].partition(" ")
    name = name.lower()
    argument = argument.strip()
    if name in ("unplug", "replug"):
        if argument:
            raise ScriptError(line, f"@{name} takes no argument")
        return Unplug(line) if name == "unplug" else Replug(line)
    if name == "sleep":
        try:
            seconds = float(argument)
        except ValueError:
            raise ScriptError(line, f"@sleep needs seconds, got {argument!r}") from None
        if not math.isfinite(seconds) or seconds < 0:
            raise ScriptError(line, f"@sleep needs a finite, non-negative time: {argument!r}")
        return Sleep(line, seconds)
    if name == "noise":
        if not argument.isascii() or not argument.isdigit():
            raise ScriptError(line, f"@noise needs a byte count, got {argument!r}")
        count = int(argument)
        if not 1 <= count <= _MAX_NOISE:
            raise ScriptError(line, f"@noise takes 1 to {_MAX_NOISE} bytes, not {count}")
        return Noise(line, count)
    if name == "raw":
        try:
            data = bytes.fromhex(argument)
        except ValueError:
            raise ScriptError(line, f"@raw needs hex bytes, got {argument!r}") from None
        if not data:
            raise ScriptError(line, "@raw needs at least one byte")
        return Raw(line, data)
    raise ScriptError(line, f"unknown directive @{name}")


def parse_script(text: str) -> list[Step]:
    """The steps of a scan script. Raises :class:`ScriptError` on the first bad line."""
    steps: list[Step] = []
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            steps.append(_parse_directive(line, number))
        else:
            steps.append(_parse_scan(line, number))
    return steps


@dataclass(frozen=True)
class ScriptReport:
    """What a run did. ``outcomes`` has one entry per scan when feedback was awaited:
    the ack or nak heard, or ``None`` when the gateway stayed silent."""

    scans_sent: int
    outcomes: tuple[Feedback | None, ...] = ()


async def run_script(
    target: ScanTarget,
    steps: Sequence[Step],
    *,
    pace: float = 0.0,
    feedback_timeout: float | None = None,
    connect_timeout: float = 5.0,
    seed: int | None = None,
) -> ScriptReport:
    """Play ``steps`` on ``target``: ``pace`` seconds after each scan, as a worker would.

    With ``feedback_timeout`` set, each scan waits up to that long for its ack or nak
    (a worker waiting for the beep) and the outcomes are reported; a model that is
    silent on good scans (``ack`` is ``None``) yields ``None`` for those after the wait.
    ``@unplug``/``@replug`` unplug and replug a pty scanner, or drop and restart a
    device server; on a device server ``@replug`` also waits up to ``connect_timeout``
    for the gateway to reconnect (``TimeoutError`` if it does not), then 50 ms for it to
    finish opening. A pty cannot tell
    when the gateway reopens it: follow ``@replug`` with an ``@sleep`` longer than the
    gateway's reopen backoff. ``seed`` makes ``@noise`` reproducible.
    """
    rng = random.Random(seed)
    sent = 0
    outcomes: list[Feedback | None] = []
    for step in steps:
        match step:
            case Scan(text=text, aim=aim):
                before = target.feedback
                await send_bytes(target, target.model.frame(text, aim=aim))
                sent += 1
                if feedback_timeout is not None:
                    with contextlib.suppress(TimeoutError):
                        await target.wait_feedback(before.events + 1, feedback_timeout)
                    outcomes.append(_outcome(before, target.feedback))
                if pace > 0:
                    await asyncio.sleep(pace)
            case Sleep(seconds=seconds):
                await asyncio.sleep(seconds)
            case Unplug():
                await disconnect(target)
            case Replug():
                await reconnect(target)
                if isinstance(target, DeviceServer):
                    await target.wait_connected(connect_timeout)
                    await asyncio.sleep(_CONNECT_SETTLE)
            case Noise(count=count):
                await send_bytes(target, rng.randbytes(count))
            case Raw(data=data):
                await send_bytes(target, data)
    return ScriptReport(scans_sent=sent, outcomes=tuple(outcomes))


def _outcome(before: FeedbackCounts, after: FeedbackCounts) -> Feedback | None:
    if after.events == before.events:
        return None
    return Feedback.ACK if after.acks > before.acks else Feedback.NAK
