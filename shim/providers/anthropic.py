"""Anthropic Messages API provider (Claude).

Two pieces, like the chat provider: `map_request` turns a Responses request into a Messages
request, and `AnthropicEventMapper` turns Messages stream events into writer calls. Each signed
`thinking` / `redacted_thinking` block becomes one reasoning item whose carrier holds the block (a
redacted one shows no summary); Codex replays the items verbatim, in place, so tool loops with
extended thinking keep working.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import carrier, jsonio
from ..config import ModelRoute
from ..model_profile import ModelProfile
from ..profile_sources import built_in_profile
from ..responses_stream import EventWriter
from ..sse import SSEEvent
from ..tool_names import ToolNames, declared_tools
from . import anthropic_format, anthropic_thinking, web_search
from .base import AnswerReader, UpstreamRequest, upstream_headers
from .items import InputWalker, Part, Pdf, Text, ToolCall, content_parts, data_url

_decode = json.JSONDecoder().decode  # bound once: called for every streamed event

CARRIER_KIND = "anthropic"
API_VERSION = "2023-06-01"
CACHE = {"type": "ephemeral"}
MAX_CACHE_BREAKPOINTS = 4
CONTINUE_TEXT = "(continuing)"


_THINKING_TYPES = ("thinking", "redacted_thinking")
_SEARCH_TYPES = ("server_tool_use", "web_search_tool_result")
_REPLAYED_TYPES = (*_THINKING_TYPES, *_SEARCH_TYPES)  # what a reasoning item's carrier may hold
_KNOWN_BLOCKS = frozenset({"text", "tool_use", *_THINKING_TYPES})
_TOOL_ID_INVALID = re.compile(r"[^a-zA-Z0-9_-]")
# stop_reason -> why the answer is incomplete, or the failure it is; any other reason completes it.
_INCOMPLETE_STOPS = {"max_tokens": "max_output_tokens", "refusal": "content_filter"}
_FAILED_STOPS = {
    # Retrying the same context cannot help: say so, so Codex stops and can compact.
    "model_context_window_exceeded": ("context_length_exceeded", "the conversation no longer fits the model's context window"),
}

log = logging.getLogger("codex_shim")


def build(body: dict[str, Any], route: ModelRoute, api_key: str | None, profile: ModelProfile | None = None) -> UpstreamRequest:
    names = ToolNames()
    profile = profile or default_profile(route).with_route_overrides(route)
    fmt = anthropic_format.requested(body, profile, lambda: {t["name"] for t in _map_tools(body.get("tools") or [], ToolNames())} | {"web_search"})
    request = map_request(body, route, names, profile, fmt)
    answer_tool = fmt.tool_name if fmt is not None else ""
    # route.auth_header: some Anthropic-compatible endpoints want a Bearer key instead of x-api-key
    headers = upstream_headers(route, api_key, auth=route.auth_header, extra={"anthropic-version": API_VERSION})
    reader = AnswerReader(
        model=body.get("model") or route.model,
        new_mapper=lambda writer: AnthropicEventMapper(writer, answer_tool),
        answer_events=answer_events,
        tool_names=names,
        parallel_tool_calls=bool(body.get("parallel_tool_calls", True)),
    )
    return UpstreamRequest(url=f"{route.url_base}/messages", headers=headers, body=request, reader=reader)


def default_profile(route: ModelRoute) -> ModelProfile:
    """Before the Models API answered: the snapshot of its answer shipped in shim/data."""
    return built_in_profile(route.upstream_name) or ModelProfile()


# -- request mapping -------------------------------------------------------------------------


def map_request(
    body: dict[str, Any], route: ModelRoute, names: ToolNames, profile: ModelProfile | None = None, fmt: anthropic_format.OutputFormat | None = None
) -> dict[str, Any]:
    """A Messages request equivalent to the Responses request `body`, shaped by the model's profile
    (`fmt`: the JSON answer it asks for, shim/providers/anthropic_format.py)."""
    profile = profile or default_profile(route).with_route_overrides(route)
    tools = _map_tools(body.get("tools") or [], names)
    search = web_search.codex_tool(body.get("tools") or [])
    search_on = False
    if search is not None and web_search.web_search_kind(route, profile) is not None and web_search.live(search, route.model):
        tools.append(web_search.anthropic_server_tool(search))  # the model searches at Anthropic
        search_on = True
    system, messages = _MessageMapper(route, names, profile, search_on).map(body)
    max_tokens = anthropic_thinking.max_tokens(body, profile)
    request: dict[str, Any] = {"model": route.upstream_name, "max_tokens": max_tokens, "messages": messages, "stream": True}
    if system:
        request["system"] = system
    chosen = anthropic_thinking.reasoning(body, profile, max_tokens)
    thinking = chosen.thinking
    if thinking and thinking["type"] == "enabled" and not _thinking_replayable(messages):
        thinking = None  # the open tool loop lost its signed budget thinking: Anthropic would refuse it
    thinks = thinking is not None and chosen.thinks
    if chosen.note:
        log.info(f"codex-shim ({route.model}): {chosen.note}")
    if thinking:
        request["thinking"] = thinking
    if chosen.effort:
        request["output_config"] = {"effort": chosen.effort}
    if tools:
        request["tools"] = tools
        choice = _map_tool_choice(body.get("tool_choice"), names, thinks)
        if body.get("parallel_tool_calls") is False and choice.get("type") != "none":
            choice["disable_parallel_tool_use"] = True
        request["tool_choice"] = choice
    if not thinks:  # Anthropic rejects sampling settings with thinking, and both at once
        if body.get("temperature") is not None:
            request["temperature"] = body["temperature"]
        elif body.get("top_p") is not None:
            request["top_p"] = body["top_p"]
    if fmt is not None:
        anthropic_format.apply(request, fmt, thinks)
    if route.prompt_caching:
        _add_cache_breakpoints(request)
    return request


def _thinking_replayable(messages: list[dict[str, Any]]) -> bool:
    """With thinking on, each assistant turn of the open tool loop must start with a thinking block."""
    for message in reversed(messages):
        content = message["content"]
        if message["role"] == "user":
            if any(block.get("type") != "tool_result" for block in content):
                return True  # a real user turn: the loop started after it
            continue
        uses_tools = any(block.get("type") == "tool_use" for block in content)
        if uses_tools and content[0].get("type") not in _THINKING_TYPES:
            return False
    return True


def _map_tools(tools: list[dict[str, Any]], names: ToolNames) -> list[dict[str, Any]]:
    mapped = []
    for spec in declared_tools(tools, names):
        schema = spec.parameters
        if schema.get("type") != "object":  # Anthropic wants an object schema at the top
            schema = {"type": "object", "properties": {}, **{k: v for k, v in schema.items() if k != "type"}}
        tool: dict[str, Any] = {"name": spec.name, "input_schema": schema}
        if spec.description:
            tool["description"] = spec.description
        mapped.append(tool)
    return mapped


def _map_tool_choice(choice: Any, names: ToolNames, thinking: bool) -> dict[str, Any]:
    """Anthropic refuses a forced tool while thinking, so that falls back to auto."""
    if choice == "none":
        return {"type": "none"}
    if choice == "required" and not thinking:
        return {"type": "any"}
    if isinstance(choice, dict) and choice.get("type") in ("function", "custom") and choice.get("name") and not thinking:
        return {"type": "tool", "name": names.register(choice["name"], choice.get("namespace"))}
    return {"type": "auto"}


def _add_cache_breakpoints(request: dict[str, Any]) -> None:
    """Last tool, last system block and the last block of the last two user turns (4 at most)."""
    targets: list[dict[str, Any]] = []
    if request.get("tools"):
        targets.append(request["tools"][-1])
    if request.get("system"):
        targets.append(request["system"][-1])
    user_turns = [m for m in request["messages"] if m["role"] == "user" and m["content"]]
    targets.extend(turn["content"][-1] for turn in user_turns[-2:])
    for target in targets[:MAX_CACHE_BREAKPOINTS]:
        target["cache_control"] = dict(CACHE)


def tool_use_id(call_id: str) -> str:
    """Anthropic wants tool ids matching ^[a-zA-Z0-9_-]+$; other providers' ids may not."""
    return _TOOL_ID_INVALID.sub("_", call_id) or "toolu_missing"


