"""What real providers do that the first fakes did not: stopping inside a tool call, reasoning
in every format (and what must go back), usage conventions, blocks and deltas we did not ask for."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from shim import carrier
from shim.config import ModelRoute
from shim.providers import anthropic, chat
from shim.providers.chat import usage_counts
from tests.fakes.chat_upstream import chunk, sse
from tests.responses_grammar import done_items, of_type, parse_checked

CHAT = ModelRoute(model="or-model", provider="generic-chat-completion-api", base_url="http://127.0.0.1:1/v1")
OTHER_CHAT = ModelRoute(model="other-model", provider="generic-chat-completion-api", base_url="http://127.0.0.1:2/v1")
CLAUDE = ModelRoute(model="claude-slug", provider="anthropic", base_url="http://127.0.0.1:1/v1")
BODY: dict[str, Any] = {"model": "or-model", "input": "hi", "tools": [{"type": "function", "name": "exec_command", "parameters": {"type": "object"}}]}


def chat_events(raw: bytes) -> list[dict[str, Any]]:
    translator = chat.build(dict(BODY), CHAT, "k").new_translator()
    return parse_checked(translator.feed(raw) + translator.feed(b""))


def anthropic_events(*events: dict[str, Any]) -> list[dict[str, Any]]:
    raw = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)
    translator = anthropic.build({**BODY, "model": "claude-slug"}, CLAUDE, "k").new_translator()
    return parse_checked(translator.feed(raw) + translator.feed(b""))


def call(index: int, call_id: str | None, name: str | None, arguments: str) -> dict[str, Any]:
    function: dict[str, Any] = {"arguments": arguments}
    if name:
        function["name"] = name
    entry: dict[str, Any] = {"index": index, "function": function}
    if call_id:
        entry["id"] = call_id
    return chunk({"tool_calls": [entry]})


# -- stopping for the output limit inside a tool call ---------------------------------------------


def test_anthropic_max_tokens_inside_a_tool_call_keeps_the_text_and_drops_the_call() -> None:
    events = anthropic_events(
        {"type": "message_start", "message": {"usage": {"input_tokens": 10, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Let me look."}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "exec_command", "input": {}}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"cmd": "ls -'}},
        {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 50}},
        {"type": "message_stop"},
    )
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert [item["type"] for item in done_items(events)] == ["message"]
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "Let me look."


def test_anthropic_max_tokens_after_the_tool_block_was_stopped_still_drops_the_half_call() -> None:
    # Real streams stop the block before message_delta (tests/fixtures/anthropic/max_tokens.sse)
    events = anthropic_events(
        {"type": "message_start", "message": {"usage": {"input_tokens": 10, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "exec_command", "input": {}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"cmd": "ls -'}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 50}},
        {"type": "message_stop"},
    )
    assert events[-1]["type"] == "response.incomplete"
    assert done_items(events) == []


def test_chat_length_inside_the_second_parallel_call_keeps_the_first_whole_call() -> None:
    events = chat_events(sse([
        call(0, "call_a", "exec_command", '{"cmd": "ls"}'),
        call(1, "call_b", "exec_command", '{"cmd": "cat READ'),
        chunk(finish="length"),
    ]))
    assert events[-1]["type"] == "response.incomplete"
    (kept,) = done_items(events)
    assert kept["call_id"] == "call_a" and json.loads(kept["arguments"]) == {"cmd": "ls"}
    assert events[-1]["response"]["output"] == [kept]


def test_chat_length_before_the_calls_name_arrived_is_incomplete_not_failed() -> None:
    events = chat_events(sse([chunk({"content": "Sure."}), call(0, "call_a", None, '{"cm'), chunk(finish="length")]))
    assert events[-1]["type"] == "response.incomplete"
    assert [item["type"] for item in done_items(events)] == ["message"]


def test_a_whole_call_at_a_normal_stop_is_never_dropped_even_with_odd_arguments() -> None:
    events = chat_events(sse([call(0, "call_a", "exec_command", "not json"), chunk(finish="tool_calls")]))
    assert events[-1]["type"] == "response.completed"
    assert done_items(events)[0]["arguments"] == "not json"  # Codex tells the model; nothing is hidden


# -- reasoning in every format --------------------------------------------------------------------


OPENROUTER_REASONING = [
    chunk({"reasoning": "Think", "reasoning_details": [{"type": "reasoning.text", "text": "Think", "index": 0, "format": "anthropic-claude-v1"}]}),
    chunk({"reasoning": "ing.", "reasoning_details": [{"type": "reasoning.text", "text": "ing.", "index": 0}]}),
    chunk({"reasoning_details": [{"type": "reasoning.text", "signature": "sig-123", "index": 0}]}),
    chunk({"reasoning_details": [{"type": "reasoning.encrypted", "data": "gAAAA-opaque", "index": 1, "id": "rs_1"}]}),
    call(0, "call_a", "exec_command", '{"cmd": "ls"}'),
    chunk(finish="tool_calls"),
]


def test_openrouter_reasoning_details_are_shown_once_and_carried_whole() -> None:
    events = chat_events(sse(OPENROUTER_REASONING))
    reasoning = "".join(e["delta"] for e in of_type(events, "response.reasoning_summary_text.delta"))
    assert reasoning == "Thinking."
    item = done_items(events)[0]
    payload = carrier.unwrap("chat", item["encrypted_content"])
    assert payload == {
        "reasoning_content": "Thinking.",
        "reasoning_details": [
            {"type": "reasoning.text", "text": "Thinking.", "index": 0, "format": "anthropic-claude-v1", "signature": "sig-123"},
            {"type": "reasoning.encrypted", "data": "gAAAA-opaque", "index": 1, "id": "rs_1"},
        ],
        "model": "or-model",
    }


def test_a_signature_that_comes_after_an_empty_one_is_kept() -> None:
    events = chat_events(sse([
        chunk({"reasoning": "Hm.", "reasoning_details": [{"type": "reasoning.text", "text": "Hm.", "signature": "", "index": 0}]}),
        chunk({"reasoning_details": [{"type": "reasoning.text", "text": "", "signature": "EqQBCkYI-real", "index": 0}]}),
        chunk({"content": "ok"}), chunk(finish="stop"),
    ]))
    payload = carrier.unwrap("chat", done_items(events)[0]["encrypted_content"])
    assert payload is not None and payload["reasoning_details"][0]["signature"] == "EqQBCkYI-real"


def test_reasoning_details_without_a_plain_string_are_still_shown() -> None:
    events = chat_events(sse([
        chunk({"reasoning_details": [{"type": "reasoning.summary", "summary": "Plan: list files.", "index": 0}]}),
        chunk({"content": "ok"}), chunk(finish="stop"),
    ]))
    assert "".join(e["delta"] for e in of_type(events, "response.reasoning_summary_text.delta")) == "Plan: list files."


def replayed_request(route: ModelRoute) -> dict[str, Any]:
    items = done_items(chat_events(sse(OPENROUTER_REASONING)))
    history = [{"type": "message", "role": "user", "content": "hi"}, *items,
               {"type": "function_call_output", "call_id": "call_a", "output": "a b"}]
    return chat.build({"model": route.model, "input": history}, route, "k").body


def test_reasoning_details_go_back_to_the_route_that_made_them() -> None:
    assistant = replayed_request(CHAT)["messages"][1]
    assert assistant["role"] == "assistant" and assistant["tool_calls"][0]["id"] == "call_a"
    assert [d["type"] for d in assistant["reasoning_details"]] == ["reasoning.text", "reasoning.encrypted"]
    assert assistant["reasoning_details"][1]["data"] == "gAAAA-opaque"


def test_reasoning_of_one_route_never_reaches_another() -> None:
    assistant = replayed_request(OTHER_CHAT)["messages"][1]
    assert "reasoning_details" not in assistant and "reasoning_content" not in assistant


def test_mistral_thinking_parts_are_reasoning_and_text_parts_are_text() -> None:
    events = chat_events(sse([
        chunk({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "2+2 "}]}]}),
        chunk({"content": [{"type": "thinking", "thinking": [{"type": "text", "text": "is 4"}], "closed": True}, {"type": "text", "text": "4"}]}),
        chunk(finish="stop"),
    ]))
    assert "".join(e["delta"] for e in of_type(events, "response.reasoning_summary_text.delta")) == "2+2 is 4"
    assert "".join(e["delta"] for e in of_type(events, "response.output_text.delta")) == "4"


# -- usage ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        # OpenAI, DeepSeek: completion includes reasoning; total = prompt + completion
        ({"prompt_tokens": 10, "completion_tokens": 30, "total_tokens": 40, "completion_tokens_details": {"reasoning_tokens": 20}}, (10, 30, 20)),
        # xAI, Gemini: completion leaves reasoning out, total counts it
        ({"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 303, "completion_tokens_details": {"reasoning_tokens": 290}}, (12, 291, 290)),
        # a provider reporting more reasoning than output: never more than the output
        ({"prompt_tokens": 43, "completion_tokens": 10, "total_tokens": 53, "completion_tokens_details": {"reasoning_tokens": 11}}, (43, 10, 10)),
        # no total at all
        ({"prompt_tokens": 5, "completion_tokens": 2}, (5, 2, None)),
    ],
)
def test_usage_is_counted_the_way_codex_counts_it(usage: dict[str, Any], expected: tuple[int, int, int | None]) -> None:
    counts = usage_counts(usage)
    assert (counts["input_tokens"], counts["output_tokens"], counts["reasoning_tokens"]) == expected


# -- what we did not ask for ------------------------------------------------------------------------


def test_an_unasked_server_tool_block_is_skipped_with_a_log_line_and_the_client_call_survives(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="codex_shim"):
        events = anthropic_events(
            {"type": "message_start", "message": {"usage": {"input_tokens": 10}}},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "server_tool_use", "id": "srvtoolu_1",
                "name": "web_fetch", "input": {}}},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"url": "x"}'}},
            {"type": "content_block_stop", "index": 0},
            {"type": "content_block_start", "index": 1, "content_block": {"type": "web_fetch_tool_result", "tool_use_id": "srvtoolu_1",
                "content": []}},
            {"type": "content_block_stop", "index": 1},
            {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_2", "name": "exec_command", "input": {}}},
            {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"cmd": "ls"}'}},
            {"type": "content_block_stop", "index": 2},
            {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
            {"type": "message_stop"},
        )
    assert events[-1]["type"] == "response.completed"
    (client_call,) = done_items(events)
    assert client_call["call_id"] == "toolu_2" and client_call["arguments"] == '{"cmd": "ls"}'
    assert "server_tool_use" in caplog.text and "web_fetch_tool_result" in caplog.text


def test_a_refusal_reaches_codex_as_the_answer() -> None:
    events = chat_events(sse([chunk({"refusal": "I can't help with that."}), chunk(finish="stop")]))
    assert "".join(e["delta"] for e in of_type(events, "response.output_text.delta")) == "I can't help with that."


def test_choices_other_than_the_first_are_left_out_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    second = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
              "choices": [{"index": 1, "delta": {"content": "other"}, "finish_reason": None}]}
    with caplog.at_level(logging.INFO, logger="codex_shim"):
        events = chat_events(sse([chunk({"content": "first"}), second, second, chunk(finish="stop")]))
    assert "".join(e["delta"] for e in of_type(events, "response.output_text.delta")) == "first"
    assert caplog.text.count("more than one choice") == 1
