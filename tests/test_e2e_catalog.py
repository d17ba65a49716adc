"""The real Codex CLI (0.171.0 and 0.169.0, ChatGPT login) sees the BYOK models in its catalog, online or not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.chatgpt_login import (
    bundled_catalog,
    chatgpt_backend,
    codex_debug_models,
    map_chatgpt_nowhere,
    map_chatgpt_to,
)
from tests.harness import Mitmdump

pytestmark = pytest.mark.e2e

ROUTES = [
    {"model": "claude-byok", "provider": "anthropic", "api_key": "sk-ant-test", "display_name": "Claude via BYOK",
     "upstream_model": "claude-opus-4-7"},
    {"model": "ds-byok", "provider": "generic-chat-completion-api", "base_url": "http://127.0.0.1:9/v1",
     "upstream_model": "deepseek-chat", "display_name": "DeepSeek via BYOK", "no_image_support": True},
    {"model": "small-ctx", "provider": "ollama", "upstream_model": "qwen3-coder:30b", "max_context_limit": 32768},
]
EXPECTED = {  # slug: (display name, context window, input modalities)
    "claude-byok": ("Claude via BYOK", 1_000_000, ["text", "image"]),  # the Models API's max_input_tokens (shipped snapshot)
    "ds-byok": ("DeepSeek via BYOK", 128_000, ["text"]),
    "small-ctx": ("small-ctx", 32_768, ["text", "image"]),
}


def by_slug(catalog: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["slug"]: m for m in catalog["models"]}


def assert_byok_models_listed(models: dict[str, dict[str, Any]]) -> None:
    for slug, (name, window, modalities) in EXPECTED.items():
        entry = models[slug]
        assert (entry["display_name"], entry["context_window"], entry["input_modalities"]) == (name, window, modalities)
        assert entry["visibility"] == "list"
        assert entry["base_instructions"]
        assert [level["effort"] for level in entry["supported_reasoning_levels"]] == LEVELS[slug]


LEVELS = {  # as Codex decoded them: each model's own ladder, max included where the model has it
    "claude-byok": ["low", "medium", "high", "xhigh", "max"],
    "ds-byok": ["medium"],  # a chat route that names no efforts: one neutral level
    "small-ctx": ["medium"],
}


def test_codex_lists_byok_models_next_to_the_upstream_catalog(tmp_path: Path) -> None:
    upstream = bundled_catalog(tmp_path / "bundled-home")
    default = min((m for m in upstream["models"] if m["visibility"] == "list"), key=lambda m: m["priority"])
    with chatgpt_backend(upstream) as fake, Mitmdump(tmp_path, ROUTES, map_chatgpt_to(fake.port)) as proxy:
        catalog, _ = codex_debug_models(proxy, tmp_path / "home")
    models = by_slug(catalog)
    assert_byok_models_listed(models)
    assert {m["slug"] for m in upstream["models"]} <= set(models)  # OpenAI's models stay
    for slug in EXPECTED:  # Codex's own prompt, and never ahead of the upstream default
        assert models[slug]["base_instructions"] == default["base_instructions"]
        assert models[slug]["priority"] > max(m["priority"] for m in upstream["models"] if m["visibility"] == "list")
    catalog_calls = [r for r in fake.requests if r["path"].startswith("/backend-api/codex/models")]
    assert catalog_calls and all("if-none-match" not in r["headers"] for r in catalog_calls)
    assert (tmp_path / "catalog-cache.json").exists()  # next to models.json, for offline restarts


def test_codex_lists_byok_models_when_the_catalog_host_is_unreachable(tmp_path: Path) -> None:
    with Mitmdump(tmp_path, ROUTES, map_chatgpt_nowhere()) as proxy:
        catalog, _ = codex_debug_models(proxy, tmp_path / "home")
    assert "catalog answered locally" in proxy.output()
    models = by_slug(catalog)
    assert_byok_models_listed(models)
    assert set(models) == set(EXPECTED)


def test_an_offline_restart_keeps_the_last_upstream_catalog(tmp_path: Path) -> None:
    upstream = bundled_catalog(tmp_path / "bundled-home")
    with chatgpt_backend(upstream) as fake, Mitmdump(tmp_path, ROUTES, map_chatgpt_to(fake.port)) as proxy:
        codex_debug_models(proxy, tmp_path / "home-online")
    with Mitmdump(tmp_path, ROUTES, map_chatgpt_nowhere()) as proxy:
        catalog, _ = codex_debug_models(proxy, tmp_path / "home-offline")
    models = by_slug(catalog)
    assert_byok_models_listed(models)
    assert {m["slug"] for m in upstream["models"]} <= set(models)
