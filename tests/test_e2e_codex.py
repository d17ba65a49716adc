"""The real Codex CLI (0.171.0, and 0.169.0 in scripts/test) through a real mitmdump with the addon, against local fakes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.chat_upstream import API_KEY as CHAT_KEY
from tests.fakes.chat_upstream import ScriptedChatModel, chat_upstream
from tests.fakes.responses_upstream import API_KEY as RESPONSES_KEY
from tests.fakes.responses_upstream import ScriptedResponsesModel, responses_upstream
from tests.harness import Mitmdump, run_codex

pytestmark = pytest.mark.e2e

CODEX_ONLY_HEADERS = ("chatgpt-account-id", "session-id", "session_id", "thread-id", "originator", "cookie",
                      "x-codex-turn-metadata", "x-codex-window-id", "x-client-request-id", "version")


def chat_route(base_url: str, **extra: object) -> dict[str, object]:
    return {"model": "byok-chat", "provider": "generic-chat-completion-api", "base_url": f"{base_url}/v1",
            "api_key": CHAT_KEY, "display_name": "BYOK chat", **extra}


def assert_no_codex_credentials(requests: list[dict[str, object]], byok_key: str) -> None:
    for req in requests:
        headers = req["headers"]
        assert isinstance(headers, dict)
        assert headers.get("authorization") == f"Bearer {byok_key}"
        for name in CODEX_ONLY_HEADERS:
            assert name not in headers, f"{name} leaked to the BYOK host"
        assert "sk-dummy-openai-key" not in json.dumps(headers)


def test_codex_runs_a_shell_tool_loop_on_a_chat_provider(tmp_path: Path) -> None:
    model = ScriptedChatModel()
    route = chat_route("", extra_headers={"x-goog-api-key": "sk-extra-header-secret", "X-Title": "codex-shim"})
    with chat_upstream(model) as upstream, Mitmdump(tmp_path, [{**route, "base_url": f"{upstream.base_url}/v1"}],
                                                    ["-w", str(tmp_path / "flows.mitm")]) as proxy:
        result = run_codex(proxy, tmp_path / "home", "byok-chat", "Run the marker command and tell me its output.")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "marker-42" in result.stdout  # the command really ran: the fake cannot compute 6*7
    assert model.errors == []
    bodies = upstream.json_bodies()
    assert len(bodies) == 2
    tool_messages = [m for m in bodies[1]["messages"] if m["role"] == "tool"]
    assert "marker-42" in tool_messages[0]["content"]
    assert bodies[0]["stream_options"] == {"include_usage": True}
    assert_no_codex_credentials(upstream.requests, CHAT_KEY)
    # usage reached Codex: per turn input 1200 - cached 1000 + output 34 = 234
    assert "468" in result.stderr
    # the key does not survive in the saved flows
    saved = (tmp_path / "flows.mitm").read_bytes()
    assert b"/v1/chat/completions" in saved and CHAT_KEY.encode() not in saved
    assert b"sk-extra-header-secret" not in saved  # keys in extra_headers are redacted too
    assert upstream.requests[0]["headers"]["x-goog-api-key"] == "sk-extra-header-secret"  # but were sent


def test_codex_runs_two_parallel_tool_calls(tmp_path: Path) -> None:
    model = ScriptedChatModel()
    with chat_upstream(model) as upstream, Mitmdump(tmp_path, [chat_route(upstream.base_url)]) as proxy:
        result = run_codex(proxy, tmp_path / "home", "byok-chat", "PARALLEL: run both commands.")
    assert result.returncode == 0, result.stderr[-3000:]
    assert model.errors == []
    second = upstream.json_bodies()[1]["messages"]
    calls = next(m for m in second if m.get("tool_calls"))["tool_calls"]
    assert [c["id"] for c in calls] == ["call_1_0", "call_1_1"]  # one assistant turn, both calls
    outputs = {m["tool_call_id"]: m["content"] for m in second if m["role"] == "tool"}
    assert "first-42" in outputs["call_1_0"] and "second-56" in outputs["call_1_1"]
    assert "first-42" in result.stdout and "second-56" in result.stdout


def test_codex_shows_reasoning_and_replays_it_in_thinking_mode(tmp_path: Path) -> None:
    model = ScriptedChatModel(thinking=True)  # refuses tool turns without their reasoning_content
    with chat_upstream(model) as upstream, Mitmdump(tmp_path, [chat_route(upstream.base_url)]) as proxy:
        result = run_codex(proxy, tmp_path / "home", "byok-chat", "Run the marker command.")
    assert result.returncode == 0, result.stderr[-3000:]
    assert model.errors == []
    assert "Thinking about the task… ✓" in result.stderr  # shown as Codex's reasoning
    second = upstream.json_bodies()[1]["messages"]
    turn = next(m for m in second if m.get("tool_calls"))
    assert turn["reasoning_content"] == "Thinking about the task… ✓"
    assert "marker-42" in result.stdout


def test_codex_runs_a_tool_loop_on_a_responses_native_provider(tmp_path: Path) -> None:
    model = ScriptedResponsesModel()
    route = {"model": "byok-resp", "provider": "responses", "base_url": "", "api_key": RESPONSES_KEY}
    with responses_upstream(model) as upstream:
        route["base_url"] = f"{upstream.base_url}/v1"
        with Mitmdump(tmp_path, [route]) as proxy:
            result = run_codex(proxy, tmp_path / "home", "byok-resp", "Run the command.")
    assert result.returncode == 0, result.stderr[-3000:]
    assert model.errors == []
    assert "resp-42" in result.stdout
    bodies = upstream.json_bodies()
    assert len(bodies) == 2
    assert all(b["model"] == "byok-resp" for b in bodies)
    replayed = [i for i in bodies[1]["input"] if i.get("type") == "reasoning"]
    assert [i["encrypted_content"] for i in replayed] == ["fake-encrypted-1"]
    assert_no_codex_credentials(upstream.requests, RESPONSES_KEY)
