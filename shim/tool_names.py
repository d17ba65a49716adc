"""Reversible mapping between Codex's tool names and names every provider accepts.

Codex groups tools in namespaces (a `namespace` field beside `name`) and declares freeform
`custom` tools; providers want flat function names matching ^[a-zA-Z0-9_-]{1,64}$. The mapping
is a pure function of (namespace, name), so each request rebuilds the same table.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from .errors import RequestError

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


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool Codex declared, flattened to what every provider can declare: a named function."""

    name: str  # the provider-safe name
    description: str
    parameters: dict[str, Any]
    strict: bool = False


_FREEFORM_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"input": {"type": "string", "description": "The raw tool input."}},
    "required": ["input"],
}


def declared_tools(tools: list[dict[str, Any]], names: ToolNames) -> list[ToolSpec]:
    """Codex's tools as functions: namespaces flattened, freeform tools given one string
    argument (their grammar goes into the description). Hosted tools (web_search, ...) run on
    OpenAI's side only and are left out."""
    if not isinstance(tools, list) or not all(isinstance(tool, dict) for tool in tools):
        raise RequestError("`tools` must be a list of tool objects")
    specs: list[ToolSpec] = []
    for tool in tools:
        if tool.get("type") == "namespace":
            specs += [spec for inner in tool.get("tools") or [] if (spec := _spec(inner, names, tool.get("name")))]
        elif spec := _spec(tool, names, None):
            specs.append(spec)
    return specs


def _spec(tool: Any, names: ToolNames, namespace: str | None) -> ToolSpec | None:
    kind = tool.get("type") if isinstance(tool, dict) else None
    if kind in ("function", "custom") and not isinstance(tool.get("name"), str):
        raise RequestError(f"a {kind} tool without a name: {json.dumps(tool)[:200]}")
    if kind == "function":
        return ToolSpec(
            names.register(tool["name"], namespace),
            tool.get("description") or "",
            tool.get("parameters") or {"type": "object", "properties": {}},
            bool(tool.get("strict")),
        )
    if kind == "custom":
        description = tool.get("description") or ""
        fmt = tool.get("format") or {}
        if fmt.get("type") == "grammar" and fmt.get("definition"):
            description += (
                f"\n\nPass the raw tool input as the `input` string. It must match this "
                f"{fmt.get('syntax', '')} grammar:\n{fmt['definition']}"
            )
        return ToolSpec(names.register(tool["name"], namespace, kind="custom"), description.strip() or "Freeform tool.",
                        _FREEFORM_PARAMETERS)
    return None
