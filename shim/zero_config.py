"""Routes without a models.json: from the provider keys already in the environment.

A user who only exported ANTHROPIC_API_KEY (or OPENROUTER_API_KEY, DEEPSEEK_API_KEY), or runs
Ollama locally, gets working BYOK slugs at once. Keys stay in the environment: routes name the
variable (`api_key_env`), never the value.

Which models: what each keyed provider's models endpoint serves today (asked in the background
at start, see `fetch_models`), else what it served last time (`read_cache`), else a built-in list
(offline on a first start). Parsing an answer into the few models worth routing is pure
(`pick_anthropic`, `pick_deepseek`, `pick_openrouter`) so the choice can be tested on real shapes.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import ModelRoute
from .profile_sources import built_in_entries, positive_int, undated

OLLAMA_TAGS_URL = "http://127.0.0.1:11434/api/tags"

# The built-in lists: used until a provider's own list has been read once (then its cache is).
# Anthropic's is picked from the Models API snapshot shipped in shim/data, as its live answer would be.
DEEPSEEK_MODELS = ("deepseek-chat", "deepseek-reasoner")
OPENROUTER_MODELS = ("qwen/qwen3-coder", "moonshotai/kimi-k2", "z-ai/glm-4.6", "deepseek/deepseek-chat-v3.1")

FETCH_TIMEOUT_S = 3.0
CACHE_NAME = "zero-config-cache.json"
CACHE_VERSION = 1
ANTHROPIC_VERSION = "2023-06-01"
CLAUDE_LINES = ("opus", "sonnet", "haiku")
OPENROUTER_VENDORS = 8  # how many vendors' newest tool-calling model to route
OPENROUTER_MIN_CONTEXT = 64_000  # a coding agent's context fills fast: smaller windows are left out
USER_AGENT = "codex-shim (zero-config model list)"

# Source labels, as the route table shows them.
FETCHED, CACHED, BUILT_IN = "fetched", "cached", "built-in"


@dataclass(frozen=True)
class ModelInfo:
    """One model as a provider's list describes it: what a route and the cache need of it."""

    id: str
    display_name: str | None = None
    context_window: int | None = None


def _route(**fields: Any) -> ModelRoute:
    return ModelRoute.model_validate(fields)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _entries(answer: Any) -> list[dict[str, Any]]:
    """The `data` list every models endpoint here answers with; entries without a string id are skipped."""
    if not isinstance(answer, dict) or not isinstance(answer.get("data"), list):
        raise ValueError("no 'data' list in the answer")
    return [e for e in answer["data"] if isinstance(e, dict) and _text(e.get("id"))]


def _claude_line(entry: dict[str, Any]) -> str | None:
    """The model's line (`line`: opus, sonnet, …); answers that predate the field: the line word in the id."""
    if line := _text(entry.get("line")):
        return line
    return next((word for word in str(entry["id"]).split("-") if word in CLAUDE_LINES), None)


def pick_anthropic(answer: Any) -> list[ModelInfo]:
    """The newest active model of each Claude line: one Opus, one Sonnet, one Haiku (and any new line).

    Anthropic lists the newest first (`created_at`); deprecated or retired models and models of no
    line (claude-2.x, instant) are left out. Display name and `max_input_tokens` are carried.
    """
    newest: dict[str, dict[str, Any]] = {}
    for entry in sorted(_entries(answer), key=lambda e: str(e.get("created_at") or ""), reverse=True):
        line = _claude_line(entry)
        if line and line not in newest and entry.get("lifecycle", "active") == "active":
            newest[line] = entry
    return [
        ModelInfo(e["id"], _text(e.get("display_name")), positive_int(e.get("max_input_tokens"))) for e in newest.values()
    ]


def pick_deepseek(answer: Any) -> list[ModelInfo]:
    """Every model DeepSeek serves: the list is short (deepseek-chat, deepseek-reasoner) and all are chat models."""
    return list({e["id"]: ModelInfo(e["id"]) for e in _entries(answer)}.values())


def _openrouter_fits(entry: dict[str, Any]) -> bool:
    """Calls tools, reads and writes text, a large enough window; base ids only, none of OpenRouter's routers."""
    model_id = str(entry["id"])
    architecture = entry.get("architecture")
    if not isinstance(architecture, dict):
        architecture = {}
    modalities_in = architecture.get("input_modalities") or ["text"]
    modalities_out = architecture.get("output_modalities") or ["text"]
    return (
        "tools" in (entry.get("supported_parameters") or [])
        and "text" in modalities_in
        and "text" in modalities_out
        and (positive_int(entry.get("context_length")) or 0) >= OPENROUTER_MIN_CONTEXT
        and ":" not in model_id  # :free, :thinking, … are variants of a base id
        and "/" in model_id
        and not model_id.startswith(("openrouter/", "~"))
    )


