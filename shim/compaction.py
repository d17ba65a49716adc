"""Remote compaction for BYOK models.

Codex 0.169 compacts remotely (`remote_compaction_v2`): a normal streamed Responses request whose
input ends with `{"type": "compaction_trigger"}`, answered by an output item
`{"type": "compaction", "encrypted_content": …}` that later requests send back as input. No
provider knows these items, so the route does the work: the trigger becomes a request for a
hand-off summary, the answer's text becomes the compaction item (our carrier holds the summary),
and on later requests the item is expanded back into a message the provider understands.
Compaction items another provider made (OpenAI's are encrypted) are dropped, as before.

The compaction answer is a wrapper: `wrap` gives the upstream request a reader whose writer
(`CompactionStream`) keeps the text and writes the compaction item through the one stream.
"""

from __future__ import annotations

from typing import Any

from . import carrier, jsonio
from .providers.base import UpstreamRequest
from .responses_stream import FilteringWriter, ResponseStream, new_id

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


def expand(item: dict[str, Any]) -> dict[str, Any]:
    """One of our compaction items as the user message any model can read."""
    payload = carrier.unwrap(CARRIER_KIND, item.get("encrypted_content")) or {}
    return _user_text(SUMMARY_HEADER + str(payload.get("summary", "")))


def _user_text(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def compaction_item(summary: str) -> dict[str, Any]:
    return {"id": new_id("cmp"), "type": "compaction", "encrypted_content": carrier.wrap(CARRIER_KIND, {"summary": summary})}


def wrap(upstream: UpstreamRequest) -> UpstreamRequest:
    """The same upstream call, its answer read as the compaction answer."""
    return upstream.with_reader(wrap_writer=CompactionStream)


class CompactionStream(FilteringWriter):
    """Stands between a provider's event mapper and the stream: the answer's text becomes one
    compaction item; reasoning and tool calls are not part of a compaction answer (dropped)."""

    def __init__(self, stream: ResponseStream) -> None:
        super().__init__(stream)
        self.deltas: list[str] = []
        self.finished_text: list[str] = []  # from message items, for upstreams that send no deltas

    def relaying(self) -> None:
        """A relayed upstream announces its own answer; the compaction answer is ours."""

    def text_delta(self, text: str) -> None:
        self.stream.start()
        self.deltas.append(text)

    def complete(self, incomplete_reason: str | None = None) -> None:
        if incomplete_reason:  # a cut-off summary is no summary: nothing is kept
            self.stream.complete(incomplete_reason)
            return
        summary = ("".join(self.deltas) or "".join(self.finished_text)).strip()
        if not summary:  # an empty summary would replace the whole conversation with nothing
            self.stream.fail("compaction_failed", "codex-shim: the model answered the compaction request without a summary")
            return
        self.stream.add_item(compaction_item(summary))
        self.stream.complete()

    def relay(self, event_type: str, data: str, event: dict[str, Any] | None = None, sequence: int | None = None) -> None:
        """A Responses upstream's event, read for what a compaction answer needs."""
        if event is None:
            try:
                event = jsonio.loads(data)
            except ValueError:
                return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        response: dict[str, Any] = event["response"] if isinstance(event.get("response"), dict) else {}
        if kind in ("response.created", "response.in_progress"):
            self.stream.start()
        elif kind == "response.output_text.delta":
            self.text_delta(str(event.get("delta", "")))
        elif kind == "response.output_item.done":
            item = event.get("item") or {}
            if item.get("type") == "message":
                self.finished_text += [str(p.get("text", "")) for p in item.get("content") or [] if p.get("type") == "output_text"]
        elif kind == "response.completed":
            self._usage(response.get("usage"))
            self.complete()
        elif kind == "response.incomplete":
            self._usage(response.get("usage"))
            reason = (response.get("incomplete_details") or {}).get("reason")
            self.complete(str(reason or "max_output_tokens"))
        elif kind == "response.failed":
            error: dict[str, Any] = response["error"] if isinstance(response.get("error"), dict) else {}
            self.fail(str(error.get("code") or "upstream_error"), str(error.get("message") or "the provider failed the compaction"))

    def _usage(self, usage: Any) -> None:
        if not isinstance(usage, dict):
            return
        self.stream.set_usage(
            input_tokens=usage.get("input_tokens"),
            output_tokens=usage.get("output_tokens"),
            cached_tokens=(usage.get("input_tokens_details") or {}).get("cached_tokens"),
            reasoning_tokens=(usage.get("output_tokens_details") or {}).get("reasoning_tokens"),
        )
