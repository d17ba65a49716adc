"""shim.sse.SSEDecoder: network chunks in, complete (event, data) pairs out."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from shim.sse import SSEDecoder, encode_event


def decode(*chunks: bytes) -> list[tuple[str, str]]:
    decoder = SSEDecoder()
    events = []
    for piece in chunks:
        events.extend(decoder.feed(piece))
    events.extend(decoder.close())
    return events


# A recorded-looking stream exercising every line ending, comments, event names, multi-line
# data and multi-byte UTF-8 (2-, 3- and 4-byte characters).
RECORDED = (
    b": keep-alive comment\r\n"
    b"\r\n"
    b'data: {"choices":[{"delta":{"content":"h\xc3\xa9llo"}}]}\r\n'
    b"\r\n"
    b"event: response.output_text.delta\n"
    b'data: {"delta":"\xe2\x80\x94 \xe2\x9c\x93 \xf0\x9f\x98\x80"}\n'
    b"\n"
    b"event: multi\r"
    b"data: line one\r"
    b"data: line two\r"
    b"\r"
    b"data:no-space\n"
    b"id: 7\n"
    b"retry: 100\n"
    b"\n"
    b"data: [DONE]\r\n"
    b"\r\n"
)
RECORDED_EVENTS = [
    ("", '{"choices":[{"delta":{"content":"héllo"}}]}'),
    ("response.output_text.delta", '{"delta":"— ✓ 😀"}'),
    ("multi", "line one\nline two"),
    ("", "no-space"),
    ("", "[DONE]"),
]


def test_whole_recorded_stream_decodes_to_its_events():
    assert decode(RECORDED) == RECORDED_EVENTS


def test_event_split_across_chunks_is_dispatched_once_complete():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: hel") == []
    assert decoder.feed(b"lo\n") == []
    assert decoder.feed(b"\n") == [("", "hello")]


def test_several_events_in_one_chunk():
    assert decode(b"data: a\n\ndata: b\n\n") == [("", "a"), ("", "b")]


def test_crlf_line_endings():
    assert decode(b"event: x\r\ndata: 1\r\n\r\n") == [("x", "1")]


def test_lone_cr_line_endings():
    assert decode(b"event: x\rdata: 1\r\r") == [("x", "1")]


def test_crlf_split_between_two_chunks_is_one_line_end():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    # The "\n" completes the CRLF: one line end, not an empty line that would dispatch.
    assert decoder.feed(b"\ndata: b\r") == []
    assert decoder.feed(b"\n\r") == []
    assert decoder.feed(b"\n") == [("", "a\nb")]


def test_cr_at_chunk_end_followed_by_cr_is_two_line_ends():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\r") == []  # may still be the CR of a CRLF
    assert decoder.feed(b"data: b\n\n") == [("", "a"), ("", "b")]


def test_multi_line_data_joined_with_newlines():
    assert decode(b"data: one\ndata: two\ndata:\ndata: four\n\n") == [("", "one\ntwo\n\nfour")]


def test_comments_are_ignored():
    assert decode(b": ping\n\n:\ndata: x\n: mid-event comment\n\n") == [("", "x")]


def test_event_line_names_the_event_and_resets_after_dispatch():
    assert decode(b"event: first\ndata: 1\n\ndata: 2\n\n") == [("first", "1"), ("", "2")]


def test_event_without_data_is_not_dispatched():
    assert decode(b"event: lonely\n\ndata: x\n\n") == [("", "x")]


def test_only_one_space_after_the_colon_is_stripped():
    assert decode(b"data:  two spaces\n\n") == [("", " two spaces")]


def test_utf8_character_split_mid_character():
    text = "é — 😀"
    raw = f"data: {text}\n\n".encode()
    start = raw.index("😀".encode())
    for cut in range(start + 1, start + 4):  # inside the 4-byte emoji
        assert decode(raw[:cut], raw[cut:]) == [("", text)]


def test_every_byte_fed_alone():
    assert decode(*[RECORDED[i : i + 1] for i in range(len(RECORDED))]) == RECORDED_EVENTS


def test_close_flushes_final_event_without_blank_line():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: last") == []
    assert decoder.close() == [("", "last")]


def test_close_flushes_final_event_ending_in_one_newline():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: last\n") == []
    assert decoder.close() == [("", "last")]


def test_close_flushes_final_event_ending_in_a_held_cr():
    decoder = SSEDecoder()
    assert decoder.feed(b"event: e\rdata: last\r") == []
    assert decoder.close() == [("e", "last")]


def test_close_on_empty_decoder_yields_nothing():
    assert SSEDecoder().close() == []


def test_encode_event_round_trips():
    assert decode(encode_event("response.created", '{"a":"é"}')) == [("response.created", '{"a":"é"}')]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(RECORDED)), max_size=40))
def test_splitting_recorded_stream_anywhere_never_changes_events(cuts):
    points = sorted(set(cuts))
    bounds = [0, *points, len(RECORDED)]
    chunks = [RECORDED[a:b] for a, b in pairwise(bounds)]
    assert decode(*chunks) == RECORDED_EVENTS


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", "message", "response.completed"]),
            st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n", codec="utf-8"), max_size=12), min_size=1, max_size=3),
        ),
        max_size=6,
    ),
    st.sampled_from([b"\n", b"\r\n", b"\r"]),
    st.data(),
)
def test_generated_streams_survive_any_chunking(events, eol, data):
    raw = b""
    expected = []
    for name, lines in events:
        if name:
            raw += b"event: " + name.encode() + eol
        for line in lines:
            raw += b"data: " + line.encode() + eol
        raw += eol
        expected.append((name, "\n".join(lines)))
    cuts = data.draw(st.lists(st.integers(min_value=0, max_value=len(raw)), max_size=20))
    bounds = [0, *sorted(set(cuts)), len(raw)]
    assert decode(*[raw[a:b] for a, b in pairwise(bounds)]) == expected
