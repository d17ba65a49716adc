"""Zero-config routes from the providers' own model lists: parsing real answer shapes, fetching them
from local fakes (never the internet), the cache for offline starts, and the refresh in RoutesFile.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest
from mitmproxy.test import taddons

from shim.addons.routes_file import RoutesFile, routes_table
from shim.state import Shim
from shim.zero_config import (
    CACHE_NAME,
    ModelInfo,
    environment_routes,
    fetch_models,
    pick_anthropic,
    pick_deepseek,
    pick_openrouter,
    read_cache,
    write_cache,
)
from tests.fakes.http_server import FakeServer, Reply
from tests.harness import free_port

ANTHROPIC_KEY = "sk-ant-zero-config-secret"
DEEPSEEK_KEY = "sk-ds-zero-config-secret"
OPENROUTER_KEY = "sk-or-zero-config-secret"
KEY_VARS = ("ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY", "OPENROUTER_API_KEY")


def claude(model_id: str, name: str, created: str, **more: Any) -> dict[str, Any]:
    """An entry as GET /v1/models answers today (anthropic SDK's ModelInfo, platform.claude.com docs)."""
    return {
        "type": "model", "id": model_id, "display_name": name, "created_at": created,
        "capabilities": {"image_input": {"supported": True}, "thinking": {"supported": True}},
        "lifecycle": "active", "deprecated_at": None, "retires_at": None, **more,
    }


ANTHROPIC_ANSWER = {
    "data": [  # newest first, as Anthropic lists them
        claude("claude-opus-4-6", "Claude Opus 4.6", "2026-02-05T00:00:00Z", line="opus", max_input_tokens=200_000, max_tokens=128_000),
        claude("claude-haiku-4-5-20251001", "Claude Haiku 4.5", "2025-10-15T00:00:00Z", line="haiku", max_input_tokens=200_000),
        claude("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z", line="sonnet", max_input_tokens=1_000_000),
        claude("claude-opus-4-1-20250805", "Claude Opus 4.1", "2025-08-05T00:00:00Z", line="opus", max_input_tokens=200_000),
        claude("claude-3-7-sonnet-20250219", "Claude Sonnet 3.7", "2025-02-19T00:00:00Z", line="sonnet", lifecycle="retired"),
        claude("claude-3-haiku-20240307", "Claude Haiku 3", "2024-03-07T00:00:00Z", line="haiku", lifecycle="deprecated"),
    ],
    "has_more": False, "first_id": "claude-opus-4-6", "last_id": "claude-3-haiku-20240307",
}

# The shape of the docs' older example: no line, lifecycle or token limits.
ANTHROPIC_OLDER_ANSWER = {
    "data": [
        {"type": "model", "id": "claude-sonnet-4-20250514", "display_name": "Claude Sonnet 4", "created_at": "2025-05-22T00:00:00Z"},
        {"type": "model", "id": "claude-3-7-sonnet-20250219", "display_name": "Claude Sonnet 3.7", "created_at": "2025-02-24T00:00:00Z"},
        {"type": "model", "id": "claude-3-5-haiku-20241022", "display_name": "Claude Haiku 3.5", "created_at": "2024-10-22T00:00:00Z"},
        {"type": "model", "id": "claude-2.1", "display_name": "Claude 2.1", "created_at": "2023-11-21T00:00:00Z"},
    ],
    "has_more": False, "first_id": "claude-sonnet-4-20250514", "last_id": "claude-2.1",
}

# api-docs.deepseek.com "Lists Models": an OpenAI-style list.
DEEPSEEK_ANSWER = {
    "object": "list",
    "data": [
        {"id": "deepseek-chat", "object": "model", "owned_by": "deepseek"},
        {"id": "deepseek-reasoner", "object": "model", "owned_by": "deepseek"},
    ],
}


def router_model(model_id: str, created: int, context: int = 262_144, tools: bool = True, output: str = "text") -> dict[str, Any]:
    """An entry as openrouter.ai/api/v1/models answers (openrouter.ai/docs/models: the Model object)."""
    params = ["max_tokens", "temperature", "top_p", "stop"] + (["tools", "tool_choice"] if tools else [])
    return {
        "id": model_id, "canonical_slug": model_id + "-0000", "name": f"Name of {model_id}", "created": created,
        "description": "…", "context_length": context,
        "architecture": {"modality": f"text->{output}", "input_modalities": ["text"], "output_modalities": [output],
                         "tokenizer": "Other", "instruct_type": None},
        "pricing": {"prompt": "0.0000002", "completion": "0.0000008", "request": "0", "image": "0"},
        "top_provider": {"context_length": context, "max_completion_tokens": 65_536, "is_moderated": False},
        "per_request_limits": None, "supported_parameters": params,
    }


OPENROUTER_ANSWER = {
    "data": [
        router_model("qwen/qwen3-coder-next", 1_770_000_000),
        router_model("qwen/qwen3-coder", 1_753_000_000),
        router_model("qwen/qwen3-coder:free", 1_753_000_001),  # a variant: left out
        router_model("qwen/qwen3-8b", 1_760_000_000, context=40_960),  # too small a window
        router_model("z-ai/glm-4.6", 1_759_000_000, context=202_752),
        router_model("z-ai/glm-4.5", 1_753_500_000),
        router_model("moonshotai/kimi-k2", 1_752_000_000),
        router_model("sao10k/storyteller", 1_771_000_000, tools=False),  # no tools: left out
        router_model("google/imagen-like", 1_771_000_001, output="image"),  # no text out: left out
        router_model("openrouter/auto", 1_771_000_002),  # OpenRouter's own router: left out
    ]
}


def test_anthropic_keeps_the_newest_active_model_of_each_line_with_its_name_and_window() -> None:
    picked = pick_anthropic(ANTHROPIC_ANSWER)
    assert picked == [
        ModelInfo("claude-opus-4-6", "Claude Opus 4.6", 200_000),
        ModelInfo("claude-haiku-4-5-20251001", "Claude Haiku 4.5", 200_000),
        ModelInfo("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", 1_000_000),
    ]
    older = pick_anthropic(ANTHROPIC_OLDER_ANSWER)  # no `line`: the line word in the id; claude-2.1 has none
    assert [m.id for m in older] == ["claude-sonnet-4-20250514", "claude-3-5-haiku-20241022"]
    assert older[0].context_window is None


def test_anthropic_routes_use_the_undated_slug_and_send_the_dated_id() -> None:
    found = environment_routes({"ANTHROPIC_API_KEY": ANTHROPIC_KEY}, fetched={"anthropic": pick_anthropic(ANTHROPIC_ANSWER)})
    sonnet = found.routes["claude-sonnet-4-5"]
    assert sonnet.upstream_name == "claude-sonnet-4-5-20250929" and sonnet.provider == "anthropic"
    assert sonnet.display_name == "Claude Sonnet 4.5" and sonnet.max_context_limit == 1_000_000
    assert sonnet.api_key_env == "ANTHROPIC_API_KEY" and sonnet.api_key is None
    assert found.routes["claude-opus-4-6"].upstream_model is None  # no date: sent as it is
    assert set(found.sources.values()) == {"fetched"}


def test_deepseek_routes_every_listed_model() -> None:
    assert [m.id for m in pick_deepseek(DEEPSEEK_ANSWER)] == ["deepseek-chat", "deepseek-reasoner"]
    found = environment_routes({"DEEPSEEK_API_KEY": DEEPSEEK_KEY}, fetched={"deepseek": pick_deepseek(DEEPSEEK_ANSWER)})
    assert found.routes["deepseek-reasoner"].url_base == "https://api.deepseek.com/v1"
    assert found.routes["deepseek-reasoner"].max_context_limit is None  # its list says none: no number made up here


def test_openrouter_keeps_the_newest_tool_calling_model_of_the_busiest_vendors() -> None:
    picked = pick_openrouter(OPENROUTER_ANSWER)
    # qwen and z-ai have two fitting models each, moonshotai one: that order, the newest of each.
    assert [m.id for m in picked] == ["qwen/qwen3-coder-next", "z-ai/glm-4.6", "moonshotai/kimi-k2"]
    assert picked[1] == ModelInfo("z-ai/glm-4.6", "Name of z-ai/glm-4.6", 202_752)
    route = environment_routes({"OPENROUTER_API_KEY": OPENROUTER_KEY}, fetched={"openrouter": picked}).routes["openrouter/z-ai/glm-4.6"]
    assert route.upstream_name == "z-ai/glm-4.6" and route.url_base == "https://openrouter.ai/api/v1"
    assert route.max_context_limit == 202_752


def test_an_answer_of_another_shape_is_refused() -> None:
    for parse in (pick_anthropic, pick_deepseek, pick_openrouter):
        with pytest.raises(ValueError):
            parse({"models": []})


@pytest.fixture
def providers(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Three fake providers on 127.0.0.1 answering in their real shapes; the environment points at them."""
    answers = {"anthropic": ANTHROPIC_ANSWER, "deepseek": DEEPSEEK_ANSWER, "openrouter": OPENROUTER_ANSWER}
    servers = {name: FakeServer(lambda path, headers, body, a=answer: Reply.json(200, a)) for name, answer in answers.items()}
    for server in servers.values():
        server.__enter__()
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("DEEPSEEK_API_KEY", DEEPSEEK_KEY)
    monkeypatch.setenv("OPENROUTER_API_KEY", OPENROUTER_KEY)
    monkeypatch.setenv("CODEX_SHIM_ANTHROPIC_MODELS_URL", f"{servers['anthropic'].base_url}/v1/models?limit=1000")
    monkeypatch.setenv("CODEX_SHIM_DEEPSEEK_MODELS_URL", f"{servers['deepseek'].base_url}/models")
    monkeypatch.setenv("CODEX_SHIM_OPENROUTER_MODELS_URL", f"{servers['openrouter'].base_url}/models?supported_parameters=tools")
    yield servers
    for server in servers.values():
        server.__exit__()


def env_with(**urls: str) -> dict[str, str]:
    """The environment the `providers` fixture set up, some list URLs replaced."""
    return {**os.environ, **urls}


def test_each_provider_is_asked_as_its_docs_say(providers: dict[str, FakeServer]) -> None:
    fetched, failed = asyncio.run(fetch_models(env_with()))
    assert failed == {}
    assert [m.id for m in fetched["deepseek"]] == ["deepseek-chat", "deepseek-reasoner"]
    assert len(fetched["anthropic"]) == 3 and len(fetched["openrouter"]) == 3
    anthropic = providers["anthropic"].requests[0]
    assert anthropic["path"] == "/v1/models?limit=1000"
    assert anthropic["headers"]["x-api-key"] == ANTHROPIC_KEY and anthropic["headers"]["anthropic-version"] == "2023-06-01"
    assert providers["deepseek"].requests[0]["headers"]["authorization"] == f"Bearer {DEEPSEEK_KEY}"
    openrouter = providers["openrouter"].requests[0]
    assert openrouter["path"] == "/models?supported_parameters=tools"
    assert "authorization" not in openrouter["headers"]  # a public list: the key does not travel


def test_a_slow_provider_times_out_and_a_failing_one_is_named_without_its_key(providers: dict[str, FakeServer]) -> None:
    def slow(path: str, headers: dict[str, str], body: bytes) -> Reply:
        time.sleep(2)
        return Reply.json(200, ANTHROPIC_ANSWER)

    with FakeServer(slow) as slow_server, FakeServer(lambda p, h, b: Reply.json(500, {"error": "boom"})) as failing:
        env = env_with(CODEX_SHIM_ANTHROPIC_MODELS_URL=f"{slow_server.base_url}/v1/models",
                       CODEX_SHIM_DEEPSEEK_MODELS_URL=f"{failing.base_url}/models")
        started = time.monotonic()
        fetched, failed = asyncio.run(fetch_models(env, timeout=0.5))
        took = time.monotonic() - started
    assert took < 1.5  # the slow one is not waited for
    assert failed == {"anthropic": "no answer within 0.5 s", "deepseek": "HTTP 500"}
    assert list(fetched) == ["openrouter"]
    found = environment_routes(env, fetched=fetched)
    assert found.sources["claude-sonnet-5-5"] == "built-in" and found.sources["deepseek-chat"] == "built-in"
    assert found.sources["openrouter/qwen/qwen3-coder-next"] == "fetched"
    assert "openrouter/qwen/qwen3-coder" not in found.routes  # the fetched list replaces the built-in one


def test_nothing_listening_is_a_quick_failure() -> None:
    env = {"DEEPSEEK_API_KEY": DEEPSEEK_KEY, "CODEX_SHIM_DEEPSEEK_MODELS_URL": f"http://127.0.0.1:{free_port()}/models"}
    fetched, failed = asyncio.run(fetch_models(env))
    assert fetched == {} and failed["deepseek"].startswith("cannot connect")


def test_the_cache_keeps_the_lists_and_a_corrupt_one_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "nested" / CACHE_NAME
    lists = {"anthropic": pick_anthropic(ANTHROPIC_ANSWER), "deepseek": pick_deepseek(DEEPSEEK_ANSWER)}
    write_cache(cache, lists)
    assert read_cache(cache) == lists
    found = environment_routes({"ANTHROPIC_API_KEY": ANTHROPIC_KEY}, cached=read_cache(cache))
    assert found.sources == {"claude-opus-4-6": "cached", "claude-haiku-4-5": "cached", "claude-sonnet-4-5": "cached"}
    for corrupt in ("{ not json", "[]", '{"version": 1, "providers": {"anthropic": [{"no": "id"}]}}', '{"version": 99}'):
        cache.write_text(corrupt)
        assert read_cache(cache) == {}
    assert read_cache(tmp_path / "missing.json") == {}


def column(lines: list[str], line: str, name: str) -> str:
    """One cell of a routes table row, by the header's column positions (cells may hold spaces)."""
    header = lines[1]
    start = header.index(f" {name}") + 1
    following = [header.index(f" {n}") + 1 for n in header.split() if header.index(f" {n}") + 1 > start]
    return line[start:min(following, default=len(line))].strip()


def test_the_table_says_where_each_route_came_from() -> None:
    found = environment_routes(
        {"ANTHROPIC_API_KEY": ANTHROPIC_KEY, "DEEPSEEK_API_KEY": DEEPSEEK_KEY}, ["qwen3-coder:30b"],
        cached={"deepseek": pick_deepseek(DEEPSEEK_ANSWER)},
    )
    lines = routes_table(found.routes, "the environment", found.sources).splitlines()
    assert lines[1].split() == ["slug", "provider", "upstream", "model", "key", "source", "profile"]
    by_slug = {line.split()[0]: column(lines, line, "source") for line in lines[2:]}
    assert by_slug == {"claude-opus-5-5": "built-in", "claude-sonnet-5-5": "built-in", "claude-haiku-5-5": "built-in",
                       "claude-fable-5-1": "built-in",  # the newest of each line in the shipped Models API snapshot
                       "deepseek-chat": "cached", "deepseek-reasoner": "cached", "qwen3-coder:30b": "fetched"}
    from_file = routes_table(found.routes, "models.json")
    assert all(column(from_file.splitlines(), line, "source") == "models.json" for line in from_file.splitlines()[2:])


def routes_file_in(tmp_path: Path, **options: Any) -> tuple[taddons.context, RoutesFile]:
    addon = RoutesFile(Shim())
    tctx = taddons.context(addon)
    tctx.__enter__()
    tctx.configure(addon, codex_shim_config=str(tmp_path / "models.json"), **options)
    return tctx, addon


def test_the_proxy_starts_on_built_in_routes_then_takes_the_fetched_ones_and_caches_them(
    tmp_path: Path, providers: dict[str, FakeServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="codex_shim")
    tctx, addon = routes_file_in(tmp_path)
    try:
        assert set(addon._sources.values()) == {"built-in"} and "claude-opus-5-5" in addon.shim.routes
        asyncio.run(addon.refresh())
    finally:
        tctx.__exit__(None, None, None)
    routes = addon.shim.routes
    assert "claude-opus-4-6" in routes and "claude-opus-5-5" not in routes
    assert routes["claude-sonnet-4-5"].upstream_name == "claude-sonnet-4-5-20250929"
    assert set(addon._sources.values()) == {"fetched"}
    assert set(read_cache(tmp_path / CACHE_NAME)) == {"anthropic", "deepseek", "openrouter"}
    tables = [r.getMessage() for r in caplog.records if "BYOK route(s)" in r.getMessage()]
    sources = [{column(table.splitlines(), line, "source") for line in table.splitlines()[2:]} for table in tables]
    assert len(tables) == 2 and sources[0] == {"built-in"} and sources[1] == {"fetched"}
    assert not any(key in caplog.text for key in (ANTHROPIC_KEY, DEEPSEEK_KEY, OPENROUTER_KEY))


def test_an_offline_start_uses_the_cache_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    write_cache(tmp_path / CACHE_NAME, {"anthropic": pick_anthropic(ANTHROPIC_ANSWER)})
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    for var in KEY_VARS[1:]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CODEX_SHIM_ANTHROPIC_MODELS_URL", f"http://127.0.0.1:{free_port()}/v1/models")  # offline
    caplog.set_level(logging.INFO, logger="codex_shim")
    tctx, addon = routes_file_in(tmp_path)
    try:
        asyncio.run(addon.refresh())
    finally:
        tctx.__exit__(None, None, None)
    assert sorted(addon.shim.routes) == ["claude-haiku-4-5", "claude-opus-4-6", "claude-sonnet-4-5"]
    assert set(addon._sources.values()) == {"cached"}
    assert "could not list the anthropic models (cannot connect" in caplog.text and "keeping the cached list" in caplog.text
    assert read_cache(tmp_path / CACHE_NAME) == {"anthropic": pick_anthropic(ANTHROPIC_ANSWER)}
    assert ANTHROPIC_KEY not in caplog.text


def test_nothing_is_fetched_with_a_models_json_or_with_zero_config_off(tmp_path: Path, providers: dict[str, FakeServer]) -> None:
    async def start(**options: Any) -> RoutesFile:
        tctx, addon = routes_file_in(tmp_path, **options)  # configure runs in the event loop, as in mitmdump
        try:
            await asyncio.sleep(0.5)
        finally:
            tctx.__exit__(None, None, None)
        return addon

    (tmp_path / "models.json").write_text(json.dumps({"models": [{"model": "mine", "provider": "ollama"}]}))
    assert asyncio.run(start())._refresh is None
    (tmp_path / "models.json").unlink()
    assert asyncio.run(start(codex_shim_zero_config=False))._refresh is None
    assert all(not server.requests for server in providers.values())
    started = asyncio.run(start())  # no models.json, zero-config on: asked in the background
    assert started._refresh is not None
    assert all(len(server.requests) == 1 for server in providers.values())
