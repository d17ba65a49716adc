"""Reading a provider's own description of a model into a `ModelProfile`.

Every provider's models endpoint answers `{"data": [entry, ...]}`; what an entry says depends on
who wrote it, so the entry's shape decides how it is read, never the host's name:
- Anthropic's Models API (`capabilities`, `max_input_tokens`, `max_tokens`): thinking types,
  effort levels, image/PDF input, structured outputs, server tools (the `anthropic` SDK's
  `ModelInfo` shape; tests hold our snapshot to that type);
- OpenRouter's list (`context_length`, `supported_parameters`, `pricing`, `architecture`);
- an OpenAI-style list (DeepSeek, OpenAI, Ollama, vLLM): little beyond the id; vLLM's
  `max_model_len` is the context window.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from .config import Prices
from .model_profile import BUILT_IN, EffortParam, ModelProfile, ordered

log = logging.getLogger("codex_shim")

ANTHROPIC_EFFORT_NAMES = ("low", "medium", "high", "xhigh", "max")
THINKING_TYPES = ("adaptive", "enabled", "disabled", "between_tools")
# OpenRouter's unified `reasoning.effort` values (openrouter.ai/docs, "Reasoning Tokens"), for an
# entry that takes `reasoning` but does not list its own `reasoning.supported_efforts`.
OPENROUTER_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
PER_TOKEN_TO_PER_MILLION = 1_000_000


def profile_from_entry(entry: Mapping[str, Any], source: str) -> ModelProfile:
    """One models-endpoint entry as a profile, read by its shape (see the module docstring)."""
    if isinstance(entry.get("capabilities"), dict):
        return _anthropic(entry, source)
    if "context_length" in entry or "supported_parameters" in entry:
        return _openrouter(entry, source)
    window = positive_int(entry.get("max_model_len")) or positive_int(entry.get("context_window"))
    return ModelProfile(source=source, context_window=window)


def _anthropic(entry: Mapping[str, Any], source: str) -> ModelProfile:
    """The Models API's entry (the `anthropic` SDK's ModelInfo / ModelCapabilities shape), read
    leniently: answers recorded before a key existed (xhigh, server_tools, thinking.types.disabled)
    simply lack it. A thinking type the entry does not name counts as taken only for `disabled`,
    which every model took before the key was published."""
    caps = _dict(entry.get("capabilities"))
    thinking = _dict(caps.get("thinking"))
    types = _dict(thinking.get("types"))
    forms: tuple[str, ...] | None
    if thinking.get("supported") is False:
        forms = ("disabled",)
    elif not types:  # thinking without its types: which forms is not said
        forms = None
    else:
        forms = tuple(name for name in THINKING_TYPES if _supported(types.get(name), default=name == "disabled"))
    effort = _dict(caps.get("effort"))
    efforts = tuple(name for name in ANTHROPIC_EFFORT_NAMES if _supported(effort.get(name))) if effort.get("supported") else ()
    tools = _dict(caps.get("server_tools"))
    return ModelProfile(
        source=source,
        context_window=positive_int(entry.get("max_input_tokens")),
        max_output_tokens=positive_int(entry.get("max_tokens")),
        thinking=forms if thinking else None,
        efforts=efforts if effort else None,
        image_input=_flag(caps.get("image_input")),
        pdf_input=_flag(caps.get("pdf_input")),
        structured_outputs=_flag(caps.get("structured_outputs")),
        server_tools=tuple(name for name in ("web_search", "code_execution") if _supported(tools.get(name))),
    )


def _supported(node: Any, default: bool = False) -> bool:
    return node.get("supported") is True if isinstance(node, dict) else default


def _flag(node: Any) -> bool | None:
    return node["supported"] if isinstance(node, dict) and isinstance(node.get("supported"), bool) else None


def _openrouter(entry: Mapping[str, Any], source: str) -> ModelProfile:
    params = entry.get("supported_parameters")
    params = [p for p in params if isinstance(p, str)] if isinstance(params, list) else None
    top = _dict(entry.get("top_provider"))
    architecture = _dict(entry.get("architecture"))
    modalities = architecture.get("input_modalities")
    reasoning = _dict(entry.get("reasoning"))
    published = reasoning.get("supported_efforts")
    efforts: tuple[str, ...] | None = None
    effort_param: EffortParam | None = None
    if params is not None:
        if "reasoning" in params or "reasoning_effort" in params:
            effort_param = "reasoning" if "reasoning" in params else "reasoning_effort"
            efforts = ordered(published) if isinstance(published, list) else OPENROUTER_EFFORTS
        else:
            efforts = ()
    prices = _openrouter_prices(entry.get("pricing"))
    return ModelProfile(
        source=source,
        context_window=positive_int(entry.get("context_length")) or positive_int(top.get("context_length")),
        max_output_tokens=positive_int(top.get("max_completion_tokens")),
        efforts=efforts,
        effort_param=effort_param,
        image_input=("image" in modalities) if isinstance(modalities, list) else None,
        pdf_input=("file" in modalities) if isinstance(modalities, list) else None,
        structured_outputs=("structured_outputs" in params) if params is not None else None,
        # OpenRouter searches for any model it lists (its web search server tool); a list that merely
        # has context_length (another gateway's) is not OpenRouter's
        server_tools=("openrouter:web_search",) if {"pricing", "architecture", "top_provider"} <= entry.keys() else (),
        prices=prices,
        price_source="openrouter" if prices is not None else None,
    )


def _openrouter_prices(pricing: Any) -> Prices | None:
    """OpenRouter prices are USD per token, as strings; ours are per million tokens."""
    if not isinstance(pricing, dict):
        return None
    per_million = {key: _per_million(pricing.get(key)) for key in ("prompt", "completion", "input_cache_read", "input_cache_write")}
    if per_million["prompt"] is None or per_million["completion"] is None:
        return None
    per_search = _per_million(pricing.get("web_search"))  # USD per search, here per million: /1000 = per 1,000
    return Prices(input=per_million["prompt"], output=per_million["completion"], cached_input=per_million["input_cache_read"],
                  cache_write=per_million["input_cache_write"], web_search=per_search / 1000 if per_search is not None else None)


def _per_million(value: Any) -> float | None:
    try:
        price = float(value)
    except (TypeError, ValueError):
        return None
    return round(price * PER_TOKEN_TO_PER_MILLION, 6) if price >= 0 else None  # "-1": a router's "it varies"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


# -- matching a route's model to an entry --------------------------------------------------------


def undated(model_id: str) -> str:
    """claude-sonnet-4-5-20250929 → claude-sonnet-4-5: an id without its release date (the alias)."""
    return re.sub(r"-\d{8}$", "", model_id)


def find_entry(entries: Iterable[Mapping[str, Any]], model: str) -> Mapping[str, Any] | None:
    """The entry for `model`: the same id, or the same id but for a release date (an alias)."""
    entries = [e for e in entries if isinstance(e.get("id"), str)]
    for entry in entries:
        if entry["id"] == model:
            return entry
    wanted = undated(model)
    return next((e for e in entries if undated(e["id"]) == wanted), None)


# -- the snapshot shipped for a first offline start ---------------------------------------------------


@cache
def built_in_entries() -> tuple[dict[str, Any], ...]:
    """shim/data/anthropic-models.json: the Models API's answer as last recorded (see its `_source`)."""
    text = resources.files("shim").joinpath("data/anthropic-models.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return tuple(entry for entry in data["data"] if isinstance(entry, dict))


def built_in_profile(model: str) -> ModelProfile | None:
    """A Claude model's profile before its provider was ever asked: its own snapshot entry (also
    under a cloud's id: `us.anthropic.claude-…-v1:0`, `claude-…@date`), else what every model of its
    line in the snapshot takes (the `line` the Models API gives, found as a word of the id) — never
    one model's ladder guessed for another. Nothing of a line: no profile."""
    entries = built_in_entries()
    entry = find_entry(entries, model) or find_entry(entries, _plain_claude_id(model))
    if entry is not None:
        return profile_from_entry(entry, BUILT_IN)
    words = set(re.split(r"[-.@:]", model.lower()))
    line = sorted({str(e["line"]) for e in entries if isinstance(e.get("line"), str) and e["line"] in words})
    if len(line) != 1:
        return None
    same_line = [profile_from_entry(e, BUILT_IN) for e in entries if e.get("line") == line[0]]
    return common_profile(same_line, f"{BUILT_IN} ({line[0]} line: what all its models take)")


def _plain_claude_id(model: str) -> str:
    """A cloud's spelling of an Anthropic id (Bedrock `us.anthropic.claude-x-20250929-v1:0`, Vertex
    `claude-x@20250929`) as the Models API spells it."""
    plain = re.sub(r"^(?:[a-z]{2}\.)?anthropic\.", "", model)
    plain = re.sub(r"-v\d+(?::\d+)?$", "", plain)
    return plain.replace("@", "-")


def common_profile(profiles: list[ModelProfile], source: str) -> ModelProfile:
    """What every one of `profiles` takes: shared thinking forms and effort levels, the smallest limits."""
    def shared(values: list[tuple[str, ...] | None]) -> tuple[str, ...] | None:
        if any(v is None for v in values):
            return None
        common = set(values[0] or ())
        for value in values[1:]:
            common &= set(value or ())
        return tuple(v for v in (values[0] or ()) if v in common)

    def smallest(values: list[int | None]) -> int | None:
        known = [v for v in values if v is not None]
        return min(known) if len(known) == len(values) and known else None

    thinking = shared([p.thinking for p in profiles])
    return ModelProfile(
        source=source,
        context_window=smallest([p.context_window for p in profiles]),
        max_output_tokens=smallest([p.max_output_tokens for p in profiles]),
        thinking=thinking or None,  # no form all take: unknown (the budget form, corrected if refused)
        efforts=shared([p.efforts for p in profiles]),
        image_input=all(p.image_input for p in profiles),
        pdf_input=all(p.pdf_input for p in profiles),
        server_tools=shared([p.server_tools for p in profiles]) or (),
    )
