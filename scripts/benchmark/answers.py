"""The long answer the fake upstream streams, in each provider's wire shape, and its check.

Kept here rather than borrowed from tests/fakes: the bench needs compact JSON with every field a
real provider sends (so the proxy decodes realistic bytes) and one SSE event per list item (so the
upstream can send one event per chunk), while the test fakes script short, validating dialogues.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

SHAPES = ("chat", "anthropic", "responses", "openrouter")
"""The provider wire shapes the fake speaks. "openrouter" is the Responses shape as OpenRouter
writes it: data lines only, no `event:` names (tests/corpus/openrouter/responses-reasoning-text.sse)."""
RESPONSES_SHAPES = frozenset({"responses", "openrouter"})
"""The shapes a Responses route takes: their answers repeat the request's settings."""
TOKENS = ("The", " quick", " brown", " fox", " —", " jumps", "\n", ' "over"', " the", " lazy", " dög", ".", " 12", "\t")


def answer_deltas(n: int) -> list[str]:
    """n text deltas, mixing ASCII, UTF-8, quotes and control characters that need escaping."""
    return [TOKENS[i % len(TOKENS)] for i in range(n)]


def answer_text(n: int) -> str:
    return "".join(answer_deltas(n))


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def chat_events(n: int) -> list[bytes]:
    """A Chat Completions stream: role chunk, n content chunks, finish, usage, [DONE]."""

    def chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, Any] | None = None) -> bytes:
        body: dict[str, Any] = {
            "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1760000000, "model": "bench-model",
            "system_fingerprint": "fp_bench",
            "choices": [] if usage else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if usage:
            body["usage"] = usage
        return f"data: {_dumps(body)}\n\n".encode()

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    events += [chunk({"content": text}) for text in answer_deltas(n)]
    events.append(chunk({}, finish="stop"))
    events.append(chunk({}, usage={"prompt_tokens": 1200, "completion_tokens": n, "total_tokens": 1200 + n,
                                   "prompt_tokens_details": {"cached_tokens": 1024}}))
    events.append(b"data: [DONE]\n\n")
    return events


def anthropic_events(n: int) -> list[bytes]:
    """An Anthropic Messages stream: one text block of n deltas, with a ping as real streams have."""

    def ev(name: str, body: dict[str, Any]) -> bytes:
        return f"event: {name}\ndata: {_dumps({'type': name, **body})}\n\n".encode()

    usage = {"input_tokens": 1200, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1024, "output_tokens": 1}
    events = [
        ev("message_start", {"message": {"id": "msg_bench", "type": "message", "role": "assistant", "model": "bench-model",
                                         "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}}),
        ev("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        ev("ping", {}),
    ]
    events += [ev("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": t}}) for t in answer_deltas(n)]
    events.append(ev("content_block_stop", {"index": 0}))
    events.append(ev("message_delta", {"delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": n}}))
    events.append(ev("message_stop", {}))
    return events


# What a Responses server repeats from the request in every response object it sends: OpenAI's
# and OpenRouter's response.created, response.in_progress and response.completed carry the
# request's tools, instructions and settings (tests/corpus/openai/responses-function-call.sse,
# tests/corpus/openrouter/responses-reasoning-text.sse). With Codex's own request that is ~20 KB
# an event, which a proxy that rewrites those objects must read and write again.
ECHOED = ("instructions", "tools", "tool_choice", "parallel_tool_calls", "reasoning", "text", "store",
          "max_output_tokens", "metadata", "truncation")


def request_echo(body: bytes) -> dict[str, Any]:
    """The settings of a Responses request that the server's response objects repeat."""
    try:
        request = json.loads(body)
    except ValueError:
        return {}
    return {k: request[k] for k in ECHOED if k in request} if isinstance(request, dict) else {}


def responses_events(n: int, echo: dict[str, Any] | None = None, named: bool = True) -> list[bytes]:
    """A native Responses stream, as OpenAI sends it (sequence numbers, obfuscation padding, the
    request's `echo`ed settings in each response object); not `named`: as OpenRouter sends it,
    the same events without `event:` lines."""
    seq = 0

    def ev(name: str, **body: Any) -> bytes:
        nonlocal seq
        data = _dumps({"type": name, **body, "sequence_number": seq})  # type first, number last, as OpenAI and OpenRouter write them
        seq += 1
        return f"event: {name}\ndata: {data}\n\n".encode() if named else f"data: {data}\n\n".encode()

    text = answer_text(n)
    base = {"id": "resp_bench", "object": "response", "created_at": 1760000000, "model": "bench-model", "output": [], **(echo or {})}
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    item = {"id": "msg_bench", "type": "message", "status": "completed", "role": "assistant", "content": [part]}
    ids = {"item_id": "msg_bench", "output_index": 0, "content_index": 0}
    events = [
        ev("response.created", response={**base, "status": "in_progress"}),
        ev("response.in_progress", response={**base, "status": "in_progress"}),
        ev("response.output_item.added", output_index=0, item={**item, "status": "in_progress", "content": []}),
        ev("response.content_part.added", part={**part, "text": ""}, **ids),
    ]
    events += [ev("response.output_text.delta", delta=t, logprobs=[], obfuscation="Xq3", **ids) for t in answer_deltas(n)]
    events.append(ev("response.output_text.done", text=text, logprobs=[], **ids))
    events.append(ev("response.content_part.done", part=part, **ids))
    events.append(ev("response.output_item.done", output_index=0, item=item))
    usage = {"input_tokens": 1200, "input_tokens_details": {"cached_tokens": 1024}, "output_tokens": n,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 1200 + n}
    events.append(ev("response.completed", response={**base, "status": "completed", "output": [item], "usage": usage}))
    return events


EVENTS: dict[str, Callable[[int], list[bytes]]] = {"chat": chat_events, "anthropic": anthropic_events}
"""The shapes whose answer does not depend on the request (a Responses answer repeats its settings)."""


def answer_events(shape: str, n: int, request: bytes) -> list[bytes]:
    """The fake's n-delta answer in `shape` to the provider request `request`."""
    if shape in RESPONSES_SHAPES:
        return responses_events(n, request_echo(request), named=shape == "responses")
    return EVENTS[shape](n)


def sse_data(body: bytes) -> list[str]:
    """The data fields of an SSE body; parsed here so the check does not trust the shim's own decoder."""
    datas = []
    for block in body.decode("utf-8").replace("\r\n", "\n").split("\n\n"):
        lines = [line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")]
        if lines:
            datas.append("\n".join(lines))
    return datas


def responses_problem(status: int, body: bytes, n: int) -> str | None:
    """Why `body` is not a whole Responses stream of the n-delta answer, or None."""
    if status != 200:
        return f"status {status}"
    try:
        parsed = [json.loads(data) for data in sse_data(body)]
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"bad event: {exc}"
    if not parsed or parsed[-1].get("type") != "response.completed":
        return f"last event is {parsed[-1].get('type') if parsed else None}"
    text = "".join(e["delta"] for e in parsed if e.get("type") == "response.output_text.delta")
    expected = answer_text(n)
    if text != expected:
        return f"text differs ({len(text)} chars, expected {len(expected)})"
    return None
