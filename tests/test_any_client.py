"""Responses clients that are not Codex, in the addon chain: JSON answers for calls that do not ask
for a stream, whole response objects, what needs stored state refused plainly, structured output
on Claude, files as the provider takes them."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from mitmproxy import http
from mitmproxy.proxy import layers
from openai.types.responses import Response

from shim.config import ModelRoute
from shim.corrections import correction_for
from shim.model_profile import ModelProfile
from shim.providers import anthropic, chat
from shim.providers.anthropic_format import requested
from shim.tool_names import ToolNames
from tests.addon_chain import ROUTES, addon_chain, responses_call, sse
from tests.fakes.anthropic_upstream import Validator, models_by_id
from tests.fakes.anthropic_upstream import event as anthropic_event
from tests.responses_grammar import OPEN_RESPONSES_FIELDS, done_items, parse, parse_checked

CHAT_USAGE = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}, "temp_c": {"type": "integer", "minimum": -90}},
          "required": ["city", "temp_c"], "additionalProperties": False}
TEXT_FORMAT = {"format": {"type": "json_schema", "name": "weather", "schema": SCHEMA, "strict": True}}


def chat_text(*pieces: str) -> bytes:
    chunks = [{"choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]} for p in pieces]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    chunks.append({"choices": [], "usage": CHAT_USAGE})
    return sse(*chunks) + b"data: [DONE]\n\n"


def sse_answer(body: bytes) -> http.Response:
    return http.Response.make(200, body, {"content-type": "text/event-stream"})


def test_a_call_without_stream_gets_one_response_object_echoing_its_settings(tmp_path: Path) -> None:
    request = {"model": "byok-chat", "input": "hi", "stream": False, "instructions": "Be brief.", "temperature": 0.2,
               "metadata": {"run": "7"}, "max_output_tokens": 500, "text": {"verbosity": "low"},
               "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object", "properties": {}}}]}
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call(request, path="/v1/responses", host="api.openai.com"))
        sent = json.loads(flow.request.content or b"")
        assert sent["stream"] is True  # the provider still streams; the caller gets the whole answer
        chain.answer(flow, sse_answer(chat_text("Hel", "lo ✓")))
    assert flow.response is not None and flow.response.headers["content-type"] == "application/json"
    answer = json.loads(flow.response.content or b"")
    parsed = Response.model_validate(answer)
    assert parsed.status == "completed" and parsed.output_text == "Hello ✓"
    assert OPEN_RESPONSES_FIELDS <= set(answer)
    assert (answer["instructions"], answer["temperature"], answer["metadata"], answer["max_output_tokens"]) == ("Be brief.", 0.2, {"run": "7"}, 500)
    assert answer["text"] == {"format": {"type": "text"}, "verbosity": "low"} and answer["tools"] == request["tools"]
    assert answer["store"] is False and answer["previous_response_id"] is None  # nothing is kept here
    assert isinstance(answer["completed_at"], int) and answer["usage"]["total_tokens"] == 15
    assert flow.metadata["codex_shim"]["output"] == "json"


def test_a_streamed_call_carries_the_same_whole_object_on_every_response_event(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-chat", "input": "hi", "instructions": "Be brief.", "top_p": 0.5}))
        chain.answer(flow, sse_answer(chat_text("ok")))
    events = parse_checked(flow.response.content or b"")  # every event SDK-valid, every response object whole
    carried = [e["response"] for e in events if "response" in e]
    assert [r["status"] for r in carried] == ["in_progress", "in_progress", "completed"]
    assert all(r["instructions"] == "Be brief." and r["top_p"] == 0.5 for r in carried)
    assert [r["usage"] is None for r in carried] == [True, True, False] and carried[0]["completed_at"] is None


def test_a_failed_call_without_stream_is_an_error_status_not_sse(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        limited = chain.request(responses_call({"model": "byok-chat", "input": "hi", "stream": False}))
        chain.answer(limited, http.Response.make(429, json.dumps({"error": {"message": "slow down"}}), {"retry-after": "3"}))
        cut = chain.request(responses_call({"model": "byok-chat", "input": "hi", "stream": False}))
        chain.answer(cut, sse_answer(sse({"choices": [{"index": 0, "delta": {"content": "half"}, "finish_reason": None}]})))
    assert limited.response is not None and limited.response.status_code == 429 and limited.response.headers["retry-after"] == "3"
    assert cut.response is not None and cut.response.status_code == 502
    assert json.loads(cut.response.content or b"")["error"]["code"] == "stream_truncated"


def test_previous_response_id_is_refused_plainly_and_nothing_is_sent(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-chat", "input": "go on", "previous_response_id": "resp_abc"}))
    assert flow.response is not None and flow.response.status_code == 400  # answered in the request hook
    error = json.loads(flow.response.content or b"")["error"]
    assert error["code"] == "previous_response_not_found" and "resp_abc" in error["message"]
    assert flow.request.pretty_host == "chatgpt.com"  # never rewritten to the provider


def test_an_item_reference_is_refused_plainly_on_every_route_shape(tmp_path: Path) -> None:
    routes = [*ROUTES, {"model": "byok-resp", "provider": "responses", "base_url": "http://127.0.0.1:9/v1", "api_key": "k"}]
    with addon_chain(tmp_path, routes) as chain:
        for slug in ("byok-chat", "byok-claude", "byok-resp"):
            body = {"model": slug, "input": [{"role": "user", "content": "hi"}, {"type": "item_reference", "id": "msg_1"}], "stream": False}
            flow = chain.request(responses_call(body))
            assert flow.response is not None and flow.response.status_code == 400, slug
            assert "item_reference ('msg_1')" in json.loads(flow.response.content or b"")["error"]["message"]


def test_a_responses_upstream_that_ends_with_an_empty_output_still_answers_whole(tmp_path: Path) -> None:
    routes = [{"model": "byok-resp", "provider": "responses", "base_url": "http://127.0.0.1:9/v1", "api_key": "k"}]
    message = {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
               "content": [{"type": "output_text", "text": "relayed ✓", "annotations": []}]}
    upstream = sse({"type": "response.created", "response": {"id": "r1", "object": "response", "status": "in_progress", "output": []}},
                   {"type": "response.output_item.done", "output_index": 0, "item": message},
                   {"type": "response.completed", "response": {"id": "r1", "object": "response", "status": "completed", "output": [],
                                                               "usage": {"input_tokens": 5, "output_tokens": 2}}})
    with addon_chain(tmp_path, routes) as chain:
        flow = chain.request(responses_call({"model": "byok-resp", "input": "hi", "stream": False, "instructions": "Be brief."}))
        chain.answer(flow, sse_answer(upstream))
    answer = json.loads(flow.response.content or b"")
    assert Response.model_validate(answer).output_text == "relayed ✓"
    assert OPEN_RESPONSES_FIELDS <= set(answer) and answer["instructions"] == "Be brief."  # filled in where the server left it out
    assert answer["usage"]["total_tokens"] == 7


# -- structured output on Claude ---------------------------------------------------------------

CLAUDE = ModelRoute(model="byok-claude", provider="anthropic", base_url="http://127.0.0.1:9/v1", api_key="k", upstream_model="claude-sonnet-4-6")


def claude_request(profile: ModelProfile, **body: Any) -> dict[str, Any]:
    body = {"model": "byok-claude", "input": "weather?", "text": TEXT_FORMAT, **body}
    fmt = requested(body, profile, set)
    return anthropic.map_request(body, CLAUDE, ToolNames(), profile, fmt)


def accepted(request: dict[str, Any]) -> None:
    problem = Validator({}, set(), models_by_id()).problem(request)
    assert problem is None, problem


def test_json_schema_goes_as_anthropics_structured_output_where_the_model_takes_it() -> None:
    request = claude_request(ModelProfile(structured_outputs=True, efforts=("low", "medium", "high"), thinking=("adaptive",)),
                             reasoning={"effort": "high"})
    fmt = request["output_config"]["format"]
    assert fmt["type"] == "json_schema" and request["output_config"]["effort"] == "high"  # one object for both
    assert "minimum" not in fmt["schema"]["properties"]["temp_c"]  # moved into the description (the SDK's transform)
    assert "tools" not in request
    accepted(request)
    assert Validator({}, set(), models_by_id()).problem({**request, "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}}})


def test_without_structured_outputs_the_answer_comes_through_a_forced_tool() -> None:
    request = claude_request(ModelProfile(structured_outputs=False))
    assert "output_config" not in request
    tool = request["tools"][-1]
    assert tool["name"] == "weather" and tool["input_schema"]["properties"].keys() == {"city", "temp_c"}
    assert request["tool_choice"] == {"type": "any"} and "call the `weather` tool" in request["system"][-1]["text"]
    accepted(request)


def test_with_thinking_the_answer_tool_is_asked_for_not_forced() -> None:
    profile = ModelProfile(structured_outputs=False, thinking=("adaptive",), efforts=("low", "medium", "high"))
    request = claude_request(profile, reasoning={"effort": "high"})
    assert request["thinking"]["type"] == "adaptive" and request["tool_choice"] == {"type": "auto"}
    accepted(request)


def test_the_answer_tools_input_streams_back_as_the_answers_text() -> None:
    body = {"model": "byok-claude", "input": "weather?", "text": TEXT_FORMAT}
    upstream = anthropic.build(body, CLAUDE, "k", ModelProfile(structured_outputs=False))
    translator = upstream.new_translator()
    answer = json.dumps({"city": "Paris ✓", "temp_c": 21})
    stream = b"".join([
        anthropic_event("message_start", message={"id": "m", "type": "message", "role": "assistant", "content": [], "usage": {"input_tokens": 9}}),
        anthropic_event("content_block_start", index=0, content_block={"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}),
        *[anthropic_event("content_block_delta", index=0, delta={"type": "input_json_delta", "partial_json": answer[i : i + 6]})
          for i in range(0, len(answer), 6)],
        anthropic_event("content_block_stop", index=0),
        anthropic_event("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 12}),
        anthropic_event("message_stop"),
    ])
    out = b"".join(translator.feed(stream[i : i + 5]) for i in range(0, len(stream), 5)) + translator.feed(b"")
    events = parse_checked(out)
    assert [item["type"] for item in done_items(events)] == ["message"]  # no function_call for Codex to run
    assert json.loads(done_items(events)[0]["content"][0]["text"]) == {"city": "Paris ✓", "temp_c": 21}
    assert events[-1]["type"] == "response.completed"


def test_a_refusal_of_structured_outputs_teaches_the_tool_form() -> None:
    fix = correction_for("output_config.format: structured outputs are not supported on this model", ModelProfile())
    assert fix is not None and fix.changes == {"structured_outputs": False}
    assert correction_for("output_config.format: structured outputs are not supported", ModelProfile(structured_outputs=False)) is None
    assert correction_for("messages.0: unexpected role", ModelProfile()) is None


def test_chat_routes_keep_response_format() -> None:
    route = ModelRoute(model="c", provider="generic-chat-completion-api", base_url="http://127.0.0.1:9/v1")
    request = chat.map_request({"model": "c", "input": "hi", "text": TEXT_FORMAT}, route, ToolNames())
    assert request["response_format"] == {"type": "json_schema", "json_schema": {"name": "weather", "schema": SCHEMA, "strict": True}}


# -- files ---------------------------------------------------------------------------------------

PDF = "data:application/pdf;base64," + base64.b64encode(b"%PDF-1.4 fake").decode()
NOTES = "data:text/markdown;base64," + base64.b64encode("# Notes ✓\nship it".encode()).decode()


def file_body(*files: tuple[str, str]) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "input_text", "text": "read these"}]
    parts += [{"type": "input_file", "filename": name, "file_data": data} for name, data in files]
    return {"model": "c", "input": [{"type": "message", "role": "user", "content": parts}]}


def user_parts(request: dict[str, Any]) -> Any:
    return request["messages"][-1]["content"]


def test_a_pdf_goes_to_a_chat_model_that_reads_them_as_a_file_part() -> None:
    route = ModelRoute(model="c", provider="generic-chat-completion-api", base_url="http://127.0.0.1:9/v1")
    reads = chat.map_request(file_body(("spec.pdf", PDF)), route, ToolNames(), ModelProfile(pdf_input=True))
    assert user_parts(reads)[1] == {"type": "file", "file": {"filename": "spec.pdf", "file_data": PDF}}
    unknown = chat.map_request(file_body(("spec.pdf", PDF)), route, ToolNames(), ModelProfile())
    assert "[file spec.pdf omitted: this model does not read PDFs]" in json.dumps(unknown["messages"])
    openai = ModelRoute(model="o", provider="openai", base_url="https://api.openai.com/v1", upstream_model="gpt-x")
    assert user_parts(chat.map_request(file_body(("a.pdf", PDF)), openai, ToolNames()))[1]["type"] == "file"  # OpenAI's API reads them
    configured = ModelRoute(model="c", provider="generic-chat-completion-api", base_url="http://127.0.0.1:9/v1", pdf_input=True)
    assert user_parts(chat.map_request(file_body(("a.pdf", PDF)), configured, ToolNames()))[1]["type"] == "file"  # models.json says so


def test_a_text_file_reaches_every_route_as_its_text() -> None:
    route = ModelRoute(model="c", provider="generic-chat-completion-api", base_url="http://127.0.0.1:9/v1")
    request = chat.map_request(file_body(("notes.md", NOTES)), route, ToolNames())
    assert "[file notes.md]\n# Notes ✓\nship it" in request["messages"][-1]["content"]
    claude = anthropic.map_request({**file_body(("notes.md", NOTES)), "model": "byok-claude"}, CLAUDE, ToolNames())
    assert "# Notes ✓" in json.dumps(claude["messages"], ensure_ascii=False)


def test_background_and_conversation_calls_are_refused_plainly(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        for extra, words in (({"background": True}, "background"), ({"conversation": "conv_1"}, "conversations")):
            flow = chain.request(responses_call({"model": "byok-chat", "input": "hi", **extra}))
            assert flow.response is not None and flow.response.status_code == 400
            assert words in json.loads(flow.response.content or b"")["error"]["message"]


SCHEMAS = [
    SCHEMA,
    {"type": "object", "properties": {"when": {"type": "string", "format": "date-time"}, "tag": {"type": "string", "format": "slug"},
                                      "n": {"type": "number", "minimum": 0, "maximum": 1, "description": "a share"},
                                      "kind": {"enum": ["a", "b"]}, "fixed": {"const": 3},
                                      "either": {"oneOf": [{"type": "string", "maxLength": 4}, {"type": "null"}]},
                                      "list": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 9},
                                      "many": {"type": "array", "items": {"type": "string"}, "minItems": 3}},
     "required": ["when"]},
    {"$defs": {"Item": {"type": "object", "properties": {"x": {"type": "integer"}}, "additionalProperties": True, "title": "Item"}},
     "type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/Item", "description": "one"}}},
     "allOf": [{"type": "object", "properties": {}}]},
]


def test_our_schema_rule_is_the_anthropic_sdks() -> None:
    """shim/providers/anthropic_schema.py restates the SDK's transform_schema (the SDK costs mitmdump
    ~55 MiB to import): the two must agree, and the result must pass the fake's structured-output rules."""
    from anthropic import transform_schema

    from shim.providers.anthropic_schema import for_anthropic
    from tests.fakes.anthropic_upstream import schema_problem

    pydantic_schema = Response.model_json_schema()["$defs"]["ResponseUsage"]
    for schema in [*SCHEMAS, pydantic_schema]:
        assert for_anthropic(schema) == transform_schema(schema)
        assert schema_problem(for_anthropic(schema), "schema") is None


