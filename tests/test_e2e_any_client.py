"""Responses clients that are not Codex, through a real mitmdump with the addon, on every route shape.

The openai Python SDK (create, streamed and not; parse with a pydantic model; a tool round trip;
compact), the OpenAI Agents SDK (a two-tool agent, run and streamed) and a JavaScript Open
Responses client (the AI SDK's @ai-sdk/open-responses, from npm: text, streaming, tools) talk to
https://api.openai.com/v1 through the proxy, as any such program would with HTTPS_PROXY set; the
BYOK slugs are answered by local fakes of each provider shape (tests/fakes, whose scripted models
answer a client that is not Codex: tests/fakes/plain_agent.py); the Responses one twice, with
`event:` lines as OpenAI writes its stream and in data lines only as OpenRouter does. What needs stored state fails
with the error the API gives for it.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx  # the HTTP client the openai SDK is built on
import openai
import pytest
from pydantic import BaseModel

from tests.fakes.anthropic_upstream import API_KEY as ANTHROPIC_KEY
from tests.fakes.anthropic_upstream import ScriptedAnthropicModel, anthropic_upstream, model_list
from tests.fakes.chat_upstream import API_KEY as CHAT_KEY
from tests.fakes.chat_upstream import ScriptedChatModel, chat_upstream
from tests.fakes.responses_upstream import API_KEY as RESPONSES_KEY
from tests.fakes.responses_upstream import ScriptedResponsesModel, responses_upstream
from tests.harness import ROOT, Mitmdump, node_modules

pytestmark = pytest.mark.e2e

SHAPES = ("chat", "anthropic", "responses", "openrouter")  # openrouter: a Responses server writing data lines only
CLIENT_KEY = "sk-openai-client-key-never-forwarded"


class Weather(BaseModel):
    city: str
    temp_c: int


@dataclass
class Setup:
    proxy: Mitmdump
    models: dict[str, Any]  # shape -> the fake's scripted model

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url="https://api.openai.com/v1", api_key=CLIENT_KEY, max_retries=0,
                             http_client=httpx.Client(proxy=self.proxy.url, verify=ssl.create_default_context(cafile=self.proxy.ca), timeout=30))

    def async_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url="https://api.openai.com/v1", api_key=CLIENT_KEY, max_retries=0,
                                  http_client=httpx.AsyncClient(proxy=self.proxy.url, verify=ssl.create_default_context(cafile=self.proxy.ca),
                                                                timeout=30))

    def errors(self) -> list[str]:
        return [e for model in self.models.values() for e in model.errors]


def claude_without_structured_outputs() -> dict[str, Any]:
    """The fake's Models API list plus a model that does not take structured outputs."""
    models = model_list()
    legacy = json.loads(json.dumps(next(m for m in models["data"] if m["id"] == "claude-haiku-4-5-20251001")))
    legacy.update(id="claude-legacy-1", display_name="Claude Legacy")
    legacy["capabilities"]["structured_outputs"] = {"supported": False}
    models["data"].append(legacy)
    return models


@contextmanager
def proxied(tmp_path: Path) -> Iterator[Setup]:
    models: dict[str, Any] = {"chat": ScriptedChatModel(), "anthropic": ScriptedAnthropicModel(claude_without_structured_outputs()),
                              "responses": ScriptedResponsesModel(), "openrouter": ScriptedResponsesModel(named=False)}
    with ExitStack() as stack:
        chat = stack.enter_context(chat_upstream(models["chat"]))
        claude = stack.enter_context(anthropic_upstream(models["anthropic"]))
        responses = stack.enter_context(responses_upstream(models["responses"]))
        openrouter = stack.enter_context(responses_upstream(models["openrouter"]))
        routes = [
            {"model": "byok-chat", "provider": "generic-chat-completion-api", "base_url": f"{chat.base_url}/v1", "api_key": CHAT_KEY},
            {"model": "byok-anthropic", "provider": "anthropic", "base_url": f"{claude.base_url}/v1", "api_key": ANTHROPIC_KEY,
             "upstream_model": "claude-sonnet-4-6"},
            {"model": "byok-legacy-claude", "provider": "anthropic", "base_url": f"{claude.base_url}/v1", "api_key": ANTHROPIC_KEY,
             "upstream_model": "claude-legacy-1"},
            {"model": "byok-responses", "provider": "responses", "base_url": f"{responses.base_url}/v1", "api_key": RESPONSES_KEY},
            {"model": "byok-openrouter", "provider": "responses", "base_url": f"{openrouter.base_url}/v1", "api_key": RESPONSES_KEY},
        ]
        proxy = stack.enter_context(Mitmdump(tmp_path, routes))
        yield Setup(proxy, models)
    assert CLIENT_KEY not in json.dumps([model.errors for model in models.values()])


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    with proxied(tmp_path_factory.mktemp("any-client")) as ready:
        yield ready


