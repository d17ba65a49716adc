"""What a response object says of the request it answers.

OpenAI's Responses API echoes the request's settings in every response object (the events'
`response` and a non-streamed answer): clients built on the openai SDK's `Response` type or the
Open Responses schema read them, and some require them. codex-shim answers BYOK calls itself, so
it echoes them too — what the request set, and the API's own default where it set nothing.
Nothing is stored here, so `store` is always false and `previous_response_id` always null
(README, "Any Responses client").
"""

from __future__ import annotations

import marshal
from collections.abc import Callable
from typing import Any

_DEFAULT_TEXT = {"format": {"type": "text"}, "verbosity": "medium"}


def request_echo(body: dict[str, Any]) -> dict[str, Any]:
    """The response-object fields that repeat the request `body`'s settings."""
    reasoning = _object(body.get("reasoning"))
    text = _object(body.get("text"))
    return {
        "instructions": body.get("instructions"),
        "metadata": body.get("metadata") or {},
        "temperature": _number(body.get("temperature"), 1.0),
        "top_p": _number(body.get("top_p"), 1.0),
        "presence_penalty": _number(body.get("presence_penalty"), 0.0),
        "frequency_penalty": _number(body.get("frequency_penalty"), 0.0),
        "top_logprobs": body.get("top_logprobs") if isinstance(body.get("top_logprobs"), int) else 0,
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": body.get("tools") if isinstance(body.get("tools"), list) else [],
        "truncation": body.get("truncation") or "disabled",
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "text": {**_DEFAULT_TEXT, **text},
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "previous_response_id": None,
        "store": False,
        "background": False,
        "service_tier": body.get("service_tier") or "default",
        "prompt_cache_key": body.get("prompt_cache_key"),
        "safety_identifier": body.get("safety_identifier"),
        "user": body.get("user"),
    }


def _number(value: Any, default: float) -> float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else default


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


_last_rendered: dict[Callable[[Any], str], tuple[bytes, str]] = {}
"""Per encoder: the last echo rendered, as (its marshal bytes, its JSON members)."""


def echo_members(echo: dict[str, Any], dumps: Callable[[Any], str]) -> str:
    """The echo's members as `dumps` renders them (the object's text without its braces), for
    splicing into a response object. Codex sends the same tools (~20 KB of JSON) every turn, so
    the last rendering is reused when the echo is the same to the type: compared by its marshal
    bytes, which tell True from 1 and 1 from 1.0 where == does not, and which differ whenever the
    rendering would (key order included): 23 µs for Codex's echo, against 68 µs to render it.
    Version 2, which writes every object out: version 4 (10 µs) writes one met again, or held
    elsewhere too, as a reference, so its bytes follow reference counts, and pydantic-core's
    string cache changes those whenever another request is read in between (another session,
    a subagent): most turns then missed, and paid 78 µs."""
    try:
        key = marshal.dumps(echo, 2)  # version 2: no references, so equal values give equal bytes
    except ValueError:  # nested deeper than marshal goes: rendered every time
        return dumps(echo)[1:-1]
    last = _last_rendered.get(dumps)
    if last is not None and last[0] == key:
        return last[1]
    members = dumps(echo)[1:-1]
    _last_rendered[dumps] = (key, members)
    return members
