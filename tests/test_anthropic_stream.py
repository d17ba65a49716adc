"""Anthropic Messages streams -> Responses events, from recorded streams in tests/fixtures/anthropic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from anthropic.types import RawMessageStreamEvent
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from shim import carrier
from shim.config import ModelRoute
from shim.providers import PROVIDERS, anthropic
from shim.providers.base import StreamTranslator
from shim.responses_stream import ResponseStream
from shim.sse import SSEDecoder
from shim.tool_names import ToolNames
from tests.responses_grammar import done_items, normalise, of_type, parse_checked

FIXTURES = Path(__file__).parent / "fixtures" / "anthropic"
ANTHROPIC_EVENT = TypeAdapter(RawMessageStreamEvent)
ROUTE = ModelRoute(model="claude-slug", provider="anthropic", upstream_model="claude-sonnet-4-5")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def names() -> ToolNames:
    table = ToolNames()
    table.register("exec_command")
    table.register("get_goal")
    table.register("spawn_agent", "multi_agent_v1")
    return table


def translate(chunks: list[bytes], table: ToolNames | None = None) -> list[dict[str, Any]]:
    """Feed chunks through a fresh translator (then end of stream); the events, SDK- and grammar-checked."""
    writer = ResponseStream("claude-slug", tool_names=table or names())
    translator = StreamTranslator(anthropic.AnthropicEventMapper(writer), writer, anthropic.answer_events)
    return parse_checked(b"".join(translator.feed(c) for c in chunks if c) + translator.feed(b""))


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.sse")))
def test_fixtures_are_real_anthropic_events(name: str) -> None:
    for kind, data in SSEDecoder().feed(fixture(name)):
        if kind not in ("error", "ping"):  # the SDK's union leaves these two out
            ANTHROPIC_EVENT.validate_json(data)


def test_text_answer_completes_with_usage_counting_cache_reads_and_writes() -> None:
    events = translate([fixture("text.sse")])
    assert [i["content"][0]["text"] for i in done_items(events)] == ["Hello wörld — ✓ done"]
    final = events[-1]
    assert final["type"] == "response.completed"
    # 12 fresh + 188 written to the cache + 1000 read from it
    assert final["response"]["usage"] == {
        "input_tokens": 1200,
        "input_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 188},
        "output_tokens": 34,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 1234,
    }


def test_thinking_becomes_reasoning_item_carrying_the_signed_block() -> None:
    events = translate([fixture("thinking_tool_use.sse")])
    reasoning, message, call = done_items(events)
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Let me check the directory first…"}]
    payload = carrier.unwrap("anthropic", reasoning["encrypted_content"])
    assert payload == {"blocks": [{"type": "thinking", "thinking": "Let me check the directory first…", "signature": "EqQBCkgIBxABGAIiQL1Zsig=="}]}
    assert message["content"][0]["text"] == "I'll list the files."
    assert call["call_id"] == "toolu_01A09q90qw90lq917835lq9"
    assert call["name"] == "exec_command"
    assert json.loads(call["arguments"]) == {"cmd": "ls -la"}
    assert events[-1]["type"] == "response.completed"


def test_parallel_tool_calls_keep_ids_order_and_namespaces() -> None:
    events = translate([fixture("parallel_tool_use.sse")])
    calls = done_items(events)
    assert [c["call_id"] for c in calls] == ["toolu_01Par1", "toolu_01Par2", "toolu_01Par3"]
    assert calls[1]["arguments"] == "{}"  # a tool_use without input deltas
    assert (calls[2]["name"], calls[2].get("namespace")) == ("spawn_agent", "multi_agent_v1")
    assert json.loads(calls[2]["arguments"]) == {"message": "hi"}
    assert events[-1]["response"]["usage"]["input_tokens"] == 1200


def test_redacted_thinking_is_a_reasoning_item_with_no_summary_before_the_plain_one() -> None:
    events = translate([fixture("redacted_thinking.sse")])
    redacted, thinking, message = done_items(events)
    assert redacted["summary"] == []  # nothing made up for the user to read
    (block,) = carrier.unwrap("anthropic", redacted["encrypted_content"])["blocks"]  # type: ignore[index]
    assert block["type"] == "redacted_thinking" and block["data"].startswith("EmwKAhgBEgy3")
    assert thinking["summary"] == [{"type": "summary_text", "text": "Second block."}]
    assert carrier.unwrap("anthropic", thinking["encrypted_content"]) == {
        "blocks": [{"type": "thinking", "thinking": "Second block.", "signature": "Sig2=="}]
    }
    assert message["content"][0]["text"] == "Answer."
    # the redacted item streams no summary events: only the plain one does
    rs_ids = {e["item_id"] for e in events if e["type"].startswith("response.reasoning_summary")}
    assert rs_ids == {thinking["id"]}


def test_redacted_only_reasoning_round_trips_into_the_next_request() -> None:
    data = "EmwKAhgBEgy3va3pzix"
    stream = (
        ev("message_start", message={"id": "m", "type": "message", "role": "assistant", "content": [], "model": "c",
            "usage": {"input_tokens": 1, "output_tokens": 1}})
        + ev("content_block_start", index=0, content_block={"type": "redacted_thinking", "data": data})
        + ev("content_block_stop", index=0)
        + tool_block(1, "toolu_R", '{"cmd":"ls"}')
        + ev("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 9})
        + ev("message_stop")
    )
    events = translate([stream])
    added = [e["item"] for e in of_type(events, "response.output_item.added")]
    assert added[0] == {"id": added[0]["id"], "type": "reasoning", "summary": []}
    reasoning, call = done_items(events)
    assert reasoning["summary"] == [] and reasoning["encrypted_content"]
    # Codex sends the items back as they were done; the next request replays the block in place.
    history = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]},
        {k: v for k, v in reasoning.items() if k != "id"},
        {k: v for k, v in call.items() if k not in ("id", "status")},
        {"type": "function_call_output", "call_id": "toolu_R", "output": "a b"},
    ]
    body = {"model": "claude-slug", "input": history, "reasoning": {"effort": "low"}, "tools": [
        {"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {}}}]}
    request = PROVIDERS["anthropic"].build(body, ROUTE, "k").body
    assert "thinking" in request
    assert request["messages"][1]["content"] == [
        {"type": "redacted_thinking", "data": data},
        {"type": "tool_use", "id": "toolu_R", "name": "exec_command", "input": {"cmd": "ls"}},
    ]


def test_thinking_without_visible_text_still_gets_its_own_item() -> None:
    stream = (
        ev("message_start", message={"id": "m", "type": "message", "role": "assistant", "content": [], "model": "c",
            "usage": {"input_tokens": 1, "output_tokens": 1}})
        + ev("content_block_start", index=0, content_block={"type": "thinking", "thinking": "", "signature": ""})
        + ev("content_block_delta", index=0, delta={"type": "signature_delta", "signature": "SigOmitted"})
        + ev("content_block_stop", index=0)
        + ev("content_block_start", index=1, content_block={"type": "text", "text": ""})
        + ev("content_block_delta", index=1, delta={"type": "text_delta", "text": "Hi."})
        + ev("content_block_stop", index=1)
        + ev("message_delta", delta={"stop_reason": "end_turn"}, usage={"output_tokens": 9})
        + ev("message_stop")
    )
    reasoning, message = done_items(translate([stream]))
    assert reasoning["summary"] == []
    assert carrier.unwrap("anthropic", reasoning["encrypted_content"]) == {
        "blocks": [{"type": "thinking", "thinking": "", "signature": "SigOmitted"}]
    }
    assert message["content"][0]["text"] == "Hi."


def ev(kind: str, **fields: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **fields})}\n\n".encode()


def thinking_block(index: int, text: str, signature: str) -> bytes:
    return (
        ev("content_block_start", index=index, content_block={"type": "thinking", "thinking": "", "signature": ""})
        + ev("content_block_delta", index=index, delta={"type": "thinking_delta", "thinking": text})
        + ev("content_block_delta", index=index, delta={"type": "signature_delta", "signature": signature})
        + ev("content_block_stop", index=index)
    )


def tool_block(index: int, tool_id: str, arguments: str) -> bytes:
    return (
        ev("content_block_start", index=index, content_block={"type": "tool_use", "id": tool_id, "name": "exec_command", "input": {}})
        + ev("content_block_delta", index=index, delta={"type": "input_json_delta", "partial_json": arguments})
        + ev("content_block_stop", index=index)
    )


def test_interleaved_thinking_items_are_done_in_stream_order_one_carrier_each() -> None:
    stream = (
        ev("message_start", message={"id": "m", "type": "message", "role": "assistant", "content": [], "model": "c",
            "usage": {"input_tokens": 1, "output_tokens": 1}})
        + thinking_block(0, "First.", "SigA") + tool_block(1, "toolu_A", '{"cmd":"a"}')
        + thinking_block(2, "Second.", "SigB") + tool_block(3, "toolu_B", '{"cmd":"b"}')
        + ev("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 9})
        + ev("message_stop")
    )
    events = translate([stream])
    done = of_type(events, "response.output_item.done")
    # Codex records items in .done order: each block is done at its content_block_stop.
    assert [e["output_index"] for e in done] == [0, 1, 2, 3]
    items = [e["item"] for e in done]
    assert [i["type"] for i in items] == ["reasoning", "function_call", "reasoning", "function_call"]
    assert [i["call_id"] for i in items[1::2]] == ["toolu_A", "toolu_B"]
    assert events[-1]["response"]["output"] == items
    # the first call is done before the second reasoning item even starts
    kinds = [(e["type"], e.get("output_index")) for e in events]
    assert kinds.index(("response.output_item.done", 1)) < kinds.index(("response.output_item.added", 2))
    carried = [carrier.unwrap("anthropic", i["encrypted_content"]) for i in items[::2]]
    assert [c["blocks"] for c in carried if c] == [
        [{"type": "thinking", "thinking": "First.", "signature": "SigA"}],
        [{"type": "thinking", "thinking": "Second.", "signature": "SigB"}],
    ]


def test_overloaded_error_mid_stream_fails_as_overloaded() -> None:
    events = translate([fixture("overloaded.sse")])
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"]["code"] == "server_is_overloaded"
    assert "Overloaded" in events[-1]["response"]["error"]["message"]
    assert not of_type(events, "response.completed")


def test_other_stream_errors_keep_their_type() -> None:
    stream = b'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"Internal server error"}}\n\n'
    events = translate([fixture("text.sse").split(b"event: content_block_start")[0] + stream])
    assert events[-1]["response"]["error"]["code"] == "api_error"


@pytest.mark.parametrize(("name", "reason"), [("max_tokens.sse", "max_output_tokens"), ("refusal.sse", "content_filter")])
def test_stop_reasons_that_end_early_mark_the_response_incomplete(name: str, reason: str) -> None:
    events = translate([fixture(name)])
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": reason}


@pytest.mark.parametrize("cut_before", [b"event: message_stop", b"event: message_delta", b"event: content_block_stop"])
def test_stream_cut_before_message_stop_fails_never_completes(cut_before: bytes) -> None:
    raw = fixture("thinking_tool_use.sse")
    events = translate([raw[: raw.rindex(cut_before)]])
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"]["code"] == "stream_truncated"
    assert not of_type(events, "response.completed")


@settings(max_examples=60, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(p.name for p in FIXTURES.glob("*.sse"))))
def test_chunking_never_changes_the_output(data: st.DataObject, name: str) -> None:
    raw = fixture(name)
    cuts = sorted(data.draw(st.sets(st.integers(min_value=1, max_value=len(raw) - 1), max_size=40)))
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    assert normalise(translate(chunks)) == normalise(translate([raw]))


def test_every_byte_boundary_split_gives_the_same_output() -> None:
    raw = fixture("thinking_tool_use.sse")
    whole = normalise(translate([raw]))
    for cut in range(1, len(raw)):
        assert normalise(translate([raw[:cut], raw[cut:]])) == whole


def test_json_answer_converts_like_the_stream() -> None:
    message = {
        "id": "msg_01Json", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [
            {"type": "thinking", "thinking": "Plan.", "signature": "SigJ"},
            {"type": "text", "text": "Running it."},
            {"type": "tool_use", "id": "toolu_01J", "name": "exec_command", "input": {"cmd": "pwd"}},
        ],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 90, "cache_creation_input_tokens": 0, "output_tokens": 7},
    }
    upstream = PROVIDERS["anthropic"].build({"model": "claude-slug", "input": "hi"}, ROUTE, "k")
    out = upstream.new_translator().feed_answer(message)
    events = parse_checked(out)
    reasoning, text, call = done_items(events)
    assert carrier.unwrap("anthropic", reasoning["encrypted_content"]) == {"blocks": [{"type": "thinking", "thinking": "Plan.", "signature": "SigJ"}]}
    assert text["content"][0]["text"] == "Running it."
    assert (call["call_id"], json.loads(call["arguments"])) == ("toolu_01J", {"cmd": "pwd"})
    assert events[-1]["response"]["usage"]["input_tokens"] == 100
    assert events[-1]["response"]["usage"]["input_tokens_details"]["cached_tokens"] == 90


def test_custom_tool_input_comes_back_as_the_raw_string() -> None:
    table = ToolNames()
    table.register("apply_patch", kind="custom")
    patch = "*** Begin Patch\n*** End Patch"
    stream = (
        fixture("text.sse").split(b"event: content_block_start")[0]
        + b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
        b'"content_block":{"type":"tool_use","id":"toolu_P","name":"apply_patch","input":{}}}\n\n'
        + b'event: content_block_delta\ndata: ' + json.dumps({"type": "content_block_delta", "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": json.dumps({"input": patch})}}).encode() + b"\n\n"
        + b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
        + b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":5}}\n\n'
        + b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    (item,) = done_items(translate([stream], table))
    assert item["type"] == "custom_tool_call"
    assert item["input"] == patch


def test_tool_use_without_a_name_fails_at_its_block_end() -> None:
    stream = (
        ev("message_start", message={"id": "m", "type": "message", "role": "assistant", "content": [], "model": "c",
            "usage": {"input_tokens": 1, "output_tokens": 1}})
        + ev("content_block_start", index=0, content_block={"type": "tool_use", "id": "toolu_X", "input": {}})
        + ev("content_block_stop", index=0)
        + ev("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 9})
        + ev("message_stop")
    )
    events = translate([stream])
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"]["code"] == "upstream_protocol_error"


def test_a_finished_tool_call_ignores_late_deltas_and_is_not_closed_twice() -> None:
    writer = ResponseStream("m", tool_names=names())
    writer.tool_call("k", call_id="call_1", name="exec_command", arguments='{"cmd":"ls"}')
    writer.finish_tool_call("k")
    writer.tool_call("k", arguments="garbage")
    writer.finish_tool_call("k")
    writer.finish_tool_call("never-opened")
    writer.complete()
    events = parse_checked(writer.drain())
    assert len(of_type(events, "response.function_call_arguments.delta")) == 1  # the one at announce
    (call,) = done_items(events)
    assert call["arguments"] == '{"cmd":"ls"}'
    assert events[-1]["type"] == "response.completed" and events[-1]["response"]["output"] == [call]


def test_a_full_context_window_fails_the_turn_so_codex_stops_retrying() -> None:
    events = translate([
        ev("message_start", message={"id": "m", "type": "message", "role": "assistant", "content": [], "model": "c",
                                     "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 0}}),
        ev("message_delta", delta={"stop_reason": "model_context_window_exceeded", "stop_sequence": None}, usage={"output_tokens": 0}),
        ev("message_stop"),
    ])
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"]["code"] == "context_length_exceeded"
