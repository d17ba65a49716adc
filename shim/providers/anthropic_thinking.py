"""Codex's `reasoning` as Anthropic's `thinking`, `output_config.effort` and `max_tokens`, shaped by
the model's profile (what the Models API publishes for it).

- A model that takes adaptive thinking gets `{"type": "adaptive"}` with the effort on its own
  ladder (`output_config.effort`), and `"display": "summarized"` when Codex asks for a summary
  (so the reasoning still shows where a model's default display is "omitted").
- A model whose only form is a token budget gets `{"type": "enabled", "budget_tokens": N}` (and
  its effort too, where it has a ladder, as Opus 4.5 does).
- `none` / `minimal` turn thinking off where the model allows it: `{"type": "disabled"}`, or
  `{"type": "between_tools"}` where that is the model's "off" (Sonnet 5.5); a model that always
  thinks gets adaptive thinking at its lowest level instead. With nothing published, the field
  is left out (the model's default), as before profiles.
- A model of unknown capabilities (a compatible endpoint the Models API does not describe) gets
  the budget form, as every Anthropic-compatible endpoint took it; a refusal teaches otherwise
  (shim/corrections.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model_profile import ModelProfile

# Token budgets per Codex effort for the budget form: our choice of how long to think, not a
# model fact; each is kept below max_tokens. max and ultra take whatever max_tokens leaves.
BUDGETS = {"low": 4_000, "medium": 10_000, "high": 24_000, "xhigh": 32_000}
MIN_BUDGET = 1_024
NO_THINKING = ("none", "minimal")
SUMMARY_ASKED = ("auto", "concise", "detailed")
DEFAULT_MAX_TOKENS = 32_000  # not asked for (and the default for a model whose limit is not published)
LONG_EFFORTS = ("xhigh", "max", "ultra")


@dataclass(frozen=True, slots=True)
class Reasoning:
    """What goes into the Messages request for Codex's reasoning settings."""

    thinking: dict[str, Any] | None = None
    effort: str | None = None
    note: str | None = None
    """Why Codex's effort was not honoured as asked (logged once per turn by the caller)."""

    @property
    def thinks(self) -> bool:
        """Thinking on: no sampling settings, no forced tool, signed blocks to replay."""
        return self.thinking is not None and self.thinking["type"] in THINKING_ON


THINKING_ON = ("adaptive", "enabled", "between_tools")

def max_tokens(body: dict[str, Any], profile: ModelProfile) -> int:
    """Codex's max_output_tokens within the model's published limit. Not asked: 32,000, or the
    whole limit for the efforts that think longest (xhigh, max, ultra) — Anthropic counts
    max_tokens against a key's output rate limit as a request starts, so it is not raised for all."""
    limit = profile.max_output_tokens or DEFAULT_MAX_TOKENS
    asked = body.get("max_output_tokens")
    if isinstance(asked, int) and not isinstance(asked, bool) and asked > 0:
        return max(1, min(limit, asked))
    effort = _dict(body.get("reasoning")).get("effort")
    return limit if effort in LONG_EFFORTS else min(limit, DEFAULT_MAX_TOKENS)


def reasoning(body: dict[str, Any], profile: ModelProfile, limit: int) -> Reasoning:
    settings = _dict(body.get("reasoning"))
    asked = settings.get("effort")
    if not isinstance(asked, str) or not asked:
        return Reasoning()  # Codex asked for no reasoning: the model's own default (no thinking)
    forms = profile.thinking
    ladder = profile.efforts
    lowest = profile.effort_for("low")
    if forms is None:  # not published: the form every Anthropic-compatible endpoint takes
        if asked in NO_THINKING:
            return Reasoning()
        forms = ("enabled",)
    if asked in NO_THINKING and "disabled" in forms:
        return Reasoning({"type": "disabled"}, lowest if asked == "minimal" else None)
    if asked in NO_THINKING and "between_tools" in forms:
        return Reasoning({"type": "between_tools"}, lowest)  # taken at low … high only
    effort = lowest if asked in NO_THINKING else profile.effort_for(asked)
    if "adaptive" in forms:
        thinking: dict[str, Any] = {"type": "adaptive"}
        if settings.get("summary") in SUMMARY_ASKED:
            thinking["display"] = "summarized"
        return Reasoning(thinking, effort, _note(asked, effort, ladder))
    if "enabled" in forms:
        budget = min(BUDGETS.get(asked, limit) if asked not in NO_THINKING else MIN_BUDGET, limit - MIN_BUDGET)
        if budget < MIN_BUDGET:
            return Reasoning(effort=effort, note=f"max_tokens {limit} leaves no room for a thinking budget")
        return Reasoning({"type": "enabled", "budget_tokens": budget}, effort, _note(asked, effort, ladder))
    return Reasoning(effort=effort, note="the model does not think (its profile lists no thinking form)")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _note(asked: str, effort: str | None, ladder: tuple[str, ...] | None) -> str | None:
    if ladder and effort != asked and asked not in NO_THINKING:
        return f"effort {asked!r} is not on the model's ladder {list(ladder)}: sent {effort!r}"
    return None
