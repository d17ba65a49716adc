"""What every provider module offers the router, and the stream translator they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ..config import ModelRoute
from ..errors import RequestError
from ..responses_stream import ResponseStream
from ..sse import SSEDecoder


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


class EventMapper(Protocol):
    """Turns one provider SSE event into builder calls; `close` runs at end of stream."""

    def on_event(self, event: str, data: str) -> None: ...

    def close(self) -> None: ...


class Translator(Protocol):
    """Upstream bytes in, Responses SSE bytes out; b"" marks the end of the upstream stream."""

    def feed(self, chunk: bytes) -> bytes: ...


@dataclass(slots=True)
class UpstreamRequest:
    """The HTTP request to send upstream and how to read its answer."""

    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    new_translator: Callable[[], Translator]
    convert_json: Callable[[dict[str, Any]], bytes] | None = None


class Provider(Protocol):
    """A provider module: maps a Responses request to its own request."""

    def build(self, body: dict[str, Any], route: ModelRoute, api_key: str | None) -> UpstreamRequest: ...


class StreamTranslator:
    """Upstream bytes in, Responses SSE bytes out: decoder -> provider mapper -> builder."""

    __slots__ = ("builder", "decoder", "mapper")

    def __init__(self, mapper: EventMapper, builder: ResponseStream) -> None:
        self.decoder = SSEDecoder()
        self.mapper = mapper
        self.builder = builder

    def feed(self, chunk: bytes) -> bytes:
        """One upstream chunk; b"" means the upstream ended the stream."""
        try:
            events = self.decoder.feed(chunk) if chunk else self.decoder.close()
            for event, data in events:
                if self.builder.finished:
                    break
                self.mapper.on_event(event, data)
            if not chunk:
                self.mapper.close()
        except Exception as exc:  # noqa: BLE001 - a bad event must end the stream, not the proxy
            self.builder.fail("upstream_protocol_error", f"could not translate the provider's stream: {exc!r}")
        return self.builder.drain()
