"""A readable rendering of an SSE body: one line per event, deltas joined into runs.

A Codex turn is hundreds of one-token events; read raw, the answer is lost in them. This turns
Responses, Chat Completions and Anthropic Messages streams into lines a person can read: text and
reasoning deltas become one quoted run each, a tool call becomes one line with its name, call id
and joined arguments, the terminal event shows status, usage and error. Everything else keeps a
compact line of its own, and whatever cannot be decoded is shown raw: a debugging view must never
hide bytes or fail on them. Pure (bytes in, lines out); shim/addons/content_views.py puts it in
mitmproxy.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from shim import jsonio
from shim.sse import SSEDecoder

COMPACT_CHARS = 240
"""How much of an unknown event, a raw line or a `.done` event's JSON is shown."""

FAILED_MARK = "(codex-shim SSE view failed"
"""Starts the line put above the raw body if rendering hit a bug of ours."""

_SSE_FIELDS = (b"data:", b"event:")
_ANTHROPIC = {"message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop", "ping"}
_RESPONSES_TERMINAL = {"response.completed", "response.failed", "response.incomplete"}
_TOOL_BLOCKS = {"tool_use", "server_tool_use", "mcp_tool_use"}
_TOOL_ITEMS = {"function_call": "arguments", "custom_tool_call": "input"}
_SHAPE_NAMES = {"responses": "Responses", "chat": "Chat Completions", "anthropic": "Anthropic Messages"}


def looks_like_sse(data: bytes) -> bool:
    """Whether the body starts like an event stream, whatever its content type says."""
    for line in data[:4096].splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(b":"):
            return stripped.startswith(_SSE_FIELDS)
    return False


def render(data: bytes) -> list[str]:
    """The lines of the view for an SSE body; never raises, whatever the bytes."""
    try:
        return _Renderer().render(data)
    except Exception as exc:  # a bug of ours must not hide the body: show it raw under a note
        return [f"{FAILED_MARK}: {exc!r}; raw lines follow)", *(_raw(line) for line in data.decode("utf-8", "replace").splitlines())]


@dataclass
class _Run:
    """Consecutive deltas of one stream (text, reasoning, a signature), shown as one line."""

    label: str
    secret: bool = False  # signatures, encrypted reasoning: only their length is worth a line
    parts: list[str] = field(default_factory=list)
    deltas: int = 0

    def add(self, piece: str) -> None:
        self.parts.append(piece)
        self.deltas += 1

    def render(self) -> str:
        joined = "".join(self.parts)
        shown = f"<{len(joined)} chars>" if self.secret else jsonio.quote(joined)
        return f"{self.label}: {shown}{_deltas(self.deltas)}"


@dataclass
class _ToolCall:
    """One tool call, on the line of the event that opened it, with its argument deltas joined."""

    head: str
    name: str = ""
    call_id: str = ""
    freeform: bool = False  # a custom tool's input is text, not JSON: always quoted
    parts: list[str] = field(default_factory=list)
    deltas: int = 0
    initial: str = ""  # arguments the opening event carried whole, when no delta follows

    def add(self, piece: str) -> None:
        self.parts.append(piece)
        self.deltas += 1

    def render(self) -> str:
        joined = "".join(self.parts) if self.parts else self.initial
        shown = jsonio.quote(joined) if self.freeform or not _is_one_line(joined) else joined
        what = "input" if self.freeform else "arguments"
        ids = " ".join(part for part in (self.name or "?", self.call_id) if part)
        return f"{self.head} {ids} {what}: {shown}{_deltas(self.deltas)}"


@dataclass
class _Comment:
    """An SSE comment line (OpenRouter's keep-alives), repeats counted rather than listed."""

    text: str
    count: int = 1

    def render(self) -> str:
        return _shorten(self.text) + (f"  (x{self.count})" if self.count > 1 else "")


_Line = str | _Run | _ToolCall | _Comment
_Piece = tuple[Hashable, str, str, bool]
"""(run key, label, text, secret): one piece of streamed content in an event."""


