"""The one place that writes Responses stream events.

Provider event mappers call `text_delta`, `reasoning_delta` / `reasoning_done` /
`opaque_reasoning`, `tool_call` / `finish_tool_call`, `set_usage`, then `complete` or `fail`;
the stream (the event writer) owns sequence numbers, output indexes, item ids, the added/done pairs and the final
`response.completed` Codex insists on. Each event's JSON is rendered once, as it happens, and
handed to an output sink (SSE bytes, WebSocket frames or a JSON body: see event_sinks), so
nothing waits for the whole answer and nobody decodes what was written. An upstream that
already speaks Responses has its events passed through `relay`, which keeps the numbering.

Codex builds its history from `response.output_item.done` events in the order they arrive, so a
provider that knows where an item ends (a reasoning block, a tool call) should say so
(`reasoning_done`, `finish_tool_call`); anything still open is closed, in output order, by
`complete`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import jsonio
from .event_sinks import TERMINAL_EVENTS, TERMINAL_STATUS, EventSink, SSESink, ends_answer
from .response_object import echo_members, request_echo
from .tool_names import ToolNames

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_ascii_dumps = json.JSONEncoder(separators=(",", ":")).encode
_quote = jsonio.quote  # same escaping as _dumps for one string
_TEXT_TAIL = b',"logprobs":[],"sequence_number":'
_PLAIN_TAIL = b',"sequence_number":'
_TEXT_DELTA = "response.output_text.delta"
_REASONING_DELTA = "response.reasoning_summary_text.delta"


def _delta_prefix(sink: EventSink, event_type: str, item_id: str, output_index: int, index_field: str | None) -> bytes:
    """A delta event up to the delta itself, framed for the sink, rendered once per item."""
    index = f'"{index_field}":0,' if index_field else ""
    head = f'{{"type":"{event_type}","item_id":"{item_id}","output_index":{output_index},{index}"delta":'
    return sink.framing(event_type)[0] + head.encode()


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def new_id(prefix: str) -> str:
    return f"{prefix}_{os.urandom(16).hex()}"  # as long as a uuid4 hex, a quarter of its cost (~0.6 µs, two or three a turn)


@dataclass(slots=True)
class Usage:
    """A turn's token counts, from the translator to the flow's facts, the cost and the spend table.
    `input_tokens` includes the cached and cache-written ones, `output_tokens` the reasoning ones."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    web_search_requests: int = 0
    """Searches the provider ran (billed per search); not part of the Responses usage object."""

    @classmethod
    def from_json(cls, usage: Any) -> Usage:
        """The counts of a usage object as `as_json` writes it (what a flow's facts hold); missing or
        odd values count as 0."""
        usage = usage if isinstance(usage, dict) else {}
        inputs = usage.get("input_tokens_details") if isinstance(usage.get("input_tokens_details"), dict) else {}
        outputs = usage.get("output_tokens_details") if isinstance(usage.get("output_tokens_details"), dict) else {}
        return cls(_count(usage.get("input_tokens")), _count(usage.get("output_tokens")), _count(inputs.get("cached_tokens")),
                   _count(inputs.get("cache_write_tokens")), _count(outputs.get("reasoning_tokens")),
                   _count(usage.get("web_search_requests")))

    def cost(self, prices: Any) -> float:
        """What these tokens (and searches) cost at a route's prices (shim/config.Prices, per million
        tokens; searches per 1,000): cache reads and writes at their own prices where given, the rest
        of the input at the input price."""
        written = self.cache_write_tokens if prices.cache_write is not None else 0
        fresh = max(0, self.input_tokens - self.cached_tokens - written)
        cached_price = prices.cached_input if prices.cached_input is not None else prices.input
        tokens = fresh * prices.input + self.cached_tokens * cached_price + self.output_tokens * prices.output
        if written:
            tokens += written * prices.cache_write
        searches = self.web_search_requests * prices.web_search / 1000 if prices.web_search is not None else 0.0
        return float(tokens) / 1e6 + searches

    def as_json(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens, "cache_write_tokens": self.cache_write_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.input_tokens + self.output_tokens,
        }


