"""WebSocketTurns in-process: which upgrades get 426, and what happens to messages on a socket
opened for a native model. (Serving a BYOK turn on a live socket: test_e2e_websocket_turns.)"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from mitmproxy import http, websocket
from mitmproxy.proxy import layers
from mitmproxy.test import tflow

from shim import carrier
from shim.addons.websocket_turns import wants_https
from shim.config import ModelRoute
from shim.exchange import METADATA_KEY
from tests.addon_chain import addon_chain

ROUTE = ModelRoute(model="byok-chat", provider="ollama")


def upgrade(model: str | None) -> http.HTTPFlow:
    headers = {"upgrade": "websocket", "connection": "upgrade", "authorization": "Bearer chatgpt-token"}
    if model is not None:
        headers["x-codex-turn-metadata"] = json.dumps({"model": model, "request_kind": "turn"})
    return tflow.tflow(req=http.Request.make("GET", "https://chatgpt.com/backend-api/codex/responses", b"", headers))


def test_the_426_decision() -> None:
    routes = {"byok-chat": ROUTE}
    assert wants_https("byok-chat", routes)
    assert wants_https(None, routes)  # an upgrade that names no model, while BYOK routes exist
    assert not wants_https("gpt-5.5", routes)
    assert not wants_https(None, {})


def test_an_upgrade_for_a_byok_model_gets_426_and_no_openai_host_is_needed(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = chain.request(upgrade("byok-chat"))
        assert flow.response is not None and flow.response.status_code == 426
        assert json.loads(flow.response.content or b"")["error"]["code"] == "websocket_not_supported"
        assert flow.metadata[METADATA_KEY]["route"] == "websocket-fallback"


def test_an_upgrade_for_a_native_model_goes_to_openai(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = chain.request(upgrade("gpt-5.5"))
        assert flow.response is None and flow.request.headers["authorization"] == "Bearer chatgpt-token"
        assert flow.metadata[METADATA_KEY]["route"] == "websocket"


def native_socket(chain: object, tmp_path: Path) -> http.HTTPFlow:
    flow = upgrade("gpt-5.5")
    chain.request(flow)  # type: ignore[attr-defined]
    flow.response = http.Response.make(101)
    flow.websocket = websocket.WebSocketData()
    return flow


def send(chain: object, flow: http.HTTPFlow, message: dict[str, object]) -> websocket.WebSocketMessage:
    assert flow.websocket is not None
    frame = websocket.WebSocketMessage(1, True, json.dumps(message).encode())  # Opcode.TEXT, from client
    flow.websocket.messages.append(frame)
    chain.run(layers.websocket.WebsocketMessageHook(flow))  # type: ignore[attr-defined]
    return frame


def test_native_frames_after_byok_turns_leave_without_our_items(tmp_path: Path) -> None:
    ours = {"type": "reasoning", "summary": [], "encrypted_content": carrier.wrap("chat", {"reasoning_content": "x"})}
    user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    with addon_chain(tmp_path) as chain:
        flow = native_socket(chain, tmp_path)
        frame = send(chain, flow, {"type": "response.create", "model": "gpt-5.5", "input": [user, ours]})
        assert not frame.dropped
        assert json.loads(frame.content)["input"] == [user]


def test_an_acknowledgement_of_one_of_our_turns_never_reaches_openai(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = native_socket(chain, tmp_path)
        ours = send(chain, flow, {"type": "response.processed", "response_id": ""})
        theirs = send(chain, flow, {"type": "response.processed", "response_id": "resp_openai"})
        assert ours.dropped and not theirs.dropped


def test_messages_on_a_socket_we_did_not_see_opened_are_left_alone(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = tflow.twebsocketflow(messages=False)
        frame = send(chain, flow, {"type": "response.create", "model": "byok-chat", "input": "hi"})
        assert not frame.dropped


class Redacting:
    def codex_shim_turn(self, flow: http.HTTPFlow, turn: object) -> None:
        body = turn.body  # type: ignore[attr-defined]
        body["input"] = json.loads(json.dumps(body["input"]).replace("AKIAIOSFODNN7EXAMPLE", "[removed]"))


def test_policy_addons_see_turns_on_a_native_socket_and_untouched_frames_pass_byte_for_byte(tmp_path: Path) -> None:
    user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "key AKIAIOSFODNN7EXAMPLE"}]}
    plain = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "nothing secret"}]}
    with addon_chain(tmp_path, before=[Redacting()]) as chain:
        flow = native_socket(chain, tmp_path)
        changed = send(chain, flow, {"type": "response.create", "model": "gpt-5.5", "input": [user]})
        raw = b'{"type":"response.create",  "model":"gpt-5.5","input":' + json.dumps([plain]).encode() + b"}"
        assert flow.websocket is not None
        frame = websocket.WebSocketMessage(1, True, raw)
        flow.websocket.messages.append(frame)
        chain.run(layers.websocket.WebsocketMessageHook(flow))
    assert b"AKIA" not in changed.content and b"[removed]" in changed.content
    assert frame.content == raw  # a frame no policy changed is forwarded as Codex wrote it


def test_a_socket_turn_routed_to_an_unknown_slug_is_refused_not_sent(tmp_path: Path) -> None:
    class Typo:
        def codex_shim_turn(self, flow: http.HTTPFlow, turn: object) -> None:
            turn.use = "no-such-slug"  # type: ignore[attr-defined]

    with addon_chain(tmp_path, before=[Typo()]) as chain:
        flow = native_socket(chain, tmp_path)
        frame = send(chain, flow, {"type": "response.create", "model": "gpt-5.5", "input": "hi"})
    assert frame.dropped


def test_a_frame_that_is_not_json_or_not_utf8_passes_untouched(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with addon_chain(tmp_path) as chain, caplog.at_level(logging.ERROR):
        flow = native_socket(chain, tmp_path)
        assert flow.websocket is not None
        for content in (b'{"type": "response.create", "model": "gpt-5.5", "input": "\xff"}', b'"response.create" {'):
            frame = websocket.WebSocketMessage(1, True, content)  # Opcode.TEXT, from client
            flow.websocket.messages.append(frame)
            chain.run(layers.websocket.WebsocketMessageHook(flow))  # type: ignore[attr-defined]
            assert not frame.dropped and frame.content == content
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no addon error on the way