class _MessageMapper(InputWalker):
    """Folds Responses input items, in order, into alternating Messages turns."""

    provider = "anthropic"

    def __init__(self, route: ModelRoute, names: ToolNames, profile: ModelProfile, search_on: bool = False) -> None:
        super().__init__(route, names, profile)
        self.search_on = search_on  # the request declares Anthropic's search: its blocks may come back
        self.system: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []

    def map(self, body: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        instructions = body.get("instructions")
        if isinstance(instructions, str) and instructions.strip():
            self.system.append({"type": "text", "text": instructions})
        self.walk(body)
        return self.system, _repaired(self.messages)

    def reasoning(self, item: dict[str, Any]) -> None:
        payload = carrier.unwrap(CARRIER_KIND, item.get("encrypted_content"))
        blocks = payload.get("blocks") if payload else None
        if not isinstance(blocks, list):  # foreign reasoning is dropped: Anthropic cannot verify it
            return
        searched = [b for b in blocks if isinstance(b, dict) and b.get("type") in _SEARCH_TYPES]
        if searched and not self.search_on:  # this route or this request cannot take search blocks back
            notes = web_search.sources_text(item.get("encrypted_content"))
            self._append("assistant", [{"type": "text", "text": notes}] if notes else [])
            return
        self._append("assistant", [b for b in blocks if isinstance(b, dict) and b.get("type") in _REPLAYED_TYPES])

    def tool_call(self, call: ToolCall) -> None:
        tool_input = {"input": call.payload} if call.custom else _parse_arguments(call.payload)
        self._append("assistant", [{"type": "tool_use", "id": tool_use_id(str(call.call_id)), "name": call.name, "input": tool_input}])

    def _append(self, role: str, blocks: list[dict[str, Any]]) -> None:
        """Consecutive items of one role fold into one turn."""
        if not blocks:
            return
        last = self.messages[-1] if self.messages else None
        if last is None or last["role"] != role:
            last = {"role": role, "content": []}
            self.messages.append(last)
        last["content"].extend(blocks)

    def message(self, item: dict[str, Any]) -> None:
        role = item.get("role", "user")
        content = item.get("content")
        if role in ("developer", "system"):
            self.system.extend(self._blocks(content, text_only=True))
        elif role == "assistant":
            self._append("assistant", self._blocks(content, text_only=True))
        else:
            self._append("user", self._blocks(content, text_only=False))

    def _blocks(self, content: Any, text_only: bool) -> list[dict[str, Any]]:
        parts = content_parts(content, self.images, media=not text_only, pdfs=self.profile.pdf_input is not False)
        return [_block(part) for part in parts if not isinstance(part, Text) or part.text]  # Anthropic rejects empty text

    def tool_output(self, item: dict[str, Any]) -> None:
        """Tool results open the next user turn, ahead of any text already there."""
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": tool_use_id(str(item.get("call_id", "")))}
        content = self._result_content(item.get("output"))
        if content:
            result["content"] = content
        last = self.messages[-1] if self.messages else None
        if last is None or last["role"] != "user":
            self.messages.append({"role": "user", "content": [result]})
            return
        blocks = last["content"]
        position = sum(1 for _ in _leading_results(blocks))
        blocks.insert(position, result)

    def _result_content(self, output: Any) -> list[dict[str, Any]]:
        if isinstance(output, str):
            return [{"type": "text", "text": output}] if output else []
        if isinstance(output, list):
            return [b for b in self._blocks(output, text_only=False) if b["type"] in ("text", "image")]
        if output is None:
            return []
        return [{"type": "text", "text": json.dumps(output)}]


def _leading_results(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for block in blocks:
        if block.get("type") != "tool_result":
            break
        out.append(block)
    return out


def _block(part: Part) -> dict[str, Any]:
    """A neutral content part as a Messages block: images by URL or inline, PDFs as documents."""
    if isinstance(part, Text):
        return {"type": "text", "text": part.text}
    if isinstance(part, Pdf):
        return {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": part.data}}
    inline = data_url(part.url)
    if inline:
        return {"type": "image", "source": {"type": "base64", "media_type": inline[0] or "image/png", "data": inline[1]}}
    return {"type": "image", "source": {"type": "url", "url": part.url}}


def _parse_arguments(arguments: Any) -> dict[str, Any]:
    """tool_use.input must be an object; what is not parsable JSON travels as `_raw`."""
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str) or not arguments.strip():
        return {}
    try:
        parsed = jsonio.loads(arguments)
    except ValueError:
        return {"_raw": arguments}
    return parsed if isinstance(parsed, dict) else {"_raw": arguments}


def _repaired(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fix what Anthropic refuses and Codex histories can contain: orphan results, unanswered
    calls, thinking-only turns and a conversation that does not start with the user."""
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message["content"]
        if message["role"] == "assistant" and all(b.get("type") in _THINKING_TYPES for b in content):
            continue  # thinking without the text or call it led to cannot be replayed
        if out and out[-1]["role"] == message["role"]:
            out[-1]["content"].extend(content)
        else:
            out.append({"role": message["role"], "content": list(content)})
    previous: dict[str, Any] | None = None
    for message in out:
        if message["role"] == "user":
            message["content"] = _answer_calls(previous, message["content"])
        previous = message
    if out and out[-1]["role"] == "assistant":
        trailing = _answer_calls(out[-1], [])
        if trailing:
            out.append({"role": "user", "content": trailing})
    if not out or out[0]["role"] != "user":
        out.insert(0, {"role": "user", "content": [{"type": "text", "text": CONTINUE_TEXT}]})
    return out


def _answer_calls(assistant: dict[str, Any] | None, content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """tool_results must answer the previous turn's tool_use ids, first and all of them."""
    open_ids = [b["id"] for b in (assistant or {}).get("content", []) if b.get("type") == "tool_use"]
    results: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    answered: set[str] = set()
    for block in content:
        if block.get("type") != "tool_result":
            rest.append(block)
        elif block["tool_use_id"] in open_ids and block["tool_use_id"] not in answered:
            answered.add(block["tool_use_id"])
            results.append(block)
        else:
            rest.append(_orphan_as_text(block))
    missing = [
        {"type": "tool_result", "tool_use_id": i, "content": [{"type": "text", "text": "(no result recorded)"}], "is_error": True}
        for i in open_ids if i not in answered
    ]
    return results + missing + rest


def _orphan_as_text(block: dict[str, Any]) -> dict[str, Any]:
    texts = [b.get("text", "") for b in block.get("content") or [] if b.get("type") == "text"]
    return {"type": "text", "text": f"[output of tool call {block['tool_use_id']}]\n" + "\n".join(texts)}


# -- stream mapping --------------------------------------------------------------------------


@dataclass(slots=True)
class _Block:
    """One open content block of the streamed message."""

    kind: str
    thinking: list[str] = field(default_factory=list)
    signature: str = ""
    data: str = ""
    has_input: bool = False
    partial: list[str] = field(default_factory=list)
    search_id: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)
    cited_from: int = 0  # where this text block's text starts in the message (for its citations)

    def as_replay(self) -> dict[str, Any]:
        if self.kind == "redacted_thinking":
            return {"type": "redacted_thinking", "data": self.data}
        return {"type": "thinking", "thinking": "".join(self.thinking), "signature": self.signature}


class AnthropicEventMapper:
    """Messages stream events -> writer calls: each thinking or tool_use block is one output
    item, closed at its content_block_stop so Codex records the items in stream order."""

    def __init__(self, writer: EventWriter, answer_tool: str = "") -> None:
        self.writer = writer
        self.answer_tool = answer_tool  # the tool a JSON answer comes through (anthropic_format): its input is text
        self._held: list[str] = []  # that form's plain text, until it is known whether it is the answer
        self._answered = False
        # Text deltas go straight to the writer (the hot path), or are held in the answer-tool form.
        self._text: Callable[[str], None] = self._hold if answer_tool else writer.text_delta
        self.stop_reason: str | None = None
        self._blocks: dict[int, _Block] = {}
        self._usage: dict[str, int] = {}
        self._searches = web_search.SearchLog(writer)

    def on_event(self, event: str, data: str) -> None:
        if not data:
            return
        payload = _decode(data)
        if not isinstance(payload, dict):
            return
        kind = payload.get("type") or event
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is not None:
            handler(self, payload)

    def _on_message_start(self, payload: dict[str, Any]) -> None:
        self.writer.start()
        self._take_usage((payload.get("message") or {}).get("usage"))

    def _on_content_block_start(self, payload: dict[str, Any]) -> None:
        index = int(payload.get("index", 0))
        block = payload.get("content_block") or {}
        kind = block.get("type", "")
        state = self._blocks[index] = _Block(kind)
        if kind == "text":
            state.cited_from = self.writer.text_offset()  # where its citations' span starts (once per block)
            self._text(block.get("text") or "")
        elif kind == "thinking":
            self._thinking_text(state, block.get("thinking") or "")
            state.signature = block.get("signature") or ""
        elif kind == "redacted_thinking":
            state.data = block.get("data") or ""
        elif kind == "server_tool_use" and block.get("name") == "web_search":
            state.search_id = str(block.get("id") or "")
            self._searches.started(state.search_id, block)
        elif kind == "web_search_tool_result":
            self._searches.result(block)
        elif kind not in _KNOWN_BLOCKS:
            # Server tools (server_tool_use, web_search_tool_result, ...) run at Anthropic; their
            # blocks are not Codex's tool calls. The rest of the answer stands.
            log.info(f"codex-shim: skipped an Anthropic {kind!r} content block (not a client tool call)")
        elif kind == "tool_use" and self.answer_tool and block.get("name") == self.answer_tool:
            state.kind = "answer"
            self._release_held(as_message=False)  # words before the answer are not part of it
            self._answered = True
            initial = block.get("input")
            if isinstance(initial, dict) and initial:
                state.has_input = True
                self.writer.text_delta(json.dumps(initial, ensure_ascii=False))
        elif kind == "tool_use":
            self._release_held(as_message=True)
            self.writer.tool_call(("tool", index), call_id=block.get("id"), name=block.get("name"))
            initial = block.get("input")
            if isinstance(initial, dict) and initial:  # some gateways send the input whole
                state.has_input = True
                self.writer.tool_call(("tool", index), arguments=json.dumps(initial, ensure_ascii=False))

    def _on_content_block_delta(self, payload: dict[str, Any]) -> None:
        index = int(payload.get("index", 0))
        delta = payload.get("delta") or {}
        state = self._blocks.get(index)
        dtype = delta.get("type")
        if dtype == "text_delta":
            self._text(delta.get("text") or "")
        elif dtype == "thinking_delta" and state is not None:
            self._thinking_text(state, delta.get("thinking") or "")
        elif dtype == "signature_delta" and state is not None:
            state.signature += delta.get("signature") or ""
        elif dtype == "input_json_delta" and state is not None and state.kind == "tool_use":
            partial = delta.get("partial_json") or ""
            if partial and not state.has_input:
                state.partial.append(partial)
                self.writer.tool_call(("tool", index), arguments=partial)
        elif dtype == "input_json_delta" and state is not None and state.kind == "answer":
            if not state.has_input:
                self.writer.text_delta(delta.get("partial_json") or "")
        elif dtype == "input_json_delta" and state is not None and state.search_id:
            state.partial.append(delta.get("partial_json") or "")
        elif dtype == "citations_delta" and state is not None and isinstance(delta.get("citation"), dict):
            state.citations.append(delta["citation"])
        # unknown deltas carry nothing Codex can use

    def _on_content_block_stop(self, payload: dict[str, Any]) -> None:
        index = int(payload.get("index", 0))
        state = self._blocks.pop(index, None)
        if state is None:
            return
        if state.search_id:
            self._searches.asked(state.search_id, "".join(state.partial))
        elif state.kind == "text" and state.citations:
            self.writer.annotate(web_search.url_citations(state.citations, state.cited_from, self.writer.text_offset()))
        elif state.kind == "tool_use":
            # A block Anthropic stopped because max_tokens ran out holds half-written JSON: it stays
            # open, so that the incomplete ending drops it instead of Codex running it.
            arguments = "".join(state.partial)
            if state.has_input or not arguments.strip() or _whole_json(arguments):  # no input at all is `{}`
                self.writer.finish_tool_call(("tool", index))
        elif state.kind in _THINKING_TYPES:
            carried = carrier.wrap(CARRIER_KIND, {"blocks": [state.as_replay()]})
            if state.kind == "redacted_thinking":
                self.writer.opaque_reasoning(carried)
            else:  # thinking whose display is omitted streamed no text: its item has no summary
                self.writer.reasoning_done(carried)

    def _on_message_delta(self, payload: dict[str, Any]) -> None:
        reason = (payload.get("delta") or {}).get("stop_reason")
        if reason:
            self.stop_reason = reason
        self._take_usage(payload.get("usage"))

    def _on_message_stop(self, _payload: dict[str, Any]) -> None:
        self._finish()

    def _on_error(self, payload: dict[str, Any]) -> None:
        error = payload.get("error") or {}
        etype = str(error.get("type") or "upstream_error") if isinstance(error, dict) else "upstream_error"
        message = error.get("message") if isinstance(error, dict) else str(error)
        code = "server_is_overloaded" if etype == "overloaded_error" else etype
        self.writer.fail(code, f"anthropic error: {message or etype}")

    def _thinking_text(self, state: _Block, text: str) -> None:
        if text:
            state.thinking.append(text)
            self.writer.reasoning_delta(text)

    def _take_usage(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        for key in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
            if isinstance(usage.get(key), int):
                self._usage[key] = usage[key]
        server = usage.get("server_tool_use")
        if isinstance(server, dict) and isinstance(server.get("web_search_requests"), int):
            self._usage["web_search_requests"] = server["web_search_requests"]
        fresh = self._usage.get("input_tokens", 0)
        read = self._usage.get("cache_read_input_tokens", 0)
        written = self._usage.get("cache_creation_input_tokens", 0)
        self.writer.set_usage(
            input_tokens=fresh + read + written,
            cached_tokens=read,
            cache_write_tokens=written,
            output_tokens=self._usage.get("output_tokens", 0),
            web_search_requests=self._usage.get("web_search_requests"),
        )

    def _hold(self, text: str) -> None:
        if text:
            self._held.append(text)

    def _release_held(self, as_message: bool) -> None:
        """Text written while a JSON answer was expected through its tool: the message itself when
        no answer comes through the tool (the model answered in words, or called a Codex tool),
        else reasoning beside the answer, which must stay pure JSON."""
        if not self._held:
            return
        text, self._held = "".join(self._held), []
        if as_message:
            self.writer.text_delta(text)
        else:
            self.writer.reasoning_delta(text)
            self.writer.reasoning_done()

    def _finish(self) -> None:
        self._release_held(as_message=not self._answered)
        reason = self.stop_reason if isinstance(self.stop_reason, str) else ""  # a hostile one may be unhashable
        failure = _FAILED_STOPS.get(reason)
        if failure:
            self.writer.fail(*failure)
            return
        incomplete = _INCOMPLETE_STOPS.get(reason)
        self._searches.unanswered()  # a search still running when the turn paused (pause_turn): never replayed
        if reason == "pause_turn":
            log.info("codex-shim: Anthropic paused a long turn (pause_turn); it ends here, and the next prompt goes on")
        if incomplete:  # a tool_use block never stopped: the provider was still writing it
            for index, block in self._blocks.items():
                if block.kind == "tool_use":
                    self.writer.abandon_tool_call(("tool", index))
        self.writer.complete(incomplete)

    def close(self) -> None:
        """End of the upstream stream: without message_stop the answer is cut, never complete."""
        if not self.writer.finished:
            self.writer.fail("stream_truncated", "the provider's stream ended before message_stop")


_HANDLERS: dict[str, Callable[[AnthropicEventMapper, dict[str, Any]], None]] = {
    name.removeprefix("_on_"): handler for name, handler in vars(AnthropicEventMapper).items() if name.startswith("_on_")
}
"""Event type -> handler, built once: one dict lookup per event instead of a name built and looked up."""


def _whole_json(text: str) -> bool:
    try:
        return isinstance(jsonio.loads(text), dict)
    except ValueError:
        return False


def answer_events(message: dict[str, Any]) -> list[SSEEvent]:
    """A non-streamed Message, as the stream it stands for."""
    return [(event["type"], json.dumps(event)) for event in message_events(message)]


def message_events(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A non-streaming Message object as the stream events that would have produced it."""
    start = {k: v for k, v in message.items() if k not in ("content", "stop_reason")}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": {**start, "content": []}}]
    for index, block in enumerate(message.get("content") or []):
        btype = block.get("type")
        if btype == "tool_use":
            opened = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block.get("input") or {}, ensure_ascii=False)}]
        elif btype == "thinking":
            opened = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": block.get("thinking") or ""},
                      {"type": "signature_delta", "signature": block.get("signature") or ""}]
        elif btype == "text":
            opened, deltas = {"type": "text", "text": ""}, [{"type": "text_delta", "text": block.get("text") or ""}]
        else:
            opened, deltas = block, []
        events.append({"type": "content_block_start", "index": index, "content_block": opened})
        events.extend({"type": "content_block_delta", "index": index, "delta": d} for d in deltas)
        events.append({"type": "content_block_stop", "index": index})
    usage = message.get("usage") or {}
    events.append({"type": "message_delta", "delta": {"stop_reason": message.get("stop_reason")}, "usage": usage})
    events.append({"type": "message_stop"})
    return events
