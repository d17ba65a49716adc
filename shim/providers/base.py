"""What every provider module offers the router, and the stream translator they share."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from ..config import ModelRoute
from ..errors import RequestError
from ..event_sinks import EventSink
from ..model_profile import ModelProfile
from ..responses_stream import EventWriter, ResponseStream
from ..sse import SSEDecoder, SSEEvent
from ..tool_names import ToolNames


def input_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's input as a list of item objects (a bare string is one user message)."""
    items = body.get("input")
    if isinstance(items, str):
        return [{"type": "message", "role": "user", "content": items}]
    if not isinstance(items, list):
        raise RequestError("`input` must be a string or a list of items")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise RequestError(f"input[{index}] is not an object")
    return items


def upstream_headers(
    route: ModelRoute, api_key: str | None, auth: Literal["bearer", "x-api-key"] = "bearer", extra: dict[str, str] | None = None
) -> dict[str, str]:
    """JSON in, SSE out, the provider's `extra` headers, our key (unless the route's extra_headers
    bring their own Authorization: a gateway's own scheme wins), then the route's extra_headers."""
    headers = {"content-type": "application/json", "accept": "text/event-stream", **(extra or {})}
    if api_key and not any(name.lower() == "authorization" for name in route.extra_headers):
        if auth == "bearer":
            headers["authorization"] = f"Bearer {api_key}"
        else:
            headers["x-api-key"] = api_key
    headers.update(route.extra_headers)
    return headers


class EventMapper(Protocol):
    """Turns one provider SSE event into writer calls; `close` runs at end of stream."""

    def on_event(self, event: str, data: str) -> None: ...

    def close(self) -> None: ...


def _same_writer(stream: ResponseStream) -> EventWriter:
    return stream


@dataclass(frozen=True, slots=True)
class AnswerReader:
    """How to read one provider answer into Responses events: the provider's event mapper, how
    a non-streamed answer becomes the events its stream would have had, and what the writer
    must know (the slug Codex asked for, the tool-name table, parallel calls)."""

    model: str
    new_mapper: Callable[[EventWriter], EventMapper]
    answer_events: Callable[[dict[str, Any]], Iterable[SSEEvent]]
    tool_names: ToolNames = field(default_factory=ToolNames)
    parallel_tool_calls: bool = True
    wrap_writer: Callable[[ResponseStream], EventWriter] = _same_writer


@dataclass(slots=True)
class UpstreamRequest:
    """The HTTP request to send upstream and how to read its answer."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    reader: AnswerReader
    echo: dict[str, Any] | None = None
    """The request's settings every response object repeats (shim/response_object.py; None: the API's defaults)."""

    def new_translator(self, sink: EventSink | None = None, anonymous: bool = False) -> StreamTranslator:
        """A fresh translator for one answer, writing into `sink` (SSE bytes by default)."""
        reader = self.reader
        writer = reader.wrap_writer(ResponseStream(reader.model, reader.tool_names, reader.parallel_tool_calls, sink, anonymous, self.echo))
        return StreamTranslator(reader.new_mapper(writer), writer, reader.answer_events)

    def with_reader(self, **changes: Any) -> UpstreamRequest:
        return replace(self, reader=replace(self.reader, **changes))


class Provider(Protocol):
    """A provider module: maps a Responses request to its own request, knows its API's defaults."""

    def build(
        self, body: dict[str, Any], route: ModelRoute, api_key: str | None, profile: ModelProfile | None = None
    ) -> UpstreamRequest: ...

    def default_profile(self, route: ModelRoute) -> ModelProfile:
        """What the route's model takes before (or beyond) its provider's own model data."""
        ...


class StreamTranslator:
    """Upstream bytes in, Responses events out: decoder -> provider mapper -> writer -> sink.

    `feed` returns what an SSE sink collected (b"" for the other sinks, which deliver as they go)."""

    __slots__ = ("answer_events", "decoder", "mapper", "stream", "writer")

    def __init__(self, mapper: EventMapper, writer: EventWriter, answer_events: Callable[[dict[str, Any]], Iterable[SSEEvent]]) -> None:
        self.decoder = SSEDecoder()
        self.mapper = mapper
        self.writer = writer
        self.stream = writer.stream  # where the events end up: what was written, the usage, the timings
        self.answer_events = answer_events

    @property
    def finished(self) -> bool:
        return self.stream.finished

    def feed(self, chunk: bytes) -> bytes:
        """One upstream chunk; b"" means the upstream ended the stream."""
        try:
            self._dispatch(self.decoder.feed(chunk) if chunk else self.decoder.close(), end=not chunk)
        except Exception as exc:  # noqa: BLE001 - a bad event must end the stream, not the proxy
            self.writer.fail("upstream_protocol_error", f"could not translate the provider's stream: {exc!r}")
        return self.stream.drain()

    def feed_answer(self, answer: dict[str, Any]) -> bytes:
        """A non-streamed answer, read as the stream it stands for (same mapper, same writer)."""
        return self.feed_events(self.answer_events(answer))

    def feed_events(self, events: Iterable[SSEEvent]) -> bytes:
        """A whole answer as decoded events, then the end of the stream."""
        try:
            self._dispatch(events, end=True)
        except Exception as exc:  # noqa: BLE001
            self.writer.fail("upstream_protocol_error", f"could not translate the provider's answer: {exc!r}")
        return self.stream.drain()

    def fail(self, code: str, message: str) -> bytes:
        """End the answer with response.failed (after whatever was already written)."""
        self.writer.fail(code, message)
        return self.stream.drain()

    def _dispatch(self, events: Iterable[SSEEvent], end: bool) -> None:
        writer = self.writer
        for event, data in events:
            if writer.finished:
                break
            self.mapper.on_event(event, data)
        if end:
            self.mapper.close()
