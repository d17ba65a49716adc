"""The Responses event stream Codex reads, checked one way for every translator test.

`parse` turns SSE bytes into events and validates each against the openai SDK's pydantic
`ResponseStreamEvent` union; `check_grammar` checks the order of events Codex relies on. The
chat, anthropic, compaction and passthrough tests and the fuzzers all use these, so a rule
tightened here is tightened for every translator.
"""

from __future__ import annotations

import copy
import json
import re
import typing
from itertools import pairwise
from typing import Any

import pydantic
from openai.types.responses import ResponseStreamEvent

from shim.sse import SSEDecoder

Event = dict[str, Any]

TERMINAL = {"response.completed", "response.incomplete", "response.failed"}
# The response object's required fields in the Open Responses schema (openresponses.org,
# public/openapi/openapi.json, ResponseResource, version 2026-04-24).
OPEN_RESPONSES_FIELDS = frozenset({
    "id", "object", "created_at", "completed_at", "status", "incomplete_details", "model", "previous_response_id",
    "instructions", "output", "error", "tools", "tool_choice", "truncation", "parallel_tool_calls", "text", "top_p",
    "presence_penalty", "frequency_penalty", "top_logprobs", "temperature", "reasoning", "usage", "max_output_tokens",
    "max_tool_calls", "store", "background", "service_tier", "metadata", "safety_identifier", "prompt_cache_key",
})
EVENT_ADAPTER: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(ResponseStreamEvent)
# The same union member by member, keyed by `type`, for readable errors on failure.
EVENT_MODELS: dict[str, type[pydantic.BaseModel]] = {
    typing.get_args(model.model_fields["type"].annotation)[0]: model
    for model in typing.get_args(typing.get_args(ResponseStreamEvent)[0])
}


def sdk_validate(event: Event, *, compaction: bool = False) -> None:
    """Validate one event against the openai SDK's stream event union.

    Every response object must also carry every field the Open Responses schema requires
    (OPEN_RESPONSES_FIELDS). One deliberate deviation (reported), checked apart instead: the SDK
    types ResponseError.code as a closed Literal ("server_error", "rate_limit_exceeded", ...), but
    Codex acts on codes outside it (context_length_exceeded, insufficient_quota,
    server_is_overloaded, ...) and retries on unknown ones such as our "stream_truncated": the
    code must be a non-empty string. (`compaction` is kept for callers; compaction items now
    carry the id the SDK requires.)
    """
    checked = copy.deepcopy(event)
    response = checked.get("response") or {}
    usage = response.get("usage")
    if isinstance(usage, dict):
        assert "cache_write_tokens" in usage["input_tokens_details"]
    error = response.get("error")
    if isinstance(error, dict):
        assert isinstance(error.get("code"), str) and error["code"]
        assert isinstance(error.get("message"), str) and error["message"]
        error["code"] = "server_error"
    if response:
        missing = OPEN_RESPONSES_FIELDS - set(response)
        assert not missing, f"{checked.get('type')}: the response object lacks {sorted(missing)}"
    assert checked.get("type") in EVENT_MODELS, f"not a Responses stream event type: {checked.get('type')!r}"
    EVENT_MODELS[checked["type"]].model_validate(checked)
    EVENT_ADAPTER.validate_python(checked)


def decode(out: bytes) -> list[tuple[str, str]]:
    """Every (event name, data) pair in `out`, the last one even without its blank line."""
    decoder = SSEDecoder()
    return decoder.feed(out) + decoder.close()


def parse(out: bytes, *, compaction: bool = False) -> list[Event]:
    """The events in `out`, each SDK-valid and named on its `event:` line by its own type."""
    out.decode("utf-8")  # strict: Codex reads the stream as UTF-8
    events = []
    for name, data in decode(out):
        event = json.loads(data)
        assert name == event["type"], "the SSE event: line must repeat the data's type"
        sdk_validate(event, compaction=compaction)
        events.append(event)
    return events


def relayed_events(out: bytes) -> list[Event]:
    """The events in `out` unchecked, for the responses passthrough: it relays an upstream's events
    as they came (adding only its own failure), so their validity is the upstream's, not ours."""
    return [json.loads(data) for _, data in decode(out)]


def types(events: list[Event]) -> list[str]:
    return [e["type"] for e in events]


def of_type(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e["type"] == kind]


def done_items(events: list[Event]) -> list[dict[str, Any]]:
    return [e["item"] for e in of_type(events, "response.output_item.done")]


def check_one_terminal_last(kinds: list[str | None]) -> None:
    """Codex ends the turn on the first terminal event: there must be one, and nothing after it."""
    terminal = [i for i, kind in enumerate(kinds) if kind in TERMINAL]
    assert terminal == [len(kinds) - 1], f"exactly one terminal event, and it is the last: {kinds}"


# Which part each streamed-text event belongs to, and the item type that may carry it.
_PART_EVENTS = {
    "response.content_part.added": ("text", "message"),
    "response.content_part.done": ("text", "message"),
    "response.output_text.delta": ("text", "message"),
    "response.output_text.done": ("text", "message"),
    "response.reasoning_summary_part.added": ("summary", "reasoning"),
    "response.reasoning_summary_part.done": ("summary", "reasoning"),
    "response.reasoning_summary_text.delta": ("summary", "reasoning"),
    "response.reasoning_summary_text.done": ("summary", "reasoning"),
}


