"""Routes without a models.json: from the provider keys already in the environment.

A user who only exported ANTHROPIC_API_KEY (or OPENROUTER_API_KEY, DEEPSEEK_API_KEY), or runs
Ollama locally, gets working BYOK slugs at once. Keys stay in the environment: routes name the
variable (`api_key_env`), never the value.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from .config import ModelRoute

OLLAMA_TAGS_URL = "http://127.0.0.1:11434/api/tags"

ANTHROPIC_MODELS = ("claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5")
DEEPSEEK_MODELS = ("deepseek-chat", "deepseek-reasoner")
OPENROUTER_MODELS = ("qwen/qwen3-coder", "moonshotai/kimi-k2", "z-ai/glm-4.6", "deepseek/deepseek-chat-v3.1")


def _route(**fields: Any) -> ModelRoute:
    return ModelRoute.model_validate(fields)


def ollama_models(url: str = OLLAMA_TAGS_URL, timeout: float = 0.3) -> list[str]:
    """Names of the models a local Ollama serves; [] when nothing answers quickly."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            tags = json.load(answer)
    except (OSError, ValueError):
        return []
    return [str(m["name"]) for m in tags.get("models", []) if isinstance(m, dict) and m.get("name")]


def routes_from_environment(
    environ: Mapping[str, str] = os.environ, local_models: Callable[[], list[str]] = ollama_models
) -> dict[str, ModelRoute]:
    routes: list[ModelRoute] = []
    if environ.get("ANTHROPIC_API_KEY"):
        routes += [_route(model=m, provider="anthropic", api_key_env="ANTHROPIC_API_KEY") for m in ANTHROPIC_MODELS]
    if environ.get("DEEPSEEK_API_KEY"):
        routes += [
            _route(model=m, provider="generic-chat-completion-api", base_url="https://api.deepseek.com/v1",
                   api_key_env="DEEPSEEK_API_KEY", max_context_limit=128_000)
            for m in DEEPSEEK_MODELS
        ]
    if environ.get("OPENROUTER_API_KEY"):
        routes += [
            _route(model=f"openrouter/{m}", provider="generic-chat-completion-api", base_url="https://openrouter.ai/api/v1",
                   upstream_model=m, api_key_env="OPENROUTER_API_KEY")
            for m in OPENROUTER_MODELS
        ]
    routes += [_route(model=m, provider="ollama", display_name=f"{m} (Ollama)") for m in local_models()]
    return {route.model: route for route in routes}
