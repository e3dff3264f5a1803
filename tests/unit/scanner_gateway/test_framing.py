"""LineFramer: bytes in, frame events out. No loop, no clock, no I/O."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner_gateway.framing import STALE_PARTIAL
from scanner_gateway.framing import BaudMismatchSuspected
from scanner_gateway.framing import FrameDropped
from scanner_gateway.framing import FrameGarbled
from scanner_gateway.framing import FramerClosedError
from scanner_gateway.framing import FrameReceived
from scanner_gateway.framing import FramerEvent
from scanner_gateway.framing import FrameTooLong
from scanner_gateway.framing import LineFramer
from scanner_gateway.framing import Terminator

GS1_FRAME = b"]C1010950600013435210ABC123\x1d17251231"


def feed(framer: LineFramer, *chunks: bytes, now: float = 0.0) -> list[FramerEvent]:
    for chunk in chunks:
        framer.receive_bytes(chunk, now)
    return framer.events_received()


def frames(*data: bytes) -> list[FramerEvent]:
    return [FrameReceived(d) for d in data]


@pytest.mark.parametrize(
    ("terminator", "stream", "expected"),
    [
        (Terminator.CR, b"ABC\rDEF\r", [b"ABC", b"DEF"]),
        (Terminator.CR, b"ABC\r\nDEF\r\n", [b"ABC", b"DEF"]),
        (Terminator.CR, b"A\nB\r", [b"AB"]),
        (Terminator.LF, b"ABC\nDEF\n", [b"ABC", b"DEF"]),
        (Terminator.LF, b"ABC\r\nDEF\r\n", [b"ABC", b"DEF"]),
        (Terminator.CRLF, b"ABC\r\nDEF\r\n", [b"ABC", b"DEF"]),
        (Terminator.CRLF, b"ABC\rDEF\r\n", [b"ABCDEF"]),
        (Terminator.TAB, b"ABC\tDEF\t", [b"ABC", b"DEF"]),
        (Terminator.TAB, b"ABC\r\n\tDEF\t", [b"ABC", b"DEF"]),
        (Terminator.AUTO, b"A\rB\nC\r\nD\tE\n\r", [b"A", b"B", b"C", b"D", b"E"]),
        (Terminator.AUTO, b"\r\r\n\n\t", []),
        (Terminator.CR, b"\r\r", []),
        (Terminator.CR, GS1_FRAME + b"\r", [GS1_FRAME]),
        (Terminator.AUTO, b"\x00A\x11B\x13C\xffD\x1d\x7f\x07\x1bE\r", [b"ABCD\x1dE"]),
        (Terminator.CR, b"\x00\x11\x13\xff\r", []),
        (
            Terminator.CR,
            b"]Q1https://id.gs1.org/01/09506000134352\r",
            [b"]Q1https://id.gs1.org/01/09506000134352"],
        ),
    ],
)
def test_terminators_and_cleaning(
    terminator: Terminator, stream: bytes, expected: list[bytes]
) -> None:
    framer = LineFramer(terminator)
    assert feed(framer, stream) == frames(*expected)


@pytest.mark.parametrize("terminator", [Terminator.CR, Terminator.CRLF, Terminator.AUTO])
def test_crlf_split_across_reads_is_one_terminator(terminator: Terminator) -> None:
    framer = LineFramer(terminator)
    assert feed(framer, b"ABC\r") == ([] if terminator is Terminator.CRLF else frames(b"ABC"))
    assert feed(framer, b"\nDEF\r", b"\n") == frames(
        *([b"ABC", b"DEF"] if terminator is Terminator.CRLF else [b"DEF"])
    )


def test_truncated_read_waits_for_the_rest_of_the_frame() -> None:
    framer = LineFramer(Terminator.CR)
    assert feed(framer, b"]C10109506") == []
    assert framer.deadline() is None
    assert feed(framer, b"000134352\r") == frames(b"]C10109506000134352")


def test_over_long_frame_is_discarded_to_its_terminator_and_reported_once() -> None:
    framer = LineFramer(Terminator.CR, max_length=4)
    assert feed(framer, b"ABCD\rABC", b"DEFGH", b"IJ\rOK\r") == [
        FrameReceived(b"ABCD"),
        FrameTooLong(10),
        FrameReceived(b"OK"),
    ]


def test_stripped_bytes_do_not_count_toward_the_length_cap() -> None:
    framer = LineFramer(Terminator.CR, max_length=3)
    assert feed(framer, b"\x00A\x00B\x00C\x00\r") == frames(b"ABC")


def test_high_bit_bytes_garble_the_frame_and_warn_about_baud() -> None:
    framer = LineFramer(Terminator.CRLF)
    assert feed(framer, b"A\x80B\xfe\r\nGOOD\r\n") == [
        BaudMismatchSuspected(2),
        FrameGarbled(b"A\x80B\xfe"),
        FrameReceived(b"GOOD"),
    ]


def test_high_bit_bytes_in_an_over_long_frame_still_warn() -> None:
    framer = LineFramer(Terminator.CR, max_length=2)
    assert feed(framer, b"\x81\x82\x83\r") == [BaudMismatchSuspected(3), FrameTooLong(3)]


def test_eof_drops_a_partial_frame() -> None:
    framer = LineFramer(Terminator.CR, max_length=3)
    assert feed(framer, b"OK\rPART\xc3") == frames(b"OK")
    framer.receive_eof()
    assert framer.events_received() == [BaudMismatchSuspected(1), FrameDropped(b"PAR")]


def test_eof_without_a_partial_frame_is_silent_and_idempotent() -> None:
    framer = LineFramer(Terminator.CR)
    assert feed(framer, b"OK\r\x00") == frames(b"OK")
    framer.receive_eof()
    framer.receive_eof()
    assert framer.events_received() == []


def test_input_after_eof_is_misuse() -> None:
    framer = LineFramer(Terminator.CR)
    framer.receive_eof()
    with pytest.raises(FramerClosedError):
        framer.receive_bytes(b"A", 0.0)
    with pytest.raises(FramerClosedError):
        framer.receive_idle(0.0)


def test_idle_gap_ends_a_frame_for_scanners_without_a_suffix() -> None:
    framer = LineFramer(Terminator.NONE, idle_gap=0.5)
    assert framer.deadline() is None
    assert feed(framer, b"]E0590123", now=10.0) == []
    assert feed(framer, b"4123457", now=10.25) == []
    assert framer.deadline() == 10.75
    framer.receive_idle(10.5)
    assert framer.events_received() == []
    framer.receive_idle(10.75)
    assert framer.events_received() == frames(b"]E05901234123457")
    assert framer.deadline() is None
    framer.receive_idle(11.0)
    assert framer.events_received() == []


def test_late_bytes_after_the_gap_start_a_new_frame() -> None:
    framer = LineFramer(Terminator.NONE, idle_gap=0.05)
    assert feed(framer, b"ABC", now=1.0) == []
    assert feed(framer, b"DEF", now=2.0) == frames(b"ABC")
    framer.receive_eof()
    assert framer.events_received() == [FrameDropped(b"DEF")]


def test_a_long_silence_ends_a_frame_whose_terminator_was_lost() -> None:
    framer = LineFramer(Terminator.CR, idle_gap=0.25)
    assert feed(framer, b"ONE\rTWO", now=0.0) == frames(b"ONE")
    framer.receive_idle(0.25)
    assert framer.events_received() == []  # a scanner with a suffix: not yet
    assert framer.deadline() == STALE_PARTIAL
    framer.receive_idle(STALE_PARTIAL)
    assert framer.events_received() == frames(b"TWO")


@pytest.mark.parametrize("terminator", [Terminator.CR, Terminator.CRLF, Terminator.AUTO])
def test_a_frame_read_late_in_two_halves_stays_one_scan(terminator: Terminator) -> None:
    # a gateway busy for 200 ms between the two reads of one CR LF-terminated scan
    framer = LineFramer(terminator, idle_gap=0.08)
    assert feed(framer, b"FIRST\r\n", now=0.0) == frames(b"FIRST")
    assert feed(framer, b"]E059012", now=0.01) == []
    assert feed(framer, b"34123457\r\n", now=0.21) == frames(b"]E05901234123457")


def test_auto_uses_the_idle_gap_until_the_scanner_shows_it_sends_a_suffix() -> None:
    framer = LineFramer(Terminator.AUTO, idle_gap=0.08)
    assert feed(framer, b"ABC", now=0.0) == []
    assert framer.deadline() == 0.08
    assert feed(framer, b"DEF", now=0.2) == frames(b"ABC")
    assert feed(framer, b"\r", now=0.21) == frames(b"DEF")
    assert feed(framer, b"GHI", now=0.3) == []
    assert framer.deadline() == 0.3 + STALE_PARTIAL


def test_empty_read_changes_nothing() -> None:
    framer = LineFramer(Terminator.NONE, idle_gap=0.25)
    assert feed(framer, b"A", now=0.0) == []
    assert feed(framer, b"", now=1.0) == []
    assert framer.deadline() == 0.25


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"terminator": Terminator.CR, "max_length": 0}, "max_length"),
        ({"terminator": Terminator.CR, "idle_gap": 0.0}, "idle_gap"),
        ({"terminator": Terminator.NONE}, "NONE"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LineFramer(**kwargs)  # type: ignore[arg-type]


def test_terminator_values_match_the_config_file() -> None:
    assert {t.value for t in Terminator} == {"CR", "LF", "CRLF", "TAB", "none", "auto"}


_NOISY_BYTES = st.binary(max_size=200) | st.lists(
    st.sampled_from([b"\r", b"\n", b"\t", b"\x00", b"\x1d", b"\xff", b"\x85", b"A", b"01"]),
    max_size=60,
).map(b"".join)


@st.composite
def _chunked(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    stream = draw(_NOISY_BYTES)
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    bounds = [0, *cuts, len(stream)]
    return stream, [stream[a:b] for a, b in itertools.pairwise(bounds)]


@given(
    chunked=_chunked(),
    terminator=st.sampled_from([t for t in Terminator if t is not Terminator.NONE]),
    max_length=st.integers(1, 20),
)
def test_events_do_not_depend_on_chunking(
    chunked: tuple[bytes, list[bytes]], terminator: Terminator, max_length: int
) -> None:
    stream, chunks = chunked
    whole = LineFramer(terminator, max_length=max_length)
    whole.receive_bytes(stream, 0.0)
    whole.receive_eof()
    pieces = LineFramer(terminator, max_length=max_length)
    for chunk in chunks:
        pieces.receive_bytes(chunk, 0.0)
    pieces.receive_eof()
    assert pieces.events_received() == whole.events_received()


@given(stream=_NOISY_BYTES, max_length=st.integers(1, 20))
def test_frames_are_clean_nonempty_and_within_the_cap(stream: bytes, max_length: int) -> None:
    framer = LineFramer(Terminator.AUTO, max_length=max_length)
    framer.receive_bytes(stream, 0.0)
    for event in framer.events_received():
        if isinstance(event, FrameReceived):
            assert 0 < len(event.data) <= max_length
            assert all(b >= 0x20 or b == 0x1D for b in event.data)
            assert all(b < 0x7F for b in event.data)
