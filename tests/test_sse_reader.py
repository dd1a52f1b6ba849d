"""The board clients' server-sent event reader (ops/sse_reader.py) reads what the board sends."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ops.sse_reader import Message, SseParser

pytestmark = pytest.mark.unit

STREAM = (
    b'id: 5\nevent: board\ndata: {"version": 1}\n\n'
    b": keep-alive\n\n"
    b"id: 6\r\nevent: board\r\ndata: first\r\ndata: second\r\n\r\n"
    b"id: 7\nevent: board\n"
)
EXPECTED = [
    Message("5", "board", '{"version": 1}'),
    Message("6", "board", "first\nsecond"),
]


def test_a_whole_stream_gives_each_complete_message_with_its_id() -> None:
    """Comments are skipped, data lines joined, and a message not yet ended is not dispatched."""
    assert SseParser().feed(STREAM) == EXPECTED


@given(st.lists(st.integers(0, len(STREAM)), max_size=12))
def test_chunks_cut_anywhere_give_the_same_messages(cuts: list[int]) -> None:
    """However the network splits the bytes, the messages are the same."""
    parser = SseParser()
    bounds = [0, *sorted(cuts), len(STREAM)]
    messages = [
        message for start, end in pairwise(bounds) for message in parser.feed(STREAM[start:end])
    ]
    assert messages == EXPECTED
