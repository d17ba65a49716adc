"""Where the Responses events of one answer go: the three forms Codex reads them in.

`ResponseStream` renders each event's JSON once and hands it to its sink; the sink only frames
it. An HTTP flow wants SSE bytes, a WebSocket turn one text frame per event, the legacy
`…/responses/compact` endpoint one JSON body at the end. No sink parses what it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .sse import encode_event

TERMINAL_STATUS = {"response.completed": "completed", "response.incomplete": "incomplete", "response.failed": "failed"}
TERMINAL_EVENTS = frozenset(TERMINAL_STATUS)


def ends_answer(event: dict[str, Any]) -> bool:
    """Whether a parsed event ends the answer: by its data's `type`, as Codex reads it, whatever
    SSE name it came under (`event: message`, or a data-only event's first of two "type"s)."""
    kind = event.get("type")
    return isinstance(kind, str) and kind in TERMINAL_EVENTS


class EventSink(Protocol):
    """Receives one encoded event at a time; `event` is the object when the writer has one (always
    for a terminal event, which is what a JSON answer is made of; a response.created or
    .in_progress object, ~20 KB with Codex's tools, is not built for nobody).

    The hot path (text and reasoning deltas) skips `write`: the writer asks once per item how
    an event is framed (`framing`) and hands over whole framed events (`write_framed`)."""

    def write(self, event_type: str, data: bytes, event: dict[str, Any] | None) -> None: ...

    def framing(self, event_type: str) -> tuple[bytes, bytes]: ...

    def write_framed(self, framed: bytes) -> None: ...

    def relayed(self, event_type: str, data: str, event: dict[str, Any] | None) -> None: ...

    def drain(self) -> bytes: ...


class SSESink:
    """Responses SSE, as OpenAI sends it (`event:` and `data:` lines), collected until drained."""

    __slots__ = ("_out",)

    def __init__(self) -> None:
        self._out: list[bytes] = []

    def write(self, event_type: str, data: bytes, event: dict[str, Any] | None) -> None:
        self._out.append(b"event: %s\ndata: %s\n\n" % (event_type.encode(), data))

    def framing(self, event_type: str) -> tuple[bytes, bytes]:
        return b"event: %s\ndata: " % event_type.encode(), b"\n\n"

    def write_framed(self, framed: bytes) -> None:
        self._out.append(framed)

    def relayed(self, event_type: str, data: str, event: dict[str, Any] | None) -> None:
        """An upstream's event text, which may span lines: encoded with one data: line each."""
        self._out.append(encode_event(event_type, data))

    def drain(self) -> bytes:
        if not self._out:
            return b""
        out = b"".join(self._out)
        self._out.clear()
        return out


class FrameSink:
    """One WebSocket text frame per event, handed to `send` as it is written."""

    __slots__ = ("_send",)

    def __init__(self, send: Callable[[str], None]) -> None:
        self._send = send

    def write(self, event_type: str, data: bytes, event: dict[str, Any] | None) -> None:
        self._send(data.decode("utf-8", "replace"))

    def framing(self, event_type: str) -> tuple[bytes, bytes]:
        return b"", b""

    def write_framed(self, framed: bytes) -> None:
        self._send(framed.decode("utf-8", "replace"))

    def relayed(self, event_type: str, data: str, event: dict[str, Any] | None) -> None:
        self._send(data)

    def drain(self) -> bytes:
        return b""


class WholeAnswerSink:
    """Keeps what a JSON answer is made of: the terminal event (response.completed, .incomplete
    or .failed), ours or an upstream's relayed one, whose response holds the whole output (a
    relayed one's is filled in where the server left it empty: shim/providers/responses.py).
    Nothing else is kept."""

    __slots__ = ("final",)

    def __init__(self) -> None:
        self.final: dict[str, Any] | None = None

    def write(self, event_type: str, data: bytes, event: dict[str, Any] | None) -> None:
        if event is not None and ends_answer(event) and isinstance(event.get("response"), dict):
            self.final = event

    def relayed(self, event_type: str, data: str, event: dict[str, Any] | None) -> None:
        self.write(event_type, b"", event)  # a terminal event always comes parsed

    def framing(self, event_type: str) -> tuple[bytes, bytes]:
        return b"", b""

    def write_framed(self, framed: bytes) -> None:
        """Deltas: the final response holds the finished items."""

    def drain(self) -> bytes:
        return b""

    def response(self) -> dict[str, Any] | None:
        """The final response object, its status as the event says (None: the answer never ended)."""
        if self.final is None:
            return None
        response = dict(self.final["response"])
        response["status"] = TERMINAL_STATUS.get(str(self.final.get("type")), response.get("status"))
        return response

