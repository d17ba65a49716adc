"""What the fake providers' scripted models do for a client that is not Codex.

Codex offers a shell tool and the fakes run commands with it; another client (the openai SDK, the
Agents SDK, an Open Responses client) offers its own tools, or none. Then the scripted model:
calls each offered tool once (two at most, in parallel) with arguments made from the tool's
schema; once the results are back, answers with them; with no tools, answers the prompt. When
the request asks for JSON (a schema), the answer is a value of that schema whose first string
carries the text it would have written.
"""

from __future__ import annotations

import json
from typing import Any

SHELL_TOOLS = frozenset({"exec_command", "shell_command", "shell"})


def sample(schema: Any, text: str) -> Any:
    """A value that satisfies `schema` (the subset clients send), `text` in its first string."""
    if not isinstance(schema, dict):
        return text
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return sample(schema[key][0], text)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        out: dict[str, Any] = {}
        for name, prop in (schema.get("properties") or {}).items():
            out[name] = sample(prop, text)
            text = f"{name}-value"
        return out
    if kind == "array":
        return [sample(schema.get("items") or {}, text)]
    if kind == "integer":
        return 42
    if kind == "number":
        return 4.5
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return text


def is_plain_client(tool_names: set[str]) -> bool:
    """The request is not Codex's: no shell tool among its tools."""
    return not (tool_names & SHELL_TOOLS)


def calls_for(tools: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str]]:
    """(name, JSON arguments) for the first two offered tools."""
    return [(name, json.dumps(sample(schema, f"for {name}"), ensure_ascii=False)) for name, schema in tools[:2]]


def final_text(prompt: str, results: list[str]) -> str:
    if results:
        return "Tool said: " + " | ".join(r.strip().replace("\n", " ") for r in results) + " — done ✓"
    return f"You said: {prompt.strip()[:80]} ✓"


def shaped(text: str, schema: Any) -> str:
    """The answer as asked: `text`, or JSON of `schema` carrying it when the request asks for JSON."""
    return text if schema is None else json.dumps(sample(schema, text), ensure_ascii=False)
