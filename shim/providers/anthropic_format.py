"""A Responses `text.format` json_schema (what `codex exec --output-schema` sends) on Claude.

Where the model takes structured outputs (its Models API entry says so, or says nothing and the
model has not refused them), the schema goes as Anthropic's own `output_config.format`, shaped
by shim/providers/anthropic_schema.py (what the API cannot check moves into descriptions),
and the answer is the model's text. Where it does not, the schema becomes a tool the model
answers through — the long-standing way to get JSON from Claude: forced (`any`) when the model
does not think, asked for in the system prompt when it does (Anthropic refuses a forced tool
with thinking). That tool's input streams back as the answer's text, never as a tool call.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import RequestError
from ..model_profile import ModelProfile
from .anthropic_schema import for_anthropic

_NOT_NAME = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """How this request asks for its JSON answer."""

    schema: dict[str, Any]
    native: bool
    tool_name: str = ""
    """The answer tool's name (forced-tool form only)."""


def requested(body: dict[str, Any], profile: ModelProfile, taken_names: Callable[[], set[str]]) -> OutputFormat | None:
    """The request's json_schema format, in the form the model takes; None for plain text."""
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
        return None
    try:
        schema = for_anthropic(fmt["schema"])
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:  # a schema that is not one
        raise RequestError(f"text.format.schema cannot be sent to Claude: {exc!r}") from exc
    if profile.structured_outputs is not False:
        return OutputFormat(schema, native=True)
    name = _NOT_NAME.sub("_", str(fmt.get("name") or "answer"))[:56] or "answer"
    taken = taken_names()  # the tools' names as Anthropic gets them: the answer's must differ
    while name in taken:
        name = f"{name}_answer"[-64:]
    return OutputFormat(schema, native=False, tool_name=name)


def apply(request: dict[str, Any], fmt: OutputFormat, thinks: bool) -> None:
    """Put the format on the Messages request (after its tools and tool choice are set)."""
    if fmt.native:
        request["output_config"] = {**request.get("output_config", {}), "format": {"type": "json_schema", "schema": fmt.schema}}
        return
    tools = request.setdefault("tools", [])
    tools.append({
        "name": fmt.tool_name,
        "description": "Give your final answer by calling this tool: its input is the answer, in the JSON form asked for.",
        "input_schema": fmt.schema if fmt.schema.get("type") == "object" else {"type": "object", "properties": {}},
    })
    choice = request.get("tool_choice") or {"type": "auto"}
    if choice.get("type") == "auto" and not thinks:
        request["tool_choice"] = {**choice, "type": "any"}  # a Codex tool, or the answer: never loose text
    else:
        request["tool_choice"] = choice
    note = f"When you give your final answer, call the `{fmt.tool_name}` tool with it instead of writing it as text."
    request.setdefault("system", []).append({"type": "text", "text": note})