class _Renderer:
    """Walks the events once; runs and tool calls stay open for their next deltas."""

    def __init__(self) -> None:
        self.lines: list[_Line] = []
        self.runs: dict[Hashable, _Run] = {}  # open until the next line of another kind
        self.calls: dict[Hashable, _ToolCall] = {}  # open for the whole stream
        self.roles: dict[int, str] = {}
        self.shapes: dict[str, None] = {}
        self.events = 0
        self.comments = 0
        self.terminal = False
        self.touched = 0  # lines added or extended: a chat chunk that touched none gets a line of its own

    def render(self, data: bytes) -> list[str]:
        decoder = SSEDecoder()
        for line in data.splitlines(keepends=True):
            for name, payload in decoder.feed(line):
                self.event(name, payload)
            if line.startswith(b":"):
                self.comment(line.decode("utf-8", "replace").rstrip("\r\n"))
        for name, payload in decoder.close():
            self.event(name, payload)
        out = [self.header(len(data))]
        out += [line if isinstance(line, str) else line.render() for line in self.lines]
        if self.events and not self.terminal:
            out.append("(no terminal event: the stream was cut or is still open)")
        return [_printable(line) for line in out]

    def header(self, size: int) -> str:
        shapes = " + ".join(_SHAPE_NAMES[shape] for shape in self.shapes) or "SSE"
        comments = f", {self.comments} comments" if self.comments else ""
        return f"{shapes}: {self.events} events{comments}, {size} bytes"

    # Lines: a static line closes the open runs; a delta extends its run or opens one.

    def static(self, line: _Line) -> None:
        self.touched += 1
        self.runs.clear()
        self.lines.append(line)

    def deltas(self, pieces: list[_Piece]) -> None:
        """One event's pieces: each extends its open run, or opens one; runs it left out are closed."""
        if not pieces:
            return
        self.touched += 1
        pieces = [(_safe_key(key), label, text, secret) for key, label, text, secret in pieces]
        keys = {key for key, *_ in pieces}
        self.runs = {key: run for key, run in self.runs.items() if key in keys}
        for key, label, text, secret in pieces:
            run = self.runs.get(key)
            if run is None:
                run = self.runs[key] = _Run(label, secret)
                self.lines.append(run)
            run.add(text)

    def delta(self, key: Hashable, label: str, text: str, secret: bool = False) -> None:
        self.deltas([(key, label, text, secret)])

    def extend(self, call: _ToolCall, piece: str) -> None:
        self.touched += 1
        call.add(piece)

    def open_call(self, keys: tuple[Hashable, ...], call: _ToolCall) -> _ToolCall:
        self.static(call)
        for key in keys:
            self.calls[_safe_key(key)] = call
        return call

    def call_for(self, keys: tuple[Hashable, ...], head: str) -> _ToolCall:
        """The call a delta belongs to; a call whose opening event is missing (a cut stream) gets one."""
        for key in map(_safe_key, keys):
            if key in self.calls:
                return self.calls[key]
        return self.open_call(keys, _ToolCall(head))

    def comment(self, text: str) -> None:
        self.comments += 1
        last = self.lines[-1] if self.lines else None
        if isinstance(last, _Comment) and last.text == text:
            last.count += 1
        else:  # a keep-alive, not content: the runs it falls between stay open
            self.lines.append(_Comment(text))

    # Events

    def event(self, name: str, payload: str) -> None:
        self.events += 1
        if payload.strip() == "[DONE]":
            self.terminal = True
            self.static("[DONE]")
            return
        try:
            obj = jsonio.loads(payload)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            self.static(_raw(payload, name))
            return
        kind: str = obj["type"] if isinstance(obj.get("type"), str) else name
        if kind.startswith("response.") or name.startswith("response."):
            self.shapes["responses"] = None
            self.responses(kind or name, obj)
        elif "choices" in obj or obj.get("object") == "chat.completion.chunk":
            self.shapes["chat"] = None
            self.chat(obj)
        elif kind in _ANTHROPIC:
            self.shapes["anthropic"] = None
            self.anthropic(kind, obj)
        elif kind == "error" or name == "error" or obj.get("error"):
            self.terminal = True
            self.static(f"error: {_error(obj.get('error', obj))}")
        else:
            self.static(f"{kind or '(unnamed event)'}: {_compact(obj)}")

    def chat(self, chunk: dict[str, Any]) -> None:
        touched = self.touched
        choices = [(c["index"] if isinstance(c.get("index"), int) else n, c) for n, c in enumerate(_list(chunk.get("choices")))
                   if isinstance(c, dict)]
        for index, choice in choices:
            role = _dict(choice.get("delta")).get("role")
            if isinstance(role, str) and self.roles.get(index) != role:
                self.roles[index] = role
                self.static(f"role{_suffix(index)}: {role}")
        pieces: list[_Piece] = [(("chat", index, key), label + _suffix(index), text, secret)
                  for index, choice in choices for key, label, text, secret in _chat_pieces(_dict(choice.get("delta")))]
        self.deltas([piece for piece in pieces if piece[2]])
        for index, choice in choices:
            for slot, call in enumerate(_list(_dict(choice.get("delta")).get("tool_calls"))):
                if isinstance(call, dict):
                    self.chat_tool_call(index, slot, call)
        facts = [f"finish_reason{_suffix(index)}: {choice['finish_reason']}"
                 for index, choice in choices if isinstance(choice.get("finish_reason"), str)]
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            facts.append(f"usage: {_usage(usage)}")
        groq_usage = _dict(chunk.get("x_groq")).get("usage")
        if isinstance(groq_usage, dict) and groq_usage != usage:
            facts.append(f"x_groq.usage: {_usage(groq_usage)}")
        if chunk.get("error"):
            self.terminal = True
            facts.append(f"error: {_error(chunk['error'])}")
        if facts:  # how the chunk ends the choice: one line, as one event
            self.static(" | ".join(facts))
        if self.touched == touched:  # only empty strings (keep-alive chunks), or nothing we know
            if pieces:
                self.deltas(pieces)
            else:
                self.static(f"chunk: {_compact(chunk, drop=('id', 'object', 'created', 'model', 'system_fingerprint'))}")

    def chat_tool_call(self, index: int, slot: int, delta: dict[str, Any]) -> None:
        number = delta["index"] if isinstance(delta.get("index"), int) else slot
        body = delta.get("function") if isinstance(delta.get("function"), dict) else delta.get("custom")
        body = body if isinstance(body, dict) else {}
        call_id: str = delta["id"] if isinstance(delta.get("id"), str) else ""
        key = ("chat-call", index, number)
        call = self.calls.get(key)
        if call is None or (call_id and call.call_id and call_id != call.call_id):  # no index: a new id is a new call
            call = self.open_call((key,), _ToolCall(f"tool_call{_suffix(index)}[{number}]", freeform="custom" in delta))
        call.call_id = call.call_id or call_id
        if isinstance(body.get("name"), str) and body["name"]:
            call.name = body["name"]
        piece = body.get("arguments", body.get("input"))
        self.extend(call, piece if isinstance(piece, str) else "" if piece is None else _compact(piece))

    def anthropic(self, kind: str, event: dict[str, Any]) -> None:
        index = event.get("index")
        if kind == "message_start":
            message = _dict(event.get("message"))
            usage = f" usage: {_usage(message['usage'])}" if isinstance(message.get("usage"), dict) else ""
            self.static(f"message_start: {message.get('id', '?')} model={message.get('model', '?')}{usage}")
        elif kind == "content_block_start":
            self.block_start(index, event.get("content_block"))
        elif kind == "content_block_delta":
            self.block_delta(index, event.get("delta"))
        elif kind == "content_block_stop":
            self.static(f"content_block_stop[{index}]")
        elif kind == "message_delta":
            delta = _dict(event.get("delta"))
            parts = [f"{k}={delta[k]}" for k in ("stop_reason", "stop_sequence") if delta.get(k) is not None]
            if isinstance(event.get("usage"), dict):
                parts.append(f"usage: {_usage(event['usage'])}")
            self.static(" ".join(["message_delta:", *parts]))
        elif kind == "message_stop":
            self.terminal = True
            self.static("message_stop")
        else:
            self.static(kind if len(event) == 1 else f"{kind}: {_compact(event)}")

    def block_start(self, index: Any, block: Any) -> None:
        block = _dict(block)
        kind = str(block.get("type", "?"))
        head = f"content_block_start[{index}] {kind}"
        if kind in _TOOL_BLOCKS:
            call = _ToolCall(head, name=str(block.get("name", "")), call_id=str(block.get("id", "")))
            if block.get("input"):
                call.initial = _compact(block["input"])
            self.open_call((("block", index),), call)
        elif kind == "redacted_thinking":
            self.static(f"{head}: <{len(str(block.get('data', '')))} chars>")
        elif kind == "web_search_tool_result":
            self.static(f"{head}: {_search_results(block.get('content'))}")
        elif kind in ("text", "thinking") and not block.get(kind):
            self.static(head)
        else:
            self.static(f"{head}: {_compact(block)}")

    def block_delta(self, index: Any, delta: Any) -> None:
        delta = _dict(delta)
        kind = delta.get("type")
        if kind == "text_delta":
            self.delta(("text", index), "text", str(delta.get("text", "")))
        elif kind == "thinking_delta":
            self.delta(("thinking", index), "thinking", str(delta.get("thinking", "")))
        elif kind == "signature_delta":
            self.delta(("signature", index), "signature", str(delta.get("signature", "")), secret=True)
        elif kind == "input_json_delta":
            self.extend(self.call_for((("block", index),), f"input_json_delta[{index}]"), str(delta.get("partial_json", "")))
        elif kind == "citations_delta":
            self.static(f"citation[{index}]: {_compact(delta.get('citation'))}")
        else:
            self.static(f"content_block_delta[{index}]: {_compact(delta)}")

    def responses(self, kind: str, event: dict[str, Any]) -> None:
        short = kind.removeprefix("response.")
        item_keys = (("item", event.get("item_id")), ("output", event.get("output_index")))
        if kind in ("response.created", "response.in_progress", "response.queued"):
            response = _dict(event.get("response"))
            self.static(f"{kind}: {response.get('id', '?')} model={response.get('model', '?')} status={response.get('status', '?')}")
        elif kind in _RESPONSES_TERMINAL:
            self.terminal = True
            self.static(_responses_terminal(kind, event.get("response")))
        elif kind == "response.output_item.added" and isinstance(event.get("item"), dict) and event["item"].get("type") in _TOOL_ITEMS:
            item = event["item"]
            call = _ToolCall(f"{short}[{event.get('output_index')}] {item['type']}", name=str(item.get("name", "")),
                             call_id=str(item.get("call_id", "")), freeform=item["type"] == "custom_tool_call")
            call.initial = str(item.get(_TOOL_ITEMS[item["type"]]) or "")
            self.open_call((("item", item.get("id")), ("output", event.get("output_index"))), call)
        elif kind in ("response.output_item.added", "response.output_item.done"):
            self.static(f"{short}[{event.get('output_index')}] {_item(event.get('item'))}")
        elif kind == "response.output_text.delta":
            self.delta(("text", event.get("item_id"), event.get("content_index")), "text", str(event.get("delta", "")))
        elif kind == "response.reasoning_summary_text.delta":
            self.delta(("summary", event.get("item_id"), event.get("summary_index")), "reasoning_summary", str(event.get("delta", "")))
        elif kind == "response.reasoning_text.delta":
            self.delta(("reasoning", event.get("item_id"), event.get("content_index")), "reasoning_text", str(event.get("delta", "")))
        elif kind in ("response.function_call_arguments.delta", "response.custom_tool_call_input.delta"):
            self.extend(self.call_for(item_keys, short), str(event.get("delta", "")))
        elif kind == "response.error" or event.get("error") and not kind.endswith(".done"):
            self.terminal = True
            self.static(f"{kind}: {_error(event.get('error', event))}")
        else:
            self.static(f"{short}: {_compact(event, drop=('type', 'sequence_number', 'item_id'))}")


