"""Remote compaction for BYOK models.

Codex 0.169 compacts remotely (`remote_compaction_v2`): a normal streamed Responses request whose
input ends with `{"type": "compaction_trigger"}`, answered by an output item
`{"type": "compaction", "encrypted_content": …}` that later requests send back as input. No
provider knows these items, so the route does the work: the trigger becomes a request for a
hand-off summary, the answer's text becomes the compaction item (our carrier holds the summary),
and on later requests the item is expanded back into a message the provider understands.
Compaction items another provider made (OpenAI's are encrypted) are dropped, as before.
"""

from __future__ import annotations

import json
from typing import Any

from mitmproxy import http

from . import carrier
from .responses_stream import ResponseStream
from .sse import SSEDecoder, encode_event

CARRIER_KIND = "compaction"

SUMMARY_PROMPT = """\
You are performing a context checkpoint: the conversation above will be replaced by your summary.
Write a hand-off summary for yourself to continue the task without the earlier messages:
- the user's goal, constraints and preferences, in their own words where it matters;
- what has been done so far: files read or changed (with paths), commands run and their key results;
- decisions made and why; open questions; errors met and how they were resolved;
- the exact next steps.
Be complete but concise. Do not call tools; answer with the summary only."""

SUMMARY_HEADER = "Summary of the earlier conversation (compacted by codex-shim):\n\n"


def is_compaction_request(body: dict[str, Any]) -> bool:
    items = body.get("input")
    return isinstance(items, list) and bool(items) and isinstance(items[-1], dict) and items[-1].get("type") == "compaction_trigger"


def prepare_request(body: dict[str, Any], compacting: bool) -> dict[str, Any]:
    """Expand our compaction items; for a compaction request, ask for the summary instead."""
    items = body.get("input")
    if not isinstance(items, list):
        return body
    expanded: list[Any] = []
    for item in items:
        if isinstance(item, dict) and item.get("type") == "compaction":
            if carrier.unwrap(CARRIER_KIND, item.get("encrypted_content")) is not None:
                expanded.append(expand(item))
            continue  # foreign compaction items cannot be read here
        if isinstance(item, dict) and item.get("type") == "compaction_trigger":
            continue
        expanded.append(item)
    body = {**body, "input": expanded}
    if compacting:
        body["input"].append(_user_text(SUMMARY_PROMPT))
        if body.get("tools"):
            body["tool_choice"] = "none"
        body.pop("text", None)
    return body


def legacy_answer(sse: bytes) -> http.Response:
    """The `…/responses/compact` answer: the output items of a finished compaction stream."""
    decoder = SSEDecoder()
    events = [json.loads(data) for _, data in decoder.feed(sse) + decoder.close()]
    final = events[-1] if events else {}
    if final.get("type") != "response.completed":
        error = (final.get("response") or {}).get("error") or {"code": "server_error", "message": "compaction failed"}
        return http.Response.make(502, json.dumps({"error": error}), {"content-type": "application/json"})
    items = [e["item"] for e in events if e.get("type") == "response.output_item.done"]
    return http.Response.make(200, json.dumps({"output": items}), {"content-type": "application/json"})


def expand(item: dict[str, Any]) -> dict[str, Any]:
    """One of our compaction items as the user message any model can read."""
    payload = carrier.unwrap(CARRIER_KIND, item.get("encrypted_content")) or {}
    return _user_text(SUMMARY_HEADER + str(payload.get("summary", "")))


def _user_text(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def compaction_item(summary: str) -> dict[str, Any]:
    return {"type": "compaction", "encrypted_content": carrier.wrap(CARRIER_KIND, {"summary": summary})}


def rewrite_answer(sse: bytes) -> bytes:
    """A whole (non-streamed) answer's Responses SSE, rewritten as the compaction answer."""
    return CompactionTranslator(None).rewrite(sse, final=True)


class CompactionTranslator:
    """Wraps a route's translator: its text becomes one compaction item, nothing else is kept."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.decoder = SSEDecoder()
        self.deltas: list[str] = []
        self.finished_text: list[str] = []  # from message items, for upstreams that send no deltas
        self.ended = False
        self.sequence = -1
        self.snapshot: dict[str, Any] = {}  # the response object announced in response.created

    def feed(self, chunk: bytes) -> bytes:
        return self.rewrite(self.inner.feed(chunk), final=not chunk)

    def rewrite(self, sse: bytes, final: bool) -> bytes:
        """Responses SSE of an ordinary answer in, the compaction answer out."""
        out = []
        for _, data in self.decoder.feed(sse) + (self.decoder.close() if final else []):
            if self.ended:
                break
            try:
                out.append(self._event(data))
            except Exception as exc:  # noqa: BLE001 - a strange upstream event must fail the turn, not the proxy
                out.append(self._fail("upstream_protocol_error", f"codex-shim: unreadable compaction answer: {exc!r}"))
        return b"".join(out)

    def _event(self, data: str) -> bytes:
        event = json.loads(data)
        kind = event.get("type", "")
        number = event.get("sequence_number")
        if isinstance(number, int):
            self.sequence = max(self.sequence, number)
        if kind == "response.output_text.delta":
            self.deltas.append(str(event.get("delta", "")))
            return b""
        if kind == "response.output_item.done":
            item = event.get("item") or {}
            if item.get("type") == "message":
                self.finished_text += [str(p.get("text", "")) for p in item.get("content") or [] if p.get("type") == "output_text"]
            return b""
        if kind in ("response.created", "response.in_progress"):
            if isinstance(event.get("response"), dict):
                self.snapshot = event["response"]
            return encode_event(kind, data)
        if kind in ("response.failed", "response.incomplete"):
            self.ended = True
            event["response"]["output"] = []  # its items were dropped above, never announced
            return encode_event(kind, json.dumps(event))
        if kind == "response.completed":
            summary = ("".join(self.deltas) or "".join(self.finished_text)).strip()
            if not summary:  # an empty summary would replace the whole conversation with nothing
                return self._fail("compaction_failed", "codex-shim: the model answered the compaction request without a summary")
            self.ended = True
            item = compaction_item(summary)
            event["response"]["output"] = [item]
            sequence = int(event.get("sequence_number", 0))
            added = {"type": "response.output_item.added", "sequence_number": sequence, "output_index": 0, "item": item}
            done = {"type": "response.output_item.done", "sequence_number": sequence + 1, "output_index": 0, "item": item}
            event["sequence_number"] = sequence + 2
            return b"".join(encode_event(e["type"], json.dumps(e)) for e in (added, done, event))
        return b""  # reasoning, tool calls: not part of a compaction answer

    def _fail(self, code: str, message: str) -> bytes:
        """End with response.failed, numbered after everything already sent."""
        self.ended = True
        if not self.snapshot:  # nothing announced yet: a complete failed stream of our own
            builder = ResponseStream("compaction")
            builder.fail(code, message)
            return builder.drain()
        self.sequence += 1
        response = {**self.snapshot, "status": "failed", "output": [], "error": {"code": code, "message": message}}
        failed = {"type": "response.failed", "sequence_number": self.sequence, "response": response}
        return encode_event("response.failed", json.dumps(failed))
