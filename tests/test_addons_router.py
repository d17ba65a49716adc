"""The Router, Redactor and idle cutter in-process: route choice, what goes upstream, what Codex
gets back, and what stays on the flow (mitmproxy's own test context, no sockets)."""

from __future__ import annotations

import gc
import json
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mitmproxy import flow as mflow
from mitmproxy import http
from mitmproxy.proxy import layers

from shim import carrier, compaction
from shim.addons.idle_cutter import silent
from shim.addons.redactor import REDACTED
from shim.exchange import METADATA_KEY, ByokExchange, NativeExchange
from tests.addon_chain import CHAT_KEY, CODEX_TOKEN, addon_chain, responses_call, sse
from tests.fakes.chat_upstream import USAGE, chunk
from tests.fakes.chat_upstream import sse as chat_sse
from tests.responses_grammar import parse_checked, relayed_events

USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}


def test_a_byok_slug_becomes_the_providers_request_without_codexs_credentials(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-chat", "input": [USER], "stream": True}))
        assert flow.response is None
        assert flow.request.url == "http://127.0.0.1:9/v1/chat/completions"
        assert flow.request.headers["authorization"] == f"Bearer {CHAT_KEY}"
        for codex_only in ("chatgpt-account-id", "cookie"):
            assert codex_only not in flow.request.headers
        assert CODEX_TOKEN not in str(flow.request.headers)
        assert json.loads(flow.request.content or b"")["messages"] == [{"role": "user", "content": "hi"}]
        assert flow.metadata[METADATA_KEY]["route"] == "byok-chat"
        assert flow.metadata[METADATA_KEY]["provider"] == "generic-chat-completion-api"
        assert isinstance(chain.shim.exchanges.get(flow), ByokExchange)


def test_nothing_of_codexs_connection_header_goes_upstream(tmp_path: Path) -> None:
    """Not even a one-shot client's `connection: close`: mitmproxy closes the provider's connection
    with Codex's, and the provider closing first costs later turns (docs/performance-history.md, round 9)."""
    with addon_chain(tmp_path) as chain:
        closing = responses_call({"model": "byok-chat", "input": "hi"})
        closing.request.headers["connection"] = "close"
        codexs = closing.request
        chain.request(closing)
        assert closing.request.host == "127.0.0.1" and "connection" not in closing.request.headers
        assert codexs.headers["connection"] == "close"  # what mitmproxy reads to close Codex's side, and the provider's with it


def test_a_native_model_passes_byte_for_byte_and_streams(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        body = json.dumps({"model": "gpt-5.5", "input": [USER]}).encode()
        flow = chain.request(responses_call(body))
        assert flow.request.content == body and flow.request.headers["authorization"] == CODEX_TOKEN
        assert isinstance(chain.shim.exchanges.get(flow), NativeExchange)
        flow.response = http.Response.make(200, b"data: {}\n\n", {"content-type": "text/event-stream"})
        chain.run(layers.http.HttpResponseHeadersHook(flow))
        assert flow.response.stream is True
        chain.run(layers.http.HttpResponseHook(flow))
        assert flow.metadata[METADATA_KEY]["route"] == "passthrough"
        assert chain.shim.exchanges.get(flow) is None  # closed with the response


def test_a_native_turn_after_byok_turns_leaves_without_our_items(tmp_path: Path) -> None:
    ours = {"type": "reasoning", "summary": [], "encrypted_content": carrier.wrap("chat", {"reasoning_content": "x"})}
    summary = compaction.compaction_item("we fixed the parser")
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "gpt-5.5", "input": [USER, ours, summary]}))
        sent = json.loads(flow.request.content or b"")["input"]
        assert carrier.PREFIX not in json.dumps(sent)
        assert sent[0] == USER and sent[1]["content"][0]["text"].endswith("we fixed the parser")
        assert "scrubbed" in flow.metadata[METADATA_KEY]


