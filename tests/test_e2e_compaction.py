"""Manual and automatic compaction of a BYOK session with the real Codex app-server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shim.compaction import SUMMARY_HEADER, SUMMARY_PROMPT
from tests.fakes.chat_upstream import API_KEY, ScriptedChatModel, chat_upstream
from tests.harness import AppServer, Mitmdump, agent_text, turn_error

pytestmark = pytest.mark.e2e

SUMMARY = "SUMMARY: the user asked to run commands; the last output was marker-42. ✓"


def routes(base_url: str) -> list[dict[str, object]]:
    return [{"model": "byok-chat", "provider": "generic-chat-completion-api", "base_url": f"{base_url}/v1", "api_key": API_KEY}]


def summary_requests(bodies: list[dict[str, object]]) -> list[int]:
    return [i for i, b in enumerate(bodies) if json.dumps(b).count(SUMMARY_PROMPT.split("\n")[0][:40]) and b.get("tool_choice") == "none"]


def test_manual_compaction_of_a_byok_session(tmp_path: Path) -> None:
    chat = ScriptedChatModel()
    with chat_upstream(chat) as upstream, Mitmdump(tmp_path, routes(upstream.base_url)) as proxy:
        app = AppServer(proxy, tmp_path / "home")
        try:
            thread = app.start("byok-chat")
            first = app.turn(thread, "Turn A: run the command.", "byok-chat")
            compacted = app.compact(thread)
            after = app.turn(thread, "Turn B: run the command.", "byok-chat")
        finally:
            app.close()
    assert turn_error(first) is None and turn_error(compacted) is None and turn_error(after) is None
    assert "marker-42" in agent_text(after)
    bodies = upstream.json_bodies()
    assert summary_requests(bodies) == [2]  # the compaction request came after turn A's two
    next_turn = json.dumps(bodies[3]["messages"], ensure_ascii=False)
    assert SUMMARY_HEADER.strip() in next_turn and SUMMARY in next_turn  # expanded from the item Codex kept
    assert "call_1_0" not in next_turn  # turn A's tool exchange was replaced by the summary
    assert chat.errors == []


def test_automatic_compaction_when_the_context_fills_up(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("model_auto_compact_token_limit = 1200\n")
    chat = ScriptedChatModel(growing_usage=True)  # 1000 prompt tokens + 500 per tool result
    with chat_upstream(chat) as upstream, Mitmdump(tmp_path, routes(upstream.base_url)) as proxy:
        app = AppServer(proxy, home)
        try:
            thread = app.start("byok-chat")
            turns = [app.turn(thread, f"Turn {name}: run the command.", "byok-chat") for name in "AB"]
        finally:
            app.close()
    assert all(turn_error(t) is None for t in turns)
    bodies = upstream.json_bodies()
    assert summary_requests(bodies) == [2]  # turn A ended at 1500 tokens > 1200: compacted before turn B
    assert SUMMARY in json.dumps(bodies[3]["messages"], ensure_ascii=False)