@pytest.mark.parametrize("shape", SHAPES)
def test_the_openai_sdk_gets_a_whole_response_without_streaming(setup: Setup, shape: str) -> None:
    response = setup.client().responses.create(model=f"byok-{shape}", input="Say hi", instructions="Be brief.", temperature=0.3)
    assert response.status == "completed" and response.output_text.startswith("You said: Say hi")
    assert response.model == f"byok-{shape}" and response.usage is not None and response.usage.total_tokens > 0
    assert response.instructions == "Be brief." and response.temperature == 0.3 and response.store is False
    assert setup.errors() == []


@pytest.mark.parametrize("shape", SHAPES)
def test_the_openai_sdk_streams_and_its_final_response_matches_the_deltas(setup: Setup, shape: str) -> None:
    deltas: list[str] = []
    with setup.client().responses.stream(model=f"byok-{shape}", input="Stream please") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert final.status == "completed" and "".join(deltas) == final.output_text and final.output_text.startswith("You said:")


@pytest.mark.parametrize("slug", ["byok-chat", "byok-anthropic", "byok-legacy-claude", "byok-responses", "byok-openrouter"])
def test_the_openai_sdk_parses_structured_output_into_a_pydantic_model(setup: Setup, slug: str) -> None:
    """byok-legacy-claude's model takes no structured outputs: its answer comes through a tool, once
    the model's refusal has said so (the proxy runs without model data here)."""
    parsed = setup.client().responses.parse(model=slug, input="Weather in Paris?", text_format=Weather)
    assert isinstance(parsed.output_parsed, Weather) and parsed.output_parsed.temp_c == 42
    assert [item.type for item in parsed.output if item.type != "reasoning"] == ["message"]
    if slug == "byok-legacy-claude":  # no model data was fetched: the refusal taught it, and the turn was sent again
        claude = setup.models["anthropic"]
        assert claude.errors == ["output_config.format: structured outputs are not supported on this model"]
        claude.errors.clear()
    assert setup.errors() == []


def test_the_anthropic_route_sends_each_form_of_structured_output(setup: Setup) -> None:
    claude: ScriptedAnthropicModel = setup.models["anthropic"]
    before = claude.answer_tool_calls
    client = setup.client()
    client.responses.parse(model="byok-anthropic", input="Weather in Rome?", text_format=Weather)
    assert claude.requests[-1]["output_config"]["format"]["type"] == "json_schema" and claude.answer_tool_calls == before
    client.responses.parse(model="byok-legacy-claude", input="Weather in Oslo?", text_format=Weather)
    assert "output_config" not in claude.requests[-1] and claude.answer_tool_calls == before + 1


@pytest.mark.parametrize("shape", SHAPES)
def test_the_openai_sdk_runs_a_tool_round_trip(setup: Setup, shape: str) -> None:
    tools: list[Any] = [{"type": "function", "name": "get_weather", "description": "Weather for a city", "strict": True,
                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                                        "additionalProperties": False}}]
    client = setup.client()
    history: list[Any] = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.responses.create(model=f"byok-{shape}", input=history, tools=tools)
    calls = [item for item in first.output if item.type == "function_call"]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("get_weather", {"city": "for get_weather"})]
    history += [item.model_dump(exclude_none=True) for item in first.output]
    history += [{"type": "function_call_output", "call_id": c.call_id, "output": "sunny, 21 C"} for c in calls]
    second = client.responses.create(model=f"byok-{shape}", input=history, tools=tools)
    assert second.output_text == "Tool said: sunny, 21 C — done ✓"
    assert setup.errors() == []


