"""Upstreams that serve /v1/responses themselves (OpenRouter, DeepSeek, xAI, vLLM, Ollama, LiteLLM).

The request goes almost as is: the route's model name and key instead of Codex's, minus what
such upstreams reject (Codex-only fields, item ids in OpenAI's format, reasoning that another
provider encrypted). The answer streams through event by event; only reasoning items are
re-wrapped so that, next turn, we can tell this upstream's reasoning from anyone else's.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .. import carrier, jsonio
from ..config import ModelRoute
from ..errors import RequestError
from ..event_sinks import TERMINAL_EVENTS, ends_answer
from ..model_profile import ModelProfile
from ..responses_stream import EventWriter, Usage
from ..sse import SSEEvent
from .base import AnswerReader, UpstreamRequest, upstream_headers
from .items import unresolvable_reference

CARRIER_KIND = "responses"

# `store` stays: Codex sends store=false, and servers that keep conversations by default must see it.
_CODEX_ONLY_FIELDS = ("client_metadata", "prompt_cache_key", "service_tier", "request_country", "access_programs", "prompt_cache_options")
_ITEM_NOISE = ("id", "internal_chat_message_metadata_passthrough", "status")
_DROPPED_ITEMS = frozenset({"compaction", "compaction_summary"})
# Events whose `response` object a relay may need to see (the terminal ones are in TERMINAL_EVENTS;
# Codex goes by the data's `type` there, and ignores an "error" event). response.queued (a
# background response's first) carries one too: its model becomes the slug like the others'.
_ANNOUNCED = frozenset({"response.created", "response.in_progress"})
_ANNOUNCING = _ANNOUNCED | TERMINAL_EVENTS | {"response.queued"}
_SEQUENCE = re.compile(r'"sequence_number":\s*(\d{1,18})(?!\d)')
_NUMBER_TAIL = ',"sequence_number":'
_FINAL_NUMBER = re.compile(r"(0|[1-9][0-9]{0,17})\}")  # [0-9]: \d would take any script's digits
# Below this many characters an object is rendered faster (2.5 µs at 1.3 KB) than spliced (5 µs: the bookkeeping).
_SPLICED_FROM = 4096
_ANNOUNCING_MEMBERS = {"type", "response", "sequence_number"}  # all an announcing event holds, as OpenAI and OpenRouter write it
_Framed = tuple[str, int, str]  # an event's type, number, and its text between them (_between_type_and_number)


def build(body: dict[str, Any], route: ModelRoute, api_key: str | None, profile: ModelProfile | None = None) -> UpstreamRequest:
    """The body passes through: effort and limits are the upstream's to judge (`profile` unused)."""
    request = map_request(body, route)
    reader = AnswerReader(
        model=body.get("model") or route.model,  # the slug Codex asked for, as on every route (README)
        new_mapper=lambda writer: ResponsesEventMapper(writer, route.model, body.get("model") or route.model),
        answer_events=answer_events,
        parallel_tool_calls=bool(body.get("parallel_tool_calls", True)),  # what a server's object leaves out is filled from it
    )
    return UpstreamRequest(url=f"{route.url_base}/responses", headers=upstream_headers(route, api_key), body=request, reader=reader)


def default_profile(route: ModelRoute) -> ModelProfile:
    """A Responses upstream judges effort itself: Codex's passes through as it was asked."""
    return ModelProfile()


def map_request(body: dict[str, Any], route: ModelRoute) -> dict[str, Any]:
    request = {k: v for k, v in body.items() if k not in _CODEX_ONLY_FIELDS and k not in route.drop_fields}
    request["model"] = route.upstream_name
    request["stream"] = True
    items = body.get("input")
    if isinstance(items, list):
        request["input"] = [clean for index, item in enumerate(items) if (clean := _clean_item(index, item, route)) is not None]
    elif not isinstance(items, str):
        raise RequestError("`input` must be a string or a list of items")
    return request


