"""What a route's model takes, as its provider publishes it: thinking forms, effort ladder,
limits, input kinds and prices.

A `ModelProfile` is data, never a guess from the model's name: it is read from the provider's
own models endpoint (shim/profile_sources.py), from the cache of the last such answer, or from
the snapshot of that answer shipped in shim/data for a first offline start. models.json fields
win over all of them (`with_route_overrides`). Providers read the profile, not the route, for
these facts; a field left None means "not published": each provider then keeps its plain default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from .config import CODEX_EFFORTS, ModelRoute, Prices

_RANK: dict[str, int] = {effort: rank for rank, effort in enumerate(CODEX_EFFORTS)}

EffortParam = Literal["reasoning_effort", "reasoning"]

OPENAI_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
"""The reasoning_effort values OpenAI's Chat Completions API documents (the openai SDK's
ReasoningEffort); each model takes a part of them, and a refusal names which (shim/corrections.py)."""

# Where a profile came from, as the route table and the flows say it.
FETCHED, CACHED, BUILT_IN, NONE = "fetched", "cached", "built-in", "none"


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """One model's published facts. None: the provider did not say; () : it says "none of these"."""

    source: str = NONE
    context_window: int | None = None
    max_output_tokens: int | None = None
    thinking: tuple[str, ...] | None = None
    """Anthropic thinking forms the model takes: "adaptive" and/or "enabled" (a token budget)."""
    efforts: tuple[str, ...] | None = None
    """The model's own effort levels, least to most (Anthropic output_config.effort, chat reasoning_effort)."""
    effort_param: EffortParam | None = None
    """How a chat route sends effort: `reasoning_effort`, or OpenRouter's `reasoning` object."""
    image_input: bool | None = None
    pdf_input: bool | None = None
    structured_outputs: bool | None = None
    server_tools: tuple[str, ...] = ()
    """Tools the model runs at its provider: "web_search", "code_execution" (Anthropic), "openrouter:web_search"."""
    prices: Prices | None = None
    price_source: str | None = None
    max_tokens_field: str = "max_tokens"
    """Chat routes: the request field for the output limit (OpenAI's API: max_completion_tokens)."""
    prompt_cache_key: bool = False
    """Chat routes: the API takes Codex's prompt_cache_key (OpenAI's does)."""
    system_anywhere: bool = False
    """Chat routes: a system message may come after the first turn (many chat templates refuse it)."""
    corrected: tuple[str, ...] = ()
    """What the provider's own refusals taught this run (shim/corrections.py), for the route table."""

    def effort_for(self, asked: str) -> str | None:
        """Codex's effort on this model's ladder (None: the model takes no effort parameter)."""
        return nearest_effort(asked, self.efforts or ())

    def filled_from(self, fallback: ModelProfile) -> ModelProfile:
        """This profile (a model's published data), with what it leaves unsaid (None) taken from
        `fallback`, and the route API's own ways (field names, what it accepts) from it always."""
        changes = {name: getattr(fallback, name) for name in _FILLABLE if getattr(self, name) is None}
        changes.update({name: getattr(fallback, name) for name in _API_WAYS})
        return replace(self, **changes)

    def with_route_overrides(self, route: ModelRoute) -> ModelProfile:
        """models.json fields win over the provider's data (README, "Model profiles")."""
        changes: dict[str, Any] = {}
        if route.max_context_limit:
            changes["context_window"] = route.max_context_limit
        if route.max_output_tokens:
            changes["max_output_tokens"] = route.max_output_tokens
        if route.no_image_support:
            changes["image_input"] = False
        if route.pdf_input is not None:
            changes["pdf_input"] = route.pdf_input
        if route.reasoning_efforts is not None:
            changes["efforts"] = tuple(e for e in CODEX_EFFORTS if e in route.reasoning_efforts)
        elif route.supports_reasoning_effort is True and not self.efforts:  # "it takes OpenAI's values"
            changes["efforts"] = OPENAI_EFFORTS
        if route.supports_reasoning_effort is False:  # "never send reasoning upstream"
            changes["efforts"], changes["thinking"] = (), ("disabled",)
        if route.prices is not None:
            changes["prices"], changes["price_source"] = route.prices, "models.json"
        return replace(self, **changes) if changes else self


_API_WAYS = ("max_tokens_field", "prompt_cache_key", "system_anywhere")
_FILLABLE = ("context_window", "max_output_tokens", "thinking", "efforts", "effort_param", "image_input", "pdf_input",
             "structured_outputs", "prices", "price_source")


def ordered(levels: Sequence[str]) -> tuple[str, ...]:
    """Known effort names, least to most; unknown names are dropped (Codex could not ask for them)."""
    return tuple(e for e in CODEX_EFFORTS if e in levels)


def nearest_effort(asked: str, ladder: Sequence[str]) -> str | None:
    """The level of `ladder` closest to `asked` on Codex's scale; on a tie the lower one (never
    spend more than was asked for). An unknown `asked` counts as medium."""
    levels = ordered(ladder)
    if not levels:
        return None
    if asked in levels:
        return asked
    rank = _RANK.get(asked, _RANK["medium"])
    return min(levels, key=lambda level: (abs(_RANK[level] - rank), _RANK[level]))
