"""Upstreams that serve /v1/responses themselves (OpenRouter, DeepSeek, xAI, vLLM, Ollama, LiteLLM).

The request goes almost as is: the route's model name and key instead of Codex's, minus what
such upstreams reject (Codex-only fields, item ids in OpenAI's format, reasoning that another
provider encrypted). The answer streams through event by event; only reasoning items are
re-wrapped so that, next turn, we can tell this upstream's reasoning from anyone else's.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from .. import carrier
from ..config import ModelRoute
from ..errors import RequestError
from ..sse import SSEDecoder, encode_event
from .base import UpstreamRequest

CARRIER_KIND = "responses"

# `store` stays: Codex sends store=false, and servers that keep conversations by default must see it.
_CODEX_ONLY_FIELDS = ("client_metadata", "prompt_cache_key", "service_tier")
_ITEM_NOISE = ("id", "internal_chat_message_metadata_passthrough", "status")
_DROPPED_ITEMS = frozenset({"compaction", "compaction_summary", "item_reference"})
# What ends a turn for Codex, which goes by the data's `type` (an "error" event it ignores).
_TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
_SEQUENCE = re.compile(r'"sequence_number":\s*(\d{1,18})(?!\d)')


def build(body: dict[str, Any], route: ModelRoute, api_key: str | None) -> UpstreamRequest:
    request = map_request(body, route)
    headers = {"content-type": "application/json", "accept": "text/event-stream"}
    if api_key:
        headers["authorization"] = f"Bearer {api_key}"
    headers.update(route.extra_headers)
    return UpstreamRequest(
        url=f"{route.url_base}/responses",
        headers=headers,
        body=request,
        new_translator=lambda: ResponsesPassthrough(route.model),
        convert_json=lambda answer: _json_answer_as_stream(answer, route.model),
    )


def map_request(body: dict[str, Any], route: ModelRoute) -> dict[str, Any]:
    request = {k: v for k, v in body.items() if k not in _CODEX_ONLY_FIELDS and k not in route.drop_fields}
    request["model"] = route.upstream_name
    request["stream"] = True
    items = body.get("input")
    if isinstance(items, list):
        request["input"] = [clean for item in items if (clean := _clean_item(item, route)) is not None]
    elif not isinstance(items, str):
        raise RequestError("`input` must be a string or a list of items")
    return request


def _clean_item(item: Any, route: ModelRoute) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        raise RequestError("every input item must be an object")
    kind = item.get("type")
    if kind in _DROPPED_ITEMS:
        return None
    clean = {k: v for k, v in item.items() if k not in _ITEM_NOISE}
    if kind == "reasoning":
        payload = carrier.unwrap(CARRIER_KIND, item.get("encrypted_content"))
        if payload is None or payload.get("model") != route.model:
            return None  # another provider's reasoning: meaningless (or fatal) here
        clean["encrypted_content"] = payload.get("encrypted_content")
        if payload.get("id"):
            clean["id"] = payload["id"]
        if not clean["encrypted_content"]:
            clean.pop("encrypted_content")
    return clean


class ResponsesPassthrough:
    """Relays a Responses stream event by event; tags reasoning, guards the ending."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.decoder = SSEDecoder()
        self.ended = False
        self.sequence = 0

    def feed(self, chunk: bytes) -> bytes:
        events = self.decoder.feed(chunk) if chunk else self.decoder.close()
        out = []
        for event, data in events:
            if self.ended:
                break  # nothing after the terminal event: Codex would take a later completed
            if data and data != "[DONE]":
                out.append(self._relay(event, data))
        if not chunk and not self.ended:
            self.ended = True
            failed = {
                "type": "response.failed",
                "sequence_number": self.sequence + 1,
                "response": {
                    "id": "",
                    "object": "response",
                    "created_at": int(time.time()),
                    "status": "failed",
                    "model": self.model,
                    "output": [],
                    "parallel_tool_calls": True,
                    "tool_choice": "auto",
                    "tools": [],
                    "incomplete_details": None,
                    "error": {
                        "code": "stream_truncated",
                        "message": "the provider's stream ended before response.completed",
                    },
                },
            }
            out.append(encode_event("response.failed", json.dumps(failed)))
        return b"".join(out)

    def _relay(self, event: str, data: str) -> bytes:
        name = event
        for number in _SEQUENCE.findall(data):
            self.sequence = max(self.sequence, int(number))
        needs_parse = (
            not name
            or name in _TERMINAL
            or '"response.completed"' in data  # a terminal type under another event name
            or '"response.failed"' in data
            or '"response.incomplete"' in data
            or (name == "response.output_item.done" and '"reasoning"' in data)
        )
        if not needs_parse:
            return encode_event(name, data)
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):  # not JSON, or numbers/nesting beyond Python's limits
            return encode_event(name or "message", data)
        if not isinstance(parsed, dict):
            return encode_event(name or "message", data)
        name = name or str(parsed.get("type", "message"))
        kind = parsed.get("type")
        changed = False
        item = parsed.get("item")
        if name == "response.output_item.done" and isinstance(item, dict) and item.get("type") == "reasoning":
            item["encrypted_content"] = carrier.wrap(
                CARRIER_KIND,
                {"model": self.model, "encrypted_content": item.get("encrypted_content"), "id": item.get("id")},
            )
            changed = True
        if isinstance(kind, str) and kind in _TERMINAL:
            self.ended = True
            response = parsed.get("response")
            if isinstance(response, dict):
                changed |= _complete_usage(response)
        return encode_event(name, json.dumps(parsed) if changed else data)


def _complete_usage(response: dict[str, Any]) -> bool:
    """Codex rejects a completed event whose usage lacks total_tokens; some servers omit it."""
    usage = response.get("usage")
    if not isinstance(usage, dict) or "total_tokens" in usage:
        return False
    usage["total_tokens"] = _tokens(usage.get("input_tokens")) + _tokens(usage.get("output_tokens"))
    usage.setdefault("input_tokens", 0)
    usage.setdefault("output_tokens", 0)
    return True


def _tokens(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0


def _json_answer_as_stream(answer: dict[str, Any], model: str) -> bytes:
    """A non-streamed Responses answer, replayed as the events Codex reads."""
    relay = ResponsesPassthrough(model)
    out = [relay._relay("response.created", json.dumps({"type": "response.created", "response": answer}))]
    for index, item in enumerate(answer.get("output") or []):
        done = {"type": "response.output_item.done", "output_index": index, "item": item}
        out.append(relay._relay("response.output_item.done", json.dumps(done)))
    status = answer.get("status") or "completed"
    terminal = {"completed": "response.completed", "incomplete": "response.incomplete"}.get(status, "response.failed")
    out.append(relay._relay(terminal, json.dumps({"type": terminal, "response": answer})))
    return b"".join(out)