def pick_openrouter(answer: Any) -> list[ModelInfo]:
    """A handful of OpenRouter's hundreds of models, for a coding agent.

    Of the models that fit (`_openrouter_fits`), the newest (`created`) of each vendor (the part of
    the id before "/"), for the OPENROUTER_VENDORS vendors that serve the most fitting models: a
    vendor with many tool-calling models is a lab a coding agent is likely to want.
    """
    fitting = sorted(
        (e for e in _entries(answer) if _openrouter_fits(e)),
        key=lambda e: positive_int(e.get("created")) or 0,
        reverse=True,
    )
    newest: dict[str, dict[str, Any]] = {}
    count: dict[str, int] = {}
    for entry in fitting:
        vendor = str(entry["id"]).split("/", 1)[0]
        newest.setdefault(vendor, entry)
        count[vendor] = count.get(vendor, 0) + 1
    vendors = sorted(newest, key=lambda v: -count[v])[:OPENROUTER_VENDORS]  # stable: ties keep newest first
    return [
        ModelInfo(newest[v]["id"], _text(newest[v].get("name")), positive_int(newest[v].get("context_length")))
        for v in vendors
    ]


def anthropic_route(info: ModelInfo) -> ModelRoute:
    slug = undated(info.id)
    return _route(model=slug, provider="anthropic", api_key_env="ANTHROPIC_API_KEY",
                  upstream_model=info.id if slug != info.id else None,
                  display_name=info.display_name, max_context_limit=info.context_window)


def deepseek_route(info: ModelInfo) -> ModelRoute:
    return _route(model=info.id, provider="generic-chat-completion-api", base_url="https://api.deepseek.com/v1",
                  api_key_env="DEEPSEEK_API_KEY", display_name=info.display_name,
                  max_context_limit=info.context_window)


def openrouter_route(info: ModelInfo) -> ModelRoute:
    return _route(model=f"openrouter/{info.id}", provider="generic-chat-completion-api",
                  base_url="https://openrouter.ai/api/v1", upstream_model=info.id, api_key_env="OPENROUTER_API_KEY",
                  display_name=info.display_name, max_context_limit=info.context_window)


def _anthropic_headers(key: str) -> dict[str, str]:
    return {"x-api-key": key, "anthropic-version": ANTHROPIC_VERSION}


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def _no_key(key: str) -> dict[str, str]:
    return {}  # OpenRouter's model list is public: the key need not travel


@dataclass(frozen=True)
class Provider:
    """A provider a key in the environment opens: where its model list is, how to read it, its routes."""

    name: str
    key_env: str
    models_url: str
    headers: Callable[[str], dict[str, str]]
    pick: Callable[[Any], list[ModelInfo]]
    route: Callable[[ModelInfo], ModelRoute]
    built_in: tuple[ModelInfo, ...] = field(default=())

    @property
    def url_env(self) -> str:
        """Replaces models_url (tests point it at a local fake; a mirror would do too)."""
        return f"CODEX_SHIM_{self.name.upper()}_MODELS_URL"

    def url(self, environ: Mapping[str, str]) -> str:
        return environ.get(self.url_env) or self.models_url


PROVIDERS = (
    Provider("anthropic", "ANTHROPIC_API_KEY", "https://api.anthropic.com/v1/models?limit=1000",
             _anthropic_headers, pick_anthropic, anthropic_route, tuple(pick_anthropic({"data": list(built_in_entries())}))),
    Provider("deepseek", "DEEPSEEK_API_KEY", "https://api.deepseek.com/models",
             _bearer, pick_deepseek, deepseek_route, tuple(ModelInfo(m) for m in DEEPSEEK_MODELS)),
    Provider("openrouter", "OPENROUTER_API_KEY", "https://openrouter.ai/api/v1/models?supported_parameters=tools",
             _no_key, pick_openrouter, openrouter_route, tuple(ModelInfo(m) for m in OPENROUTER_MODELS)),
)


def keyed_providers(environ: Mapping[str, str]) -> list[Provider]:
    return [p for p in PROVIDERS if environ.get(p.key_env)]


