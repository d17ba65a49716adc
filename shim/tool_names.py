"""Reversible mapping between Codex's tool names and names every provider accepts.

Codex groups tools in namespaces (a `namespace` field beside `name`) and declares freeform
`custom` tools; providers want flat function names matching ^[a-zA-Z0-9_-]{1,64}$. The mapping
is a pure function of (namespace, name), so each request rebuilds the same table.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

ToolKind = Literal["function", "custom"]

_VALID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_INVALID_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
NAMESPACE_SEPARATOR = "__"


@dataclass(frozen=True, slots=True)
class ToolRef:
    """What Codex calls a tool: its name, its namespace and whether it is freeform."""

    name: str
    namespace: str | None = None
    kind: ToolKind = "function"


def upstream_name(name: str, namespace: str | None = None) -> str:
    """A provider-safe name for (namespace, name); stable and collision-resistant."""
    joined = f"{namespace}{NAMESPACE_SEPARATOR}{name}" if namespace else name
    if _VALID.match(joined):
        return joined
    digest = hashlib.sha1(joined.encode()).hexdigest()[:8]
    cleaned = _INVALID_CHARS.sub("_", joined)[:55] or "tool"
    return f"{cleaned}_{digest}"


class ToolNames:
    """The table for one request: upstream name <-> ToolRef."""

    def __init__(self) -> None:
        self._by_upstream: dict[str, ToolRef] = {}

    def register(self, name: str, namespace: str | None = None, kind: ToolKind = "function") -> str:
        wire = upstream_name(name, namespace)
        self._by_upstream.setdefault(wire, ToolRef(name, namespace, kind))
        return wire

    def lookup(self, wire: str) -> ToolRef:
        """The Codex tool behind an upstream name; unknown names come back unchanged."""
        ref = self._by_upstream.get(wire)
        if ref is not None:
            return ref
        return ToolRef(wire)