def _chat_pieces(delta: dict[str, Any]) -> list[_Piece]:
    """(run key, label, text, secret) for each piece of content a chat delta carries."""
    pieces: list[_Piece] = []
    content = delta.get("content")
    if isinstance(content, str):
        pieces.append(("text", "text", content, False))
    elif isinstance(content, list):  # Mistral: typed parts, reasoning as `thinking`
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text":
                pieces.append(("text", "text", str(part.get("text", "")), False))
            elif part.get("type") == "thinking":
                thinking = part.get("thinking")
                texts = thinking if isinstance(thinking, list) else [{"text": thinking}]
                text = "".join(str(t.get("text") or "") for t in texts if isinstance(t, dict))
                pieces.append(("thinking", "thinking", text, False))
            else:
                pieces.append(("part", "content part", _compact(part), False))
    for name in ("reasoning_content", "reasoning", "refusal"):
        if isinstance(delta.get(name), str):
            pieces.append((name, name, delta[name], False))
    details = delta.get("reasoning_details")
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict):
            pieces.extend(_reasoning_detail(detail))
    return pieces


def _reasoning_detail(detail: dict[str, Any]) -> list[_Piece]:
    """OpenRouter's reasoning_details entries: text and summaries readable, blobs as lengths."""
    kind = str(detail.get("type", "?"))
    key = ("details", kind, detail.get("index"))
    label = f"reasoning_details ({kind})"
    pieces: list[_Piece] = []
    for name, secret in (("text", False), ("summary", False), ("data", True)):
        if isinstance(detail.get(name), str):
            pieces.append(((*key, name), label, detail[name], secret))
    if isinstance(detail.get("signature"), str) and detail["signature"]:
        pieces.append(((*key, "signature"), f"reasoning_details ({kind} signature)", detail["signature"], True))
    return pieces


