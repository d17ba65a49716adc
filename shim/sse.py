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
    """A state machine over the text/event-stream grammar (WHATWG), fed chunk by chunk."""

    __slots__ = ("_data", "_event", "_pending")

    def __init__(self) -> None:
        self._pending = b""
        self._data: list[str] = []
        self._event = ""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Decode the complete lines of `chunk` (plus what was pending) into events."""
        buf = self._pending + chunk if self._pending else chunk
        # A trailing CR may be the first half of a CRLF: keep it for the next chunk.
        held = b""
        if buf.endswith(b"\r"):
            buf, held = buf[:-1], b"\r"
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        cut = buf.rfind(b"\n")
        if cut < 0:
            self._pending = buf + held
            return []
        self._pending = buf[cut + 1 :] + held
        events: list[SSEEvent] = []
        for line in buf[:cut].decode("utf-8", "replace").split("\n"):
            self._line(line, events)
        return events

    def close(self) -> list[SSEEvent]:
        """End of stream: flush a last line and a last event even without the blank line."""
        events: list[SSEEvent] = []
        rest, self._pending = self._pending, b""
        if rest:
            for line in rest.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
                self._line(line, events)
        self._line("", events)
        return events

    def _line(self, line: str, events: list[SSEEvent]) -> None:
        if not line:
            if self._data:
                events.append((self._event, "\n".join(self._data)))
            self._data = []
            self._event = ""
            return
        if line[0] == ":":
            return
        field, sep, value = line.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value


def encode_event(event: str, data: str) -> bytes:
    """One SSE event with an `event:` line, as OpenAI's Responses API sends them."""
    # A relayed event's data may span lines (several data: lines upstream): one data: line each.
    if "\n" in data or "\r" in data:
        data = _LINE_BREAK.sub("\ndata: ", data)
    if "\n" in event or "\r" in event:
        event = _LINE_BREAK.sub(" ", event)
    # "replace": a lone surrogate from a provider must not make the event unencodable.
    return f"event: {event}\ndata: {data}\n\n".encode("utf-8", "replace")
