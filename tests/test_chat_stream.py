"""Chat Completions streams through chat.build(...).new_translator() into Responses events.

Every emitted event is parsed back, validated against the openai SDK's pydantic
`ResponseStreamEvent` union and checked against the Responses event grammar
(tests/responses_grammar.py).
"""

from __future__ import annotations

import copy
import json
from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shim import carrier
from shim.config import ModelRoute
from shim.providers import chat
from tests.fakes.chat_upstream import USAGE, chunk, sse
from tests.responses_grammar import EVENT_MODELS, decode, done_items, normalise, parse_checked, types

ROUTE = ModelRoute(model="byok-model", provider="generic-chat-completion-api", base_url="http://127.0.0.1:1/v1")

BODY: dict[str, Any] = {
    "model": "byok-model",
    "stream": True,
    "input": "hi",
    "tools": [
        {"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}},
        {
            "type": "namespace",
            "name": "multi_agent_v1",
            "description": "sub-agents",
            "tools": [{"type": "function", "name": "spawn_agent", "parameters": {"type": "object", "properties": {}}}],
        },
        {
            "type": "custom",
            "name": "apply_patch",
            "description": "Apply a patch.",
            "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
        },
        {"type": "web_search", "external_web_access": False},
    ],
    "tool_choice": "auto",
    "parallel_tool_calls": True,
}


# -- helpers ---------------------------------------------------------------------------------


def translate(raw: bytes | list[bytes], body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Feed `raw` (whole or in pieces) through a fresh translator; the events, SDK- and grammar-checked."""
    up = chat.build(copy.deepcopy(body or BODY), ROUTE, "sk-test")
    translator = up.new_translator()
    pieces = [raw] if isinstance(raw, bytes) else raw
    return parse_checked(b"".join(translator.feed(piece) for piece in pieces if piece) + translator.feed(b""))


def call_start(index: int | None, call_id: str | None, name: str | None, arguments: str = "") -> dict[str, Any]:
    call: dict[str, Any] = {"type": "function", "function": {"arguments": arguments}}
    if index is not None:
        call["index"] = index
    if call_id is not None:
        call["id"] = call_id
    if name is not None:
        call["function"]["name"] = name
    return chunk({"tool_calls": [call]})


def args(index: int | None, arguments: str, call_id: str | None = None) -> dict[str, Any]:
    return call_start(index, call_id, None, arguments)


# -- recorded streams -------------------------------------------------------------------------

TEXT_STREAM = sse(
    [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo — wörld ✓"}),
        chunk(finish="stop"),
        chunk(usage=USAGE),
    ]
)

REASONING_STREAM = sse(
    [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "Thinking "}),
        chunk({"reasoning_content": "about it… ✓"}),
        chunk({"content": "Answer."}),
        chunk(finish="stop"),
        chunk(usage=USAGE),
    ]
)

TOOLS_STREAM = sse(
    [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "Let me run two commands — ✓ 😀"}),
        chunk({"content": "Running both: "}),
        call_start(0, "call_A", "exec_command"),
        call_start(1, "call_B", "multi_agent_v1__spawn_agent"),
        args(0, '{"cmd":'),
        args(1, '{"message":'),
        args(0, '"echo é"}'),
        args(1, '"go 😀"}'),
        chunk(finish="tool_calls"),
        chunk(usage=USAGE),
    ]
)


# -- text ---------------------------------------------------------------------------------------


def test_text_stream_full_event_grammar():
    assert types(translate(TEXT_STREAM)) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]


def test_text_deltas_concatenate_into_the_message():
    events = translate(TEXT_STREAM)
    (message,) = done_items(events)
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["content"][0]["text"] == "Hello — wörld ✓"


def test_sequence_numbers_count_from_zero():
    events = translate(TEXT_STREAM)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))


def test_completed_carries_usage_with_cached_and_reasoning_tokens():
    usage = translate(TEXT_STREAM)[-1]["response"]["usage"]
    assert usage["input_tokens"] == 1200
    assert usage["output_tokens"] == 34
    assert usage["total_tokens"] == 1234
    assert usage["input_tokens_details"]["cached_tokens"] == 1000
    assert usage["output_tokens_details"]["reasoning_tokens"] == 7


def test_deepseek_prompt_cache_hit_tokens_count_as_cached():
    usage = {"prompt_tokens": 50, "completion_tokens": 5, "prompt_cache_hit_tokens": 40}
    events = translate(sse([chunk({"content": "x"}), chunk(finish="stop"), chunk(usage=usage)]))
    assert events[-1]["response"]["usage"]["input_tokens_details"]["cached_tokens"] == 40


def test_response_model_is_the_requested_slug():
    events = translate(TEXT_STREAM)
    assert events[0]["response"]["model"] == "byok-model"
    assert events[-1]["response"]["model"] == "byok-model"


def test_usage_has_every_field_the_sdk_requires():
    up = chat.build(copy.deepcopy(BODY), ROUTE, None)
    translator = up.new_translator()
    out = translator.feed(TEXT_STREAM) + translator.feed(b"")
    completed = json.loads(decode(out)[-1][1])
    assert completed["type"] == "response.completed"
    EVENT_MODELS["response.completed"].model_validate(completed)  # no fill-in of the missing field


# -- reasoning --------------------------------------------------------------------------------


def test_reasoning_content_becomes_a_reasoning_item_before_the_message():
    events = translate(REASONING_STREAM)
    reasoning, message = done_items(events)
    assert reasoning["type"] == "reasoning"
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Thinking about it… ✓"}]
    assert message["content"][0]["text"] == "Answer."
    assert [e["type"] for e in events if "reasoning_summary" in e["type"]] == [
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
    ]
    assert all(e["summary_index"] == 0 for e in events if "reasoning_summary" in e["type"])


def test_reasoning_encrypted_content_round_trips_through_the_chat_carrier():
    reasoning = done_items(translate(REASONING_STREAM))[0]
    assert carrier.unwrap("chat", reasoning["encrypted_content"]) == {"reasoning_content": "Thinking about it… ✓", "model": "byok-model"}


def test_reasoning_only_answer_carries_its_text_at_the_finish():
    events = translate(sse([chunk({"reasoning_content": "only "}), chunk({"reasoning_content": "thought"}), chunk(finish="stop")]))
    (reasoning,) = done_items(events)
    assert carrier.unwrap("chat", reasoning["encrypted_content"]) == {"reasoning_content": "only thought", "model": "byok-model"}


def test_reasoning_before_a_tool_call_is_carried_on_its_own_item():
    events = translate(sse([chunk({"reasoning_content": "run it"}), call_start(0, "call_A", "exec_command", "{}"), chunk(finish="tool_calls")]))
    reasoning, call = done_items(events)
    assert carrier.unwrap("chat", reasoning["encrypted_content"]) == {"reasoning_content": "run it", "model": "byok-model"}
    assert call["call_id"] == "call_A"


def test_reasoning_resumed_after_text_is_a_second_item_carrying_only_its_own_text():
    events = translate(sse([
        chunk({"reasoning_content": "first"}),
        chunk({"content": "Answer."}),
        chunk({"reasoning_content": "second"}),
        chunk(finish="stop"),
    ]))
    first, message, second = done_items(events)
    assert [r["summary"][0]["text"] for r in (first, second)] == ["first", "second"]
    assert carrier.unwrap("chat", first["encrypted_content"]) == {"reasoning_content": "first", "model": "byok-model"}
    assert carrier.unwrap("chat", second["encrypted_content"]) == {"reasoning_content": "second", "model": "byok-model"}
    assert message["content"][0]["text"] == "Answer."


def test_openrouter_style_reasoning_field_is_reasoning_too():
    events = translate(sse([chunk({"reasoning": "hmm"}), chunk({"content": "ok"}), chunk(finish="stop")]))
    assert [item["type"] for item in done_items(events)] == ["reasoning", "message"]


def test_reasoning_closes_before_text_opens():
    kinds = types(translate(REASONING_STREAM))
    assert kinds.index("response.reasoning_summary_part.done") < kinds.index("response.content_part.added")


# -- tool calls -------------------------------------------------------------------------------


def test_parallel_tool_calls_keep_their_call_ids():
    items = done_items(translate(TOOLS_STREAM))
    calls = [item for item in items if item["type"] == "function_call"]
    assert [(c["call_id"], c["name"]) for c in calls] == [("call_A", "exec_command"), ("call_B", "spawn_agent")]


def test_interleaved_argument_deltas_stay_with_their_call():
    events = translate(TOOLS_STREAM)
    calls = {item["call_id"]: item for item in done_items(events) if item["type"] == "function_call"}
    assert json.loads(calls["call_A"]["arguments"]) == {"cmd": "echo é"}
    assert json.loads(calls["call_B"]["arguments"]) == {"message": "go 😀"}
    by_item: dict[str, str] = {}
    for e in events:
        if e["type"] == "response.function_call_arguments.delta":
            by_item[e["item_id"]] = by_item.get(e["item_id"], "") + e["delta"]
    assert {calls[c]["id"]: calls[c]["arguments"] for c in calls} == by_item


def test_tool_stream_output_indexes_follow_item_order():
    events = translate(TOOLS_STREAM)
    added = [(e["output_index"], e["item"]["type"]) for e in events if e["type"] == "response.output_item.added"]
    assert added == [(0, "reasoning"), (1, "message"), (2, "function_call"), (3, "function_call")]
    assert [item["type"] for item in events[-1]["response"]["output"]] == [
        "reasoning",
        "message",
        "function_call",
        "function_call",
    ]


def test_namespaced_tool_name_maps_back_to_name_and_namespace():
    calls = [item for item in done_items(translate(TOOLS_STREAM)) if item["type"] == "function_call"]
    assert calls[1]["name"] == "spawn_agent"
    assert calls[1]["namespace"] == "multi_agent_v1"
    assert "namespace" not in calls[0]


def test_namespaced_tool_announced_with_its_namespace():
    events = translate(TOOLS_STREAM)
    added = [e["item"] for e in events if e["type"] == "response.output_item.added" and e["item"]["type"] == "function_call"]
    assert (added[1]["name"], added[1].get("namespace")) == ("spawn_agent", "multi_agent_v1")


def test_arguments_done_names_the_codex_tool():
    events = translate(TOOLS_STREAM)
    done = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert [e["name"] for e in done] == ["exec_command", "spawn_agent"]


def test_tool_calls_without_index_are_told_apart_by_id():
    stream = sse(
        [
            call_start(None, "call_1", "exec_command", '{"cmd":'),
            args(None, '"ls"}'),
            call_start(None, "call_2", "exec_command", '{"cmd":"pwd"}'),
            chunk(finish="tool_calls"),
        ]
    )
    calls = done_items(translate(stream))
    assert [(c["call_id"], json.loads(c["arguments"])) for c in calls] == [
        ("call_1", {"cmd": "ls"}),
        ("call_2", {"cmd": "pwd"}),
    ]


def test_tool_call_id_arriving_late_with_index_is_kept():
    stream = sse(
        [
            call_start(0, None, "exec_command", '{"cmd":'),
            args(0, '"ls"}', call_id="call_late"),
            chunk(finish="tool_calls"),
        ]
    )
    (call,) = done_items(translate(stream))
    assert call["call_id"] == "call_late"
    assert json.loads(call["arguments"]) == {"cmd": "ls"}


def test_tool_call_name_arriving_after_arguments_announces_with_buffered_arguments():
    stream = sse(
        [
            call_start(0, "call_1", None, '{"cmd":'),
            call_start(0, None, "exec_command", '"ls"}'),
            chunk(finish="tool_calls"),
        ]
    )
    events = translate(stream)
    (call,) = done_items(events)
    assert (call["name"], call["arguments"]) == ("exec_command", '{"cmd":"ls"}')


def test_tool_call_without_index_whose_id_arrives_late_is_one_call():
    stream = sse(
        [
            call_start(None, None, "exec_command", '{"cmd":'),
            args(None, '"ls"}', call_id="call_late"),
            chunk(finish="tool_calls"),
        ]
    )
    events = translate(stream)
    assert events[-1]["type"] == "response.completed"
    (call,) = done_items(events)
    assert (call["call_id"], call["arguments"]) == ("call_late", '{"cmd":"ls"}')


def test_completed_output_is_ordered_by_output_index_when_text_follows_a_tool_call():
    stream = sse([call_start(0, "c", "exec_command", "{}"), chunk({"content": "after"}), chunk(finish="tool_calls")])
    events = translate(stream)
    output = events[-1]["response"]["output"]
    added = [e["item"]["id"] for e in events if e["type"] == "response.output_item.added"]
    assert [item["id"] for item in output] == added


def test_tool_call_without_any_id_gets_a_generated_call_id():
    stream = sse([call_start(0, None, "exec_command", "{}"), chunk(finish="tool_calls")])
    (call,) = done_items(translate(stream))
    assert call["call_id"].startswith("call_")


def test_tool_call_without_arguments_gets_empty_object():
    stream = sse([call_start(0, "c", "exec_command"), chunk(finish="tool_calls")])
    (call,) = done_items(translate(stream))
    assert call["arguments"] == "{}"


def test_tool_call_never_named_fails_the_response():
    stream = sse([call_start(0, "c", None, "{}"), chunk(finish="tool_calls")])
    last = translate(stream)[-1]
    assert last["type"] == "response.failed"
    assert last["response"]["error"]["code"] == "upstream_protocol_error"


def test_custom_tool_called_through_its_function_wrapper_is_a_custom_tool_call():
    patch = "*** Begin Patch\n*** Add File: a.txt\n+é\n*** End Patch"
    wrapped = json.dumps({"input": patch})
    stream = sse(
        [
            call_start(0, "call_P", "apply_patch", wrapped[:10]),
            args(0, wrapped[10:]),
            chunk(finish="tool_calls"),
        ]
    )
    events = translate(stream)
    (item,) = done_items(events)
    assert item == {
        "id": item["id"],
        "type": "custom_tool_call",
        "status": "completed",
        "call_id": "call_P",
        "name": "apply_patch",
        "input": patch,
    }
    (input_done,) = [e for e in events if e["type"] == "response.custom_tool_call_input.done"]
    assert input_done["input"] == patch
    assert not [e for e in events if e["type"] == "response.function_call_arguments.done"]


def test_custom_tool_call_never_streams_function_argument_deltas():
    stream = sse(
        [
            call_start(0, "call_P", "apply_patch", '{"input":'),
            args(0, '"*** Begin Patch"}'),
            chunk(finish="tool_calls"),
        ]
    )
    events = translate(stream)
    assert not [e for e in events if e["type"] == "response.function_call_arguments.delta"]


def test_custom_tool_input_that_is_not_the_json_wrapper_is_passed_raw():
    stream = sse([call_start(0, "c", "apply_patch", "*** Begin Patch"), chunk(finish="tool_calls")])
    (item,) = done_items(translate(stream))
    assert item["input"] == "*** Begin Patch"


def test_unknown_tool_name_comes_back_unchanged():
    stream = sse([call_start(0, "c", "not_declared", "{}"), chunk(finish="tool_calls")])
    (item,) = done_items(translate(stream))
    assert (item["type"], item["name"]) == ("function_call", "not_declared")


def test_parallel_tool_calls_false_is_reported_on_the_response():
    body = {**BODY, "parallel_tool_calls": False}
    events = translate(TEXT_STREAM, body)
    assert events[0]["response"]["parallel_tool_calls"] is False


# -- endings ----------------------------------------------------------------------------------


def test_finish_reason_length_is_response_incomplete():
    events = translate(sse([chunk({"content": "trunc"}), chunk(finish="length"), chunk(usage=USAGE)]))
    last = events[-1]
    assert last["type"] == "response.incomplete"
    assert last["response"]["status"] == "incomplete"
    assert last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert last["response"]["usage"]["output_tokens"] == 34


def test_finish_reason_content_filter_is_response_incomplete():
    last = translate(sse([chunk({"content": "x"}), chunk(finish="content_filter")]))[-1]
    assert last["type"] == "response.incomplete"
    assert last["response"]["incomplete_details"] == {"reason": "content_filter"}


def test_stream_cut_without_finish_reason_or_done_fails():
    events = translate(sse([chunk({"content": "half an ans"})], done=False))
    kinds = types(events)
    assert kinds[-1] == "response.failed"
    assert "response.completed" not in kinds
    assert events[-1]["response"]["error"]["code"] == "stream_truncated"


def test_stream_cut_mid_tool_call_fails():
    events = translate(sse([call_start(0, "c", "exec_command", '{"cmd":')], done=False))
    assert types(events)[-1] == "response.failed"


def test_empty_upstream_body_fails():
    events = translate([b""])
    assert types(events) == ["response.created", "response.in_progress", "response.failed"]


def test_finish_reason_without_done_still_completes():
    events = translate(sse([chunk({"content": "ok"}), chunk(finish="stop")], done=False))
    assert types(events)[-1] == "response.completed"


def test_done_without_finish_reason_completes():
    events = translate(sse([chunk({"content": "ok"})], done=True))
    assert types(events)[-1] == "response.completed"


def test_error_chunk_mid_stream_fails_with_the_providers_message():
    stream = sse(
        [
            chunk({"content": "partial"}),
            {"error": {"message": "Rate limit reached for requests", "code": "rate_limit_exceeded"}},
            chunk({"content": "never shown"}),
        ]
    )
    events = translate(stream)
    last = events[-1]
    assert last["type"] == "response.failed"
    assert last["response"]["status"] == "failed"
    assert last["response"]["error"]["code"] == "rate_limit_exceeded"
    assert "Rate limit reached for requests" in last["response"]["error"]["message"]
    assert "never shown" not in json.dumps(events)


def test_error_chunk_with_plain_string_fails():
    last = translate(sse([{"error": "upstream exploded"}]))[-1]
    assert last["type"] == "response.failed"
    assert "upstream exploded" in last["response"]["error"]["message"]


def test_undecodable_chunk_fails_instead_of_raising():
    last = translate(b"data: {not json\n\n")[-1]
    assert last["type"] == "response.failed"
    assert last["response"]["error"]["code"] == "upstream_protocol_error"


def test_keepalive_comments_and_other_choices_are_ignored():
    other = chunk({"content": "choice one"})
    other["choices"][0]["index"] = 1
    stream = b": OPENROUTER PROCESSING\n\n" + sse([other, chunk({"content": "mine"}), chunk(finish="stop")])
    (message,) = done_items(translate(stream))
    assert message["content"][0]["text"] == "mine"


# -- non-streaming answers --------------------------------------------------------------------


def convert(answer: dict[str, Any], body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    up = chat.build(copy.deepcopy(body or BODY), ROUTE, None)
    return parse_checked(up.new_translator().feed_answer(answer))


def test_json_chat_completion_converts_to_a_completed_stream():
    answer = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "reasoning_content": "think",
                    "content": "Here — ✓",
                    "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "exec_command", "arguments": '{"cmd":"ls"}'}},
                        {"id": "call_2", "type": "function", "function": {"name": "multi_agent_v1__spawn_agent", "arguments": "{}"}},
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": USAGE,
    }
    events = convert(answer)
    assert events[-1]["type"] == "response.completed"
    items = done_items(events)
    assert [i["type"] for i in items] == ["reasoning", "message", "function_call", "function_call"]
    assert items[1]["content"][0]["text"] == "Here — ✓"
    assert [(i["call_id"], i["name"], i.get("namespace")) for i in items[2:]] == [
        ("call_1", "exec_command", None),
        ("call_2", "spawn_agent", "multi_agent_v1"),
    ]
    assert events[-1]["response"]["usage"]["input_tokens"] == 1200


def test_json_error_answer_converts_to_failed():
    events = convert({"error": {"message": "bad key", "code": "invalid_api_key"}})
    assert events[-1]["type"] == "response.failed"
    assert events[-1]["response"]["error"]["code"] == "invalid_api_key"


# -- chunking never matters -------------------------------------------------------------------

CHUNKING_STREAM = b": keep-alive\r\n\r\n" + sse(
    [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "Let me run two commands — ✓ 😀"}),
        chunk({"content": "Running both: "}),
        call_start(0, "call_A", "exec_command"),
        call_start(1, "call_B", "multi_agent_v1__spawn_agent"),
        args(0, '{"cmd":'),
        args(1, '{"message":'),
        args(0, '"echo é"}'),
        args(1, '"go 😀"}'),
        call_start(2, "call_C", "apply_patch", json.dumps({"input": "*** Begin Patch\n+é — ✓"}, ensure_ascii=False)),
        chunk(finish="tool_calls"),
        chunk(usage=USAGE),
    ]
)


def _split(raw: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(set(cuts)), len(raw)]
    return [raw[a:b] for a, b in pairwise(bounds)]


def test_chunking_stream_is_rich_enough():
    kinds = [item["type"] for item in done_items(translate(CHUNKING_STREAM))]
    assert kinds == ["reasoning", "message", "function_call", "function_call", "custom_tool_call"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(CHUNKING_STREAM)), max_size=60))
def test_random_chunking_never_changes_the_events(cuts):
    whole = normalise(translate(CHUNKING_STREAM))
    assert normalise(translate(_split(CHUNKING_STREAM, cuts))) == whole


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(CHUNKING_STREAM)), max_size=60))
def test_random_chunking_with_crlf_never_changes_the_events(cuts):
    crlf = CHUNKING_STREAM.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    whole = normalise(translate(CHUNKING_STREAM))
    assert normalise(translate(_split(crlf, cuts))) == whole


def test_every_byte_alone_gives_the_same_events():
    whole = normalise(translate(CHUNKING_STREAM))
    assert normalise(translate([CHUNKING_STREAM[i : i + 1] for i in range(len(CHUNKING_STREAM))])) == whole


def test_parallel_calls_that_all_say_index_0_but_bring_their_own_ids_stay_apart() -> None:
    # Gemini's OpenAI-compatible endpoint streams parallel calls like this.
    raw = sse([
        chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "exec_command", "arguments": '{"cmd":'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"ls"}'}}]}),
        chunk({"tool_calls": [{"index": 0, "id": "call_b", "type": "function", "function": {"name": "exec_command", "arguments": '{"cmd":"pwd"}'}}]}),
        chunk(finish="tool_calls"),
    ])
    calls = [e["item"] for e in translate(raw) if e["type"] == "response.output_item.done"]
    assert [(c["call_id"], c["arguments"]) for c in calls] == [("call_a", '{"cmd":"ls"}'), ("call_b", '{"cmd":"pwd"}')]


def test_index_0_parallel_calls_keep_their_split_arguments_apart() -> None:
    raw = sse([
        chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "exec_command", "arguments": '{"cmd":'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"ls"}'}}]}),
        chunk({"tool_calls": [{"index": 0, "id": "call_b", "type": "function", "function": {"name": "exec_command", "arguments": '{"cmd":'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"pwd"}'}}]}),
        chunk(finish="tool_calls"),
    ])
    calls = [e["item"] for e in translate(raw) if e["type"] == "response.output_item.done"]
    assert [(c["call_id"], c["arguments"]) for c in calls] == [("call_a", '{"cmd":"ls"}'), ("call_b", '{"cmd":"pwd"}')]
