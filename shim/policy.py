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
