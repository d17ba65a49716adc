"""Codex's web search on Claude routes: the tool as Anthropic's own search, its blocks as Codex's
web_search_call items and url_citation annotations, and the round trip of what was found."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from shim import sse_view
from shim.config import ModelRoute
from shim.exchange import open_exchange
from shim.profiles import Profiles, profile_key
from shim.providers import PROVIDERS, web_search
from shim.responses_stream import Usage
from tests.fakes.anthropic_upstream import ScriptedAnthropicModel, Validator, models_by_id
from tests.responses_grammar import done_items, of_type, parse_checked

CORPUS = Path(__file__).parent / "corpus" / "anthropic"
LIVE = {"type": "web_search", "external_web_access": True, "search_content_types": ["text", "image"]}
SHELL = {"type": "function", "name": "exec_command", "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}}}


def claude(model: str = "claude-opus-4-7", **fields: Any) -> ModelRoute:
    return ModelRoute.model_validate({"model": "claude", "provider": "anthropic", "upstream_model": model, "api_key": "k", **fields})


def request_for(route: ModelRoute, tools: list[dict[str, Any]], prompt: Any = "hi") -> dict[str, Any]:
    body = {"model": "claude", "input": prompt, "tools": tools}
    return PROVIDERS[route.provider].build(body, route, "k", Profiles().of(route)).body


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


# -- the tool ------------------------------------------------------------------------------------------


def test_codex_search_becomes_anthropics_search_with_its_filters() -> None:
    tool = {**LIVE, "filters": {"allowed_domains": ["docs.python.org"]},
            "user_location": {"type": "approximate", "country": "DE", "city": "Berlin", "timezone": "Europe/Berlin"}}
    request = request_for(claude(), [SHELL, tool])
    server = request["tools"][-1]
    assert {k: v for k, v in server.items() if k != "cache_control"} == {
        "type": "web_search_20250305", "name": "web_search", "allowed_domains": ["docs.python.org"],
        "user_location": {"type": "approximate", "city": "Berlin", "country": "DE", "timezone": "Europe/Berlin"},
    }
    assert Validator({}, set(), models_by_id()).problem(request) is None


def test_no_search_tool_without_codexs_tool_or_a_model_that_searches() -> None:
    assert [t["name"] for t in request_for(claude(), [SHELL])["tools"]] == ["exec_command"]  # search off in Codex
    compatible = claude("kimi-k2-thinking", base_url="https://api.moonshot.ai/anthropic")  # nothing published: no search
    assert [t["name"] for t in request_for(compatible, [SHELL, LIVE])["tools"]] == ["exec_command"]
    chat = ModelRoute(model="c", provider="generic-chat-completion-api", base_url="https://api.example/v1")
    assert "tools" not in request_for(chat, [LIVE]) or all(t.get("type") == "function" for t in request_for(chat, [LIVE])["tools"])


def test_cached_only_search_is_not_guessed_and_said_once_per_route(caplog: pytest.LogCaptureFixture) -> None:
    cached = {**LIVE, "external_web_access": False}
    route = claude(model="claude-sonnet-5", **{"display_name": "once"})
    route = route.model_copy(update={"model": "cached-route"})
    with caplog.at_level(logging.WARNING, logger="codex_shim"):
        for _ in range(3):
            assert all(t.get("name") != "web_search" for t in request_for(route, [SHELL, cached])["tools"])
    assert caplog.text.count("cached web search only") == 1 and "cached-route" in caplog.text


# -- the answer ----------------------------------------------------------------------------------------------


def fake_search_answer() -> tuple[ScriptedAnthropicModel, bytes, dict[str, Any]]:
    """The fake's own search answer (the shape of the recorded ones), and the request that asked for it."""
    model = ScriptedAnthropicModel()
    route = claude()
    body = {"model": "claude", "input": [user("SEARCH please")], "tools": [SHELL, LIVE]}
    request = PROVIDERS["anthropic"].build(body, route, "k", Profiles().of(route)).body
    reply = model(  # the fake takes it as the real API would
        "/v1/messages", {"x-api-key": "sk-ant-fake-key-0123456789", "anthropic-version": "2023-06-01"}, json.dumps(request).encode())
    assert reply.status == 200, reply
    return model, b"".join(reply.pieces), body


def translate(raw: bytes, route: ModelRoute | None = None) -> list[dict[str, Any]]:
    route = route or claude()
    translator = PROVIDERS["anthropic"].build({"model": "claude", "input": "hi"}, route, "k", Profiles().of(route)).new_translator()
    return parse_checked(translator.feed(raw) + translator.feed(b""))


