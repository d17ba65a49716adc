"""`codex exec --output-schema FILE` (Codex's structured-output mode) on every BYOK route shape.

Codex sends the schema as `text.format` (json_schema, name codex_output_schema, strict) on each
request of the turn; the run still goes through its tool loop (the fakes run the shell tool
first) and must end with an answer of that schema. On Claude it goes as Anthropic's structured
output, or, for a model without it, through an answer tool — here learned from the model's own
refusal, since the proxy runs without model data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.anthropic_upstream import API_KEY as ANTHROPIC_KEY
from tests.fakes.anthropic_upstream import ScriptedAnthropicModel, anthropic_upstream
from tests.fakes.chat_upstream import API_KEY as CHAT_KEY
from tests.fakes.chat_upstream import ScriptedChatModel, chat_upstream
from tests.fakes.responses_upstream import API_KEY as RESPONSES_KEY
from tests.fakes.responses_upstream import ScriptedResponsesModel, responses_upstream
from tests.harness import Mitmdump, run_codex
from tests.test_e2e_any_client import claude_without_structured_outputs

pytestmark = pytest.mark.e2e

SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}, "exit_code": {"type": "integer"}},
          "required": ["summary", "exit_code"], "additionalProperties": False}


def codex_home(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('model_reasoning_effort = "none"\n')
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    return home, schema


def final_json(stdout: str) -> Any:
    """The last message Codex printed, which --output-schema makes one JSON value."""
    return json.loads(stdout.strip().splitlines()[-1])


def run_with_schema(tmp_path: Path, route: dict[str, Any]) -> tuple[Any, Any]:
    home, schema = codex_home(tmp_path)
    with Mitmdump(tmp_path, [route]) as proxy:
        result = run_codex(proxy, home, route["model"], "Run the marker command and report it.", timeout=90,
                           args=["--output-schema", str(schema)])
    assert result.returncode == 0, result.stderr[-3000:]
    return result, final_json(result.stdout)


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "claude-legacy-1"])
def test_codex_output_schema_on_anthropic(tmp_path: Path, model: str) -> None:
    claude = ScriptedAnthropicModel(claude_without_structured_outputs())
    with anthropic_upstream(claude) as upstream:
        route = {"model": "byok-claude", "provider": "anthropic", "base_url": f"{upstream.base_url}/v1", "api_key": ANTHROPIC_KEY,
                 "upstream_model": model}
        _, answer = run_with_schema(tmp_path, route)
    assert answer["exit_code"] == 42 and "Output: marker-0-42 — done ✓" in answer["summary"]  # the command ran, then the JSON
    first = next(r for r in claude.requests if "output_config" in r or any(t["name"] == "codex_output_schema" for t in r.get("tools", [])))
    if model == "claude-sonnet-4-6":
        assert claude.errors == [] and claude.answer_tool_calls == 0
        assert first["output_config"]["format"]["schema"]["required"] == ["summary", "exit_code"]
    else:  # refused once, then answered through the tool on every later request
        assert claude.errors == ["output_config.format: structured outputs are not supported on this model"]
        assert claude.answer_tool_calls == 1 and "output_config" not in claude.requests[-1]


@pytest.mark.parametrize("shape", ["chat", "responses"])
def test_codex_output_schema_on_chat_and_responses(tmp_path: Path, shape: str) -> None:
    model: ScriptedChatModel | ScriptedResponsesModel = ScriptedChatModel() if shape == "chat" else ScriptedResponsesModel()
    server = chat_upstream(model) if isinstance(model, ScriptedChatModel) else responses_upstream(model)
    with server as upstream:
        route = {"model": f"byok-{shape}", "base_url": f"{upstream.base_url}/v1",
                 **({"provider": "generic-chat-completion-api", "api_key": CHAT_KEY} if shape == "chat" else
                    {"provider": "responses", "api_key": RESPONSES_KEY})}
        _, answer = run_with_schema(tmp_path, route)
    marker = "marker-42" if shape == "chat" else "resp-42"
    assert model.errors == [] and answer["exit_code"] == 42 and f"Output: {marker} — done ✓" in answer["summary"]
    sent = [r for r in upstream.json_bodies() if isinstance(r, dict)]
    if shape == "chat":
        assert sent and all(r["response_format"]["json_schema"]["schema"] == SCHEMA for r in sent)
    else:  # passed as Codex sent it
        assert sent and all(r["text"]["format"]["schema"] == SCHEMA for r in sent)
