"""Fuzzing shim.sse: the decoder against a whole-buffer reference, and encode/decode round trips.

Properties, for arbitrary bytes (non-UTF-8, CR-only / CRLF / LF line endings, comments, unknown
fields, enormous lines) split at arbitrary points:
- `SSEDecoder.feed` / `close` never raise and return (str, str) pairs;
- the events never depend on the chunking, and equal a straightforward reference parser that
  sees the whole stream at once (WHATWG field rules; the decoder's documented extension: a last
  event without its blank line is still dispatched at close);
- `encode_event` output decodes back to the same (event, data), whatever the data holds
  (newlines included), and is valid UTF-8 even for lone surrogates.
"""

from __future__ import annotations

import re
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from shim.sse import SSEDecoder, encode_event

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None)
_EOL = re.compile(r"\r\n|\r|\n")


def reference(raw: bytes) -> list[tuple[str, str]]:
    """The whole stream parsed in one go, line by line."""
    events: list[tuple[str, str]] = []
    data: list[str] = []
    name = ""
    lines = _EOL.split(raw.decode("utf-8", "replace"))
    for line in [*lines, ""]:
        if not line:
            if data:
                events.append((name, "\n".join(data)))
            data, name = [], ""
            continue
        if line.startswith(":"):
            continue
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value
    return events


def decode(pieces: list[bytes]) -> list[tuple[str, str]]:
    decoder = SSEDecoder()
    events: list[tuple[str, str]] = []
    for piece in pieces:
        events.extend(decoder.feed(piece))
    events.extend(decoder.close())
    for name, data in events:
        assert isinstance(name, str) and isinstance(data, str)
    return events


def split(raw: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted({min(c, len(raw)) for c in cuts}), len(raw)]
    return [raw[a:b] for a, b in pairwise(bounds)]


# Lines that look like SSE, mixed with what breaks naive decoders.
LINE = st.one_of(
    st.sampled_from(
        [
            b"data: {\"a\":1}",
            b"data:no-space",
            b"data",
            b"data:",
            b"data:  two spaces",
            b"event: response.output_text.delta",
            b"event:",
            b": comment",
            b":",
            b"id: 7",
            b"retry: 10",
            b"unknown: field",
            b"data: [DONE]",
            b"data: \xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80",  # 2-, 3- and 4-byte characters
            b"data: \xff\xfe\xc3",  # not UTF-8, and a truncated sequence
            b"data: \xed\xa0\x80",  # a surrogate encoded as UTF-8 (invalid)
            b"\xef\xbb\xbfdata: bom",
            b"data: \x00nul",
        ]
    ),
    st.binary(max_size=40),
    st.builds(lambda n, c: b"data: " + c * n, st.integers(0, 20_000), st.sampled_from([b"x", b"\xc3\xa9"])),
)
EOL = st.sampled_from([b"\n", b"\r\n", b"\r"])
STREAM = st.lists(st.tuples(LINE, EOL, st.booleans()), max_size=25).map(
    lambda lines: b"".join(line + eol + (eol if blank else b"") for line, eol, blank in lines)
)


@FUZZ
@given(STREAM, st.lists(st.integers(0, 50_000), max_size=30))
def test_sse_like_streams_decode_like_the_reference_at_any_chunking(raw, cuts):
    assert decode(split(raw, cuts)) == reference(raw)


@FUZZ
@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=40))
def test_arbitrary_bytes_decode_like_the_reference_at_any_chunking(raw, cuts):
    assert decode(split(raw, cuts)) == reference(raw)


@FUZZ
@given(STREAM)
def test_one_byte_at_a_time_is_the_same_as_all_at_once(raw):
    raw = raw[:3000]
    assert decode([raw[i : i + 1] for i in range(len(raw))]) == decode([raw])


def test_enormous_line_is_kept_whole():
    big = b"data: " + b"y" * 3_000_000 + b"\r\n\r\n"
    assert decode(split(big, list(range(0, len(big), 65_536)))) == [("", "y" * 3_000_000)]


def test_long_event_is_dispatched_wherever_its_blank_line_is_split() -> None:
    """Past a few KB pending, a chunk's search for the blank line skips what was searched before:
    a blank line split at any byte (LF, CRLF or CR line ends) still ends the event with the chunk
    that completes it — one chunk later only where that chunk ends in a CR, which may be half a
    CRLF (hence the comment line last)."""
    for eol in (b"\n", b"\r\n", b"\r"):
        first = b"event: e" + eol + b"data: " + b"z" * 10_000 + eol + eol
        raw = first + b"data: next" + eol + eol
        for cut in range(len(raw) - 20 - 4 * len(eol), len(raw)):
            decoder = SSEDecoder()
            pieces = [raw[:6_000], raw[6_000:cut], raw[cut:], b":\n"]
            out = [decoder.feed(piece) for piece in pieces]
            assert [event for events in out for event in events] == [("e", "z" * 10_000), ("", "next")], (eol, cut)
            for event, end in ((("e", "z" * 10_000), len(first)), (("", "next"), len(raw))):
                completing = 1 if end <= cut else 2  # the piece holding the blank line's last byte
                held = eol == b"\r" and end == (cut if completing == 1 else len(raw))  # that byte a CR, last of its piece
                assert event in out[completing + held], (eol, cut, event)


def test_cr_only_stream_split_between_cr_and_next_line():
    raw = b"data: a\rdata: b\r\rdata: c\r\r"
    for cut in range(len(raw) + 1):
        assert decode([raw[:cut], raw[cut:]]) == [("", "a\nb"), ("", "c")]


TEXT = st.text(alphabet=st.characters(codec=None), max_size=60)  # includes lone surrogates


def _round_trip(data: str) -> str:
    """What a reader gets back for `data`: lone surrogates replaced, line breaks as \\n."""
    return _EOL.sub("\n", data.encode("utf-8", "replace").decode("utf-8"))


@FUZZ
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30), TEXT)
def test_encoded_events_decode_back_exactly_and_are_utf8(name, data):
    encoded = encode_event(name, data)
    encoded.decode("utf-8")  # strict: never invalid UTF-8
    assert decode([encoded]) == [(name, _round_trip(data))]


@FUZZ
@given(TEXT, TEXT)
def test_any_name_and_data_encode_to_exactly_one_event(name, data):
    """Line breaks in the data become several data: lines; in the name they cannot split the event."""
    encoded = encode_event(name, data)
    encoded.decode("utf-8")
    ((_, decoded),) = decode([encoded])
    assert decoded == _round_trip(data)