def test_other_hosts_and_paths_are_not_touched(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        for flow in (responses_call({"model": "byok-chat", "input": "hi"}, host="example.com"),
                     responses_call({"model": "byok-chat", "input": "hi"}, path="/backend-api/codex/other")):
            before = flow.request.copy()
            chain.request(flow)
            assert flow.request.url == before.url and flow.request.content == before.content
            assert chain.shim.exchanges.get(flow) is None


def test_a_byok_call_with_a_body_that_is_not_json_gets_a_clear_400(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = responses_call(b"{not json")
        flow.request.headers["x-codex-turn-metadata"] = json.dumps({"model": "byok-chat"})
        chain.request(flow)
        assert flow.response is not None and flow.response.status_code == 400
        assert "not valid JSON" in json.loads(flow.response.content or b"")["error"]["message"]


def test_an_untranslatable_item_is_refused_with_the_reason(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-chat", "input": [{"type": "local_shell_call"}]}))
        assert flow.response is not None and flow.response.status_code == 400
        assert "local_shell_call" in json.loads(flow.response.content or b"")["error"]["message"]


def test_the_providers_stream_reaches_codex_as_responses_events_with_usage_on_the_flow(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-chat", "input": [USER], "stream": True}))
        upstream = chat_sse([chunk({"content": "Hel"}), chunk({"content": "lo ✓"}), chunk(finish="stop"), chunk(usage=USAGE)])
        chain.answer(flow, http.Response.make(200, upstream, {"content-type": "text/event-stream"}))
        events = parse_checked(flow.response.content or b"")
        assert events[-1]["type"] == "response.completed"
        assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "Hello ✓"
        facts = flow.metadata[METADATA_KEY]
        assert facts["streamed"] and facts["usage"]["total_tokens"] == events[-1]["response"]["usage"]["total_tokens"]
        assert "duration_s" in facts and "time_to_first_byte_s" in facts


@contextmanager
def no_garbage_collection() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_a_finished_turn_lets_go_of_its_exchange_while_the_flow_lives_on(tmp_path: Path) -> None:
    """mitmproxy frees a flow in a garbage collection (its objects reference each other): the
    turn's exchange, with Codex's parsed request and the translator, must not wait for that, on
    the answer's end nor on a connection lost mid-stream."""
    upstream = chat_sse([chunk({"content": "Hel"}), chunk(finish="stop"), chunk(usage=USAGE)])
    with addon_chain(tmp_path) as chain, no_garbage_collection():
        flow = chain.request(responses_call({"model": "byok-chat", "input": [USER]}))
        exchange = weakref.ref(chain.shim.exchanges.byok(flow) or ByokExchange)
        chain.answer(flow, http.Response.make(200, upstream, {"content-type": "text/event-stream"}))
        assert flow.response is not None and flow.response.stream is True and flow.metadata[METADATA_KEY]["streamed"]
        assert exchange() is None

        cut = chain.request(responses_call({"model": "byok-chat", "input": [USER]}))
        exchange = weakref.ref(chain.shim.exchanges.byok(cut) or ByokExchange)
        cut.response = http.Response.make(200, b"", {"content-type": "text/event-stream"})
        chain.run(layers.http.HttpResponseHeadersHook(cut))
        assert cut.response is not None and callable(cut.response.stream)
        cut.response.stream(upstream[:40])
        cut.error = mflow.Error("connection reset")
        chain.run(layers.http.HttpErrorHook(cut))
        assert exchange() is None


def test_keys_are_redacted_once_the_provider_answers(tmp_path: Path) -> None:
    with addon_chain(tmp_path, routes=[{"model": "byok-chat", "provider": "generic-chat-completion-api",
                                        "base_url": "http://127.0.0.1:9/v1", "api_key": CHAT_KEY,
                                        "extra_headers": {"x-gateway-key": "gw-secret"}}]) as chain:
        flow = chain.request(responses_call({"model": "byok-chat", "input": "hi"}))
        assert flow.request.headers["x-gateway-key"] == "gw-secret"  # sent as configured
        chain.answer(flow, http.Response.make(200, chat_sse([chunk(finish="stop")]), {"content-type": "text/event-stream"}))
        assert flow.request.headers["authorization"] == REDACTED and flow.request.headers["x-gateway-key"] == REDACTED
        assert flow.request.headers["content-type"] == "application/json"


def test_keys_are_redacted_when_the_provider_fails(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-chat", "input": "hi"}))
        flow.error = mflow.Error("connection refused")
        chain.run(layers.http.HttpErrorHook(flow))
        assert CHAT_KEY not in str(flow.request.headers)
        assert flow.metadata[METADATA_KEY]["error"] == "connection refused"


def test_a_429_reaches_codex_as_a_failed_event_it_retries_on(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-chat", "input": "hi"}))
        limited = http.Response.make(429, json.dumps({"error": {"message": "slow down"}}), {"retry-after": "3", "content-type": "application/json"})
        chain.answer(flow, limited)
        assert flow.response.status_code == 200 and flow.response.headers["retry-after"] == "3"
        (failed,) = [e for e in parse_checked(flow.response.content or b"") if e["type"] == "response.failed"]
        assert failed["response"]["error"]["code"] == "rate_limit_exceeded"
        assert "slow down" in failed["response"]["error"]["message"] and "try again in 3s" in failed["response"]["error"]["message"]


def test_the_legacy_compact_endpoint_gets_its_json_answer(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-chat", "input": [USER]}, path="/backend-api/codex/responses/compact"))
        sent = json.loads(flow.request.content or b"")
        assert sent["messages"][-1]["content"] == compaction.SUMMARY_PROMPT
        upstream = chat_sse([chunk({"content": "We said hi."}), chunk(finish="stop"), chunk(usage=USAGE)])
        chain.answer(flow, http.Response.make(200, upstream, {"content-type": "text/event-stream"}))
        assert flow.response.status_code == 200
        (item,) = json.loads(flow.response.content or b"")["output"]
        assert carrier.unwrap("compaction", item["encrypted_content"]) == {"summary": "We said hi."}
        assert flow.metadata[METADATA_KEY]["compaction"] is True


def test_the_legacy_compact_endpoint_gets_a_json_error(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-chat", "input": [USER]}, path="/backend-api/codex/responses/compact"))
        chain.answer(flow, http.Response.make(500, b'{"error": {"message": "boom"}}', {"content-type": "application/json"}))
        assert flow.response.status_code == 500 and flow.response.headers["content-type"] == "application/json"
        assert "boom" in json.loads(flow.response.content or b"")["error"]["message"]


def test_a_non_streamed_json_answer_becomes_the_stream_codex_reads(tmp_path: Path) -> None:
    answer = {"id": "c", "object": "chat.completion", "model": "m", "usage": USAGE,
              "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "whole"}}]}
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-chat", "input": "hi"}))
        chain.answer(flow, http.Response.make(200, json.dumps(answer), {"content-type": "application/json"}))
        events = parse_checked(flow.response.content or b"")
        assert events[-1]["type"] == "response.completed"
        assert events[-1]["response"]["output"][0]["content"][0]["text"] == "whole"


def test_a_silent_upstream_is_picked_for_cutting_and_a_finished_one_is_not() -> None:
    quiet, done = ByokExchange.__new__(ByokExchange), ByokExchange.__new__(ByokExchange)
    quiet.last_upstream_activity, done.last_upstream_activity = 100.0, None
    flows = [("quiet", quiet), ("done", done)]
    assert silent(flows, limit=5, now=106.0) == [("quiet", quiet)]  # type: ignore[arg-type]
    assert silent(flows, limit=5, now=104.0) == []  # type: ignore[arg-type]


def test_relayed_responses_events_keep_coming_event_by_event(tmp_path: Path) -> None:
    routes = [{"model": "byok-resp", "provider": "responses", "base_url": "http://127.0.0.1:9/v1"}]
    with addon_chain(tmp_path, routes=routes) as chain:
        flow = chain.request(responses_call({"model": "byok-resp", "input": "hi"}))
        created = {"type": "response.created", "sequence_number": 0, "response": {"id": "r1", "status": "in_progress"}}
        upstream = sse(created, {"type": "response.output_text.delta", "sequence_number": 1, "delta": "x"})
        chain.answer(flow, http.Response.make(200, upstream, {"content-type": "text/event-stream"}))
        events = relayed_events(flow.response.content or b"")
        assert [e["type"] for e in events] == ["response.created", "response.output_text.delta", "response.failed"]
        assert events[0]["response"]["id"] == "r1" and events[-1]["sequence_number"] == 2


def test_a_tool_call_cut_off_by_the_output_limit_is_counted_on_the_flow(tmp_path: Path) -> None:
    def ev(event: dict[str, object]) -> bytes:
        return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()

    upstream = b"".join(ev(e) for e in (
        {"type": "message_start", "message": {"usage": {"input_tokens": 10}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "exec_command", "input": {}}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"cmd": "ls -'}},
        {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 50}},
        {"type": "message_stop"},
    ))
    with addon_chain(tmp_path) as chain:
        flow = chain.request(responses_call({"model": "byok-claude", "input": "hi"}))
        chain.answer(flow, http.Response.make(200, upstream, {"content-type": "text/event-stream"}))
    assert parse_checked(flow.response.content or b"")[-1]["type"] == "response.incomplete"
    assert flow.metadata[METADATA_KEY]["dropped_tool_calls"] == 1