def ollama_models(url: str = OLLAMA_TAGS_URL, timeout: float = 0.3) -> list[str]:
    """Names of the models a local Ollama serves; [] when nothing answers quickly."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            tags = json.load(answer)
    except (OSError, ValueError):
        return []
    return [str(m["name"]) for m in tags.get("models", []) if isinstance(m, dict) and m.get("name")]


@dataclass
class ZeroConfig:
    """The routes from the environment, and where each one's model came from (for the table)."""

    routes: dict[str, ModelRoute] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


def environment_routes(
    environ: Mapping[str, str],
    local_models: Sequence[str] = (),
    cached: Mapping[str, Sequence[ModelInfo]] | None = None,
    fetched: Mapping[str, Sequence[ModelInfo]] | None = None,
) -> ZeroConfig:
    """Per keyed provider its fetched list, else its cached one, else the built-in; then the local Ollama's."""
    found = ZeroConfig()
    for provider in keyed_providers(environ):
        source, models = _best_list(provider, cached or {}, fetched or {})
        for info in models:
            route = provider.route(info)
            found.routes[route.model] = route
            found.sources[route.model] = source
    for name in local_models:
        found.routes[name] = _route(model=name, provider="ollama", display_name=f"{name} (Ollama)")
        found.sources[name] = FETCHED
    return found


def _best_list(
    provider: Provider, cached: Mapping[str, Sequence[ModelInfo]], fetched: Mapping[str, Sequence[ModelInfo]]
) -> tuple[str, Sequence[ModelInfo]]:
    if models := fetched.get(provider.name):
        return FETCHED, models
    if models := cached.get(provider.name):
        return CACHED, models
    return BUILT_IN, provider.built_in


def read_cache(path: Path) -> dict[str, list[ModelInfo]]:
    """What the providers' lists said last time; {} when the file is missing or corrupt (it is only a cache)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        providers = raw["providers"] if raw.get("version") == CACHE_VERSION else {}
        return {
            name: [ModelInfo(str(m["id"]), _text(m.get("display_name")), positive_int(m.get("context_window"))) for m in models]
            for name, models in providers.items()
            if isinstance(models, list) and all(isinstance(m, dict) and _text(m.get("id")) for m in models)
        }
    except (OSError, ValueError, TypeError, AttributeError, KeyError):
        return {}


def write_cache(path: Path, models: Mapping[str, Sequence[ModelInfo]]) -> None:
    """Keep the lists for an offline start; written whole then renamed, so a crash leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    body = {"version": CACHE_VERSION, "providers": {name: [asdict(m) for m in ms] for name, ms in models.items()}}
    tmp.write_text(json.dumps(body, indent=1), encoding="utf-8")
    tmp.replace(path)


def get_json(url: str, headers: dict[str, str], timeout: float) -> Any:
    # No proxy from the environment: the shim's upstream calls go direct too, and HTTPS_PROXY is
    # often this very proxy (exported for Codex in the same shell).
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"accept": "application/json", "user-agent": USER_AGENT, **headers})
    with opener.open(request, timeout=timeout) as answer:
        return json.load(answer)


def why_failed(exc: BaseException, timeout: float) -> str:
    """A failure in words, never the request's headers (they hold the key)."""
    if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot connect: {exc.reason}"
    if isinstance(exc, ValueError):
        return f"not a model list: {exc}"
    return type(exc).__name__


async def _fetch_one(provider: Provider, environ: Mapping[str, str], timeout: float) -> list[ModelInfo]:
    headers = provider.headers(environ[provider.key_env])
    answer = await asyncio.wait_for(asyncio.to_thread(get_json, provider.url(environ), headers, timeout), timeout)
    models = provider.pick(answer)
    if not models:
        raise ValueError("no model in it fits")
    return models


async def fetch_models(
    environ: Mapping[str, str], timeout: float = FETCH_TIMEOUT_S
) -> tuple[dict[str, list[ModelInfo]], dict[str, str]]:
    """Ask every keyed provider's models endpoint at once: what each serves, and why the others did not answer."""
    providers = keyed_providers(environ)
    results = await asyncio.gather(*(_fetch_one(p, environ, timeout) for p in providers), return_exceptions=True)
    fetched: dict[str, list[ModelInfo]] = {}
    failed: dict[str, str] = {}
    for provider, result in zip(providers, results, strict=True):
        if isinstance(result, BaseException):
            failed[provider.name] = why_failed(result, timeout)
        else:
            fetched[provider.name] = result
    return fetched, failed