@dataclass(slots=True)
class _Text:
    """An open text or reasoning item. Deltas are kept in blocks so that a long answer is not
    thousands of tiny strings; the event prefix is rendered once, not per delta."""

    item_id: str
    output_index: int
    prefix: bytes = b""
    parts: list[str] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)
        if len(self.parts) >= 256:
            self.blocks.append("".join(self.parts))
            self.parts.clear()

    def text(self) -> str:
        return "".join(self.blocks) + "".join(self.parts)

    def length(self) -> int:
        """Characters so far, counted when asked (a citation's span), never per delta."""
        return sum(map(len, self.blocks)) + sum(map(len, self.parts))


@dataclass(slots=True)
class _ToolCall:
    upstream_name: str | None
    call_id: str | None
    args: list[str] = field(default_factory=list)
    item_id: str = ""
    output_index: int = -1
    kind: str = "function"

    @property
    def announced(self) -> bool:
        return self.output_index >= 0


class EventWriter(Protocol):
    """The event writer: what a provider's event mapper calls. `ResponseStream` is one; a writer in
    front of one that reshapes the answer (compaction) is another, and `stream` is where either
    ends."""

    @property
    def finished(self) -> bool: ...

    @property
    def stream(self) -> ResponseStream: ...

    def start(self) -> None: ...

    def relaying(self) -> None: ...

    def relay(self, event_type: str, data: str, event: dict[str, Any] | None = None, sequence: int | None = None) -> None: ...

    def text_delta(self, text: str) -> None: ...

    def reasoning_delta(self, text: str) -> None: ...

    def reasoning_done(self, encrypted_content: str | None = None) -> None: ...

    def opaque_reasoning(self, encrypted_content: str) -> None: ...

    def tool_call(self, key: object, *, call_id: str | None = None, name: str | None = None, arguments: str = "") -> None: ...

    def finish_tool_call(self, key: object) -> None: ...

    def abandon_tool_call(self, key: object) -> None: ...

    def search_started(self, key: object) -> None: ...

    def search_done(self, key: object, *, query: str, sources: list[str], status: str = "completed") -> None: ...

    def text_offset(self) -> int: ...

    def annotate(self, annotations: list[dict[str, Any]]) -> None: ...

    def set_usage(
        self,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cached_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        web_search_requests: int | None = None,
    ) -> None: ...

    def complete(self, incomplete_reason: str | None = None) -> None: ...

    def fail(self, code: str, message: str) -> None: ...


class FilteringWriter:
    """An event writer in front of a `ResponseStream` for an answer of another shape: the answer's
    frame (start, usage, completion, failure) passes on; every item the mapper writes is dropped
    unless a subclass keeps it (shim/compaction.py keeps the text)."""

    def __init__(self, stream: ResponseStream) -> None:
        self.stream = stream

    @property
    def finished(self) -> bool:
        return self.stream.finished

    def start(self) -> None:
        self.stream.start()

    def relaying(self) -> None:
        pass

    def relay(self, event_type: str, data: str, event: dict[str, Any] | None = None, sequence: int | None = None) -> None:
        pass

    def text_delta(self, text: str) -> None:
        pass

    def reasoning_delta(self, text: str) -> None:
        pass

    def reasoning_done(self, encrypted_content: str | None = None) -> None:
        pass

    def opaque_reasoning(self, encrypted_content: str) -> None:
        pass

    def tool_call(self, key: object, *, call_id: str | None = None, name: str | None = None, arguments: str = "") -> None:
        pass

    def finish_tool_call(self, key: object) -> None:
        pass

    def abandon_tool_call(self, key: object) -> None:
        pass

    def search_started(self, key: object) -> None:
        pass

    def search_done(self, key: object, *, query: str, sources: list[str], status: str = "completed") -> None:
        pass

    def text_offset(self) -> int:
        return 0

    def annotate(self, annotations: list[dict[str, Any]]) -> None:
        pass

    def set_usage(self, **counts: int | None) -> None:
        self.stream.set_usage(**counts)

    def complete(self, incomplete_reason: str | None = None) -> None:
        self.stream.complete(incomplete_reason)

    def fail(self, code: str, message: str) -> None:
        self.stream.fail(code, message)