# -- review fixes ----------------------------------------------------------------------------------


def test_a_call_read_whole_is_not_watched_for_silence_but_a_streamed_one_is(tmp_path: Path) -> None:
    """A non-streamed call's chunks are not seen: the idle cutter must not cut a long answer."""
    with addon_chain(tmp_path) as chain:
        whole = chain.request(responses_call({"model": "byok-chat", "input": "hi", "stream": False}))
        streamed = chain.request(responses_call({"model": "byok-chat", "input": "hi"}))
        for flow in (whole, streamed):
            flow.response = http.Response.make(200, b"", {"content-type": "text/event-stream"})
            chain.run(layers.http.HttpResponseHeadersHook(flow))
        assert chain.shim.exchanges.byok(whole).last_upstream_activity is None
        assert chain.shim.exchanges.byok(streamed).last_upstream_activity is not None


def claude_stream(*blocks: list[bytes], stop: str = "tool_use") -> bytes:
    events = [anthropic_event("message_start", message={"id": "m", "type": "message", "role": "assistant", "content": [], "usage": {}})]
    for index, block in enumerate(blocks):
        events += [piece.replace(b'"index": -1', b'"index": %d' % index) for piece in block]
    events += [anthropic_event("message_delta", delta={"stop_reason": stop}, usage={"output_tokens": 5}), anthropic_event("message_stop")]
    return b"".join(events)