def _safe_key(key: Any) -> Hashable:
    """A run or call key made of the event's own ids, which may be any JSON (a list is unhashable)."""
    if isinstance(key, tuple):
        return tuple(_safe_key(part) for part in key)
    return key if key is None or isinstance(key, str | int | float) else _compact(key)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _suffix(index: int) -> str:
    """A choice's index on its labels, left out for the usual single choice 0."""
    return f"[{index}]" if index else ""


def _responses_terminal(kind: str, response: Any) -> str:
    response = _dict(response)
    parts = [f"{kind}: status={response.get('status', '?')}"]
    if isinstance(response.get("usage"), dict):
        parts.append(f"usage: {_usage(response['usage'])}")
    if response.get("error"):
        parts.append(f"error: {_error(response['error'])}")
    if response.get("incomplete_details"):
        parts.append(f"incomplete_details: {_compact(response['incomplete_details'])}")
    return " ".join(parts)


def _item(item: Any) -> str:
    """An output item in a few words: type, id, status, what it holds."""
    if not isinstance(item, dict):
        return _compact(item)
    words = [str(item.get("type", "?")), str(item.get("id", ""))]
    if item.get("status"):
        words.append(f"status={item['status']}")
    if item.get("name"):
        words.append(f"{item['name']} {item.get('call_id', '')}")
    for name in _TOOL_ITEMS.values():
        if isinstance(item.get(name), str):
            words.append(f"{name}: {_shorten(item[name])}")
    if isinstance(item.get("content"), list):
        texts = [str(part.get("text", "")) for part in item["content"] if isinstance(part, dict)]
        words.append(f"text: {_shorten(jsonio.quote(''.join(texts)))}")
    if isinstance(item.get("summary"), list):
        words.append(f"summary: {sum(len(str(p.get('text', ''))) for p in item['summary'] if isinstance(p, dict))} chars")
    if isinstance(item.get("encrypted_content"), str):
        words.append(f"encrypted_content: <{len(item['encrypted_content'])} chars>")
    action = item.get("action")
    if item.get("type") == "web_search_call" and isinstance(action, dict):
        listed = action.get("sources")
        sources = [str(s.get("url")) for s in listed if isinstance(s, dict)] if isinstance(listed, list) else []
        words.append(f"search: {jsonio.quote(str(action.get('query') or ''))}" + (f" sources: {', '.join(sources)}" if sources else ""))
    if isinstance(item.get("content"), list):
        cited = [str(a.get("url")) for part in item["content"] if isinstance(part, dict) and isinstance(part.get("annotations"), list)
                 for a in part["annotations"] if isinstance(a, dict) and a.get("url")]
        if cited:
            words.append(f"citations: {', '.join(cited)}")
    return " ".join(word for word in words if word)