_SEARCH_EVENTS = ("response.web_search_call.in_progress", "response.web_search_call.searching", "response.web_search_call.completed")


def check_grammar(events: list[Event]) -> None:
    """The Responses event grammar Codex relies on, for streams the shim builds."""
    assert events, "no events at all"
    seqs = [e["sequence_number"] for e in events]
    assert seqs[0] == 0
    assert all(b > a for a, b in pairwise(seqs)), f"sequence numbers not increasing: {seqs}"
    assert types(events)[:2] == ["response.created", "response.in_progress"]
    check_one_terminal_last(types(events))
    response_id = events[0]["response"]["id"]
    assert all(e["response"]["id"] == response_id for e in events if "response" in e)

    added: dict[int, dict[str, Any]] = {}
    done: dict[int, dict[str, Any]] = {}
    text: dict[tuple[int, str], list[str]] = {}
    parts_open: set[tuple[int, str]] = set()
    for e in events[2:-1]:
        kind = e["type"]
        index = e.get("output_index")
        if kind == "response.output_item.added":
            assert index == len(added), "output indexes are claimed 0, 1, 2, ... in order"
            assert "id" in e["item"] or e["item"]["type"] == "compaction", "every item but a compaction has an id"
            added[index] = e["item"]
            continue
        assert index in added and index not in done, f"{kind} for an item not open: {index}"
        item = added[index]
        if kind == "response.output_item.done":
            assert e["item"].get("id") == item.get("id") and e["item"]["type"] == item["type"]
            assert not any(key[0] == index for key in parts_open), "item done with a part still open"
            done[index] = e["item"]
            continue
        assert e["item_id"] == item["id"], f"{kind} names item {e['item_id']}, index {index} is {item['id']}"
        if kind in _PART_EVENTS:
            part, item_type = _PART_EVENTS[kind]
            assert item["type"] == item_type, f"{kind} on a {item['type']} item"
            key = (index, part)
            streamed = "".join(text.get(key, []))
            if kind.endswith("_part.added"):
                assert key not in parts_open, f"{kind} while a part is already open"
                parts_open.add(key)
                continue
            assert key in parts_open, f"{kind} outside its part"
            if kind.endswith(".delta"):
                text.setdefault(key, []).append(e["delta"])
            elif kind.endswith("_text.done"):
                assert e["text"] == streamed
            else:  # the part's done
                assert e["part"]["text"] == streamed
                parts_open.discard(key)
        elif kind == "response.function_call_arguments.delta":
            assert item["type"] == "function_call"
            text.setdefault((index, "args"), []).append(e["delta"])
        elif kind == "response.function_call_arguments.done":
            assert item["type"] == "function_call"
            streamed = "".join(text.get((index, "args"), []))
            assert e["arguments"] == (streamed or "{}")
        elif kind in ("response.custom_tool_call_input.delta", "response.custom_tool_call_input.done"):
            assert item["type"] == "custom_tool_call"
        elif kind in _SEARCH_EVENTS:  # a provider's own web search, in OpenAI's order
            assert item["type"] == "web_search_call"
            steps = text.setdefault((index, "search"), [])
            assert kind not in steps and all(_SEARCH_EVENTS.index(s) < _SEARCH_EVENTS.index(kind) for s in steps)
            steps.append(kind)
        elif kind == "response.output_text.annotation.added":
            assert item["type"] == "message" and (index, "text") in parts_open, "an annotation on an open text part"
            text.setdefault((index, "annotations"), []).append(e["annotation"])
            assert e["annotation_index"] == len(text[(index, "annotations")]) - 1
        else:
            raise AssertionError(f"unexpected event {kind}")

    last = events[-1]
    if last["type"] == "response.incomplete":
        # A tool call the provider was still writing when it stopped is left undone (never run).
        cut = {i for i in set(added) - set(done) if added[i]["type"] in ("function_call", "custom_tool_call")}
        assert set(done) | cut == set(added), "every added item but a cut-off tool call is done"
    if last["type"] == "response.completed":
        assert set(done) == set(added), "every added item is done before the response ends"
    if last["type"] != "response.failed":
        assert last["response"]["output"] == [done[i] for i in sorted(done)]
        usage = last["response"]["usage"]
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def parse_checked(out: bytes, *, compaction: bool = False) -> list[Event]:
    """`parse` and then `check_grammar`: what a translator's whole output must pass."""
    events = parse(out, compaction=compaction)
    check_grammar(events)
    return events


_ID = re.compile(r"\b(resp|rs|msg|fc|ctc|call|ws)_[0-9a-f]{32}\b")


def normalise(events: list[Event]) -> list[Event]:
    """Replace the builder's random ids (and the clock) with stable placeholders, so two runs
    of the same input compare equal."""
    seen: dict[str, str] = {}

    def rename(match: re.Match[str]) -> str:
        return seen.setdefault(match.group(0), f"{match.group(1)}_<{len(seen)}>")

    out = json.loads(_ID.sub(rename, json.dumps(events, ensure_ascii=False)))
    for e in out:
        if "response" in e:
            e["response"]["created_at"] = 0
            if e["response"].get("completed_at") is not None:
                e["response"]["completed_at"] = 1
    return out