def text_block(text: str) -> list[bytes]:
    return [anthropic_event("content_block_start", index=-1, content_block={"type": "text", "text": ""}),
            anthropic_event("content_block_delta", index=-1, delta={"type": "text_delta", "text": text}),
            anthropic_event("content_block_stop", index=-1)]


def tool_block(name: str, arguments: str) -> list[bytes]:
    return [anthropic_event("content_block_start", index=-1, content_block={"type": "tool_use", "id": f"toolu_{name}", "name": name, "input": {}}),
            anthropic_event("content_block_delta", index=-1, delta={"type": "input_json_delta", "partial_json": arguments}),
            anthropic_event("content_block_stop", index=-1)]


def answer_tool_translation(body: dict[str, Any], stream: bytes) -> list[dict[str, Any]]:
    translator = anthropic.build(body, CLAUDE, "k", ModelProfile(structured_outputs=False)).new_translator()
    return parse_checked(translator.feed(stream) + translator.feed(b""))


def test_words_before_the_answer_tool_stay_out_of_the_json() -> None:
    body = {"model": "byok-claude", "input": "weather?", "text": TEXT_FORMAT}
    events = answer_tool_translation(body, claude_stream(text_block("Here it is."), tool_block("weather", '{"city": "Rome", "temp_c": 9}')))
    items = done_items(events)
    assert [i["type"] for i in items] == ["reasoning", "message"]
    assert items[0]["summary"][0]["text"] == "Here it is." and json.loads(items[1]["content"][0]["text"]) == {"city": "Rome", "temp_c": 9}
    # no answer through the tool: the words are the answer
    worded = done_items(answer_tool_translation(body, claude_stream(text_block('{"city": "Oslo", "temp_c": 1}'), stop="end_turn")))
    assert [i["type"] for i in worded] == ["message"] and json.loads(worded[0]["content"][0]["text"])["city"] == "Oslo"


