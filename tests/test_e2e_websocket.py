"""Codex's WebSocket transport through the proxy: no reconnect storm, model switches on one socket,
and ChatGPT-login mode — with the real Codex CLI and app-server (what Codex Desktop drives)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.chatgpt_login import ACCOUNT_ID, bundled_catalog, chatgpt_backend, map_chatgpt_to, run_codex_chatgpt
from tests.fakes.chat_upstream import API_KEY, ScriptedChatModel, chat_upstream
from tests.fakes.native_openai import NativeOpenAI
from tests.harness import AppServer, Mitmdump, agent_text, run_codex, turn_error

pytestmark = pytest.mark.e2e


def chat_route(base_url: str) -> list[dict[str, object]]:
    return [{"model": "byok-chat", "provider": "generic-chat-completion-api", "base_url": f"{base_url}/v1", "api_key": API_KEY}]


def upgrades(log: str, path: str) -> int:
    return sum(1 for line in log.splitlines() if "GET https://" in line and line.rstrip().endswith(path))


def test_a_byok_session_falls_back_to_https_without_retrying_the_socket(tmp_path: Path) -> None:
    with chat_upstream(ScriptedChatModel()) as upstream, Mitmdump(tmp_path, chat_route(upstream.base_url)) as proxy:
        result = run_codex(proxy, tmp_path / "home", "byok-chat", "Run the marker command.")
        log = proxy.output()
    assert result.returncode == 0, result.stderr[-3000:]
    assert "marker-42" in result.stdout
    assert upgrades(log, "api.openai.com/v1/responses") == 1  # one 426, no reconnect storm
    assert "426 Upgrade Required" in log


def test_a_byok_loop_works_in_chatgpt_login_mode(tmp_path: Path) -> None:
    home = tmp_path / "home"
    model = ScriptedChatModel()
    with chat_upstream(model) as upstream, chatgpt_backend(bundled_catalog(tmp_path / "bundled")) as backend:
        with Mitmdump(tmp_path, chat_route(upstream.base_url), map_chatgpt_to(backend.port)) as proxy:
            result = run_codex_chatgpt(proxy, home, "byok-chat", "Run the marker command.")
            log = proxy.output()
    assert result.returncode == 0, result.stderr[-3000:]
    assert "marker-42" in result.stdout
    assert model.errors == []
    assert upgrades(log, "chatgpt.com/backend-api/codex/responses") == 1
    token = json.loads((home / "auth.json").read_text())["tokens"]["access_token"]
    for request in upstream.requests:  # the ChatGPT login never reaches the BYOK host
        flat = json.dumps(request["headers"]) + request["body"].decode()
        assert token not in flat and ACCOUNT_ID not in flat
        assert request["headers"]["authorization"] == f"Bearer {API_KEY}"


def test_switching_models_on_one_socket_keeps_the_session_working(tmp_path: Path) -> None:
    chat = ScriptedChatModel(reasoning=True)  # BYOK reasoning items must not reach OpenAI afterwards
    with NativeOpenAI() as native, chat_upstream(chat) as upstream:
        mapping = ["--map-remote", rf"|^https://api\.openai\.com|http://127.0.0.1:{native.port}"]
        with Mitmdump(tmp_path, chat_route(upstream.base_url), mapping) as proxy:
            app = AppServer(proxy, tmp_path / "home")
            try:
                thread = app.start("gpt-native")
                turns = [(model, app.turn(thread, f"Turn {i}: run the command.", model))
                         for i, model in enumerate(["gpt-native", "byok-chat", "gpt-native", "byok-chat"])]
            finally:
                app.close()
    for model, notes in turns:
        assert turn_error(notes) is None, (model, turn_error(notes))
        assert ("marker-42" if model == "byok-chat" else "resp-42") in agent_text(notes)
    assert native.ws_connections == 1 and native.http_requests == []  # one socket throughout
    assert all(str(m.get("model", "gpt-")).startswith("gpt-") for m in native.ws_messages)  # BYOK never reached OpenAI
    assert "codexshim1." not in json.dumps(native.ws_messages)  # nor did our carriers (OpenAI cannot decrypt them)
    assert chat.errors == []
    # The BYOK turn saw the whole conversation, native turns included.
    first_byok = json.dumps(upstream.json_bodies()[0]["messages"])
    assert "Turn 0: run the command." in first_byok and "resp-42" in first_byok
    assert "Turn 1: run the command." in first_byok


def test_a_session_that_starts_on_byok_then_switches_to_openai_keeps_working(tmp_path: Path) -> None:
    chat = ScriptedChatModel(reasoning=True)
    with NativeOpenAI() as native, chat_upstream(chat) as upstream:
        mapping = ["--map-remote", rf"|^https://api\.openai\.com|http://127.0.0.1:{native.port}"]
        with Mitmdump(tmp_path, chat_route(upstream.base_url), mapping) as proxy:
            app = AppServer(proxy, tmp_path / "home")
            try:
                thread = app.start("byok-chat")
                turns = [(model, app.turn(thread, f"Turn {i}: run the command.", model))
                         for i, model in enumerate(["byok-chat", "gpt-native", "byok-chat"])]
            finally:
                app.close()
    for model, notes in turns:
        assert turn_error(notes) is None, (model, turn_error(notes))
    assert native.ws_connections == 0  # the 426 made the whole session HTTPS
    native_bodies = [json.loads(r["body"]) for r in native.http_requests]
    assert native_bodies and all(b["model"] == "gpt-native" for b in native_bodies)
    assert "codexshim1." not in json.dumps(native_bodies)  # BYOK reasoning stayed away from OpenAI
    assert "Turn 0: run the command." in json.dumps(native_bodies[0])  # but the conversation did not
