"""Incremental Server-Sent Events decoding and encoding.

The decoder is fed whatever byte chunks the network delivers (split mid-line, mid-CRLF or
mid-UTF-8) and returns complete events; it knows nothing about providers.
"""

from __future__ import annotations

import re

_LINE_BREAK = re.compile(r"\r\n|\r|\n")

SSEEvent = tuple[str, str]
"""(event name or "", data) of one dispatched event."""


class SSEDecoder:
    """A state machine over the text/event-stream grammar (WHATWG), fed chunk by chunk.

    It holds back what follows the last blank line (the next event, begun) and decodes whole
    events. Per chunk, the usual event (an `event:` line and one `data:` line, or a lone
    `data:` line) costs a handful of C calls; each is measured (scripts/bench), so the ones
    chosen here are the cheap ones: one-byte searches, no multi-character search in str."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = b""  # the event under way: line ends as LF, and a trailing CR held back

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events `chunk` completes (with what was pending)."""
        pending = self._pending
        buf = pending + chunk if pending else chunk
        held = b""
        if 13 in buf:  # (an int: `b"\r" in buf` costs ten times as much)
            if buf[-1] == 13:  # may be the first half of a CRLF: kept for the next chunk
                buf, held = buf[:-1], b"\r"
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if len(pending) > _RESCAN:  # a long event arriving in pieces: search only the new part
            end = buf.rfind(b"\n\n", len(pending) - 2)  # (-2: a held CR may have become the LF that ends a blank line)
        else:
            end = buf.rfind(b"\n\n")
        if end < 0:
            self._pending = buf + held
            return []
        self._pending = buf[end + 2 :] + held if held else buf[end + 2 :]
        lines = buf[:end].decode("utf-8", "replace").split("\n")
        if len(lines) == 2:
            name, data = lines
            if name.startswith("event: ") and data.startswith("data: "):
                return [(name[7:], data[6:])]
        elif len(lines) == 1 and lines[0].startswith("data: "):
            return [("", lines[0][6:])]
        return _events(lines)

    def close(self) -> list[SSEEvent]:
        """End of stream: flush a last event even without its blank line."""
        rest, self._pending = self._pending, b""
        if not rest:
            return []
        return _events(rest.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n").split("\n"))


_RESCAN = 4096  # bytes pending beyond which a chunk's search for a blank line skips what was searched


def _events(lines: list[str]) -> list[SSEEvent]:
    """The events of whole lines, field by field; the last line is followed by a blank one."""
    events: list[SSEEvent] = []
    data: list[str] = []
    event = ""
    for line in lines:
        if not line:
            if data:
                events.append((event, "\n".join(data)))
            data, event = [], ""
            continue
        if line[0] == ":":
            continue
        field, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            event = value
    if data:
        events.append((event, "\n".join(data)))
    return events


def encode_event(event: str, data: str) -> bytes:
    """One SSE event with an `event:` line, as OpenAI's Responses API sends them."""
    # A relayed event's data may span lines (several data: lines upstream): one data: line each.
    if "\n" in data or "\r" in data:
        data = _LINE_BREAK.sub("\ndata: ", data)
    if "\n" in event or "\r" in event:
        event = _LINE_BREAK.sub(" ", event)
    # "replace": a lone surrogate from a provider must not make the event unencodable.
    return f"event: {event}\ndata: {data}\n\n".encode("utf-8", "replace")