def test_the_answer_tool_never_takes_a_codex_tools_name() -> None:
    body = {"model": "byok-claude", "input": "weather?", "text": TEXT_FORMAT,
            "tools": [{"type": "function", "name": "weather", "parameters": {"type": "object", "properties": {}}}]}
    request = anthropic.build(body, CLAUDE, "k", ModelProfile(structured_outputs=False)).body
    assert [t["name"] for t in request["tools"]] == ["weather", "weather_answer"]
    events = answer_tool_translation(body, claude_stream(tool_block("weather", "{}")))
    assert [i["type"] for i in done_items(events)] == ["function_call"]  # Codex's own tool stays a call


def test_schemas_claude_cannot_take_are_shaped_or_refused_plainly() -> None:
    from shim.errors import RequestError
    from shim.providers.anthropic_schema import for_anthropic
    from tests.fakes.anthropic_upstream import schema_problem

    optional = {"type": ["object", "null"], "properties": {"a": {"type": "string"}}, "required": ["a"]}
    shaped = for_anthropic(optional)
    assert shaped["anyOf"][0]["additionalProperties"] is False and shaped["anyOf"][1] == {"type": "null"}
    assert schema_problem(shaped, "schema") is None
    for broken in ({"type": "object", "properties": None}, {"type": "object", "properties": {"x": True}}, {"description": "no type"}):
        body = {"model": "byok-claude", "input": "x", "text": {"format": {"type": "json_schema", "name": "f", "schema": broken}}}
        try:
            requested(body, ModelProfile(structured_outputs=True), set)
        except RequestError as exc:
            assert exc.status == 400 and "text.format.schema" in str(exc)
        else:
            raise AssertionError(f"{broken} was not refused")


