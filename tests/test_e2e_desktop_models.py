"""What Codex Desktop reads from the real app-server: `model/list` as Desktop calls it
(`{cursor: null, limit: 100, includeHidden: true}`, first page only) lists every BYOK model, not
hidden, with its facts — in ChatGPT login and in API-key mode. In API-key mode Codex 0.169 and 0.171
fetch the same catalog (`chatgpt.com/backend-api/codex/models`, with the API key as bearer), so BYOK
slugs get full metadata there too: Codex's prompt, the apply_patch tool, the context window."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.chatgpt_login import bundled_catalog, chatgpt_backend, map_chatgpt_to, write_chatgpt_auth
from tests.fakes.chat_upstream import API_KEY, ScriptedChatModel, chat_upstream
from tests.harness import AppServer, Mitmdump, run_codex, turn_error

pytestmark = pytest.mark.e2e

DESKTOP_MODEL_LIST = {"cursor": None, "limit": 100, "includeHidden": True}


def routes(base_url: str) -> list[dict[str, Any]]:
    return [
        {"model": "byok-chat", "provider": "generic-chat-completion-api", "base_url": f"{base_url}/v1", "api_key": API_KEY,
         "display_name": "BYOK chat", "max_context_limit": 64_000},
        {"model": "byok-claude", "provider": "anthropic", "base_url": f"{base_url}/v1", "api_key": "sk-ant-test",
         "display_name": "Claude via BYOK", "upstream_model": "claude-opus-4-7"},
        {"model": "byok-text", "provider": "ollama", "base_url": f"{base_url}/v1", "upstream_model": "qwen3-coder:30b",
         "no_image_support": True},
    ]


EXPECTED = {  # slug: (display name, reasoning efforts, input modalities)
    "byok-chat": ("BYOK chat", ["medium"], ["text", "image"]),
    "byok-claude": ("Claude via BYOK", ["low", "medium", "high", "xhigh", "max"], ["text", "image"]),  # Opus 4.7's own ladder
    "byok-text": ("byok-text", ["medium"], ["text"]),
}


def desktop_model_list(app: AppServer) -> dict[str, Any]:
    app.request("initialize", {"clientInfo": {"name": "codex-shim-tests", "version": "1.0"}})
    assert app.proc.stdin is not None
    app.proc.stdin.write(json.dumps({"method": "initialized"}) + "\n")
    return app.request("model/list", DESKTOP_MODEL_LIST, timeout=60)


def assert_listed_as_desktop_reads_it(page: dict[str, Any], upstream: dict[str, Any]) -> None:
    models = {m["model"]: m for m in page["data"]}  # the first page is all Desktop reads
    for slug, (name, efforts, modalities) in EXPECTED.items():
        entry = models[slug]
        assert entry["hidden"] is False and entry["displayName"] == name
        assert [e["reasoningEffort"] for e in entry["supportedReasoningEfforts"]] == efforts
        assert entry["inputModalities"] == modalities and entry["isDefault"] is False
    default = min((m for m in upstream["models"] if m["visibility"] == "list"), key=lambda m: m["priority"])
    assert models[default["slug"]]["isDefault"] is True  # OpenAI's default stays the default
    assert {m["slug"] for m in upstream["models"]} <= set(models)


def context_window_of_a_turn(app: AppServer, model: str) -> int:
    thread = _thread(app, model)  # the app-server is initialized already
    notes = app.turn(thread, "Say hello.", model)
    assert turn_error(notes) is None
    windows = [n["params"]["tokenUsage"].get("modelContextWindow") for n in notes if n["method"] == "thread/tokenUsage/updated"]
    assert windows, [n["method"] for n in notes]
    return int(windows[-1])


def _thread(app: AppServer, model: str) -> str:
    result = app.request("thread/start", {"model": model, "cwd": str(app.workdir), "approvalPolicy": "never",
                                          "sandbox": "danger-full-access"})
    return str(result["thread"]["id"])


@pytest.mark.parametrize("login", ["chatgpt", "api-key"])
def test_model_list_as_desktop_calls_it_lists_every_byok_model(tmp_path: Path, login: str) -> None:
    upstream_catalog = bundled_catalog(tmp_path / "bundled")
    chat = ScriptedChatModel()
    home = tmp_path / "home"
    if login == "chatgpt":
        write_chatgpt_auth(home)
    with chat_upstream(chat) as upstream, chatgpt_backend(upstream_catalog) as backend:
        with Mitmdump(tmp_path, routes(upstream.base_url), map_chatgpt_to(backend.port)) as proxy:
            app = AppServer(proxy, home)  # API-key mode: auth.json with the key, as `codex login --with-api-key`
            try:
                page = desktop_model_list(app)
                window = context_window_of_a_turn(app, "byok-chat")
            finally:
                app.close()
    assert_listed_as_desktop_reads_it(page, upstream_catalog)
    catalog_calls = [r for r in backend.requests if r["path"].startswith("/backend-api/codex/models")]
    assert catalog_calls  # fetched in both modes, through the proxy
    if login == "api-key":
        assert all(r["headers"]["authorization"] == "Bearer sk-dummy-openai-key-for-tests" for r in catalog_calls)
    assert window == 64_000 * 95 // 100  # max_context_limit, at Codex's effective 95 %
    first = upstream.json_bodies()[0]
    assert "apply_patch" in [t["function"]["name"] for t in first["tools"]]  # the freeform tool, from the catalog entry
    default = min((m for m in upstream_catalog["models"] if m["visibility"] == "list"), key=lambda m: m["priority"])
    assert first["messages"][0]["role"] == "system"
    assert default["base_instructions"][:200] in first["messages"][0]["content"]  # Codex's own prompt


def test_codex_exec_in_api_key_mode_has_the_byok_models_metadata(tmp_path: Path) -> None:
    chat = ScriptedChatModel()
    with chat_upstream(chat) as upstream, chatgpt_backend(bundled_catalog(tmp_path / "bundled")) as backend:
        with Mitmdump(tmp_path, routes(upstream.base_url), map_chatgpt_to(backend.port)) as proxy:
            result = run_codex(proxy, tmp_path / "home", "byok-chat", "Say hello.")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Model metadata for" not in result.stderr  # no fallback metadata
    first = upstream.json_bodies()[0]
    assert "apply_patch" in [t["function"]["name"] for t in first["tools"]]