@pytest.mark.parametrize("shape", SHAPES)
def test_what_needs_stored_state_fails_with_the_apis_error(setup: Setup, shape: str) -> None:
    client = setup.client()
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model=f"byok-{shape}", input="go on", previous_response_id="resp_earlier")
    assert refused.value.code == "previous_response_not_found" and "resp_earlier" in refused.value.message
    with pytest.raises(openai.BadRequestError) as referenced:
        client.responses.create(model=f"byok-{shape}", input=[{"type": "item_reference", "id": "msg_earlier"}])
    assert "item_reference" in referenced.value.message


@pytest.mark.parametrize("shape", ["chat", "anthropic"])
def test_the_openai_sdk_compacts_a_conversation(setup: Setup, shape: str) -> None:
    compacted = setup.client().responses.compact(model=f"byok-{shape}", input=[{"role": "user", "content": "We fixed the parser."}])
    assert compacted.object == "response.compaction" and compacted.id and compacted.usage.total_tokens > 0
    assert [item.type for item in compacted.output] == ["compaction"] and compacted.output[0].id


@pytest.mark.parametrize("shape", SHAPES)
def test_the_agents_sdk_runs_a_two_tool_agent(setup: Setup, shape: str) -> None:
    agents = pytest.importorskip("agents")
    agents.set_tracing_disabled(True)
    used: list[str] = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        used.append(f"weather:{city}")
        return f"sunny in {city}"

    @agents.function_tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        used.append(f"add:{a}+{b}")
        return a + b

    model = agents.OpenAIResponsesModel(model=f"byok-{shape}", openai_client=setup.async_client())
    agent = agents.Agent(name="Assistant", instructions="Be brief.", model=model, tools=[get_weather, add])

    async def run() -> tuple[Any, Any]:
        result = await agents.Runner.run(agent, "Weather in Paris, and 2+2?", max_turns=4)
        streamed = agents.Runner.run_streamed(agent, "Once more, streamed.", max_turns=4)
        async for _ in streamed.stream_events():
            pass
        return result, streamed

    result, streamed = asyncio.run(run())
    assert used == ["weather:for get_weather", "add:42+42"] * 2  # both tools ran, in both runs
    assert result.final_output == streamed.final_output == "Tool said: sunny in for get_weather | 84 — done ✓"
    assert setup.errors() == []


# -- a JavaScript Open Responses client --------------------------------------------------------

OPEN_RESPONSES_PACKAGES = ("@ai-sdk/open-responses@1.0.39", "ai@6.0.333", "zod@4.6.7", "undici@6.29.1")  # 1.0.x: the line for Node 20
OPEN_RESPONSES_MODULES = ROOT / ".cache" / "open-responses-js-1.0.39"
OPEN_RESPONSES_PROBE = ROOT / "tests" / "node" / "open_responses_probe.mjs"


def open_responses_modules() -> Path:
    """The AI SDK's Open Responses provider and what it runs with, from npm, installed once into .cache/."""
    return node_modules(OPEN_RESPONSES_MODULES, OPEN_RESPONSES_PACKAGES, "@ai-sdk/open-responses", "the Open Responses client test")


@pytest.mark.parametrize("shape", SHAPES)
def test_an_open_responses_js_client_does_text_streaming_and_tools(setup: Setup, shape: str) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "OPEN_RESPONSES_PROBE_MODULES": str(open_responses_modules()),
           "HTTPS_PROXY": setup.proxy.url, "NODE_EXTRA_CA_CERTS": str(setup.proxy.ca)}
    result = subprocess.run(["node", str(OPEN_RESPONSES_PROBE), "https://api.openai.com/v1/responses", f"byok-{shape}"],
                            capture_output=True, text=True, timeout=90, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout)
    assert seen["whole"]["text"] == "You said: Say hi ✓" and seen["whole"]["finish"] == "stop" and seen["whole"]["outputTokens"] > 0
    assert seen["streamed"] == {"text": "You said: Stream hi ✓", "finish": "stop"}
    assert seen["ran"] == ["for get_weather", "for get_weather"]  # the SDK ran its tool, streamed and not
    for loop in (seen["loop"], seen["streamedLoop"]):
        assert loop == {"text": "Tool said: sunny in for get_weather — done ✓", "steps": ["tool-calls", "stop"]}
    assert setup.errors() == []
