"""The place for policy addons loaded beside ours (`-s policy.py -s addons/codex_shim.py`).

Two mitmproxy events of our own; an addon that defines a method of the same name gets them:

- `codex_shim_turn(flow, turn)`: a Responses call, parsed, before it is routed or translated.
  Read or change `turn.body` (in place, or assign a new dict); set `turn.use` to the slug that
  should serve it (a configured BYOK slug, or None to let it go to OpenAI as Codex sent it).
- `codex_shim_outcome(flow, outcome)`: after a BYOK turn ended: the facts also kept in
  flow.metadata["codex_shim"] (route, served_by, usage, cost, error, ...).

An addon that runs before ours can also choose the route without our event, by setting
flow.metadata["codex_shim"] = {"use": "<slug>"} in its `request` hook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from mitmproxy import hooks, http


@dataclass
class Turn:
    """A Responses call as policy sees it."""

    model: str | None
    """The model Codex asked for."""
    body: dict[str, Any]
    """The parsed request; what is sent (translated, or as JSON to OpenAI) after the event."""
    kinds: frozenset[str] = frozenset()
    """What the turn is: "compaction", "title", "background" (see shim/turn_kinds.py)."""
    use: str | None = None
    """The slug that will serve it: a BYOK route, or None for OpenAI."""
    notes: list[str] = field(default_factory=list)
    """What policy did, in words; shown on the flow."""


@dataclass
class CodexShimTurnHook(hooks.Hook):
    name: ClassVar[str] = "codex_shim_turn"
    flow: http.HTTPFlow
    turn: Turn


@dataclass
class CodexShimOutcomeHook(hooks.Hook):
    name: ClassVar[str] = "codex_shim_outcome"
    flow: http.HTTPFlow
    outcome: dict[str, Any]


def turn_cost(usage: dict[str, Any], prices: Any) -> float:
    """What a turn cost at a route's prices (per million tokens): cache reads and cache writes at
    their own prices where given, the rest of the input at the input price, output at the output
    price, and the provider's own web searches (`web_search_requests`) per 1,000."""
    details = usage.get("input_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0)
    written = int(details.get("cache_write_tokens") or 0) if prices.cache_write is not None else 0
    fresh = max(0, int(usage.get("input_tokens") or 0) - cached - written)
    cached_price = prices.cached_input if prices.cached_input is not None else prices.input
    written_cost = written * prices.cache_write if written else 0.0
    tokens = float(fresh * prices.input + cached * cached_price + written_cost + int(usage.get("output_tokens") or 0) * prices.output) / 1e6
    searches = int(usage.get("web_search_requests") or 0)
    return tokens + (searches * prices.web_search / 1000 if searches and prices.web_search is not None else 0.0)
