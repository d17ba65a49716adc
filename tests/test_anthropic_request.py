"""Responses requests -> Anthropic Messages requests, checked against the fake API's 400 rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shim import carrier
from shim.config import ModelRoute
from shim.errors import RequestError
from shim.providers import PROVIDERS, anthropic
from tests.fakes.anthropic_upstream import Validator, count_cache_controls, models_by_id
from tests.responses_grammar import done_items, parse_checked

CODEX_REQUEST = Path(__file__).parent / "fixtures" / "codex" / "codex-0.169-responses-request.json"
FIXTURES = Path(__file__).parent / "fixtures" / "anthropic"


def route(**fields: Any) -> ModelRoute:
    return ModelRoute(**{"model": "claude-slug", "provider": "anthropic", "upstream_model": "claude-sonnet-4-5", **fields})


def build(body: dict[str, Any], **route_fields: Any) -> dict[str, Any]:
    return PROVIDERS["anthropic"].build({"model": "claude-slug", **body}, route(**route_fields), "sk-ant-test").body


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def assistant(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}


def call(call_id: str, arguments: str = '{"cmd": "ls"}', name: str = "exec_command", **extra: Any) -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments, **extra}


def output(call_id: str, out: Any = "ok") -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": out}


def reasoning(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "reasoning", "summary": [{"type": "summary_text", "text": "thought"}],
        "encrypted_content": carrier.wrap("anthropic", {"blocks": list(blocks)}),
    }


def strip_cache(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_cache(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [strip_cache(v) for v in value]
    return value


SHELL_TOOL = {"type": "function", "name": "exec_command", "description": "Run a command.", "parameters": {"type": "object",
    "properties": {"cmd": {"type": "string"}}}}
THOUGHT = {"type": "thinking", "thinking": "I should list files.", "signature": "SigOne"}
REDACTED = {"type": "redacted_thinking", "data": "EmwKAhgB"}


def accepted(request: dict[str, Any], signatures: dict[str, str] | None = None, redacted: set[str] | None = None) -> None:
    issued = signatures or {THOUGHT["signature"]: THOUGHT["thinking"]}
    problem = Validator(issued, redacted or {REDACTED["data"]}, models_by_id()).problem(request)
    assert problem is None, problem


# -- HTTP ------------------------------------------------------------------------------------


def test_request_goes_to_messages_with_anthropic_headers() -> None:
    upstream = PROVIDERS["anthropic"].build({"model": "claude-slug", "input": "hi"}, route(extra_headers={"anthropic-beta": "x"}), "sk-ant-1")
    assert upstream.url == "https://api.anthropic.com/v1/messages"
    assert upstream.headers == {
        "content-type": "application/json", "accept": "text/event-stream", "anthropic-version": "2023-06-01",
        "x-api-key": "sk-ant-1", "anthropic-beta": "x",
    }
    assert upstream.body["stream"] is True
    assert upstream.body["model"] == "claude-sonnet-4-5"


def test_an_authorization_header_from_the_route_replaces_x_api_key() -> None:
    upstream = PROVIDERS["anthropic"].build({"input": "hi"}, route(extra_headers={"Authorization": "Bearer gw"}), "sk-ant-1")
    assert "x-api-key" not in upstream.headers
    assert upstream.headers["Authorization"] == "Bearer gw"


def test_a_compatible_endpoint_can_take_the_key_as_a_bearer_token() -> None:
    upstream = PROVIDERS["anthropic"].build({"input": "hi"}, route(auth_header="bearer"), "sk-compat-1")
    assert "x-api-key" not in upstream.headers
    assert upstream.headers["authorization"] == "Bearer sk-compat-1"


def test_prompt_caching_can_be_turned_off() -> None:
    body = {"instructions": "Be brief.", "input": "hi", "tools": [{"type": "function", "name": "t", "parameters": {}}]}
    assert count_cache_controls(PROVIDERS["anthropic"].build(dict(body), route(), "k").body) > 0
    assert count_cache_controls(PROVIDERS["anthropic"].build(dict(body), route(prompt_caching=False), "k").body) == 0


# -- turns -----------------------------------------------------------------------------------


def test_system_comes_from_instructions_and_developer_messages() -> None:
    body = build({"instructions": "Be brief.", "input": [
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Sandbox: none."}, {"type": "input_text", "text": ""}]},
        user("hi"),
    ]})
    assert strip_cache(body["system"]) == [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Sandbox: none."}]
    assert body["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert strip_cache(body["messages"]) == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]


def test_consecutive_items_of_one_role_fold_into_one_turn() -> None:
    body = build({"input": [user("a"), user("b"), assistant("c"), assistant("d"), user("e")]})
    assert [(m["role"], len(m["content"])) for m in body["messages"]] == [("user", 2), ("assistant", 2), ("user", 1)]


def test_history_starting_with_the_assistant_gets_a_user_turn_first() -> None:
    body = build({"input": [assistant("earlier answer"), user("go on")]})
    assert strip_cache(body["messages"][0]) == {"role": "user", "content": [{"type": "text", "text": "(continuing)"}]}
    accepted(body)


def test_empty_text_is_never_sent() -> None:
    body = build({"input": [user(""), assistant(""), user("real")]})
    assert strip_cache(body["messages"]) == [{"role": "user", "content": [{"type": "text", "text": "real"}]}]


def test_unknown_item_types_are_refused_with_a_reason() -> None:
    with pytest.raises(RequestError, match="local_shell_call"):
        build({"input": [{"type": "local_shell_call"}]})


# -- tools -----------------------------------------------------------------------------------


def test_tools_map_to_input_schema_and_hosted_tools_are_dropped() -> None:
    body = build({"input": "hi", "tools": [
        SHELL_TOOL,
        {"type": "web_search", "external_web_access": False},
        {"type": "namespace", "name": "multi_agent_v1", "tools": [{"type": "function", "name": "spawn_agent",
            "parameters": {"type": "object", "properties": {}}}]},
        {"type": "custom", "name": "apply_patch", "description": "Patch files.", "format": {"type": "grammar", "syntax": "lark",
            "definition": "start: /.+/"}},
    ]})
    tools = strip_cache(body["tools"])
    assert [t["name"] for t in tools] == ["exec_command", "multi_agent_v1__spawn_agent", "apply_patch"]
    assert tools[0] == {"name": "exec_command", "description": "Run a command.", "input_schema": SHELL_TOOL["parameters"]}
    assert tools[2]["input_schema"]["properties"] == {"input": {"type": "string", "description": "The raw tool input."}}
    assert "start: /.+/" in tools[2]["description"]
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    accepted(body)


@pytest.mark.parametrize(("choice", "expected"), [
    ("auto", {"type": "auto"}),
    ("none", {"type": "none"}),
    ("required", {"type": "any"}),
    ({"type": "function", "name": "exec_command"}, {"type": "tool", "name": "exec_command"}),
])
def test_tool_choice_maps_to_anthropic_forms(choice: Any, expected: dict[str, Any]) -> None:
    assert build({"input": "hi", "tools": [SHELL_TOOL], "tool_choice": choice})["tool_choice"] == expected


def test_parallel_tool_calls_false_disables_parallel_tool_use() -> None:
    body = build({"input": "hi", "tools": [SHELL_TOOL], "tool_choice": "auto", "parallel_tool_calls": False})
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_calls_become_tool_use_and_outputs_tool_results_first_in_order() -> None:
    body = build({"tools": [SHELL_TOOL], "input": [
        user("PARALLEL"),
        assistant("Running both."),
        call("call_1"), call("call_2", '{"cmd": "pwd"}'),
        output("call_1", "one"), output("call_2", "two"),
        user("and then?"),
    ]})
    _, second, third = body["messages"]
    assert strip_cache(second) == {"role": "assistant", "content": [
        {"type": "text", "text": "Running both."},
        {"type": "tool_use", "id": "call_1", "name": "exec_command", "input": {"cmd": "ls"}},
        {"type": "tool_use", "id": "call_2", "name": "exec_command", "input": {"cmd": "pwd"}},
    ]}
    assert strip_cache(third)["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": [{"type": "text", "text": "one"}]},
        {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "two"}]},
        {"type": "text", "text": "and then?"},
    ]
    accepted(body)


def test_results_are_put_before_text_already_in_the_user_turn() -> None:
    body = build({"input": [user("go"), call("c1"), user("note"), output("c1", "done")]})
    assert [b["type"] for b in body["messages"][-1]["content"]] == ["tool_result", "text"]
    accepted(body)


def test_invalid_arguments_travel_raw_and_namespaces_are_flattened() -> None:
    body = build({"input": [user("x"), call("c1", "{not json", name="spawn_agent", namespace="multi_agent_v1"), output("c1")]})
    use = body["messages"][1]["content"][0]
    assert (use["name"], use["input"]) == ("multi_agent_v1__spawn_agent", {"_raw": "{not json"})


def test_custom_tool_calls_carry_their_raw_input() -> None:
    body = build({"input": [
        user("patch it"),
        {"type": "custom_tool_call", "call_id": "c1", "name": "apply_patch", "input": "*** Begin Patch"},
        {"type": "custom_tool_call_output", "call_id": "c1", "output": "Done!"},
    ]})
    assert body["messages"][1]["content"][0]["input"] == {"input": "*** Begin Patch"}
    assert body["messages"][2]["content"][0]["tool_use_id"] == "c1"


def test_tool_ids_other_providers_made_are_sanitized_consistently() -> None:
    body = build({"input": [user("x"), call("functions.exec:0"), output("functions.exec:0")]})
    assert body["messages"][1]["content"][0]["id"] == "functions_exec_0"
    assert body["messages"][2]["content"][0]["tool_use_id"] == "functions_exec_0"
    accepted(body)


def test_orphan_outputs_become_text_and_unanswered_calls_get_an_error_result() -> None:
    body = build({"input": [user("x"), output("ghost", "boo"), call("c1"), user("next")]})
    accepted(body)
    assert body["messages"][0]["content"][0]["text"] == "[output of tool call ghost]\nboo"
    assert body["messages"][2]["content"][0]["is_error"] is True


# -- images ----------------------------------------------------------------------------------

PNG = "data:image/png;base64,iVBORw0KGgo="


def test_images_become_base64_or_url_sources() -> None:
    body = build({"input": [{"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "look"},
        {"type": "input_image", "image_url": PNG},
        {"type": "input_image", "image_url": "https://example.com/a.jpg"},
    ]}]})
    assert strip_cache(body["messages"][0]["content"][1:]) == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
    ]


def test_tool_outputs_keep_text_and_images() -> None:
    body = build({"input": [user("x"), call("c1"), output("c1", [
        {"type": "input_text", "text": "screenshot:"}, {"type": "input_image", "image_url": PNG},
    ])]})
    content = strip_cache(body["messages"][2]["content"][0]["content"])
    assert [b["type"] for b in content] == ["text", "image"]


def test_routes_without_image_support_get_a_note_instead() -> None:
    body = build({"input": [{"type": "message", "role": "user", "content": [{"type": "input_image", "image_url": PNG}]}]}, no_image_support=True)
    assert "image omitted" in body["messages"][0]["content"][0]["text"]


# -- limits and thinking ---------------------------------------------------------------------


@pytest.mark.parametrize(("model", "effort", "expected"), [
    ("claude-sonnet-4-5", "max", 64_000), ("claude-haiku-4-5", "xhigh", 64_000), ("claude-opus-4-7", "ultra", 128_000),  # the Models API's max_tokens
    ("claude-opus-4-7", "high", 32_000), ("claude-opus-4-7", None, 32_000),  # not raised for all: it counts against the rate limit
    ("claude-haiku-4-5", "low", 32_000),
    ("kimi-k2-thinking", "max", 32_000),  # not a model the Models API describes (a compatible endpoint's): a plain default
])
def test_max_tokens_is_the_models_published_limit_for_the_longest_efforts(model: str, effort: str | None, expected: int) -> None:
    body: dict[str, Any] = {"input": "hi", **({"reasoning": {"effort": effort}} if effort else {})}
    assert build(body, upstream_model=model)["max_tokens"] == expected
    limit = {"claude-opus-4-7": 128_000, "kimi-k2-thinking": 32_000}.get(model, 64_000)
    assert build({**body, "max_output_tokens": 200_000}, upstream_model=model)["max_tokens"] == limit  # asked: never above the limit
    assert build({**body, "max_output_tokens": 1_000}, upstream_model=model)["max_tokens"] == 1_000


def test_max_tokens_prefers_the_request_then_the_route() -> None:
    assert build({"input": "hi", "max_output_tokens": 1000})["max_tokens"] == 1000
    assert build({"input": "hi"}, max_output_tokens=2000)["max_tokens"] == 2000
    assert build({"input": "hi", "max_output_tokens": 5000}, max_output_tokens=2000)["max_tokens"] == 2000


@pytest.mark.parametrize(("effort", "budget"), [
    ("low", 4000), ("medium", 10000), ("high", 24000), ("xhigh", 32000), ("max", 62976), ("ultra", 62976), ("minimal", None), ("none", None),
])
def test_reasoning_effort_sets_a_thinking_budget_below_max_tokens(effort: str, budget: int | None) -> None:
    body = build({"input": "hi", "reasoning": {"effort": effort}})  # Sonnet 4.5: budget thinking only, no effort parameter
    assert "output_config" not in body
    if budget is None:
        assert body["thinking"] == {"type": "disabled"}
        accepted(body)
    else:
        assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
        assert body["thinking"]["budget_tokens"] < body["max_tokens"]
        accepted(body)


def test_small_max_tokens_turn_thinking_off_rather_than_break_the_rule() -> None:
    assert "thinking" not in build({"input": "hi", "reasoning": {"effort": "high"}, "max_output_tokens": 1500})
    assert build({"input": "hi", "reasoning": {"effort": "high"}, "max_output_tokens": 5000})["thinking"]["budget_tokens"] == 3976


def test_thinking_drops_sampling_settings_and_forced_tool_choice() -> None:
    body = build({"input": "hi", "tools": [SHELL_TOOL], "tool_choice": "required", "temperature": 0.2, "top_p": 0.9, "reasoning": {"effort": "low"}})
    assert "temperature" not in body and "top_p" not in body
    assert body["tool_choice"] == {"type": "auto"}
    accepted(body)
    plain = build({"input": "hi", "temperature": 0.2, "top_p": 0.9})
    assert (plain["temperature"], "top_p" in plain) == (0.2, False)


def test_a_route_can_turn_thinking_off() -> None:
    assert "thinking" not in build({"input": "hi", "reasoning": {"effort": "high"}}, supports_reasoning_effort=False)


# -- thinking round trip ---------------------------------------------------------------------


def test_carried_thinking_is_replayed_in_place_before_the_tool_use() -> None:
    body = build({"reasoning": {"effort": "low"}, "input": [
        user("go"), reasoning(REDACTED, THOUGHT), call("c1"), output("c1"),
    ]})
    assert [b["type"] for b in body["messages"][1]["content"]] == ["redacted_thinking", "thinking", "tool_use"]
    assert body["messages"][1]["content"][1] == THOUGHT
    assert "thinking" in body
    accepted(body)


def test_interleaved_thinking_keeps_its_order() -> None:
    second = {"type": "thinking", "thinking": "again", "signature": "SigTwo"}
    body = build({"input": [user("go"), reasoning(THOUGHT), call("c1"), reasoning(second), call("c2"), output("c1"), output("c2")]})
    assert [b.get("signature") or b["type"] for b in body["messages"][1]["content"]] == ["SigOne", "tool_use", "SigTwo", "tool_use"]


def test_foreign_reasoning_is_dropped() -> None:
    foreign = [
        {"type": "reasoning", "summary": [], "encrypted_content": "gAAAAopenai-encrypted"},
        {"type": "reasoning", "summary": [], "encrypted_content": carrier.wrap("chat", {"reasoning_content": "x"})},
        {"type": "reasoning", "summary": []},
    ]
    body = build({"input": [user("go"), *foreign, assistant("hello"), user("again")]})
    assert strip_cache(body["messages"][1]) == {"role": "assistant", "content": [{"type": "text", "text": "hello"}]}


def test_thinking_only_turns_are_not_replayed() -> None:
    body = build({"input": [user("go"), reasoning(THOUGHT), user("again")]})
    assert [m["role"] for m in body["messages"]] == ["user"]
    accepted(body)


def test_thinking_is_turned_off_when_the_open_tool_loop_lost_its_signed_thinking() -> None:
    body = build({"reasoning": {"effort": "high"}, "input": [user("go"), call("c1"), output("c1")]})
    assert "thinking" not in body
    accepted(body)
    earlier_loop = build({"reasoning": {"effort": "high"}, "input": [user("go"), call("c1"), output("c1"), assistant("done"), user("next")]})
    assert "thinking" in earlier_loop


def test_a_streamed_answer_round_trips_into_the_next_request_verbatim() -> None:
    upstream = PROVIDERS["anthropic"].build({"model": "claude-slug", "input": "hi", "tools": [SHELL_TOOL]}, route(), "k")
    translator = upstream.new_translator()
    out = translator.feed((FIXTURES / "thinking_tool_use.sse").read_bytes()) + translator.feed(b"")
    items = done_items(parse_checked(out))
    body = build({"reasoning": {"effort": "low"}, "tools": [SHELL_TOOL], "input": [user("list"), *items, output(items[-1]["call_id"], "a b")]})
    assert strip_cache(body["messages"][1]["content"]) == [
        {"type": "thinking", "thinking": "Let me check the directory first…", "signature": "EqQBCkgIBxABGAIiQL1Zsig=="},
        {"type": "text", "text": "I'll list the files."},
        {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "exec_command", "input": {"cmd": "ls -la"}},
    ]
    accepted(body, {"EqQBCkgIBxABGAIiQL1Zsig==": "Let me check the directory first…"})


# -- caching ---------------------------------------------------------------------------------


def test_cache_breakpoints_mark_tools_system_and_the_last_two_user_turns() -> None:
    body = build({"instructions": "sys", "tools": [SHELL_TOOL, SHELL_TOOL | {"name": "other"}], "input": [
        user("one"), assistant("a"), user("two"), call("c1"), output("c1", "three"),
    ]})
    assert count_cache_controls(body) == 4
    assert "cache_control" in body["tools"][-1] and "cache_control" not in body["tools"][0]
    assert "cache_control" in body["system"][-1]
    marked = [i for i, m in enumerate(body["messages"]) if "cache_control" in m["content"][-1]]
    assert marked == [2, 4]
    accepted(body)


def test_the_real_codex_request_is_accepted() -> None:
    codex = json.loads(CODEX_REQUEST.read_text())
    codex["reasoning"]["effort"] = "medium"
    upstream = PROVIDERS["anthropic"].build(codex, route(), "k")
    body = upstream.body
    assert count_cache_controls(body) <= 4
    assert "web_search" not in [t["name"] for t in body["tools"]]
    assert all("__" not in t["name"] or t["name"].startswith("multi_agent_v1__") for t in body["tools"])
    assert anthropic.CONTINUE_TEXT not in json.dumps(body["messages"])
    accepted(body)


# -- the fake refuses what Anthropic refuses (so the e2e tests prove something) ------------------


def _valid_thinking_request() -> dict[str, Any]:
    return build({"reasoning": {"effort": "low"}, "tools": [SHELL_TOOL], "instructions": "sys", "input": [
        user("go"), user("now"), reasoning(THOUGHT), call("c1"), output("c1"),
    ]})


def _drop_thinking(r: dict[str, Any]) -> None:
    del r["messages"][1]["content"][0]


def _edit_thinking(r: dict[str, Any]) -> None:
    r["messages"][1]["content"][0]["thinking"] += "!"


def _text_first(r: dict[str, Any]) -> None:
    r["messages"][2]["content"].insert(0, {"type": "text", "text": "first"})


def _wrong_result_id(r: dict[str, Any]) -> None:
    r["messages"][2]["content"][0]["tool_use_id"] = "other"


def _fifth_cache_control(r: dict[str, Any]) -> None:
    r["messages"][0]["content"][0]["cache_control"] = {"type": "ephemeral"}


def _dotted_tool_name(r: dict[str, Any]) -> None:
    r["tools"][0]["name"] = "multi_agent.spawn"


def _assistant_first(r: dict[str, Any]) -> None:
    r["messages"].insert(0, {"role": "assistant", "content": [{"type": "text", "text": "hi"}]})


def _no_max_tokens(r: dict[str, Any]) -> None:
    del r["max_tokens"]


def _empty_text(r: dict[str, Any]) -> None:
    r["messages"][0]["content"].append({"type": "text", "text": ""})


def _temperature(r: dict[str, Any]) -> None:
    r["temperature"] = 0.3


@pytest.mark.parametrize(("mutate", "reason"), [
    (_drop_thinking, "must start with a thinking block"),
    (_edit_thinking, "Invalid `signature`"),
    (_text_first, "must come first"),
    (_wrong_result_id, "unexpected `tool_use_id`"),
    (_fifth_cache_control, "maximum of 4"),
    (_dotted_tool_name, "should match pattern"),
    (_assistant_first, "first message"),
    (_no_max_tokens, "max_tokens"),
    (_empty_text, "non-empty"),
    (_temperature, "temperature"),
])
def test_the_fake_refuses_what_anthropic_refuses(mutate: Any, reason: str) -> None:
    request = _valid_thinking_request()
    accepted(request)
    mutate(request)
    problem = Validator({THOUGHT["signature"]: THOUGHT["thinking"]}, set()).problem(request)
    assert problem is not None and reason in problem
