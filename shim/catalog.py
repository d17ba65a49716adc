"""Puts the BYOK models into Codex's own model picker by extending its model catalog.

Codex (ChatGPT login) fetches `GET https://chatgpt.com/backend-api/codex/models?client_version=…`
and decodes `{"models": [...]}` as one list: a single entry that fails to decode empties the
whole picker. So a BYOK entry is a copy of a real entry of that same answer (the upstream's default
model: lowest `priority` among listed models that carry `base_instructions`) with only the fields
that describe the BYOK model overridden. The agent thereby keeps Codex's own prompt.

Caching. Codex keeps the answer's `ETag` and refreshes its catalog whenever a responses answer
carries an `x-models-etag` that differs from it. We drop `If-None-Match` on the way up (a 304
would hide the BYOK models behind a list Codex cached before they were configured), derive the
merged answer's `ETag` from the upstream ETag and the BYOK routes, and rewrite `x-models-etag`
with the same function, so an unchanged upstream catalog still means "no refresh".

This module is pure (entries, merging, ETags, the cache file); the hooks are shim/addons/catalog.py.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import jsonio
from .config import ModelRoute
from .model_profile import ModelProfile
from .profiles import Profiles

log = logging.getLogger("codex_shim.catalog")


DEFAULT_CONTEXT_WINDOW = 128_000
"""For a model whose provider publishes no context window (and models.json gives none)."""

# Model-specific features of OpenAI's newer entries; absent from the 0.169 gpt-5.5 entry, so optional.
_DROP_KEYS = ("tool_mode", "multi_agent_reasoning_effort", "multi_agent_version")

_LEVELS = {
    "none": "No reasoning",
    "minimal": "As little reasoning as the model allows",
    "low": "Fast responses with lighter reasoning",
    "medium": "Balances speed and reasoning depth for everyday tasks",
    "high": "Greater reasoning depth for complex problems",
    "xhigh": "Extra high reasoning depth for the hardest problems",
    "max": "The most reasoning the model offers",
    "ultra": "Beyond max, where the model offers it",
}
BUDGET_LEVELS = ("low", "medium", "high")
"""A model that thinks only to a token budget has no ladder of its own: the budgets codex-shim sets."""

FALLBACK_BASE_INSTRUCTIONS = (
    "You are Codex, a coding agent working in the user's workspace through the tools you are given. "
    "Read the code before changing it, make focused changes with apply_patch, run commands to check "
    "your work, and finish with a short summary of what you changed and what is left to do."
)

# Shape of the 0.169 fixture entry (gpt-5.5), used only when no upstream catalog has been seen.
FALLBACK_TEMPLATE: dict[str, Any] = {
    "slug": "",
    "display_name": "",
    "description": "",
    "default_reasoning_level": "medium",
    "supported_reasoning_levels": [],
    "shell_type": "unified_exec",
    "visibility": "list",
    "supported_in_api": True,
    "priority": 100,
    "additional_speed_tiers": [],
    "service_tiers": [],
    "availability_nux": None,
    "upgrade": None,
    "include_skills_usage_instructions": True,
    "include_plugin_usage_instructions": True,
    "include_apps_usage_instructions": True,
    "default_reasoning_summary": "none",
    "support_verbosity": False,
    "default_verbosity": None,
    "apply_patch_tool_type": "freeform",
    "web_search_tool_type": "text_and_image",
    "truncation_policy": {"mode": "tokens", "limit": 10000},
    "supports_image_detail_original": False,
    "context_window": DEFAULT_CONTEXT_WINDOW,
    "max_context_window": DEFAULT_CONTEXT_WINDOW,
    "effective_context_window_percent": 95,
    "experimental_supported_tools": [],
    "input_modalities": ["text", "image"],
    "supports_search_tool": False,
    "supports_experimental_context": False,
    "use_responses_lite": False,
    "supports_reasoning_effort_updates": False,
    "node_repl_auto_review_required": False,
    "node_repl_disabled": False,
    "base_instructions": FALLBACK_BASE_INSTRUCTIONS,
}


# -- pure functions ---------------------------------------------------------------------------


def is_catalog_path(path: str) -> bool:
    return path.split("?", 1)[0].rstrip("/").endswith("/codex/models")


def context_window(profile: ModelProfile) -> int:
    """The model's input limit as its profile gives it (models.json's max_context_limit wins there)."""
    return profile.context_window or DEFAULT_CONTEXT_WINDOW


def effort_ladder(route: ModelRoute, profile: ModelProfile) -> tuple[str, ...]:
    """The efforts the picker offers: the model's own ladder; for a model that thinks to a budget
    only, the budgets' levels; nothing where the model takes no effort at all."""
    if profile.efforts:
        return profile.efforts
    if route.provider == "anthropic" and (profile.thinking is None or "enabled" in profile.thinking):
        return BUDGET_LEVELS
    return ()