def _clean_item(index: int, item: Any, route: ModelRoute) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        raise RequestError("every input item must be an object")
    kind = item.get("type")
    if kind == "item_reference":  # ids are not sent upstream, so not even a storing server could resolve it
        raise unresolvable_reference(index, item)
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


class ResponsesEventMapper:
    """Relays a Responses stream event by event; tags reasoning, guards the ending.

    Only the events that need it are parsed: those that announce or end the response (the
    writer must know the end; an anonymous one empties their id; their `model` becomes the slug
    Codex asked for, as on every route) and finished reasoning items. response.in_progress
    usually repeats response.created but for its type and number (OpenAI and OpenRouter send
    the same object, with Codex's tools ~19 KB): then it is not read again, and goes out as
    the created event went, with its own type and number."""

    def __init__(self, writer: EventWriter, model: str, asked: str | None = None) -> None:
        self.writer = writer
        self.model = model  # the route whose reasoning the carrier holds
        self.asked = asked or model
        self._done: dict[int, dict[str, Any]] = {}  # finished output items by index
        self._announced: tuple[str, str] | None = None  # the last announcing event's text, and ours, but for type and number
        writer.relaying()

    def on_event(self, event: str, data: str) -> None:
        if not data or data == "[DONE]":
            return
        name = event or _leading_type(data)  # (OpenRouter names none: its data says)
        if name in _ANNOUNCED and self._announced is not None and (again := _announced_again(name, data, *self._announced)):
            self.writer.relay(name, *again)
            return
        sequence = largest_sequence(data)
        needs_parse = (
            not name
            or name in _ANNOUNCING
            or '"response.completed"' in data  # a terminal type under another event name
            or '"response.failed"' in data
            or '"response.incomplete"' in data
            or name == "response.output_item.done"  # kept for a terminal response that leaves its output out
        )
        if not needs_parse:
            self.writer.relay(name, data, None, sequence)
            return
        try:
            parsed = jsonio.loads(data)  # (pydantic-core: a server's created event can hold Codex's ~20 KB of tools)
        except ValueError:  # not JSON, or numbers/nesting beyond Python's limits
            parsed = None
        if not isinstance(parsed, dict):
            self.writer.relay(name or "message", data, None, sequence)
            return
        name = name or str(parsed.get("type", "message"))
        changed = False
        item = parsed.get("item")
        if name == "response.output_item.done" and isinstance(item, dict) and item.get("type") == "reasoning":
            item["encrypted_content"] = carrier.wrap(
                CARRIER_KIND,
                {"model": self.model, "encrypted_content": item.get("encrypted_content"), "id": item.get("id")},
            )
            changed = True
        response = parsed.get("response")
        kind = parsed.get("type")
        announcing = name in _ANNOUNCED and kind == name
        as_sent = (response.get("model"), response.get("id"), len(response)) if announcing and isinstance(response, dict) else None
        if isinstance(response, dict) and "model" in response and response["model"] != self.asked:
            response["model"] = self.asked
            changed = True
        if isinstance(response, dict):
            # as ours would be: what it left out, an anonymous id (a terminal event known by its type, else its SSE name, as the sinks go)
            changed |= self.writer.stream.fill_response(response, kind if isinstance(kind, str) and kind else name)
        if name == "response.output_item.done" and isinstance(item, dict) and isinstance(parsed.get("output_index"), int):
            self._done[parsed["output_index"]] = item
        if ends_answer(parsed) and isinstance(response, dict):
            if not response.get("output") and self._done:  # some servers end with an empty output: the items went by
                response["output"] = [self._done[index] for index in sorted(self._done)]
                changed = True
            self._done = {}  # the answer is over: nothing more to fill in
            changed |= _complete_usage(response)
            usage = Usage.from_json(response.get("usage"))  # what the flow, the cost and the spend table count
            self.writer.set_usage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens, cached_tokens=usage.cached_tokens,
                                  cache_write_tokens=usage.cache_write_tokens, reasoning_tokens=usage.reasoning_tokens)
        framed = _between_type_and_number(data) if announcing else None  # read once: for the splice, and for a repeat
        text = self._changed_text(data, parsed, as_sent, framed) if changed else data
        if announcing:
            ours = _between_type_and_number(text) if text is not data else framed
            self._announced = (framed[2], ours[2]) if framed and ours else None
        self.writer.relay(name, text, parsed, sequence)

    def _changed_text(self, data: str, parsed: dict[str, Any], as_sent: tuple[Any, Any, int] | None, framed: _Framed | None) -> str:
        """A changed event's text. A created or in_progress event (`as_sent`: its response
        object's model, id and member count as the server sent it; `framed`: its text) made only
        of its type, that object and its number, whose object only got the slug and what it left
        out appended: those changes spliced into the server's text (_spliced). Anything else (an
        emptied id, the request's settings added at rendering, the terminal event's completed
        output and usage) rendered whole."""
        response = parsed.get("response")
        stream = self.writer.stream
        if (as_sent is not None and framed is not None and isinstance(response, dict) and parsed.keys() == _ANNOUNCING_MEMBERS
                and response.get("id") == as_sent[1] and not stream.adds_at_render(response)):
            text = _spliced(framed, response, as_sent[0], as_sent[2])
            if text is not None:
                return text
        return stream.render(parsed)

    def close(self) -> None:
        """The upstream ended; without a terminal event of its own the answer is cut."""
        self.writer.fail("stream_truncated", "the provider's stream ended before response.completed")


