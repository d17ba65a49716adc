"""Provider state carried through Codex inside a reasoning item's `encrypted_content`.

Codex asks for `reasoning.encrypted_content` and replays reasoning items verbatim on the next
request, so a route can park what its provider needs back (DeepSeek's `reasoning_content`,
Anthropic's signed thinking blocks) there. Items another provider produced lack our prefix and
are recognised as foreign, so they are never sent upstream as garbage.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from . import jsonio

PREFIX = "codexshim1."


def wrap(kind: str, payload: dict[str, Any]) -> str:
    raw = json.dumps({"k": kind, "p": payload}, separators=(",", ":")).encode()
    return PREFIX + base64.urlsafe_b64encode(raw).decode()


def unwrap(kind: str, value: object) -> dict[str, Any] | None:
    """The payload if `value` is a carrier of this kind, else None (foreign or damaged)."""
    found = unwrap_any(value)
    return found[1] if found is not None and found[0] == kind else None


def unwrap_any(value: object) -> tuple[str, dict[str, Any]] | None:
    """(kind, payload) of a carrier of any route (what they share, such as web sources), else None."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return None
    try:
        decoded = jsonio.loads(base64.urlsafe_b64decode(value[len(PREFIX) :]))
    except ValueError:
        return None
    if not isinstance(decoded, dict) or not isinstance(decoded.get("k"), str) or not isinstance(decoded.get("p"), dict):
        return None
    return decoded["k"], decoded["p"]