def _search_results(content: Any) -> str:
    """A web search's results in a line: each page's title and URL (their encrypted content left out)."""
    if not isinstance(content, list):
        return f"error {_compact(content)}"
    pages = [f"{r.get('title', '')} <{r.get('url', '')}>" for r in content if isinstance(r, dict)]
    return f"{len(pages)} result(s): " + "; ".join(pages)


def _usage(usage: dict[str, Any]) -> str:
    """Every number in a usage object, nested details by their own names (dotted only if ambiguous)."""
    leaves: list[tuple[str, str, Any]] = []

    def walk(obj: dict[str, Any], path: str) -> None:
        for name, value in obj.items():
            if isinstance(value, dict):
                walk(value, f"{path}{name}.")
            elif isinstance(value, int | float) and not isinstance(value, bool):
                leaves.append((str(name), f"{path}{name}", value))

    walk(usage, "")
    names = [name for name, _, _ in leaves]
    return " ".join(f"{name if names.count(name) == 1 else dotted}={value}" for name, dotted, value in leaves) or "{}"


def _error(error: Any) -> str:
    if isinstance(error, dict):
        label = " ".join(dict.fromkeys(str(error[k]) for k in ("type", "code", "status_code") if error.get(k) not in (None, "")))
        message = error.get("message")
        if isinstance(message, str):
            return f"{label}: {jsonio.quote(message)}" if label else jsonio.quote(message)
    return _compact(error)