def _leading_type(data: str) -> str:
    """The type of an event that came without an `event:` line, read off its text unparsed when
    written type first (`{"type":"<type>",`), as OpenRouter writes its events; else "" (and the
    event is parsed). A data-only stream then costs what a named one does: before, every delta
    was parsed for its type, 26 % more relay time per delta, and response.in_progress never
    matched created. With a second "type" member this is the first one's, which only names the
    SSE event: the data goes on as it came, and Codex reads the type from there."""
    if not data.startswith('{"type":"'):
        return ""
    end = data.find('"', 9)
    kind = data[9:end]
    if end < 0 or "\\" in kind or data[end + 1 : end + 2] not in (",", "}"):
        return ""
    return kind


def _between_type_and_number(text: str) -> _Framed | None:
    """(type, sequence number, the text between `{"type":"<type>",` and `,"sequence_number":<n>}`)
    of an event written with its type first (_leading_type) and its number last, compactly, as
    OpenAI and OpenRouter write theirs and pydantic-core writes ours from them; else None. Two
    events with the same middle are the same event but for those two members."""
    kind = _leading_type(text)
    head = 9 + len(kind) + 2
    tail = text.rfind(_NUMBER_TAIL)
    if not kind or not text.startswith('",', head - 2) or tail < head or text.startswith('"type":', head):
        return None  # (a second "type" member: the last one is the event's, as a reader takes it)
    number = _FINAL_NUMBER.fullmatch(text, tail + len(_NUMBER_TAIL))
    if number is None:
        return None  # not a number JSON allows, or beyond what the relay numbers (_SEQUENCE), or not last
    return kind, int(number[1]), text[head:tail]


def _announced_again(name: str, data: str, theirs: str, ours: str) -> tuple[str, None, int] | None:
    """(`data` as ours, no parsed event, its number), if `data` (an announcing event called `name`)
    repeats the server's last announcing event but for type and number (`theirs`, and `ours` as it
    went out); else None. Its own number is the only one the writer has not counted yet: any
    other in its text is in the last one's too, whose largest it was given."""
    found = _between_type_and_number(data)
    if found is None or found[0] != name or found[2] != theirs:
        return None
    return f'{{"type":"{name}",{ours},"sequence_number":{found[1]}}}', None, found[1]


