"""Remote compaction for BYOK routes: the trigger becomes a summary request, the summary a
compaction item, and that item a message again on later requests."""

from __future__ import annotations

import json
from typing import Any

from shim import carrier, compaction
from shim.answers import compacted_response
from shim.config import ModelRoute
from shim.event_sinks import WholeAnswerSink
from shim.providers import chat
from shim.responses_stream import ResponseStream
from tests.fakes.chat_upstream import USAGE, chunk, sse
from tests.responses_grammar import check_one_terminal_last, parse_checked, types

ROUTE = ModelRoute(model="byok", provider="generic-chat-completion-api", base_url="http://127.0.0.1:1/v1")


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def events(data: bytes) -> list[dict[str, Any]]:
    """The compaction translator's output, SDK- and grammar-checked like every translator's."""
    return parse_checked(data, compaction=True)


def test_a_trigger_becomes_a_request_for_a_summary_without_tool_calls() -> None:
    body = {"model": "byok", "tools": [{"type": "function", "name": "exec_command", "parameters": {}}],
            "input": [user("fix the bug"), {"type": "compaction_trigger"}]}
    assert compaction.is_compaction_request(body)
    prepared = compaction.prepare_request(body, compacting=True)
    request = chat.map_request(prepared, ROUTE, chat.ToolNames())
    assert request["messages"][-1] == {"role": "user", "content": compaction.SUMMARY_PROMPT}
    assert request["tool_choice"] == "none"
    assert "compaction_trigger" not in json.dumps(request)


def test_the_summary_stream_becomes_one_compaction_item() -> None:
    body = {"model": "byok", "input": [user("hi"), {"type": "compaction_trigger"}]}
    upstream = chat.build(compaction.prepare_request(body, True), ROUTE, None)
    translator = compaction.wrap(upstream).new_translator()
    stream = sse([chunk({"reasoning_content": "hmm"}), chunk({"content": "The user "}), chunk({"content": "said hi."}),
                  chunk(finish="stop"), chunk(usage=USAGE)])
    out = b"".join(translator.feed(stream[i : i + 5]) for i in range(0, len(stream), 5)) + translator.feed(b"")
    seen = events(out)
    assert [e["type"] for e in seen] == ["response.created", "response.in_progress", "response.output_item.added",
                                         "response.output_item.done", "response.completed"]
    item = seen[3]["item"]
    assert item["type"] == "compaction"
    assert carrier.unwrap("compaction", item["encrypted_content"]) == {"summary": "The user said hi."}
    assert seen[-1]["response"]["usage"]["total_tokens"] == 1234
    numbers = [e["sequence_number"] for e in seen]
    assert numbers == sorted(set(numbers))


def test_our_compaction_items_are_expanded_and_foreign_ones_dropped() -> None:
    ours = compaction.compaction_item("Earlier: we fixed the parser.")
    foreign = {"type": "compaction", "encrypted_content": "gAAAAB-openai-encrypted"}
    body = {"model": "byok", "input": [foreign, ours, user("continue")]}
    request = chat.map_request(compaction.prepare_request(body, compacting=False), ROUTE, chat.ToolNames())
    texts = [m["content"] for m in request["messages"]]
    assert texts == [compaction.SUMMARY_HEADER + "Earlier: we fixed the parser.", "continue"]


def test_the_legacy_compact_answer_is_the_sdks_compacted_response() -> None:
    from openai.types.responses.compacted_response import CompactedResponse

    item = compaction.compaction_item("summary")
    completed = WholeAnswerSink()
    stream = ResponseStream("byok", sink=completed)
    stream.set_usage(input_tokens=120, output_tokens=30)
    stream.add_item(item)
    stream.complete()
    answer = compacted_response(completed.response())
    parsed = CompactedResponse.model_validate_json(answer.content or b"")
    assert answer.status_code == 200 and parsed.object == "response.compaction"
    assert parsed.id == stream.response_id and parsed.usage.total_tokens == 150
    assert [i.model_dump(exclude_none=True) for i in parsed.output] == [item] and item["id"].startswith("cmp_")
    failed = WholeAnswerSink()
    ResponseStream("byok", sink=failed).fail("x", "boom")
    answer = compacted_response(failed.response())
    assert answer.status_code == 502 and b"boom" in (answer.content or b"")


def test_an_empty_summary_fails_instead_of_wiping_the_conversation() -> None:
    body = {"model": "byok", "input": [user("hi"), {"type": "compaction_trigger"}]}
    upstream = chat.build(compaction.prepare_request(body, True), ROUTE, None)
    translator = compaction.wrap(upstream).new_translator()
    stream = sse([chunk({"reasoning_content": "thinking only"}), chunk({"content": "  "}), chunk(finish="stop"), chunk(usage=USAGE)])
    seen = events(translator.feed(stream) + translator.feed(b""))
    assert seen[-1]["type"] == "response.failed" and seen[-1]["response"]["error"]["code"] == "compaction_failed"
    assert not [e for e in seen if e["type"] == "response.output_item.done"]


def test_a_responses_upstream_that_sends_no_deltas_still_gives_its_summary() -> None:
    from shim.providers import responses

    route = ModelRoute(model="byok", provider="responses", base_url="http://127.0.0.1:1/v1")
    message = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "We fixed the parser."}]}
    answer = {"id": "r", "status": "completed", "output": [message],
              "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}}
    upstream = responses.build(compaction.prepare_request({"model": "byok", "input": [user("hi"), {"type": "compaction_trigger"}]}, True),
        route, None)
    seen = parse_checked(compaction.wrap(upstream).new_translator().feed_answer(answer), compaction=True)  # a non-streamed answer
    (item,) = [e["item"] for e in seen if e["type"] == "response.output_item.done"]
    assert carrier.unwrap("compaction", item["encrypted_content"]) == {"summary": "We fixed the parser."}


def test_strange_upstream_events_fail_the_compaction_instead_of_raising() -> None:
    from shim.providers import responses

    for bad in (b'data: {"type":"response.failed"}\n\n', b'data: {"type":"response.completed","response":null}\n\n',
                b'data: {"type":"response.created","response":{"id":"r"}}\n\n'
                b'data: {"type":"response.completed","sequence_number":"x","response":{}}\n\n'):
        route = ModelRoute(model="byok", provider="responses", base_url="http://127.0.0.1:1/v1")
        translator = compaction.wrap(responses.build({"model": "byok", "input": "hi"}, route, None)).new_translator()
        seen = parse_checked(translator.feed(bad) + translator.feed(b""), compaction=True)
        assert seen[-1]["type"] == "response.failed", bad
        check_one_terminal_last(types(seen))