def _compact(obj: Any, drop: tuple[str, ...] = ("type", "sequence_number")) -> str:
    """Short JSON of an event, long strings cut to their first words."""
    if isinstance(obj, dict):
        obj = {k: v for k, v in obj.items() if k not in drop}
    try:
        text = json.dumps(_cut_strings(obj), ensure_ascii=False, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError):
        text = repr(obj)
    return _shorten(text)


def _cut_strings(obj: Any, depth: int = 0) -> Any:
    if depth > 20:
        return "…"
    if isinstance(obj, str):
        return obj if len(obj) <= 80 else f"{obj[:60]}…<{len(obj)} chars>"
    if isinstance(obj, dict):
        return {k: _cut_strings(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_cut_strings(v, depth + 1) for v in obj]
    return obj


def _raw(payload: str, name: str = "") -> str:
    """A data line we could not read as JSON, as it came (escaped onto one line, cut if long)."""
    prefix = f"event: {name} " if name else ""
    return prefix + "data: " + _shorten(payload.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n"))


def _shorten(text: str) -> str:
    return text if len(text) <= COMPACT_CHARS else f"{text[:COMPACT_CHARS]}… ({len(text) - COMPACT_CHARS} more chars)"


def _is_one_line(text: str) -> bool:
    return bool(text) and text.isprintable()


def _deltas(count: int) -> str:
    return f"  ({count} deltas)" if count > 1 else ""


def _printable(line: str) -> str:
    """No lone surrogates (a JSON \\ud800 escape): every consumer can encode the line."""
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        return line.encode("utf-8", "backslashreplace").decode("utf-8")
    return line
