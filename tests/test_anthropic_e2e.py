"""The real Codex CLI (0.171.0, and 0.169.0 in scripts/test) through mitmdump with the addon, against a fake Anthropic API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.anthropic_upstream import API_KEY, ScriptedAnthropicModel, anthropic_upstream, count_cache_controls, merged_turns
from tests.harness import Mitmdump, run_codex

pytestmark = pytest.mark.e2e

SLUG = "byok-claude"
CODEX_ONLY_HEADERS = ("authorization", "chatgpt-account-id", "session-id", "session_id", "thread-id", "originator",
                      "cookie", "x-codex-turn-metadata", "x-codex-window-id", "x-client-request-id", "version")


def claude_route(base_url: str) -> dict[str, object]:
    return {"model": SLUG, "provider": "anthropic", "base_url": f"{base_url}/v1", "api_key": API_KEY,
            "upstream_model": "claude-sonnet-4-5", "display_name": "BYOK Claude"}


def codex_home(tmp_path: Path, effort: str | None = None) -> Path:
    """A CODEX_HOME whose reasoning effort is pinned: `effort` turns thinking on, none keeps it off
    (with an API key Codex otherwise sends a default effort of its own)."""
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'model_reasoning_effort = "{effort or "none"}"\n')
    return home


def run(tmp_path: Path, model: ScriptedAnthropicModel, prompt: str, effort: str | None = None) -> tuple[Any, list[dict[str, Any]]]:
    with anthropic_upstream(model) as upstream, Mitmdump(tmp_path, [claude_route(upstream.base_url)], model_data=True) as proxy:
        proxy.wait_for_output("model profiles")  # the fake's Models API answer is in
        result = run_codex(proxy, codex_home(tmp_path, effort), SLUG, prompt, timeout=60)
    assert result.returncode == 0, result.stderr[-3000:] + "\n--- fake errors: " + repr(model.errors)
    assert model.errors == []
    for request in upstream.requests:
        headers = request["headers"]
        assert headers["x-api-key"] == API_KEY and headers["anthropic-version"] == "2023-06-01"
        for name in CODEX_ONLY_HEADERS:
            assert name not in headers, f"{name} leaked to the Anthropic host"
    return result, model.requests


def results_of(turn: dict[str, Any]) -> list[str]:
    return [" ".join(b.get("text", "") for b in r.get("content") or []) for r in turn["content"] if r["type"] == "tool_result"]


def assert_cache_breakpoints(request: dict[str, Any]) -> None:
    """Tools, system and the last user turn (plus the one before, once there is one) are marked."""
    assert count_cache_controls(request) <= 4
    assert "cache_control" in request["tools"][-1] and "cache_control" in request["system"][-1]
    users = [m for m in request["messages"] if m["role"] == "user"]
    assert "cache_control" in users[-1]["content"][-1]
    if len(users) > 1:
        assert "cache_control" in users[-2]["content"][-1]


def test_codex_runs_a_shell_tool_loop_on_anthropic(tmp_path: Path) -> None:
    result, requests = run(tmp_path, ScriptedAnthropicModel(), "Run the marker command and tell me its output.")
    assert "marker-0-42" in result.stdout  # the command really ran: the fake cannot compute 6*7
    assert len(requests) == 2
    first, second = requests
    # effort "none": 32,000 tokens (the whole 64K limit only for the longest efforts); thinking off, as the model allows
    assert first["max_tokens"] == 32_000 and first["stream"] is True and first["thinking"] == {"type": "disabled"}
    assert "marker-0-42" in results_of(second["messages"][-1])[0]
    for request in requests:
        assert_cache_breakpoints(request)
    # usage reached Codex: per turn (200 + 300 + 1000) - 1000 cached + 34 output = 534
    assert "1,068" in result.stderr or "1068" in result.stderr


def test_codex_runs_two_parallel_tool_calls_on_anthropic(tmp_path: Path) -> None:
    result, requests = run(tmp_path, ScriptedAnthropicModel(), "PARALLEL: run both commands.")
    assert "first-42" in result.stdout and "second-56" in result.stdout
    turns = merged_turns(requests[1]["messages"])
    uses = [b["id"] for b in turns[-2]["content"] if b["type"] == "tool_use"]
    assert uses == ["toolu_1_0", "toolu_1_1"]  # one assistant turn, both calls, in order
    results = turns[-1]["content"]
    assert [r["tool_use_id"] for r in results] == uses  # one user turn, both results, in order
    assert "first-42" in results_of(turns[-1])[0] and "second-56" in results_of(turns[-1])[1]


def test_codex_replays_signed_thinking_through_two_tool_turns(tmp_path: Path) -> None:
    model = ScriptedAnthropicModel()  # refuses a tool turn whose signed thinking did not come back
    result, requests = run(tmp_path, model, "Run the marker command, twice.", effort="high")
    assert len(requests) == 3
    assert all(r["thinking"] == {"type": "enabled", "budget_tokens": 24000} for r in requests)
    assert "Round 1: run the tool… ✓" in result.stderr  # shown as Codex's reasoning
    second, third = merged_turns(requests[1]["messages"]), merged_turns(requests[2]["messages"])
    assert second[-2]["content"][0] == {"type": "thinking", "thinking": "Round 1: run the tool… ✓",
                                        "signature": next(iter(model.issued))}
    loop = [t for t in third if t["role"] == "assistant"]
    # the redacted block came back from a reasoning item with an empty summary: nothing was shown
    assert [b["type"] for b in loop[-1]["content"]] == ["redacted_thinking", "thinking", "tool_use"]
    assert loop[-1]["content"][0]["data"] in model.redacted
    assert "redacted" not in result.stderr.lower()
    assert loop[-2]["content"] == second[-2]["content"]  # earlier turn replayed unchanged
    assert "marker-0-42" in results_of(third[-3])[0] and "marker-1-42" in results_of(third[-1])[0]
    assert "marker-1-42" in result.stdout
    for request in requests:
        assert_cache_breakpoints(request)
        json.dumps(request)  # recorded as sent


def test_codex_keeps_interleaved_thinking_and_calls_in_stream_order(tmp_path: Path) -> None:
    """thinking, call, thinking, call in one answer: Codex records items in .done order, so each
    call must be done at its block end for the next request to replay the blocks in place."""
    model = ScriptedAnthropicModel()
    result, requests = run(tmp_path, model, "INTERLEAVED: run both commands.", effort="low")
    assert "first-42" in result.stdout and "second-56" in result.stdout
    assert len(requests) == 2
    turn = merged_turns(requests[1]["messages"])[-2]
    assert [b["type"] for b in turn["content"]] == ["thinking", "tool_use", "thinking", "tool_use"]
    assert [b["thinking"] for b in turn["content"][::2]] == ["Step 1: first ✓", "Step 2: second ✓"]
    assert [b["id"] for b in turn["content"][1::2]] == ["toolu_1_0", "toolu_1_1"]
