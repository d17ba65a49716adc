"""The example policy addons in addons/examples/: in-process beside ours, and the secret
redactor with the real Codex CLI through a real mitmdump."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pytest

from shim.exchange import METADATA_KEY
from tests.addon_chain import CHAT_KEY, addon_chain, responses_call
from tests.fakes.chat_upstream import API_KEY as FAKE_CHAT_KEY
from tests.fakes.chat_upstream import ScriptedChatModel, chat_upstream
from tests.harness import ROOT, Mitmdump, run_codex

EXAMPLES = ROOT / "addons" / "examples"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
ROUTES = [
    {"model": "main", "provider": "anthropic", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-ant-key"},
    {"model": "cheap", "provider": "generic-chat-completion-api", "base_url": "http://127.0.0.1:8/v1", "api_key": CHAT_KEY},
]


def example(name: str) -> list[Any]:
    return list(runpy.run_path(str(EXAMPLES / name))["addons"])


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def test_secrets_leave_neither_prompts_nor_tool_outputs(tmp_path: Path) -> None:
    output = {"type": "function_call_output", "call_id": "c1", "output": f"aws_secret_access_key = {'A' * 40}\n{PRIVATE_KEY}"}
    call = {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": '{"cmd": "cat .env"}'}
    body = {"model": "main", "instructions": "token ghp_" + "x" * 36, "input": [user(f"my key is {AWS_KEY}"), call, output]}
    with addon_chain(tmp_path, routes=ROUTES, before=example("redact_secrets.py")) as chain:
        flow = chain.request(responses_call(body))
    sent = (flow.request.content or b"").decode()
    for secret in (AWS_KEY, "A" * 40, "b3BlbnNzaC1rZXktdjEAAAAA", "ghp_" + "x" * 36):
        assert secret not in sent
    assert "[AWS access key removed by codex-shim]" in sent and "aws_secret_access_key = [AWS secret key removed" in sent
    assert flow.metadata[METADATA_KEY]["policy"] == ["redacted 4 secret(s)"]
    assert json.loads(sent)["messages"][1]["content"][-1]["input"] == {"cmd": "cat .env"}  # the rest is untouched


def test_tagged_prompts_and_background_turns_go_to_the_cheap_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_SHIM_CHEAP_MODEL", "cheap")
    with addon_chain(tmp_path, routes=ROUTES, before=example("route_by_rule.py")) as chain:
        tagged = chain.request(responses_call({"model": "main", "input": [user("#cheap rename the variable")]}))
        compaction = chain.request(responses_call({"model": "main", "input": [user("go"), {"type": "compaction_trigger"}]}))
        plain = chain.request(responses_call({"model": "main", "input": [user("design the cache")]}))
    assert tagged.metadata[METADATA_KEY]["route"] == "cheap"
    assert json.loads(tagged.request.content or b"")["messages"][-1]["content"] == "rename the variable"
    assert compaction.metadata[METADATA_KEY]["route"] == "cheap"
    assert plain.metadata[METADATA_KEY]["route"] == "main"


@pytest.mark.e2e
def test_codex_prompts_reach_the_provider_without_the_secret(tmp_path: Path) -> None:
    model = ScriptedChatModel()
    with chat_upstream(model) as upstream:
        route = {"model": "byok-chat", "provider": "generic-chat-completion-api", "base_url": f"{upstream.base_url}/v1", "api_key": FAKE_CHAT_KEY}
        with Mitmdump(tmp_path, [route], ["-s", str(EXAMPLES / "redact_secrets.py")]) as proxy:
            result = run_codex(proxy, tmp_path / "home", "byok-chat", f"Run the marker command. My AWS key is {AWS_KEY}.")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "marker-42" in result.stdout
    bodies = [request["body"] for request in upstream.requests]
    assert bodies and all(AWS_KEY.encode() not in body for body in bodies)
    assert all(b"[AWS access key removed by codex-shim]" in body for body in bodies)
