"""chat.map_request / chat.build: a Responses request becomes a Chat Completions request."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from shim import carrier
from shim.config import ModelRoute
from shim.errors import RequestError
from shim.providers import chat
from shim.tool_names import ToolNames
from tests.fakes.chat_upstream import validate

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
FIXTURE = Path(__file__).parent / "fixtures" / "codex" / "codex-0.169-responses-request.json"


def route(**overrides: Any) -> ModelRoute:
    fields: dict[str, Any] = {"model": "byok", "provider": "generic-chat-completion-api", "base_url": "http://127.0.0.1:1/v1"}
    fields.update(overrides)
    return ModelRoute(**fields)


def mapped(body: dict[str, Any], **route_overrides: Any) -> dict[str, Any]:
    return chat.map_request(copy.deepcopy(body), route(**route_overrides), ToolNames())


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def fcall(call_id: str, name: str, arguments: str = "{}", namespace: str | None = None) -> dict[str, Any]:
    item = {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}
    if namespace:
        item["namespace"] = namespace
    return item


def fout(call_id: str, output: Any) -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def fn(name: str) -> dict[str, Any]:
    return {"type": "function", "name": name, "parameters": {"type": "object", "properties": {}}}


# -- messages ---------------------------------------------------------------------------------


def test_instructions_and_leading_developer_messages_become_one_system_message():
    body = {
        "instructions": "Be brief.",
        "input": [
            {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "dev rules"}]},
            user("hello"),
        ],
    }
    assert mapped(body)["messages"] == [
        {"role": "system", "content": "Be brief.\n\ndev rules"},
        {"role": "user", "content": "hello"},
    ]


def test_a_later_developer_message_is_not_a_system_message_mid_conversation():
    later = {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "sandbox changed"}]}
    body = {"input": [user("hello"), {"type": "message", "role": "assistant", "content": "hi"}, later, user("go on")]}
    assert [m["role"] for m in mapped(body)["messages"]] == ["user", "assistant", "user", "user"]
    assert mapped(body)["messages"][2]["content"] == "<system>\nsandbox changed\n</system>"
    openai = chat.map_request(body, route(provider="openai", base_url=""), chat.ToolNames())
    assert [m["role"] for m in openai["messages"]] == ["user", "assistant", "system", "user"]


def test_empty_instructions_add_no_system_message():
    assert mapped({"instructions": "", "input": "hi"})["messages"] == [{"role": "user", "content": "hi"}]


def test_string_input_is_one_user_message():
    assert mapped({"input": "hi"})["messages"] == [{"role": "user", "content": "hi"}]


def test_user_images_by_data_url_and_http_url_become_image_parts():
    data_url = "data:image/png;base64,iVBORw0KGgo="
    body = {
        "input": [
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "look"},
                    {"type": "input_image", "image_url": data_url, "detail": "high"},
                    {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "auto"},
                ],
            }
        ]
    }
    assert mapped(body)["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": data_url, "detail": "high"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            ],
        }
    ]


def test_no_image_support_replaces_images_with_a_text_note():
    body = {
        "input": [
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "look "},
                    {"type": "input_image", "image_url": "https://example.com/cat.png"},
                ],
            }
        ]
    }
    (message,) = mapped(body, no_image_support=True)["messages"]
    assert isinstance(message["content"], str)
    assert message["content"].startswith("look ")
    assert "image omitted" in message["content"]
    assert "https://example.com" not in json.dumps(message)


def test_assistant_output_text_becomes_assistant_content():
    body = {
        "input": [
            user("hi"),
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hello"}]},
        ]
    }
    assert mapped(body)["messages"][-1] == {"role": "assistant", "content": "hello"}


# -- tool calls and outputs -------------------------------------------------------------------


def test_consecutive_function_calls_form_one_assistant_message():
    body = {
        "input": [
            user("run two"),
            fcall("call_1", "exec_command", '{"cmd":"ls"}'),
            fcall("call_2", "exec_command", '{"cmd":"pwd"}'),
            fout("call_1", "a"),
            fout("call_2", "b"),
        ],
        "tools": [fn("exec_command")],
    }
    messages = mapped(body)["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "exec_command", "arguments": '{"cmd":"ls"}'}},
            {"id": "call_2", "type": "function", "function": {"name": "exec_command", "arguments": '{"cmd":"pwd"}'}},
        ],
    }
    assert messages[2:] == [
        {"role": "tool", "tool_call_id": "call_1", "content": "a"},
        {"role": "tool", "tool_call_id": "call_2", "content": "b"},
    ]
    assert validate(mapped(body), thinking=False) is None


def test_preamble_text_and_following_calls_share_one_assistant_message():
    body = {
        "input": [
            user("go"),
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Running."}]},
            fcall("call_1", "exec_command"),
            fout("call_1", "ok"),
        ]
    }
    messages = mapped(body)["messages"]
    assert messages[1]["content"] == "Running."
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["call_1"]


def test_function_call_output_content_array_becomes_text():
    body = {
        "input": [
            user("x"),
            fcall("call_1", "exec_command"),
            fout("call_1", [{"type": "input_text", "text": "line 1"}, {"type": "input_text", "text": "line 2"}]),
        ]
    }
    assert mapped(body)["messages"][-1] == {"role": "tool", "tool_call_id": "call_1", "content": "line 1\nline 2"}


def test_images_in_tool_output_follow_the_tool_results_in_a_user_message():
    body = {
        "input": [
            user("x"),
            fcall("call_1", "view_image"),
            fout("call_1", [{"type": "input_image", "image_url": "data:image/png;base64,AAAA"}]),
            user("next"),
        ]
    }
    messages = mapped(body)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "user", "user"]
    assert messages[3]["content"][1] == {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    assert validate(mapped(body), thinking=False) is None


def test_custom_tool_call_and_output_replay_through_the_function_wrapper():
    body = {
        "input": [
            user("patch"),
            {"type": "custom_tool_call", "call_id": "call_P", "name": "apply_patch", "input": "*** Begin Patch"},
            {"type": "custom_tool_call_output", "call_id": "call_P", "output": "Done!"},
        ]
    }
    messages = mapped(body)["messages"]
    call = messages[1]["tool_calls"][0]
    assert call["function"]["name"] == "apply_patch"
    assert json.loads(call["function"]["arguments"]) == {"input": "*** Begin Patch"}
    assert messages[2] == {"role": "tool", "tool_call_id": "call_P", "content": "Done!"}


def test_namespaced_function_call_in_history_uses_the_flat_name():
    body = {"input": [user("x"), fcall("c", "spawn_agent", namespace="multi_agent_v1"), fout("c", "ok")]}
    assert mapped(body)["messages"][1]["tool_calls"][0]["function"]["name"] == "multi_agent_v1__spawn_agent"


def test_hosted_tool_results_in_history_are_dropped():
    body = {"input": [user("x"), {"type": "web_search_call", "id": "ws_1", "status": "completed"}, user("y")]}
    assert [m["role"] for m in mapped(body)["messages"]] == ["user", "user"]


# -- reasoning carriers -----------------------------------------------------------------------


def test_chat_reasoning_carrier_goes_back_on_the_tool_calling_assistant_message():
    reasoning = {
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "think"}],
        "encrypted_content": carrier.wrap("chat", {"reasoning_content": "I should list files"}),
    }
    body = {"input": [user("x"), reasoning, fcall("c", "exec_command"), fout("c", "ok")]}
    messages = mapped(body)["messages"]
    assert messages[1]["reasoning_content"] == "I should list files"
    assert validate(mapped(body), thinking=True) is None


def test_foreign_reasoning_items_are_dropped():
    foreign = {"type": "reasoning", "summary": [], "encrypted_content": "gAAAAABoX2foreign-openai-blob=="}
    body = {"input": [user("x"), foreign, fcall("c", "exec_command"), fout("c", "ok")]}
    messages = mapped(body)["messages"]
    assert "reasoning_content" not in messages[1]
    assert "gAAAA" not in json.dumps(messages)
    assert [m["role"] for m in messages] == ["user", "assistant", "tool"]


def test_carrier_of_another_kind_is_foreign():
    other = {"type": "reasoning", "summary": [], "encrypted_content": carrier.wrap("anthropic", {"reasoning_content": "x"})}
    body = {"input": [user("x"), other, fcall("c", "exec_command"), fout("c", "ok")]}
    assert "reasoning_content" not in mapped(body)["messages"][1]


def test_reasoning_of_an_earlier_turn_does_not_leak_into_a_later_one():
    reasoning = {"type": "reasoning", "summary": [], "encrypted_content": carrier.wrap("chat", {"reasoning_content": "old"})}
    answer = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "done"}]}
    body = {"input": [user("a"), reasoning, answer, user("b"), fcall("c", "exec_command"), fout("c", "ok")]}
    assert "reasoning_content" not in mapped(body)["messages"][-2]


# -- tools --------------------------------------------------------------------------------------


def test_namespace_tools_are_flattened_with_valid_names():
    body = {
        "input": "x",
        "tools": [
            {"type": "namespace", "name": "multi_agent_v1", "tools": [fn("spawn_agent"), fn("close_agent")]},
            {"type": "namespace", "name": "mcp.server/with spaces", "tools": [fn("do.thing")]},
        ],
    }
    names = [t["function"]["name"] for t in mapped(body)["tools"]]
    assert names[:2] == ["multi_agent_v1__spawn_agent", "multi_agent_v1__close_agent"]
    assert len(names) == 3
    assert all(TOOL_NAME.match(name) for name in names), names


def test_hundred_char_tool_name_is_still_valid_and_maps_back():
    long_name = "t" * 60 + "_" + "x" * 39
    assert len(long_name) == 100
    names = ToolNames()
    request = chat.map_request({"input": "x", "tools": [fn(long_name)]}, route(), names)
    wire = request["tools"][0]["function"]["name"]
    assert TOOL_NAME.match(wire)
    assert names.lookup(wire).name == long_name


def test_long_namespaced_names_stay_distinct():
    body = {"input": "x", "tools": [{"type": "namespace", "name": "n" * 70, "tools": [fn("alpha"), fn("beta")]}]}
    names = [t["function"]["name"] for t in mapped(body)["tools"]]
    assert len(set(names)) == 2 and all(TOOL_NAME.match(n) for n in names)


def test_web_search_hosted_tool_is_dropped():
    body = {"input": "x", "tools": [fn("exec_command"), {"type": "web_search", "external_web_access": False}]}
    assert [t["function"]["name"] for t in mapped(body)["tools"]] == ["exec_command"]


def test_only_hosted_tools_means_no_tools_field_and_no_tool_choice():
    request = mapped({"input": "x", "tools": [{"type": "web_search"}], "tool_choice": "auto", "parallel_tool_calls": True})
    assert "tools" not in request and "tool_choice" not in request and "parallel_tool_calls" not in request


def test_custom_tool_becomes_a_function_taking_input_with_the_grammar_described():
    tool = {
        "type": "custom",
        "name": "apply_patch",
        "description": "Apply a patch.",
        "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch"},
    }
    (function,) = mapped({"input": "x", "tools": [tool]})["tools"]
    assert function["function"]["name"] == "apply_patch"
    assert function["function"]["parameters"]["required"] == ["input"]
    assert "start: begin_patch" in function["function"]["description"]


def test_function_tool_keeps_description_parameters_and_strict():
    tool = {**fn("exec_command"), "description": "Run.", "strict": True}
    assert mapped({"input": "x", "tools": [tool]})["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "exec_command",
                "parameters": {"type": "object", "properties": {}},
                "description": "Run.",
                "strict": True,
            },
        }
    ]


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_string_tool_choice_passes_through(choice):
    assert mapped({"input": "x", "tools": [fn("a")], "tool_choice": choice})["tool_choice"] == choice


def test_named_tool_choice_uses_the_flat_name():
    body = {
        "input": "x",
        "tools": [{"type": "namespace", "name": "ns", "tools": [fn("a")]}],
        "tool_choice": {"type": "function", "name": "a", "namespace": "ns"},
    }
    assert mapped(body)["tool_choice"] == {"type": "function", "function": {"name": "ns__a"}}


@pytest.mark.parametrize("parallel", [True, False])
def test_parallel_tool_calls_passes_through(parallel):
    assert mapped({"input": "x", "tools": [fn("a")], "parallel_tool_calls": parallel})["parallel_tool_calls"] is parallel


# -- sampling and limits ----------------------------------------------------------------------


def test_max_output_tokens_is_max_tokens_for_generic_providers():
    request = mapped({"input": "x", "max_output_tokens": 500})
    assert request["max_tokens"] == 500 and "max_completion_tokens" not in request


def test_max_output_tokens_is_max_completion_tokens_for_openai():
    request = mapped({"input": "x", "max_output_tokens": 500}, provider="openai", base_url="")
    assert request["max_completion_tokens"] == 500 and "max_tokens" not in request


def test_route_max_output_tokens_caps_the_request():
    assert mapped({"input": "x", "max_output_tokens": 5000}, max_output_tokens=1000)["max_tokens"] == 1000
    assert mapped({"input": "x"}, max_output_tokens=1000)["max_tokens"] == 1000


def test_no_limit_means_no_max_tokens_field():
    request = mapped({"input": "x"})
    assert "max_tokens" not in request and "max_completion_tokens" not in request


def test_temperature_and_top_p_pass_through():
    request = mapped({"input": "x", "temperature": 0.2, "top_p": 0.9})
    assert (request["temperature"], request["top_p"]) == (0.2, 0.9)
    assert "temperature" not in mapped({"input": "x", "temperature": None})


def test_reasoning_effort_only_when_the_route_wants_it():
    body = {"input": "x", "reasoning": {"effort": "high", "summary": "auto"}}
    assert "reasoning_effort" not in mapped(body)
    assert mapped(body, supports_reasoning_effort=True)["reasoning_effort"] == "high"
    assert mapped(body, provider="openai", base_url="")["reasoning_effort"] == "high"
    assert "reasoning_effort" not in mapped(body, provider="openai", base_url="", supports_reasoning_effort=False)


def test_json_schema_text_format_becomes_response_format():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    body = {"input": "x", "text": {"format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}}}
    assert mapped(body)["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": True},
    }


def test_plain_text_format_adds_no_response_format():
    assert "response_format" not in mapped({"input": "x", "text": {"format": {"type": "text"}}})


def test_stream_with_usage_is_always_requested():
    request = mapped({"input": "x"})
    assert request["stream"] is True
    assert request["stream_options"] == {"include_usage": True}


def test_upstream_model_name_is_sent():
    assert mapped({"input": "x"}, upstream_model="deepseek-chat")["model"] == "deepseek-chat"
    assert mapped({"input": "x"})["model"] == "byok"


def test_unknown_item_type_is_a_request_error():
    from shim.errors import RequestError

    with pytest.raises(RequestError, match="input\\[0\\]"):
        mapped({"input": [{"type": "mystery_item"}]})


# -- build ------------------------------------------------------------------------------------


def test_build_targets_chat_completions_with_bearer_key_and_extra_headers():
    up = chat.build({"input": "x"}, route(extra_headers={"x-extra": "1"}), "sk-abc")
    assert up.url == "http://127.0.0.1:1/v1/chat/completions"
    assert up.headers["authorization"] == "Bearer sk-abc"
    assert up.headers["x-extra"] == "1"


def test_build_without_key_sends_no_authorization():
    assert "authorization" not in chat.build({"input": "x"}, route(), None).headers


def test_an_authorization_in_extra_headers_replaces_the_key_in_any_spelling():
    up = chat.build({"input": "x"}, route(extra_headers={"Authorization": "Bearer gw"}), "sk-abc")
    assert up.headers == {"content-type": "application/json", "accept": "text/event-stream", "Authorization": "Bearer gw"}


# -- the real captured Codex request ---------------------------------------------------------


@pytest.fixture(scope="module")
def codex_request() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_real_codex_request_tool_names_are_all_valid(codex_request):
    request = chat.build(codex_request, route(), "sk").body
    names = [t["function"]["name"] for t in request["tools"]]
    assert names and all(TOOL_NAME.match(n) for n in names), names
    assert "exec_command" in names
    assert any(n.startswith("multi_agent_v1__") for n in names)


def test_real_codex_request_is_accepted_by_the_fake_provider(codex_request):
    request = chat.build(codex_request, route(), "sk").body
    assert validate(request, thinking=False) is None
    assert validate(request, thinking=True) is None


def test_real_codex_request_maps_developer_to_system_and_keeps_users(codex_request):
    messages = chat.build(codex_request, route(), "sk").body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "user"]
    assert messages[0]["content"].startswith("You are a coding agent")


def test_real_codex_request_drops_web_search_and_keeps_every_function(codex_request):
    expected = sum(
        len(t["tools"]) if t["type"] == "namespace" else 1 for t in codex_request["tools"] if t["type"] != "web_search"
    )
    assert len(chat.build(codex_request, route(), "sk").body["tools"]) == expected


def test_real_codex_request_sends_no_responses_only_fields(codex_request):
    request = chat.build(codex_request, route(), "sk").body
    for key in ("input", "include", "store", "client_metadata", "reasoning", "instructions", "prompt_cache_key"):
        assert key not in request


def test_real_codex_request_keeps_separate_developer_parts_apart(codex_request):
    messages = chat.build(codex_request, route(), "sk").body["messages"]
    assert re.search(r"</skills_instructions>\s+<permissions instructions>", messages[0]["content"])


def test_malformed_tools_are_a_clear_request_error():
    for tools in ({"type": "function"}, ["not a tool"], [{"type": "function", "parameters": {}}]):
        with pytest.raises(RequestError):
            mapped({"input": "hi", "tools": tools})


def test_a_responses_route_drops_the_fields_its_server_refuses():
    from shim.providers import responses

    body = {"model": "slug", "input": "hi", "store": False, "client_metadata": {"a": 1}, "truncation": "auto", "user": "u"}
    request = responses.map_request(body, route(provider="responses", drop_fields=("truncation", "user")))
    assert request["store"] is False  # kept: a server that stores by default must see it
    assert "client_metadata" not in request and "truncation" not in request and "user" not in request
