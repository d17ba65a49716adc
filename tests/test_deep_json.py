"""JSON nested deeper than Python reads, from Codex or from a provider: answered, never a failed hook.

json.loads raises RecursionError there, not the ValueError every reader caught: the Router's
request hook failed and a BYOK turn went on to OpenAI as Codex sent it; a tool call's arguments
failed the translator; a provider's error body reached Codex as it came. Each case runs the
addons of addons/codex_shim.py in process; tests/test_e2e_faults.py runs two through mitmdump.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from mitmproxy import http

from shim import carrier
from tests.addon_chain import addon_chain, responses_call
from tests.fakes.chat_upstream import USAGE, chunk
from tests.fakes.chat_upstream import sse as chat_sse
from tests.responses_grammar import parse_checked

DEEP = "[" * 100_000 + "]" * 100_000
USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}


def test_the_case_is_real_json_raises_recursion_error_on_it() -> None:
    try:
        json.loads(DEEP)
    except RecursionError:
        return
    raise AssertionError("json read it: these tests would prove nothing")


def test_a_request_nested_too_deeply_gets_a_clear_400_and_stays_here(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = responses_call(('{"model": "byok-chat", "stream": true, "input": ' + DEEP + "}").encode())
        flow.request.headers["x-codex-turn-metadata"] = json.dumps({"model": "byok-chat"})
        chain.request(flow)
        assert flow.response is not None and flow.response.status_code == 400
        assert "nested deeper than codex-shim can read" in json.loads(flow.response.content or b"")["error"]["message"]


def test_deep_arguments_in_codexs_history_travel_raw_to_claude(tmp_path: Path) -> None:
    call = {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": DEEP}
    output = {"type": "function_call_output", "call_id": "c1", "output": "done"}
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-claude", "input": [USER, call, output]}))
        assert flow.response is None and flow.request.path.endswith("/messages")
        sent = json.loads(flow.request.content or b"")
        assert sent["messages"][1]["content"][0]["input"] == {"_raw": DEEP}


def test_an_unreadable_carrier_in_codexs_history_is_left_out(tmp_path: Path) -> None:
    deep_carrier = carrier.PREFIX + base64.urlsafe_b64encode(DEEP.encode()).decode()
    reasoning = {"type": "reasoning", "summary": [], "encrypted_content": deep_carrier}
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-chat", "input": [USER, reasoning]}))
        assert flow.response is None and flow.request.path.endswith("/chat/completions")
        assert DEEP not in (flow.request.content or b"").decode()


def test_a_tool_call_with_deep_arguments_from_a_chat_provider_still_completes(tmp_path: Path) -> None:
    calls = {"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "shell", "arguments": DEEP}}]}
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-chat", "input": [USER]}))
        upstream = chat_sse([chunk(calls), chunk(finish="tool_calls"), chunk(usage=USAGE)])
        chain.answer(flow, http.Response.make(200, upstream, {"content-type": "text/event-stream"}))
        events = parse_checked(flow.response.content or b"")
        assert events[-1]["type"] == "response.completed"
        [item] = events[-1]["response"]["output"]
        assert (item["type"], item["arguments"]) == ("function_call", DEEP)


def test_a_tool_call_with_deep_input_from_claude_still_completes(tmp_path: Path) -> None:
    def event(data: dict[str, object]) -> bytes:
        return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude", "content": [], "stop_reason": None,
               "usage": {"input_tokens": 3, "output_tokens": 1}}
    upstream = b"".join(event(e) for e in (
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "shell", "input": {}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": DEEP}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 2}},
        {"type": "message_stop"},
    ))
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-claude", "input": [USER]}))
        chain.answer(flow, http.Response.make(200, upstream, {"content-type": "text/event-stream"}))
        events = parse_checked(flow.response.content or b"")
        assert events[-1]["type"] == "response.completed"
        assert [item["type"] for item in events[-1]["response"]["output"]] == ["function_call"]


def test_a_providers_error_body_nested_too_deeply_reaches_codex_as_an_error_it_reads(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-chat", "input": [USER]}))
        chain.answer(flow, http.Response.make(400, ('{"error": ' + DEEP + "}").encode(), {"content-type": "application/json"}))
        assert flow.response is not None and flow.response.status_code == 400
        error = json.loads(flow.response.content or b"")["error"]
        assert error["code"] == "upstream_error" and "answered 400" in error["message"]
        assert len(error["message"]) < 2200  # the provider's text, cut as any unreadable body's is