class ResponseStream:
    """Writes the Responses events of one upstream answer into one sink.

    `anonymous` answers carry an empty response id (and relayed ones are emptied too), so that
    Codex sends the full context next turn instead of an increment only OpenAI could resolve.
    """

    def __init__(
        self,
        model: str,
        tool_names: ToolNames | None = None,
        parallel_tool_calls: bool = True,
        sink: EventSink | None = None,
        anonymous: bool = False,
        echo: dict[str, Any] | None = None,
    ) -> None:
        self.anonymous = anonymous
        self._echo = echo if echo is not None else request_echo({})  # the request's settings, in every response object
        self._echo_texts: dict[Callable[[Any], str], str] = {}  # the same, rendered once per encoder (see _with_echo)
        self._echo_added_to: dict[str, Any] | None = None  # the relayed response object that lacked all of it: render() splices it
        self.response_id = "" if anonymous else new_id("resp")
        self.model = model
        self.tool_names = tool_names or ToolNames()
        self.sink: EventSink = sink if sink is not None else SSESink()
        self._frame_end = self.sink.framing("")[1]
        self._parallel = parallel_tool_calls
        self._created_at = int(time.time())
        self._seq = 0
        self._output: list[dict[str, Any]] = []
        self._output_indexes: list[int] = []
        self._next_index = 0
        self._reasoning: _Text | None = None
        self._message: _Text | None = None
        self._tools: dict[object, _ToolCall] = {}
        self._finished_tools: set[object] = set()
        self._searches: dict[object, tuple[str, int]] = {}  # open web searches: key -> (item id, output index)
        self.usage = Usage()
        self.abandoned_tool_calls = 0
        self.first_delta_at: float | None = None  # when the model's first text, reasoning or call came
        self.started = False
        self.finished = False

    @property
    def stream(self) -> ResponseStream:
        """The stream the events end in: this one."""
        return self

    # -- the provider-facing API ------------------------------------------------------------

    def start(self) -> None:
        if self.started:
            return
        self.started = True
        self._emit_response("response.created", self._own_fields("in_progress"))
        self._emit_response("response.in_progress", self._own_fields("in_progress"))

    def reasoning_delta(self, text: str) -> None:
        if not text or self.finished:
            return
        self.start()
        if self.first_delta_at is None:
            self.first_delta_at = time.monotonic()
        if self._message is not None:
            self._close_message()
        if self._reasoning is None:
            self._reasoning = _Text(new_id("rs"), self._claim_index())
            self._emit(
                "response.output_item.added",
                output_index=self._reasoning.output_index,
                item={"id": self._reasoning.item_id, "type": "reasoning", "summary": []},
            )
            self._emit(
                "response.reasoning_summary_part.added",
                item_id=self._reasoning.item_id,
                output_index=self._reasoning.output_index,
                summary_index=0,
                part={"type": "summary_text", "text": ""},
            )
        self._reasoning.add(text)
        if not self._reasoning.prefix:
            self._reasoning.prefix = _delta_prefix(
                self.sink, _REASONING_DELTA, self._reasoning.item_id, self._reasoning.output_index, "summary_index"
            )
        self._emit_delta(self._reasoning.prefix, text, _PLAIN_TAIL)

    def reasoning_done(self, encrypted_content: str | None = None) -> None:
        """Close the open reasoning item, carrying `encrypted_content` (the provider's state to
        replay). With no item open (nothing visible was streamed) the payload still gets an item,
        with an empty summary; with neither, nothing happens."""
        if self.finished:
            return
        if self._reasoning is not None:
            self._close_reasoning(encrypted_content)
        elif encrypted_content:
            self.opaque_reasoning(encrypted_content)

    def opaque_reasoning(self, encrypted_content: str) -> None:
        """A reasoning item with nothing to show (`summary: []`) that carries `encrypted_content`,
        e.g. a redacted thinking block. Codex keeps it in history and sends it back verbatim."""
        if self.finished:
            return
        self.start()
        self._close_reasoning()
        self._close_message()
        index = self._claim_index()
        item_id = new_id("rs")
        self._emit("response.output_item.added", output_index=index, item={"id": item_id, "type": "reasoning", "summary": []})
        self._finish_item(
            index, {"id": item_id, "type": "reasoning", "summary": [], "encrypted_content": encrypted_content}
        )

    def text_delta(self, text: str) -> None:
        if not text or self.finished:
            return
        self.start()
        if self.first_delta_at is None:
            self.first_delta_at = time.monotonic()
        if self._reasoning is not None:
            self._close_reasoning()
        if self._message is None:
            self._message = _Text(new_id("msg"), self._claim_index())
            self._emit(
                "response.output_item.added",
                output_index=self._message.output_index,
                item={
                    "id": self._message.item_id,
                    "type": "message",
                    "status": "in_progress",
                    "role": "assistant",
                    "content": [],
                },
            )
            self._emit(
                "response.content_part.added",
                item_id=self._message.item_id,
                output_index=self._message.output_index,
                content_index=0,
                part={"type": "output_text", "text": "", "annotations": [], "logprobs": []},
            )
        self._message.add(text)
        if not self._message.prefix:
            self._message.prefix = _delta_prefix(
                self.sink, _TEXT_DELTA, self._message.item_id, self._message.output_index, "content_index"
            )
        self._emit_delta(self._message.prefix, text, _TEXT_TAIL)

    def tool_call(
        self,
        key: object,
        *,
        call_id: str | None = None,
        name: str | None = None,
        arguments: str = "",
    ) -> None:
        """Open or extend the tool call `key`; it is announced once its name is known.
        Deltas for a call already closed with `finish_tool_call` are ignored."""
        if self.finished:
            return
        if not all(isinstance(value, str) for value in (call_id or "", name or "", arguments)):
            self.fail("upstream_protocol_error", "the provider streamed a tool call whose id, name or arguments are not strings")
            return
        self.start()
        call = self._tools.get(key)
        if call is None:
            if key in self._finished_tools:
                return
            call = self._tools[key] = _ToolCall(upstream_name=name or None, call_id=call_id or None)
        else:
            if name and not call.upstream_name:
                call.upstream_name = name
            if call_id and not call.call_id:
                call.call_id = call_id
        if arguments:
            call.args.append(arguments)
        if not call.announced and call.upstream_name:
            self._announce(call)
        elif call.announced and arguments and call.kind == "function":
            self._emit(
                "response.function_call_arguments.delta",
                item_id=call.item_id,
                output_index=call.output_index,
                delta=arguments,
            )

    def finish_tool_call(self, key: object) -> None:
        """Close the tool call `key` now (its arguments are complete), so its `.done` event comes
        out in stream order rather than at `complete`. Unknown keys are ignored."""
        if self.finished:
            return
        call = self._tools.pop(key, None)
        if call is None:
            return
        self._finished_tools.add(key)
        if not call.announced:
            self.fail("upstream_protocol_error", "the provider streamed a tool call without a name")
            return
        self._close_tool(call)

    def abandon_tool_call(self, key: object) -> None:
        """Forget the open tool call `key` (the provider stopped before finishing it): it never
        gets an output_item.done, so Codex neither records nor runs it. Codex ignores the
        function_call it was announced with (it acts on items when they are done)."""
        call = self._tools.pop(key, None)
        if call is not None:
            self._finished_tools.add(key)
            self.abandoned_tool_calls += 1

    def search_started(self, key: object) -> None:
        """A web search the provider runs itself begins: its `web_search_call` item opens (Codex
        shows "Searching the web"), with the events OpenAI sends for one."""
        if self.finished or key in self._searches:
            return
        self.start()
        if self.first_delta_at is None:
            self.first_delta_at = time.monotonic()
        self._close_reasoning()
        self._close_message()
        index = self._claim_index()
        item_id = new_id("ws")
        self._searches[key] = (item_id, index)
        item = {"id": item_id, "type": "web_search_call", "status": "in_progress", "action": {"type": "search", "query": ""}}
        self._emit("response.output_item.added", output_index=index, item=item)
        self._emit("response.web_search_call.in_progress", item_id=item_id, output_index=index)
        self._emit("response.web_search_call.searching", item_id=item_id, output_index=index)

    def search_done(self, key: object, *, query: str, sources: list[str], status: str = "completed") -> None:
        """The search `key` is over: its item is done with the query and the pages found (Codex
        records it and shows "Searched the web for …")."""
        if self.finished:
            return
        if key not in self._searches:  # its start was in an earlier answer (Anthropic's pause_turn)
            self.search_started(key)
        item_id, index = self._searches.pop(key)
        if status == "completed":
            self._emit("response.web_search_call.completed", item_id=item_id, output_index=index)
        action = {"type": "search", "query": query, "queries": [query] if query else [],
                  "sources": [{"type": "url", "url": url} for url in sources]}
        self._finish_item(index, {"id": item_id, "type": "web_search_call", "status": status, "action": action})

    def text_offset(self) -> int:
        """Characters of the open message so far (where a citation's span starts)."""
        return self._message.length() if self._message is not None else 0

    def annotate(self, annotations: list[dict[str, Any]]) -> None:
        """Annotations (url_citation) on the open message's text, each announced as OpenAI does."""
        message = self._message
        if self.finished or message is None:
            return
        for annotation in annotations:
            message.annotations.append(annotation)
            self._emit("response.output_text.annotation.added", item_id=message.item_id, output_index=message.output_index,
                       content_index=0, annotation_index=len(message.annotations) - 1, annotation=annotation)

    def set_usage(
        self,
        *,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cached_tokens: int | None = None,
        cache_write_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        web_search_requests: int | None = None,
    ) -> None:
        """Token counts so far; `input_tokens` includes the cached and cache-written ones."""
        if web_search_requests is not None:
            self.usage.web_search_requests = int(web_search_requests)
        if input_tokens is not None:
            self.usage.input_tokens = int(input_tokens)
        if output_tokens is not None:
            self.usage.output_tokens = int(output_tokens)
        if cached_tokens is not None:
            self.usage.cached_tokens = int(cached_tokens)
        if cache_write_tokens is not None:
            self.usage.cache_write_tokens = int(cache_write_tokens)
        if reasoning_tokens is not None:
            self.usage.reasoning_tokens = int(reasoning_tokens)

    def complete(self, incomplete_reason: str | None = None) -> None:
        """Close every open item and end with response.completed (or .incomplete)."""
        if self.finished:
            return
        self.start()
        self._close_reasoning()
        self._close_message()
        for key in list(self._searches):  # a search the provider never answered (it paused the turn)
            self.search_done(key, query="", sources=[], status="incomplete")
        if incomplete_reason:  # the provider stopped early: a call it was still writing is not a call
            for key in [key for key, call in self._tools.items() if not call.announced or not _whole_arguments(call.args)]:
                self.abandon_tool_call(key)
        nameless = [call for call in self._tools.values() if not call.announced]
        if nameless:
            self.fail("upstream_protocol_error", "the provider streamed a tool call without a name")
            return
        for call in sorted(self._tools.values(), key=lambda c: c.output_index):
            self._close_tool(call)
        self._tools.clear()
        self.finished = True
        if incomplete_reason:
            snapshot = self._own_fields("incomplete", usage=True)
            snapshot["incomplete_details"] = {"reason": incomplete_reason}
            self._emit_response("response.incomplete", snapshot)
        else:
            self._emit_response("response.completed", self._own_fields("completed", usage=True))

    def fail(self, code: str, message: str) -> None:
        """End with response.failed; Codex retries unless `code` says retrying cannot help."""
        if self.finished:
            return
        self.start()
        self.finished = True
        snapshot = self._own_fields("failed", usage=True)
        snapshot["error"] = {"code": code, "message": message}
        self._emit_response("response.failed", snapshot)

    def add_item(self, item: dict[str, Any]) -> None:
        """A whole output item at once (added, then done), e.g. a compaction item."""
        if self.finished:
            return
        self.start()
        self._close_reasoning()
        self._close_message()
        index = self._claim_index()
        self._emit("response.output_item.added", output_index=index, item=item)
        self._finish_item(index, item)

    def relaying(self) -> None:
        """The upstream announces the response itself: never add a response.created of ours."""
        self.started = True

    def relay(self, event_type: str, data: str, event: dict[str, Any] | None = None, sequence: int | None = None) -> None:
        """Pass an upstream Responses event through as it came. `event` is its parsed object when
        the caller has one (needed for terminal events, which end the answer); `sequence` its
        number, so that an event of ours that follows is numbered after it."""
        if self.finished:
            return
        self.started = True
        if sequence is not None and sequence >= self._seq:
            self._seq = sequence + 1
        if event is not None and ends_answer(event):
            self.finished = True
            self._echo_texts.clear()  # the last response object is rendered
        self.sink.relayed(event_type, data, event)

    def fill_response(self, response: dict[str, Any], event_type: str = "") -> bool:
        """Make an upstream's response object (carried by `event_type`) what ours would be: the
        fields it left out filled in (a left-out status as the event says), its id emptied on an
        anonymous answer. Whether anything changed: the caller renders the event once, after this.
        An object that has none of the request's echoed settings gets them at rendering (spliced);
        in the dict only at a terminal event, the one object a sink keeps."""
        anonymized = self.anonymous and bool(response.get("id"))
        if anonymized:
            response["id"] = ""
        status = response.get("status") or TERMINAL_STATUS.get(event_type, "in_progress")
        missing = {k: v for k, v in self._own_fields(str(status)).items() if k not in response}
        echo = self._echo
        left_out = [k for k in echo if k not in response]
        if not missing and not left_out:
            return anonymized
        response.update(missing)
        if len(left_out) == len(echo):
            self._echo_added_to = response  # all of it: render() splices its one rendering
            if event_type in TERMINAL_EVENTS:
                response.update(echo)  # the object a sink keeps (a JSON answer's) is whole; the others are only rendered
        else:
            response.update({k: echo[k] for k in left_out})
        return True

    def adds_at_render(self, response: dict[str, Any]) -> bool:
        """Whether render() splices the request's settings into this object (fill_response found none of them in it)."""
        return self._echo_added_to is response

    def render(self, event: dict[str, Any]) -> str:
        """A relayed event carrying a response object, as JSON. A server's object that has the
        request's settings already (OpenAI's and OpenRouter's echo Codex's ~20 KB of tools in
        response.created and response.in_progress) is written by pydantic-core (jsonio): 0.1 ms
        less per turn than json.dumps, on the way to the first delta. Where fill_response found
        none of them, they are spliced in as our own events' are (_with_echo), ASCII-escaped as
        json.dumps would. Either way a lone surrogate a server sent reaches Codex as it came."""
        response = self._echo_added_to
        if response is None or event.get("response") is not response:
            return jsonio.dumps(event).decode()
        assert isinstance(response, dict)  # (mypy narrows `response` to the other side of `is`)
        own = {k: v for k, v in response.items() if k not in self._echo}
        return self._with_echo({k: v for k, v in event.items() if k != "response"}, own, _ascii_dumps)

    def drain(self) -> bytes:
        """The SSE bytes written since the last drain (nothing for the other sinks)."""
        return self.sink.drain()

    # -- bookkeeping ---------------------------------------------------------------------

    def _emit_delta(self, prefix: bytes, delta: str, tail: bytes) -> None:
        """The hot path: one framed delta event from its pre-rendered prefix (see _delta_prefix)."""
        self.sink.write_framed(b"%s%s%s%d}%s" % (prefix, _quote(delta).encode("utf-8", "replace"), tail, self._seq, self._frame_end))
        self._seq += 1

    def _emit(self, event_type: str, **fields: Any) -> None:
        fields["type"] = event_type
        fields["sequence_number"] = self._seq
        self._seq += 1
        self.sink.write(event_type, _dumps(fields).encode("utf-8", "replace"), fields)

    def _emit_response(self, event_type: str, own: dict[str, Any]) -> None:
        """An event carrying the whole response object: this answer's `own` fields and the request's echoed settings."""
        fields = {"type": event_type, "sequence_number": self._seq}
        data = self._with_echo(fields, own, _dumps)
        self._seq += 1
        # The object only for a terminal event: the one a sink reads (a JSON answer's, event_sinks.WholeAnswerSink).
        event = {**fields, "response": {**own, **self._echo}} if event_type in TERMINAL_EVENTS else None
        self.sink.write(event_type, data.encode("utf-8", "replace"), event)
        if self.finished:
            self._echo_texts.clear()  # the last response object is out

    def _with_echo(self, fields: dict[str, Any], own: dict[str, Any], dumps: Callable[[Any], str]) -> str:
        """An event (`fields`, then its response object: `own` and the request's echoed settings) as
        `dumps` renders it, the echo rendered once per answer (Codex's tools alone are ~20 KB of
        JSON) and spliced into each response object."""
        if not own or not self._echo:
            return dumps({**fields, "response": {**own, **self._echo}})
        echo = self._echo_texts.get(dumps)
        if echo is None:
            echo = self._echo_texts[dumps] = echo_members(self._echo, dumps)
        head = dumps({**fields, "response": own})
        return f"{head[:-2]},{echo}}}}}"

    def _claim_index(self) -> int:
        index = self._next_index
        self._next_index += 1
        return index

    def _own_fields(self, status: str, usage: bool = False) -> dict[str, Any]:
        """The response object as it stands, but for the request's echoed settings (`_echo`)."""
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self._created_at,
            "completed_at": int(time.time()) if status == "completed" else None,
            "status": status,
            "model": self.model,
            "output": self._output if status != "in_progress" else [],
            "error": None,
            "incomplete_details": None,
            "parallel_tool_calls": self._parallel,
            "usage": self.usage.as_json() if usage else None,
        }

    def _finish_item(self, output_index: int, item: dict[str, Any]) -> None:
        # Items finish in any order (a tool call may outlive later text); the list keeps index order.
        position = len(self._output)
        while position and self._output_indexes[position - 1] > output_index:
            position -= 1
        self._output.insert(position, item)
        self._output_indexes.insert(position, output_index)
        self._emit("response.output_item.done", output_index=output_index, item=item)

    def _close_reasoning(self, encrypted_content: str | None = None) -> None:
        reasoning, self._reasoning = self._reasoning, None
        if reasoning is None:
            return
        text = reasoning.text()
        common = {"item_id": reasoning.item_id, "output_index": reasoning.output_index, "summary_index": 0}
        self._emit("response.reasoning_summary_text.done", text=text, **common)
        self._emit("response.reasoning_summary_part.done", part={"type": "summary_text", "text": text}, **common)
        item: dict[str, Any] = {
            "id": reasoning.item_id,
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": text}],
        }
        if encrypted_content:
            item["encrypted_content"] = encrypted_content
        self._finish_item(reasoning.output_index, item)

    def _close_message(self) -> None:
        message, self._message = self._message, None
        if message is None:
            return
        text = message.text()
        common = {"item_id": message.item_id, "output_index": message.output_index, "content_index": 0}
        part = {"type": "output_text", "text": text, "annotations": message.annotations, "logprobs": []}
        self._emit("response.output_text.done", text=text, logprobs=[], **common)
        self._emit("response.content_part.done", part=part, **common)
        self._finish_item(
            message.output_index,
            {
                "id": message.item_id,
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [part],
            },
        )

    def _announce(self, call: _ToolCall) -> None:
        if self.first_delta_at is None:
            self.first_delta_at = time.monotonic()
        self._close_reasoning()
        self._close_message()
        assert call.upstream_name is not None
        ref = self.tool_names.lookup(call.upstream_name)
        call.output_index = self._claim_index()
        call.kind = ref.kind
        call.item_id = new_id("ctc" if ref.kind == "custom" else "fc")
        if ref.kind == "custom":
            item: dict[str, Any] = {
                "id": call.item_id,
                "type": "custom_tool_call",
                "status": "in_progress",
                "call_id": call.call_id or "",
                "name": ref.name,
                "input": "",
            }
        else:
            item = {
                "id": call.item_id,
                "type": "function_call",
                "status": "in_progress",
                "call_id": call.call_id or "",
                "name": ref.name,
                "arguments": "",
            }
        if ref.namespace:
            item["namespace"] = ref.namespace
        self._emit("response.output_item.added", output_index=call.output_index, item=item)
        if call.args and ref.kind == "function":
            self._emit(
                "response.function_call_arguments.delta",
                item_id=call.item_id,
                output_index=call.output_index,
                delta="".join(call.args),
            )

    def _close_tool(self, call: _ToolCall) -> None:
        assert call.upstream_name is not None
        ref = self.tool_names.lookup(call.upstream_name)
        arguments = "".join(call.args)
        call_id = call.call_id or new_id("call")
        if ref.kind == "custom":
            tool_input = _custom_input(arguments)
            self._emit(
                "response.custom_tool_call_input.done",
                item_id=call.item_id,
                output_index=call.output_index,
                input=tool_input,
            )
            item: dict[str, Any] = {
                "id": call.item_id,
                "type": "custom_tool_call",
                "status": "completed",
                "call_id": call_id,
                "name": ref.name,
                "input": tool_input,
            }
        else:
            arguments = arguments or "{}"
            self._emit(
                "response.function_call_arguments.done",
                item_id=call.item_id,
                output_index=call.output_index,
                name=ref.name,
                arguments=arguments,
            )
            item = {
                "id": call.item_id,
                "type": "function_call",
                "status": "completed",
                "call_id": call_id,
                "name": ref.name,
                "arguments": arguments,
            }
        if ref.namespace:
            item["namespace"] = ref.namespace
        self._finish_item(call.output_index, item)


def _whole_arguments(parts: list[str]) -> bool:
    """Arguments a provider finished writing: a JSON object (what every tool call takes)."""
    try:
        return isinstance(jsonio.loads("".join(parts)), dict)
    except ValueError:
        return False


def _custom_input(arguments: str) -> str:
    """A freeform tool's input: the `input` string the provider wrote into its function args."""
    try:
        parsed = jsonio.loads(arguments)
    except ValueError:
        return arguments
    if isinstance(parsed, dict) and isinstance(parsed.get("input"), str):
        return str(parsed["input"])
    return arguments