def test_a_responses_upstreams_terminal_event_without_status_says_how_it_ended(tmp_path: Path) -> None:
    routes = [{"model": "byok-resp", "provider": "responses", "base_url": "http://127.0.0.1:9/v1", "api_key": "k"}]
    failed = sse({"type": "response.created", "response": {"id": "r1", "object": "response", "output": []}},
                 {"type": "response.failed", "response": {"id": "r1", "object": "response", "output": [],
                                                           "error": {"code": "server_error", "message": "boom"}}})
    completed = sse({"type": "response.completed", "sequence_number": 0, "response": {"id": "r2", "object": "response", "output": []}})
    with addon_chain(tmp_path, routes) as chain:
        bad = chain.request(responses_call({"model": "byok-resp", "input": "hi", "stream": False}))
        chain.answer(bad, sse_answer(failed))
        good = chain.request(responses_call({"model": "byok-resp", "input": "hi"}))
        chain.answer(good, sse_answer(completed))
    assert bad.response is not None and bad.response.status_code == 500 and b"boom" in (bad.response.content or b"")
    assert [e["response"]["status"] for e in parse(good.response.content or b"") if "response" in e] == ["completed"]


def test_a_pdf_outside_a_user_message_is_a_note_on_chat() -> None:
    route = ModelRoute(model="c", provider="generic-chat-completion-api", base_url="http://127.0.0.1:9/v1", pdf_input=True)
    body = {"model": "c", "input": [{"type": "message", "role": "developer", "content": [
        {"type": "input_text", "text": "rules"}, {"type": "input_file", "filename": "r.pdf", "file_data": PDF}]}, {"role": "user", "content": "go"}]}
    request = chat.map_request(body, route, ToolNames())
    assert "[file r.pdf omitted: this model does not read PDFs]" in json.dumps(request["messages"])
