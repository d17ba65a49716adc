"""What a Responses call is, from what Codex puts on the wire (docs/codex-request-kinds.md has
the sources in codex-rs and what was observed from Codex 0.169/0.171).

- compaction: the input ends with a `compaction_trigger` item (remote compaction v2), the
  legacy `…/responses/compact` path, or turn metadata `request_kind` "compaction" /
  "auto_compact_fallback";
- title: turn metadata `thread_source` "thread_title" (the TUI's hidden title thread);
- background: anything Codex sends on its own: the two above, a `thread_source` other than
  "user", a `request_kind` other than "turn", or a sub-agent / guardian / memory header.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from . import jsonio

BACKGROUND_HEADERS = ("x-openai-subagent", "x-codex-parent-thread-id", "x-codex-guardian", "x-openai-memgen-request")
_BACKGROUND_RAW = frozenset(name.encode() for name in BACKGROUND_HEADERS)
COMPACTION_KINDS = frozenset({"compaction", "auto_compact_fallback"})
_DATA_URL = re.compile(r"data:image/[^\"]{200,}")
IMAGE_BYTES = 7373  # Codex's own estimate counts an inline image as this many bytes


def turn_metadata(body: Mapping[str, Any], headers: Mapping[str, str]) -> dict[str, Any]:
    """The turn metadata: the body's client_metadata copy is canonical, the header a mirror."""
    client = body.get("client_metadata")
    raw = client.get("x-codex-turn-metadata") if isinstance(client, dict) else None
    raw = raw if isinstance(raw, str) else headers.get("x-codex-turn-metadata")
    try:
        meta = jsonio.loads(raw) if raw else {}
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def turn_kinds(body: Mapping[str, Any], headers: Mapping[str, str], legacy_compact: bool = False) -> frozenset[str]:
    meta = turn_metadata(body, headers)
    request_kind, source = meta.get("request_kind"), meta.get("thread_source")
    items = body.get("input")
    last = items[-1] if isinstance(items, list) and items else None
    kinds: set[str] = set()
    if legacy_compact or request_kind in COMPACTION_KINDS or (isinstance(last, dict) and last.get("type") == "compaction_trigger"):
        kinds.add("compaction")
    if source == "thread_title":
        kinds.add("title")
    if kinds or source not in (None, "user") or request_kind not in (None, "turn") or _sent_by_codex_itself(headers):
        kinds.add("background")
    return frozenset(kinds)


def _sent_by_codex_itself(headers: Mapping[str, str]) -> bool:
    """Whether a sub-agent, guardian or memory header is there. mitmproxy's Headers are read as
    their raw pairs: iterating them decodes and folds every name (a third of this per turn)."""
    fields = getattr(headers, "fields", None)
    if isinstance(fields, tuple):
        return any(name.lower() in _BACKGROUND_RAW for name, _ in fields)
    return any(name.lower() in BACKGROUND_HEADERS for name in headers)


def estimate_input_tokens(body: Mapping[str, Any]) -> int:
    """Codex's own coarse estimate: JSON bytes of the instructions and input items / 4, an inline
    image counted as a fixed size instead of its base64."""
    text = json.dumps([body.get("instructions") or "", body.get("input") or []], separators=(",", ":"), ensure_ascii=False)
    images = _DATA_URL.findall(text)
    size = len(text.encode()) - sum(len(image) for image in images) + IMAGE_BYTES * len(images)
    return math.ceil(size / 4)
