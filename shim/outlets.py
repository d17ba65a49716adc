"""Where a BYOK call's answer goes: one outlet per form the asker wants it in.

An exchange (shim/exchange.py) writes its Responses events into its outlet's sink as the
provider streams; the Router's hooks then tell the outlet how the call ended, and the outlet
knows what that means for its asker. A new answer form is one class here.

- `HttpStream`: Codex's HTTP flow. SSE on the flow, streamed or whole; an error as a 200 SSE
  answer ending in response.failed, or as its status where Codex must see that.
- `JsonAnswer`: a call without `"stream": true` (any Responses client). One response object
  once whole; a failure as its status and a JSON error.
- `LegacyCompact`: `POST …/responses/compact`. The compacted output (`{"object":
  "response.compaction", "output": [...], …}`) once whole; an error as its status and a JSON body.
- `SocketFrames`: a WebSocket turn (shim/addons/websocket_turns.py). Text frames as written; an
  error frame, or response.failed.
- the fallback `Attempt` (shim/addons/fallbacks.py) and `CollectedAnswer`
  (shim/corrected_retry.py): another call waits for this one, and is told how it went.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from mitmproxy import http

from .answers import compacted_response, error_response, failed_stream_response, json_response, sse_response
from .errors import ShimError
from .event_sinks import EventSink, FrameSink, SSESink, WholeAnswerSink

if TYPE_CHECKING:
    from .exchange import ByokExchange


class Outlet(Protocol):
    """One answer form. `name` goes on the flow (`output`); `anonymous` answers carry an empty
    response id; `reports_outcome`: the turn is Codex's, so policy addons hear how it ended;
    `answers_on_flow`: the answer is the call's own flow's response (a refused call can then be
    retried in place); `streams`: the answer may be translated as the provider streams it."""

    name: str
    anonymous: bool
    reports_outcome: bool
    answers_on_flow: bool
    streams: bool

    def sink(self) -> EventSink: ...

    def answered(self, status: int) -> None:
        """The provider's response headers arrived with `status`."""

    def deliver(self, flow: http.HTTPFlow, exchange: ByokExchange, events: bytes) -> None:
        """The answer is over: `events` are what its sink collected (b"" for sinks that send as they go)."""

    def deliver_error(self, flow: http.HTTPFlow, exchange: ByokExchange, error: ShimError) -> None:
        """The provider refused or answered what cannot be read."""

    def broken(self, flow: http.HTTPFlow, exchange: ByokExchange, reason: str) -> None:
        """The call's connection failed (the flow's `error` hook)."""


class HttpStream:
    """Codex's own HTTP flow, answered with SSE (streamed as it is translated, or whole)."""

    name = "sse"
    anonymous = False
    reports_outcome = True
    answers_on_flow = True
    streams = True

    def sink(self) -> EventSink:
        return SSESink()

    def answered(self, status: int) -> None:
        pass

    def deliver(self, flow: http.HTTPFlow, exchange: ByokExchange, events: bytes) -> None:
        if not exchange.streamed:
            flow.response = sse_response(events)

    def deliver_error(self, flow: http.HTTPFlow, exchange: ByokExchange, error: ShimError) -> None:
        if error.as_stream:
            exchange.translator = None  # whatever was read of a bad answer is not Codex's stream
            flow.response = failed_stream_response(error, exchange.fail(error))
        else:
            flow.response = error_response(error)

    def broken(self, flow: http.HTTPFlow, exchange: ByokExchange, reason: str) -> None:
        pass  # the flow's own stream just breaks: Codex retries the turn


class JsonAnswer:
    """A Responses call that did not ask for a stream: one response object once the answer is
    whole, as the API answers it (the provider is still asked to stream; nothing reaches the caller
    before the end)."""

    name = "json"
    anonymous = False
    reports_outcome = True
    answers_on_flow = True
    streams = False

    def __init__(self) -> None:
        self.events = WholeAnswerSink()

    def sink(self) -> EventSink:
        return self.events

    def answered(self, status: int) -> None:
        pass

    def deliver(self, flow: http.HTTPFlow, exchange: ByokExchange, events: bytes) -> None:
        flow.response = json_response(self.events.response())

    def deliver_error(self, flow: http.HTTPFlow, exchange: ByokExchange, error: ShimError) -> None:
        flow.response = error_response(error)

    def broken(self, flow: http.HTTPFlow, exchange: ByokExchange, reason: str) -> None:
        pass


class LegacyCompact(JsonAnswer):
    """`POST …/responses/compact`, answered with the compacted output (shim/answers.compacted_response)."""

    name = "compact"

    def deliver(self, flow: http.HTTPFlow, exchange: ByokExchange, events: bytes) -> None:
        flow.response = compacted_response(self.events.response())


class FrameTarget(Protocol):
    """A WebSocket turn: where its frames go (shim/addons/websocket_turns.SocketTurn)."""

    def send(self, frame: str) -> None: ...

    def error_frame(self, error: ShimError) -> None: ...

    def cut(self) -> bool: ...


class SocketFrames:
    """A BYOK turn on Codex's socket: events as text frames, written as they come."""

    name = "frames"
    anonymous = True  # Codex must send the whole context next turn, never an increment
    reports_outcome = True
    answers_on_flow = False  # the call is a replay of ours; its answer goes to Codex's socket
    streams = True

    def __init__(self, turn: FrameTarget) -> None:
        self.turn = turn

    def sink(self) -> EventSink:
        return FrameSink(self.turn.send)

    def answered(self, status: int) -> None:
        pass

    def deliver(self, flow: http.HTTPFlow, exchange: ByokExchange, events: bytes) -> None:
        pass  # the frames went out as they were written

    def deliver_error(self, flow: http.HTTPFlow, exchange: ByokExchange, error: ShimError) -> None:
        self.fail(exchange, error)

    def broken(self, flow: http.HTTPFlow, exchange: ByokExchange, reason: str) -> None:
        self.fail(exchange, ShimError(502, "upstream_connection_error", f"codex-shim: the provider at {flow.request.pretty_host} failed: {reason}"))

    def fail(self, exchange: ByokExchange, error: ShimError) -> None:
        """An error Codex must see as its status is an error frame; the rest ends the stream failed."""
        if error.as_stream:
            exchange.fail(error)
        else:
            self.turn.error_frame(error)
