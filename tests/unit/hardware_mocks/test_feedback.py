from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hardware_mocks.feedback import Feedback
from hardware_mocks.feedback import FeedbackCounts
from hardware_mocks.feedback import FeedbackParser

ACK = b"\x1b7,"
NAK = b"\x1b8,"


def test_parser_counts_acks_and_naks_in_order() -> None:
    parser = FeedbackParser(ACK, NAK)
    parser.receive_bytes(ACK + NAK + ACK)
    assert parser.counts == FeedbackCounts(acks=2, naks=1)
    assert parser.events_received() == [Feedback.ACK, Feedback.NAK, Feedback.ACK]
    assert parser.events_received() == []


def test_parser_waits_for_a_sequence_split_across_reads() -> None:
    parser = FeedbackParser(ACK, NAK)
    parser.receive_bytes(b"\x1b")
    parser.receive_bytes(b"8")
    assert parser.counts == FeedbackCounts()
    parser.receive_bytes(b",")
    assert parser.counts == FeedbackCounts(naks=1)


def test_parser_skips_stray_bytes_without_losing_the_next_ack() -> None:
    parser = FeedbackParser(ACK, NAK)
    parser.receive_bytes(b"\x1b\x1b7,x\x1b9,")
    assert parser.counts == FeedbackCounts(acks=1, other=5)


def test_parser_counts_a_half_sequence_at_eof_as_other() -> None:
    parser = FeedbackParser(ACK, NAK)
    parser.receive_bytes(b"\x1b7")
    parser.receive_eof()
    parser.receive_bytes(b",")
    assert parser.counts == FeedbackCounts(other=3)


def test_parser_for_a_bel_model_counts_only_naks() -> None:
    parser = FeedbackParser(None, b"\x07")
    parser.receive_bytes(b"\x07\x06\x07")
    assert parser.counts == FeedbackCounts(naks=2, other=1)
    assert parser.counts.events == 2


def test_parser_treats_empty_sequences_as_silent() -> None:
    parser = FeedbackParser(b"", b"")
    parser.receive_bytes(b"ab")
    assert parser.counts == FeedbackCounts(other=2)


@given(
    st.lists(st.sampled_from([ACK, NAK, b"\x07", b"\x1b"]), max_size=30),
    st.lists(st.integers(0, 100), max_size=10),
)
def test_parser_counts_the_same_however_the_bytes_are_chunked(
    pieces: list[bytes], cuts: list[int]
) -> None:
    data = b"".join(pieces)
    whole = FeedbackParser(ACK, NAK)
    whole.receive_bytes(data)
    chunked = FeedbackParser(ACK, NAK)
    start = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        chunked.receive_bytes(data[start:cut])
        start = cut
    chunked.receive_bytes(data[start:])
    assert chunked.counts == whole.counts
    assert chunked.events_received() == whole.events_received()
