"""What a native (OpenAI) turn must not carry after BYOK turns.

Codex replays every reasoning and compaction item it received, whichever model made it. Ours
hold a codex-shim carrier in `encrypted_content`, which OpenAI cannot decrypt (it answers 400
invalid_encrypted_content) and which may hold another provider's thinking. So before a native
turn leaves: our reasoning items are dropped, our compaction items become the summary they
hold. Requests without our prefix — every request of a session that never used a BYOK model —
pass byte for byte.
"""

from __future__ import annotations

from typing import Any

from . import carrier, compaction

MARKER = carrier.PREFIX.encode()


def carries_ours(raw: bytes) -> bool:
    return MARKER in raw


def scrub(body: dict[str, Any]) -> dict[str, Any]:
    items = body.get("input")
    if not isinstance(items, list):
        return body
    kept: list[Any] = []
    for item in items:
        ours = isinstance(item, dict) and str(item.get("encrypted_content", "")).startswith(carrier.PREFIX)
        if not ours:
            kept.append(item)
        elif item.get("type") == "compaction":
            kept.append(compaction.expand(item))
    return {**body, "input": kept}