def test_a_search_is_a_web_search_call_with_its_query_and_pages_before_the_cited_text() -> None:
    model, raw, _ = fake_search_answer()
    events = translate(raw)
    items = done_items(events)
    assert [i["type"] for i in items] == ["web_search_call", "reasoning", "message", "function_call"]
    search = items[0]
    assert search["status"] == "completed" and search["action"]["query"] == "codex-shim search 1"
    assert [s["url"] for s in search["action"]["sources"]] == [r["url"] for r in model.search_results["srvtoolu_1"]]
    text = items[2]["content"][0]
    assert text["annotations"] == [{"type": "url_citation", "url": "https://example.org/1/1", "title": "Result 1 ✓",
                                    "start_index": 0, "end_index": len(text["text"])}]
    assert len(of_type(events, "response.output_text.annotation.added")) == 1
    assert items[1]["summary"] == []  # the carrier of what Anthropic needs back shows nothing


def test_the_next_request_carries_the_search_blocks_back_exactly_and_the_fake_accepts_them() -> None:
    model, raw, body = fake_search_answer()
    history = [*body["input"], *done_items(translate(raw))]
    history.append({"type": "function_call_output", "call_id": history[-1]["call_id"], "output": "marker"})
    route = claude()
    request = PROVIDERS["anthropic"].build({**body, "input": history}, route, "k", Profiles().of(route)).body
    assistant = request["messages"][1]["content"]
    assert [b["type"] for b in assistant] == ["server_tool_use", "web_search_tool_result", "text", "tool_use"]
    assert assistant[1]["content"] == model.search_results["srvtoolu_1"]  # encrypted content unchanged
    assert Validator(model.issued, model.redacted, models_by_id(), model.search_results).problem(request) is None
    assistant[1]["content"][0]["encrypted_content"] += "x"
    assert "invalid `encrypted_content`" in str(Validator({}, set(), models_by_id(), model.search_results).problem(request))


def test_another_route_gets_the_sources_as_plain_text() -> None:
    _, raw, body = fake_search_answer()
    items = [item for item in done_items(translate(raw)) if item["type"] != "function_call"]
    chat = ModelRoute(model="c", provider="generic-chat-completion-api", base_url="https://api.example/v1")
    request = PROVIDERS[chat.provider].build({"model": "c", "input": [*body["input"], *items, user("and?")]}, chat, "k").body
    said = request["messages"][1]
    assert said["role"] == "assistant"
    assert said["content"].startswith("[web search: codex-shim search 1]\n- Result 1 ✓ <https://example.org/1/1>")
    assert said["content"].endswith("The web says: found ✓")


