"""Routes from the environment when there is no models.json, and the table the proxy prints."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from shim.addons.routes_file import routes_table
from shim.zero_config import environment_routes, ollama_models
from tests.fakes.http_server import FakeServer, Reply
from tests.harness import Mitmdump, free_port


def test_provider_keys_in_the_environment_become_routes_naming_the_variable() -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant-secret", "DEEPSEEK_API_KEY": "sk-ds-secret", "OPENROUTER_API_KEY": "sk-or-secret"}
    routes = environment_routes(env, ["qwen3-coder:30b"]).routes
    assert routes["claude-sonnet-5-5"].provider == "anthropic"  # the shipped Models API snapshot's newest Sonnet
    assert routes["claude-sonnet-5-5"].api_key_env == "ANTHROPIC_API_KEY" and routes["claude-sonnet-5-5"].api_key is None
    assert routes["deepseek-chat"].url_base == "https://api.deepseek.com/v1"
    assert routes["openrouter/qwen/qwen3-coder"].upstream_name == "qwen/qwen3-coder"
    assert routes["qwen3-coder:30b"].provider == "ollama"
    table = routes_table(routes, "the environment")
    assert "$DEEPSEEK_API_KEY" in table and "secret" not in table


def test_no_keys_and_no_ollama_means_no_routes() -> None:
    assert environment_routes({}, []).routes == {}


def test_a_local_ollama_is_asked_for_its_models() -> None:
    tags = {"models": [{"name": "qwen3-coder:30b"}, {"name": "llama3.2:3b"}]}
    with FakeServer(lambda path, headers, body: Reply.json(200, tags)) as ollama:
        assert ollama_models(f"{ollama.base_url}/api/tags") == ["qwen3-coder:30b", "llama3.2:3b"]
    assert ollama_models(f"http://127.0.0.1:{free_port()}/api/tags") == []  # nothing listens: quick []


@pytest.mark.e2e
def test_the_proxy_starts_from_the_environment_and_reloads_models_json(tmp_path: Path) -> None:
    deepseek_list = {"object": "list", "data": [{"id": "deepseek-chat", "object": "model", "owned_by": "deepseek"},
                                                {"id": "deepseek-reasoner", "object": "model", "owned_by": "deepseek"}]}
    models_endpoint = FakeServer(lambda path, headers, body: Reply.json(200, deepseek_list))
    env = {"DEEPSEEK_API_KEY": "sk-ds-secret-value", "ANTHROPIC_API_KEY": "", "OPENROUTER_API_KEY": "",
           "CODEX_SHIM_DEEPSEEK_MODELS_URL": f"{models_endpoint.base_url}/models"}  # never the real provider
    proxy = Mitmdump(tmp_path, None, env=env)
    with models_endpoint, proxy:
        assert "deepseek-reasoner" in proxy.output() and "$DEEPSEEK_API_KEY" in proxy.output()
        deadline = time.monotonic() + 15
        while "updated from the model lists of deepseek" not in proxy.output() and time.monotonic() < deadline:
            time.sleep(0.1)  # the list is asked in the background, after start-up
        assert "fetched" in proxy.output().split("updated from the model lists of deepseek")[-1]
        assert models_endpoint.requests[0]["headers"]["authorization"] == "Bearer sk-ds-secret-value"
        proxy.config.write_text(json.dumps({"models": [{"model": "fresh", "provider": "ollama"}]}))
        deadline = time.monotonic() + 15
        while "fresh" not in proxy.output() and time.monotonic() < deadline:
            time.sleep(0.2)
        log = proxy.output()
        proxy.config.write_text("{ not json")
        while log == proxy.output() and time.monotonic() < deadline:
            time.sleep(0.2)
        broken = proxy.output()
    assert "1 BYOK route(s) from" in log and "fresh" in log
    assert "keeping the previous routes" in broken and "not valid JSON" in broken
    assert "sk-ds-secret-value" not in broken
