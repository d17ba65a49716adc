"""A BYOK chat model edits files with Codex's freeform apply_patch tool (ChatGPT login, catalog entry)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chatgpt_login import bundled_catalog, chatgpt_backend, map_chatgpt_to, run_codex_chatgpt
from tests.fakes.chat_upstream import API_KEY, ScriptedChatModel, chat_upstream
from tests.harness import Mitmdump

pytestmark = pytest.mark.e2e


def test_a_byok_model_applies_a_patch_through_the_freeform_tool(tmp_path: Path) -> None:
    home = tmp_path / "home"
    model = ScriptedChatModel()
    routes = [{"model": "byok-chat", "provider": "generic-chat-completion-api", "api_key": API_KEY, "display_name": "BYOK"}]
    with chat_upstream(model) as upstream, chatgpt_backend(bundled_catalog(tmp_path / "bundled")) as backend:
        routes[0]["base_url"] = f"{upstream.base_url}/v1"
        with Mitmdump(tmp_path, routes, map_chatgpt_to(backend.port)) as proxy:
            result = run_codex_chatgpt(proxy, home, "byok-chat", "PATCH: create hello.txt.")
    assert result.returncode == 0, result.stderr[-3000:]
    assert model.errors == []
    assert (home / "work" / "hello.txt").read_text() == "hello from a BYOK model ✓\n"
    first = upstream.json_bodies()[0]
    patch_tool = next(t["function"] for t in first["tools"] if t["function"]["name"] == "apply_patch")
    assert patch_tool["parameters"]["required"] == ["input"] and "Begin Patch" in patch_tool["description"]
    second = upstream.json_bodies()[1]["messages"]
    call = next(m for m in second if m.get("tool_calls"))["tool_calls"][0]
    assert call["function"]["name"] == "apply_patch" and "Add File: hello.txt" in call["function"]["arguments"]