def _spliced(framed: _Framed, response: dict[str, Any], their_model: Any, their_members: int) -> str | None:
    """A server's event (`framed`: _between_type_and_number; its response object the one member
    between its type and number, as the caller checked) with what the relay changed in that object
    spliced into the server's text: the slug (`response`'s model) for `their_model`, and the
    members after its first `their_members` (those fill_response appended) added at its end. That
    is the JSON render() writes, member for member, in the server's spelling, for 27 µs less with
    the ~19 KB objects OpenAI and OpenRouter announce with Codex's tools, on the way to the first
    delta. Only where `"model":<their model>` appears in the object once: that is the object's
    own, as the serializer that wrote the event compactly writes every member (a nested one with
    the same value, as Codex's spawn_agent tool could hold, makes two; a server repeating a
    member's name is not told apart); else None."""
    kind, number, middle = framed
    if len(middle) < _SPLICED_FROM or not middle.startswith('"response":{') or not middle.endswith("}"):
        return None
    added = list(response)[their_members:]
    members, model, rest = middle[:-1], "", ""
    if their_model != response.get("model") and "model" not in added:
        if not isinstance(their_model, str):
            return None
        written = f'"model":{jsonio.quote(their_model)}'
        at = middle.find(written, 12)
        end = at + len(written)
        if at < 0 or middle[end] not in ",}" or middle.find(written, end) >= 0:
            return None
        members, model, rest = middle[:at], f'"model":{jsonio.dumps(response["model"]).decode()}', middle[end:-1]
    more = "," + jsonio.dumps({key: response[key] for key in added}).decode()[1:-1] if added else ""  # (4 KB: never an empty object)
    return f'{{"type":"{kind}",{members}{model}{rest}{more}}},"sequence_number":{number}}}'


def largest_sequence(data: str) -> int | None:
    """The largest `sequence_number` in an event's text, unparsed (our events are numbered after
    it). Per relayed event: one regex search over the text measured cheaper than a find and an
    anchored match (fewer Python-level calls)."""
    found = _SEQUENCE.findall(data)
    if not found:
        return None
    return int(found[0]) if len(found) == 1 else max(map(int, found))


def _complete_usage(response: dict[str, Any]) -> bool:
    """Fill in the usage fields servers omit and readers require: Codex rejects a completed event
    without total_tokens (or a details object without its count), the openai SDK one without
    the cached, cache-write and reasoning counts. Counts already there are left as they came."""
    usage = response.get("usage")
    if not isinstance(usage, dict):
        return False
    before = json.dumps(usage, sort_keys=True)
    if usage.get("total_tokens") is None:
        usage["total_tokens"] = _tokens(usage.get("input_tokens")) + _tokens(usage.get("output_tokens"))
    for count in ("input_tokens", "output_tokens"):
        if usage.get(count) is None:
            usage[count] = 0
    for field, counts in (("input_tokens_details", ("cached_tokens", "cache_write_tokens")), ("output_tokens_details", ("reasoning_tokens",))):
        details = usage.setdefault(field, {})
        if isinstance(details, dict):
            for count in counts:
                if details.get(count) is None:
                    details[count] = 0
    return json.dumps(usage, sort_keys=True) != before


def _tokens(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0


def answer_events(answer: dict[str, Any]) -> list[SSEEvent]:
    """A non-streamed Responses answer, as the events Codex reads."""
    events: list[dict[str, Any]] = [{"type": "response.created", "response": answer}]
    for index, item in enumerate(answer.get("output") or []):
        events.append({"type": "response.output_item.done", "output_index": index, "item": item})
    status = answer.get("status") or "completed"
    terminal = {"completed": "response.completed", "incomplete": "response.incomplete"}.get(status, "response.failed")
    events.append({"type": terminal, "response": answer})
    return [(event["type"], json.dumps(event)) for event in events]
