"""Example policy addon: choose the route by a rule of your own.

    CODEX_SHIM_CHEAP_MODEL=deepseek-chat mitmdump -s addons/examples/route_by_rule.py -s addons/codex_shim.py

A prompt that starts with "#cheap" goes to the model named in CODEX_SHIM_CHEAP_MODEL (a slug in
models.json), and the tag is taken off; so does everything Codex sends on its own (titles,
compaction, reviews: `turn.kinds` says "background"). Everything else goes where Codex asked.
"""

from __future__ import annotations

import os
from typing import Any

TAG = "#cheap"


def latest_user_text(body: dict[str, Any]) -> dict[str, Any] | None:
    """The text part of the last user message (where the tag would be)."""
    items = body.get("input")
    for item in reversed(items if isinstance(items, list) else []):
        if isinstance(item, dict) and item.get("role") == "user":
            for part in item.get("content") or []:
                if isinstance(part, dict) and part.get("type") == "input_text":
                    return part
            return None
    return None


class RouteByRule:
    def __init__(self) -> None:
        self.cheap = os.environ.get("CODEX_SHIM_CHEAP_MODEL", "")

    def codex_shim_turn(self, flow: Any, turn: Any) -> None:
        if not self.cheap:
            return
        part = latest_user_text(turn.body)
        tagged = part is not None and str(part.get("text", "")).lstrip().startswith(TAG)
        if tagged and part is not None:
            part["text"] = str(part["text"]).lstrip()[len(TAG):].lstrip()
        if tagged or "background" in turn.kinds:
            turn.use = self.cheap
            turn.notes.append(f"route_by_rule: {'#cheap prompt' if tagged else 'background turn'} -> {self.cheap}")


addons = [RouteByRule()]