def reasoning_levels(route: ModelRoute, profile: ModelProfile) -> tuple[str, list[dict[str, str]]]:
    """(default level, levels) for the picker: the ladder, else one neutral level. The default is
    medium where the ladder has it, else its middle. Every level is one Codex 0.169 and 0.171
    decode (both bundle entries with none … ultra)."""
    ladder = list(effort_ladder(route, profile))
    if not ladder:
        return "medium", [{"effort": "medium", "description": f"Reasoning as {route.upstream_name} does it by default"}]
    default = "medium" if "medium" in ladder else ladder[len(ladder) // 2]
    return default, [{"effort": level, "description": _LEVELS[level]} for level in ladder]


def reference_entry(models: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The upstream's default model: the listed entry with base_instructions and the lowest priority."""
    usable = [m for m in models if isinstance(m, dict) and isinstance(m.get("base_instructions"), str) and m["base_instructions"]]
    listed = [m for m in usable if m.get("visibility") == "list"] or usable
    if not listed:
        return None
    return min(listed, key=_priority)


def _priority(entry: dict[str, Any]) -> int:
    priority = entry.get("priority")
    return priority if isinstance(priority, int) else 1 << 30


def build_entry(route: ModelRoute, template: Mapping[str, Any], priority: int, profile: ModelProfile | None = None) -> dict[str, Any]:
    """One catalog entry for a BYOK route: a copy of a real entry with the BYOK facts put in."""
    profile = profile or Profiles().of(route)
    entry = copy.deepcopy(dict(template))
    for key in _DROP_KEYS:
        entry.pop(key, None)
    default_level, levels = reasoning_levels(route, profile)
    window = context_window(profile)
    entry.update(
        slug=route.model,
        display_name=route.display_name or route.model,
        description=f"BYOK via codex-shim: {route.upstream_name} on {route.provider} ({route.url_base})",
        default_reasoning_level=default_level,
        supported_reasoning_levels=levels,
        shell_type=entry.get("shell_type") or "unified_exec",
        visibility="list",
        supported_in_api=True,
        priority=priority,
        additional_speed_tiers=[],
        service_tiers=[],
        availability_nux=None,
        upgrade=None,
        support_verbosity=False,
        default_verbosity=None,
        apply_patch_tool_type=entry.get("apply_patch_tool_type") or "freeform",
        truncation_policy=entry.get("truncation_policy") or {"mode": "tokens", "limit": 10000},
        context_window=window,
        max_context_window=window,
        experimental_supported_tools=[],
        input_modalities=["text"] if profile.image_input is False else ["text", "image"],
        # A model that reasons shows it: Codex then asks for a summary, which is what makes Claude
        # models from Opus 4.7 on return their thinking text (their default display is "omitted").
        default_reasoning_summary="auto" if len(levels) > 1 else entry.get("default_reasoning_summary", "none"),
        supports_image_detail_original=False,
        supports_reasoning_effort_updates=False,
        use_responses_lite=False,
    )
    return entry


def merge_catalog(
    upstream_models: list[dict[str, Any]] | None,
    routes: Mapping[str, ModelRoute],
    profiles: Mapping[str, ModelProfile] | None = None,
) -> dict[str, Any]:
    """Upstream entries (BYOK slugs replaced) followed by one entry per route, after the default;
    `profiles` (by slug) describe the models."""
    profiles = profiles if profiles is not None else Profiles().by_slug(routes)
    models = [m for m in upstream_models or [] if isinstance(m, dict) and m.get("slug") not in routes]
    template = reference_entry(upstream_models or []) or FALLBACK_TEMPLATE
    # Right after the last listed upstream entry: never ahead of the upstream default (the CLI picks
    # the first listed entry), and ahead of hidden ones, so that the first page of app-server's
    # `model/list` (Desktop reads 100 entries, hidden included, by priority) holds every BYOK model.
    listed = [m for m in models if m.get("visibility") == "list"] or models
    priorities = [m["priority"] for m in listed if isinstance(m.get("priority"), int)]
    first = max(priorities, default=0) + 1
    models += [
        build_entry(route, template, first + i, profiles.get(route.model)) for i, route in enumerate(routes.values())
    ]
    return {"models": models}


def routes_fingerprint(routes: Mapping[str, ModelRoute], profiles: Mapping[str, ModelProfile] | None = None) -> str:
    """Changes whenever a BYOK entry would: a route's facts or its model's profile."""
    profiles = profiles if profiles is not None else Profiles().by_slug(routes)
    facts = [
        [r.model, r.display_name, r.provider, r.url_base, r.upstream_name, repr(profiles.get(r.model))]
        for r in routes.values()
    ]
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()[:16]


def merged_etag(upstream_etag: str, routes: Mapping[str, ModelRoute], profiles: Mapping[str, ModelProfile] | None = None) -> str:
    """ETag of the merged catalog; also what `x-models-etag` becomes, so the two stay comparable."""
    digest = hashlib.sha256(f"{upstream_etag}\n{routes_fingerprint(routes, profiles)}".encode()).hexdigest()[:24]
    return f'"codex-shim-{digest}"'


def body_etag(body: bytes) -> str:
    return f'"codex-shim-body-{hashlib.sha256(body).hexdigest()[:24]}"'


def decode_models(content: bytes | None) -> list[dict[str, Any]] | None:
    try:
        data = jsonio.loads(content or b"")
    except (ValueError, UnicodeDecodeError):
        return None
    models = data.get("models") if isinstance(data, dict) else None
    return models if isinstance(models, list) else None


def read_cache(path: Path) -> list[dict[str, Any]] | None:
    try:
        return decode_models(path.read_bytes())
    except OSError:
        return None


def write_cache(path: Path, models: list[dict[str, Any]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"models": models}, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        log.warning(f"codex-shim: cannot write the catalog cache {path}: {exc.strerror}")