def test_a_failed_search_and_a_search_cut_by_pause_turn_are_never_replayed() -> None:
    error = {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"}
    raw = b"".join(e.encode() for e in [
        'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}}\n\n',
        'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":'
        '{"type":"server_tool_use","id":"srvtoolu_a","name":"web_search","input":{"query":"q1"}}}\n\n',
        'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
        'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":'
        f'{{"type":"web_search_tool_result","tool_use_id":"srvtoolu_a","content":{json.dumps(error)}}}}}\n\n',
        'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n',
        'event: content_block_start\ndata: {"type":"content_block_start","index":2,"content_block":'
        '{"type":"server_tool_use","id":"srvtoolu_b","name":"web_search","input":{}}}\n\n',
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":2,'
        '"delta":{"type":"input_json_delta","partial_json":"{\\"query\\": \\"q2\\"}"}}\n\n',
        'event: content_block_stop\ndata: {"type":"content_block_stop","index":2}\n\n',
        'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"pause_turn"},"usage":{"output_tokens":9,'
        '"server_tool_use":{"web_search_requests":2}}}\n\n',
        'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ])
    events = translate(raw)
    searches = [i for i in done_items(events) if i["type"] == "web_search_call"]
    assert [(s["action"]["query"], s["status"]) for s in searches] == [("q1", "failed"), ("q2", "incomplete")]
    carried = [i for i in done_items(events) if i["type"] == "reasoning"]
    assert len(carried) == 1  # the failed search's pair goes back (Anthropic wants it); the cut one does not
    assert events[-1]["type"] == "response.completed"


def test_searches_count_in_usage_and_cost() -> None:
    route = claude()
    exchange = open_exchange({"model": "claude", "input": "hi"}, route, profile=Profiles().of(route))
    translator = exchange.new_translator()
    translator.feed((CORPUS / "web-search-two-searches.sse").read_bytes())
    translator.feed(b"")
    facts = exchange.facts()
    assert facts["web_search_requests"] == 2
    prices = Profiles().of(route).prices
    assert prices is not None and prices.web_search == 10  # genai-prices: USD 10 per 1,000 searches
    without = Usage.from_json({**facts["usage"], "web_search_requests": 0}).cost(prices)
    assert facts["cost"] == pytest.approx(without + 2 * 10 / 1000)


def test_the_sse_view_shows_searches_and_their_sources() -> None:
    raw = (CORPUS / "web-search-two-searches.sse").read_bytes()
    translator = PROVIDERS["anthropic"].build({"model": "c", "input": "hi"}, claude(), "k").new_translator()
    responses_side = "\n".join(sse_view.render(translator.feed(raw) + translator.feed(b"")))
    assert 'search: "top world news today" sources: https://www.cnn.com/world' in responses_side
    assert "citations: https://" in responses_side
    provider_side = "\n".join(sse_view.render(raw))
    assert "web_search_tool_result: 10 result(s): World news" in provider_side and "encrypted_content" not in provider_side


def test_the_profiles_table_says_which_routes_can_search() -> None:
    assert web_search.web_search_kind(claude(), Profiles().of(claude())) == "Anthropic's web search tool"
    assert web_search.web_search_kind(claude("kimi-k2"), Profiles().of(claude("kimi-k2"))) is None


# -- OpenRouter (chat routes) ----------------------------------------------------------------------------------

OPENROUTER = json.loads((Path(__file__).parent / "fixtures" / "openrouter" / "models.json").read_text())


def openrouter_route() -> tuple[ModelRoute, Any]:
    route = ModelRoute(model="or", provider="generic-chat-completion-api", base_url="https://openrouter.ai/api/v1",
                       upstream_model="deepseek/deepseek-v4-flash-0731")
    profiles = Profiles()
    entry = next(e for e in OPENROUTER["data"] if e["id"] == route.upstream_name)
    profiles.take({profile_key(route): entry})
    return route, profiles.of(route)


def test_an_openrouter_model_searches_through_openrouters_server_tool() -> None:
    route, profile = openrouter_route()
    tool = {**LIVE, "search_context_size": "high", "filters": {"allowed_domains": ["example.org"]}}
    request = PROVIDERS[route.provider].build({"model": "or", "input": "hi", "tools": [SHELL, tool]}, route, "k", profile).body
    assert request["tools"][-1] == {"type": "openrouter:web_search",
                                    "parameters": {"allowed_domains": ["example.org"], "search_context_size": "high"}}
    assert web_search.web_search_kind(route, profile) == "OpenRouter's web search server tool"


def test_openrouters_cited_pages_become_one_search_and_citations_over_the_answer() -> None:
    route, profile = openrouter_route()
    raw = (Path(__file__).parent / "corpus" / "openrouter" / "web-search-server-tool-exa.sse").read_bytes()
    translator = PROVIDERS[route.provider].build({"model": "or", "input": "hi"}, route, "k", profile).new_translator()
    events = parse_checked(translator.feed(raw) + translator.feed(b""))
    search, message = done_items(events)
    assert search["type"] == "web_search_call" and search["action"]["query"] == "" and len(search["action"]["sources"]) == 5
    text = message["content"][0]
    assert len(text["annotations"]) == 5 and all(a["start_index"] == 0 and a["end_index"] == len(text["text"]) for a in text["annotations"])
    assert translator.stream.usage.web_search_requests == 1


# -- what the review found --------------------------------------------------------------------------------------


def test_search_blocks_go_back_only_where_the_route_searches_and_the_turn_asks_for_it() -> None:
    _, raw, body = fake_search_answer()
    history = [*body["input"], *[i for i in done_items(translate(raw)) if i["type"] != "function_call"], user("and?")]
    kimi = claude("kimi-k2-thinking", base_url="https://api.moonshot.ai/anthropic")  # a compatible endpoint: no search of its own
    for route, tools in ((kimi, [SHELL, LIVE]), (claude(), [SHELL])):  # a route that cannot search; a turn with search off
        request = PROVIDERS["anthropic"].build({**body, "input": history, "tools": tools}, route, "k", Profiles().of(route)).body
        blocks = [b for m in request["messages"] for b in m["content"]]
        assert not any(b["type"] in ("server_tool_use", "web_search_tool_result") for b in blocks)
        assert any(b["type"] == "text" and b["text"].startswith("[web search: codex-shim search 1]") for b in blocks)


def test_openrouters_citations_close_the_reasoning_before_the_search() -> None:
    from tests.fakes.chat_upstream import chunk, sse

    route, profile = openrouter_route()
    raw = sse([chunk({"reasoning": "thinking…"}),
               chunk({"content": "", "annotations": [{"type": "url_citation", "url_citation": {"url": "https://a.example", "title": "A"}}]}),
               chunk({"content": "answer"}), chunk(finish="stop")])
    translator = PROVIDERS[route.provider].build({"model": "or", "input": "hi"}, route, "k", profile).new_translator()
    items = done_items(parse_checked(translator.feed(raw) + translator.feed(b"")))
    assert [i["type"] for i in items] == ["reasoning", "web_search_call", "message"]
    assert items[0]["summary"][0]["text"] == "thinking…"
