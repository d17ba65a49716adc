"""Hypothesis fuzzing of every stream translator with random chunking and hostile upstreams.

Inputs: provider SSE streams built from well-formed events, events with fields replaced by
values of the wrong type (lists, numbers, null, strings, negative or huge numbers, NaN, lone
surrogates) or deleted, truncated JSON, JSON of the wrong shape, junk, unknown event types,
events in any order (deltas before starts, finishes twice, [DONE] twice, data after [DONE]),
giant and empty deltas, non-UTF-8 bytes, CR-only / CRLF / LF line endings, comments, missing
blank lines — then cut into random chunks, and sometimes cut short.

Properties for the chat, anthropic and compaction(chat) translators (all built on ResponseStream):
1. no exception escapes `feed(chunk)` or the final `feed(b"")`;
2. the output is a valid Responses event stream: each event validates against the openai SDK's
   `ResponseStreamEvent` union (`sdk_validate` from tests/responses_grammar.py, with its
   documented allowances for error codes outside the SDK's Literal and for the compaction item,
   which carries no `id`), and `check_grammar` from the same module holds: sequence numbers
   strictly increase from 0, created/in_progress first, exactly one terminal event (completed /
   incomplete / failed) and it is last, output indexes claimed in order, parts opened and closed
   in pairs, deltas only inside their item and part, every added item done before a non-failed
   terminal, and the terminal's output lists exactly the done items;
3. a stream that did not finish properly never ends in response.completed (nor .incomplete):
   hostile streams complete only if the upstream sent its finish (chat: a finish_reason or
   [DONE]; anthropic: message_stop), and a well-formed stream cut before its finish fails;
4. the output is valid UTF-8.

The responses passthrough relays upstream events verbatim (it cannot make a hostile upstream's
events SDK-valid, and it does not try), so for it the properties are what Codex relies on,
reading the stream the way codex-api's sse/responses.rs does (by the data's `type`):
1. no exception escapes `feed`;
2. the output is valid UTF-8 and every event re-decodes to the data the upstream sent (except
   the rewrites: reasoning items re-wrapped, a missing usage.total_tokens filled in); exactly one
   terminal event (data type completed / incomplete / failed) and it is the last — events after
   an upstream terminal are dropped (even one Codex would not accept, such as a completed event
   without `response`: Codex then sees the end of the stream and retries), an upstream "error"
   event is relayed but is not terminal;
   when the upstream sent no terminal the last event is our SDK-valid `response.failed`
   (stream_truncated) whose sequence number exceeds every relayed one; a relayed completed
   event's usage carries total_tokens;
3. it ends in response.completed only if the upstream sent response.completed;
and when every upstream event is well formed, every output event validates against the SDK.
"""

from __future__ import annotations

import copy
import json
import re
from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shim import compaction
from shim.config import ModelRoute
from shim.providers import anthropic, chat, responses
from tests.responses_grammar import TERMINAL, check_one_terminal_last, decode, parse_checked, sdk_validate
from tests.test_chat_stream import BODY as CHAT_BODY
from tests.test_chat_stream import ROUTE as CHAT_ROUTE

FUZZ = settings(max_examples=250, deadline=None, derandomize=True, database=None)
SMALL = settings(max_examples=150, deadline=None, derandomize=True, database=None)

ANTHROPIC_ROUTE = ModelRoute(model="claude-slug", provider="anthropic", upstream_model="claude-sonnet-4-5")
RESPONSES_ROUTE = ModelRoute(model="resp-slug", provider="responses", base_url="http://127.0.0.1:1/v1")

# -- building blocks ----------------------------------------------------------------------------

SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),  # NaN and Infinity too: Python's json reads them
    st.text(max_size=12),
    st.sampled_from(["12", "-1", "", " ", "\ud800", "\udfff", "0", "[DONE]"]),
)
HOSTILE: st.SearchStrategy[Any] = st.recursive(
    SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=5
)
GIANT = st.integers(60_000, 70_000).map(lambda n: "Ω" * n)  # built, so reprs stay short
DELTA = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", " ", "\ud800", "a\udfffb", "line\r\nbreak\rcr", "\x00", "— ✓ 😀", '"}', "\\"]),
    GIANT,
)
JUNK = st.one_of(
    st.sampled_from(
        [
            "", "null", "[]", "42", "-1", '"a string"', "true", "{", "{}", '{"type":', "[DONE]", "[DONE] ",
            "NaN", "[" * 3000, '{"a":' + "9" * 5000 + "}", '{"sequence_number":' + "9" * 5000 + "}",
            '{"type":"\\ud800"}', "\ud800",
        ]
    ),
    st.text(max_size=30),
)
DELETE = object()


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            found += _paths(value, (*prefix, index))
    return found


def _replace(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return None if value is DELETE else value
    obj = copy.deepcopy(obj)
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return obj


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[Any]) -> Any:
    """A well-formed event, sometimes with a field replaced by a hostile value or deleted."""
    obj = copy.deepcopy(draw(base))  # st.just values are shared between examples
    if draw(st.integers(0, 3)) == 0:
        for _ in range(draw(st.integers(1, 3))):
            path = draw(st.sampled_from(_paths(obj)))
            obj = _replace(obj, path, draw(st.one_of(HOSTILE, st.just(DELETE))))
    return obj


@st.composite
def payload(draw: st.DrawFn, obj: Any) -> bytes:
    """`obj` as a data payload: JSON (ASCII or raw UTF-8, lone surrogates as invalid bytes),
    sometimes truncated."""
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()))
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 15)) == 0:
        raw = raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
    return raw


EOL = st.sampled_from([b"\n", b"\r\n", b"\r"])


@st.composite
def frame(draw: st.DrawFn, data: bytes, name: str | None) -> bytes:
    """One SSE event around `data`, in any of the spellings the grammar allows (and a few it
    does not: a missing blank line merges the event with the next one)."""
    eol = draw(EOL)
    lines = []
    if draw(st.integers(0, 9)) == 0:
        lines.append(b": keep-alive")
    if name is not None:
        lines.append(b"event: " + name.encode("utf-8", "surrogatepass"))
    head = draw(st.sampled_from([b"data: ", b"data:"]))
    if len(data) > 1 and draw(st.integers(0, 15)) == 0:
        cut = draw(st.integers(1, len(data) - 1))
        lines += [head + data[:cut], head + data[cut:]]
    else:
        lines.append(head + data)
    blank = draw(st.integers(0, 24)) != 0
    return eol.join(lines) + eol + (eol if blank else b"")


def split(raw: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted({min(c, len(raw)) for c in cuts}), len(raw)]
    return [raw[a:b] for a, b in pairwise(bounds)]


CUTS = st.lists(st.integers(0, 200_000), max_size=25)


def run(translator: Any, raw: bytes, cuts: list[int]) -> bytes:
    """Feed `raw` in pieces, then the end of stream; property 1 is that nothing raises here."""
    out = b"".join(translator.feed(piece) for piece in split(raw, cuts) if piece)
    return out + translator.feed(b"")


def json_or_none(data: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


# -- chat ---------------------------------------------------------------------------------------

def sometimes_hostile(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field's value: usually a good one, sometimes one of the wrong type."""
    return st.one_of(good, good, good, HOSTILE)


TOOL_NAMES = sometimes_hostile(st.sampled_from(["exec_command", "multi_agent_v1__spawn_agent", "apply_patch", "not_declared"]))
CALL_IDS = sometimes_hostile(st.sampled_from(["call_A", "call_B", "call_C"]))
TOKENS = st.integers(0, 10_000)


def _choice(delta: dict[str, Any] | None = None, finish: Any = None, index: int = 0) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [{"index": index, "delta": delta or {}, "finish_reason": finish}]}


def _tool_call(index: int | None, call_id: str | None, name: str | None, arguments: str | None) -> dict[str, Any]:
    call: dict[str, Any] = {"type": "function", "function": {}}
    if index is not None:
        call["index"] = index
    if call_id is not None:
        call["id"] = call_id
    if name is not None:
        call["function"]["name"] = name
    if arguments is not None:
        call["function"]["arguments"] = arguments
    return _choice({"tool_calls": [call]})


CHAT_USAGE = st.builds(
    lambda p, c, cached, r: {
        "choices": [],
        "usage": {
            "prompt_tokens": p,
            "completion_tokens": c,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": r},
        },
    },
    TOKENS, TOKENS, TOKENS, TOKENS,
)
CHAT_FINISHES = st.sampled_from(["stop", "length", "tool_calls", "content_filter"])
CHAT_GOOD = st.one_of(
    st.builds(lambda t: _choice({"role": "assistant", "content": t}), DELTA),
    st.builds(lambda t: _choice({"content": t}), DELTA),
    st.builds(lambda t: _choice({"reasoning_content": t}), DELTA),
    st.builds(lambda t: _choice({"reasoning": t}), DELTA),
    st.builds(
        _tool_call,
        st.one_of(st.none(), sometimes_hostile(st.integers(0, 3))),
        st.one_of(st.none(), CALL_IDS),
        st.one_of(st.none(), TOOL_NAMES),
        st.one_of(st.none(), sometimes_hostile(st.sampled_from(['{"cmd":', '"ls"}', "{}", '{"input":"*** Begin Patch"}', ""])), DELTA),
    ),
    st.builds(lambda t: _choice({"content": t}, index=1), DELTA),
)
CHAT_ANY = st.one_of(
    CHAT_GOOD,
    CHAT_USAGE,
    st.builds(lambda f: _choice({}, f), CHAT_FINISHES),
    st.builds(lambda m, c: {"error": {"message": m, "code": c}}, st.text(max_size=10), st.sampled_from(["rate_limit_exceeded", "", None, 5])),
    st.builds(lambda m: {"error": m}, st.text(max_size=10)),
)


@st.composite
def chat_stream(draw: st.DrawFn) -> bytes:
    frames = []
    for _ in range(draw(st.integers(0, 14))):
        kind = draw(st.integers(0, 9))
        name = draw(st.sampled_from([None, None, None, "message", "unknown.type"]))
        if kind == 0:
            data = b"[DONE]"
        elif kind == 1:
            data = draw(JUNK).encode("utf-8", "surrogatepass")
        else:
            data = draw(payload(draw(mutated(CHAT_ANY))))
        frames.append(draw(frame(data, name)))
    if draw(st.integers(0, 4)) == 0:
        frames.append(draw(st.binary(max_size=30)))
    return b"".join(frames)


def chat_finished(raw: bytes) -> bool:
    """Did the upstream send what ends a chat answer: [DONE] or a finish_reason?"""
    for _, data in decode(raw):
        if data == "[DONE]":
            return True
        chunk = json_or_none(data)
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        if isinstance(choices, list) and any(isinstance(c, dict) and c.get("finish_reason") for c in choices):
            return True
    return False


def chat_translator() -> Any:
    return chat.build(copy.deepcopy(CHAT_BODY), CHAT_ROUTE, "sk-test").new_translator()


@FUZZ
@given(chat_stream(), CUTS)
def test_chat_translator_survives_hostile_streams(raw, cuts):
    events = parse_checked(run(chat_translator(), raw, cuts))
    if events[-1]["type"] != "response.failed":
        assert chat_finished(raw), "completed a stream that never finished"


@st.composite
def good_chat_stream(draw: st.DrawFn) -> tuple[bytes, int]:
    """A chat stream that ends properly (finish chunk, usage, [DONE]) and the offset where its
    finish has fully arrived; its other chunks may still carry fields of the wrong type."""
    frames = [draw(frame(json.dumps(draw(CHAT_GOOD)).encode(), None)) for _ in range(draw(st.integers(0, 6)))]
    frames = [f if f.endswith((b"\n\n", b"\r\r", b"\r\n\r\n")) else f + b"\n" for f in frames]
    body = b"".join(frames)
    finish = json.dumps(_choice({}, draw(CHAT_FINISHES))).encode()
    finished_at = len(body) + len(b"data: ") + len(finish)
    body += b"data: " + finish + b"\n\n"
    body += b"data: " + json.dumps(draw(CHAT_USAGE)).encode() + b"\n\ndata: [DONE]\n\n"
    return body, finished_at


@FUZZ
@given(good_chat_stream(), st.integers(0, 200_000), CUTS)
def test_chat_stream_cut_before_its_finish_fails(stream, cut_at, cuts):
    raw, finished_at = stream
    whole = parse_checked(run(chat_translator(), raw, cuts))
    assert whole[-1]["type"] in ("response.completed", "response.incomplete", "response.failed")
    cut = raw[: min(cut_at, len(raw))]
    last = parse_checked(run(chat_translator(), cut, cuts))[-1]
    if len(cut) < finished_at:
        assert last["type"] == "response.failed"


# -- compaction (around chat) ---------------------------------------------------------------------


@FUZZ
@given(st.one_of(chat_stream(), good_chat_stream().map(lambda stream: stream[0])), CUTS)
def test_compaction_translator_survives_hostile_streams(raw, cuts):
    body = {"model": "byok-model", "input": [{"type": "message", "role": "user", "content": "hi"}, {"type": "compaction_trigger"}]}
    upstream = chat.build(compaction.prepare_request(body, True), CHAT_ROUTE, None)
    events = parse_checked(run(compaction.wrap(upstream).new_translator(), raw, cuts), compaction=True)
    kinds = [e["type"] for e in events]
    assert set(kinds) <= {"response.created", "response.in_progress", "response.output_item.added", "response.output_item.done", *TERMINAL}
    if kinds[-1] == "response.completed":
        assert chat_finished(raw)
        assert [e["item"]["type"] for e in events if e["type"] == "response.output_item.done"] == ["compaction"]
    else:
        assert "response.output_item.added" not in kinds


# -- anthropic ------------------------------------------------------------------------------------

A_INDEX = sometimes_hostile(st.integers(0, 3))
A_USAGE = st.fixed_dictionaries(
    {},
    optional={"input_tokens": TOKENS, "output_tokens": TOKENS, "cache_read_input_tokens": TOKENS, "cache_creation_input_tokens": TOKENS},
)
A_BLOCK = st.one_of(
    st.builds(lambda t: {"type": "text", "text": t}, DELTA),
    st.builds(lambda t: {"type": "thinking", "thinking": t, "signature": ""}, DELTA),
    st.just({"type": "redacted_thinking", "data": "EmwKAhgBEgy"}),
    st.builds(
        lambda i, n, inp: {"type": "tool_use", "id": i, "name": n, "input": inp},
        sometimes_hostile(st.sampled_from(["toolu_1", "toolu_2"])), TOOL_NAMES, sometimes_hostile(st.sampled_from([{}, {"cmd": "ls"}])),
    ),
    st.just({"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}),
)
A_DELTA = st.one_of(
    st.builds(lambda t: {"type": "text_delta", "text": t}, DELTA),
    st.builds(lambda t: {"type": "thinking_delta", "thinking": t}, DELTA),
    st.builds(lambda t: {"type": "signature_delta", "signature": t}, st.text(max_size=8)),
    st.builds(lambda t: {"type": "input_json_delta", "partial_json": t}, st.one_of(st.sampled_from(['{"cmd":', '"ls"}', "{}"]), DELTA)),
    st.just({"type": "citations_delta", "citation": {"type": "char_location"}}),
    st.just({"type": "brand_new_delta"}),
)
A_STOP_REASONS = st.sampled_from(["end_turn", "tool_use", "max_tokens", "refusal", "pause_turn", "model_context_window_exceeded", None])
A_MESSAGE_START = st.builds(
    lambda u: {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": "claude",
        "usage": u}},
    A_USAGE,
)
A_MESSAGE_DELTA = st.builds(lambda r, u: {"type": "message_delta", "delta": {"stop_reason": r}, "usage": u}, A_STOP_REASONS, A_USAGE)
A_BLOCK_START = st.builds(lambda i, b: {"type": "content_block_start", "index": i, "content_block": b}, A_INDEX, A_BLOCK)
A_BLOCK_DELTA = st.builds(lambda i, d: {"type": "content_block_delta", "index": i, "delta": d}, A_INDEX, A_DELTA)
A_BLOCK_STOP = st.builds(lambda i: {"type": "content_block_stop", "index": i}, A_INDEX)
A_ANY = st.one_of(
    A_MESSAGE_START,
    A_BLOCK_START,
    A_BLOCK_DELTA,
    A_BLOCK_DELTA,
    A_BLOCK_STOP,
    A_MESSAGE_DELTA,
    st.just({"type": "message_stop"}),
    st.just({"type": "ping"}),
    st.just({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    st.just({"type": "error", "error": "plain"}),
    st.just({"type": "unknown_event"}),
)


@st.composite
def anthropic_stream(draw: st.DrawFn) -> bytes:
    frames = []
    for _ in range(draw(st.integers(0, 16))):
        kind = draw(st.integers(0, 11))
        if kind == 0:
            data, name = draw(JUNK).encode("utf-8", "surrogatepass"), draw(st.sampled_from([None, "message_stop", "ping"]))
        else:
            event = draw(mutated(A_ANY))
            true_name = event.get("type") if isinstance(event, dict) and isinstance(event.get("type"), str) else None
            name = draw(st.sampled_from([true_name, true_name, true_name, None, "message_stop", "content_block_delta"]))
            data = draw(payload(event))
        frames.append(draw(frame(data, name)))
    return b"".join(frames)


def anthropic_finished(raw: bytes) -> bool:
    """Did the upstream send message_stop (by the data's type, or the event name without one)?"""
    for name, data in decode(raw):
        event = json_or_none(data)
        if isinstance(event, dict) and (event.get("type") or name) == "message_stop":
            return True
    return False


def anthropic_translator() -> Any:
    body = {"model": "claude-slug", "input": "hi", "tools": CHAT_BODY["tools"]}
    return anthropic.build(copy.deepcopy(body), ANTHROPIC_ROUTE, "sk-ant").new_translator()


@FUZZ
@given(anthropic_stream(), CUTS)
def test_anthropic_translator_survives_hostile_streams(raw, cuts):
    events = parse_checked(run(anthropic_translator(), raw, cuts))
    if events[-1]["type"] != "response.failed":
        assert anthropic_finished(raw), "completed a stream that never sent message_stop"


@st.composite
def good_anthropic_stream(draw: st.DrawFn) -> tuple[bytes, int]:
    """A Messages stream in the right order, ending with message_stop, and the offset where that
    has fully arrived; its blocks may still carry fields of the wrong type."""
    events: list[dict[str, Any]] = [draw(A_MESSAGE_START)]
    for index in range(draw(st.integers(0, 4))):
        block = draw(A_BLOCK)
        events.append({"type": "content_block_start", "index": index, "content_block": block})
        kind = {"text": "text_delta", "thinking": "thinking_delta", "tool_use": "input_json_delta"}.get(block["type"])
        for delta in draw(st.lists(A_DELTA, max_size=3)):
            if delta["type"] == kind or delta["type"] in ("signature_delta", "citations_delta"):
                events.append({"type": "content_block_delta", "index": index, "delta": delta})
        events.append({"type": "content_block_stop", "index": index})
    events.append(draw(A_MESSAGE_DELTA))
    body = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)
    stop = b'event: message_stop\ndata: {"type":"message_stop"}'
    return body + stop + b"\n\n", len(body) + len(stop)


@FUZZ
@given(good_anthropic_stream(), st.integers(0, 200_000), CUTS)
def test_anthropic_stream_cut_before_message_stop_fails(stream, cut_at, cuts):
    raw, finished_at = stream
    whole = parse_checked(run(anthropic_translator(), raw, cuts))
    assert whole[-1]["type"] in ("response.completed", "response.incomplete", "response.failed")
    cut = raw[: min(cut_at, len(raw))]
    last = parse_checked(run(anthropic_translator(), cut, cuts))[-1]
    if len(cut) < finished_at:
        assert last["type"] == "response.failed"


# -- responses passthrough --------------------------------------------------------------------------

R_USAGE = st.one_of(
    st.builds(
        lambda i, o: {"input_tokens": i, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0}, "output_tokens": o,
                      "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": i + o},
        TOKENS, TOKENS,
    ),
    st.builds(
        lambda i, o: {"input_tokens": i, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0}, "output_tokens": o,
                      "output_tokens_details": {"reasoning_tokens": 0}},
        TOKENS, TOKENS,
    ),  # no total_tokens: the passthrough fills it in
)
R_ITEM = st.one_of(
    st.builds(
        lambda t: {"id": "msg_1", "type": "message", "status": "completed", "role": "assistant",
                   "content": [{"type": "output_text", "text": t, "annotations": []}]},
        DELTA,
    ),
    st.builds(
        lambda t: {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": t}], "encrypted_content": "gAAAA"},
        DELTA,
    ),
    st.just({"id": "fc_1", "type": "function_call", "status": "completed", "call_id": "call_1", "name": "exec_command", "arguments": "{}"}),
)


def _response(status: str, usage: dict[str, Any] | None = None, error: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "id": "resp_1", "object": "response", "created_at": 1, "status": status, "model": "m", "output": [],
        "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "error": error, "incomplete_details": None,
    }
    if usage is not None:
        response["usage"] = usage
    if status == "incomplete":
        response["incomplete_details"] = {"reason": "max_output_tokens"}
    return response


R_LIFECYCLE = st.sampled_from(["response.created", "response.in_progress"]).map(lambda t: {"type": t, "response": _response("in_progress")})
R_ITEM_EVENT = st.builds(
    lambda t, i: {"type": t, "output_index": 0, "item": i}, st.sampled_from(["response.output_item.added", "response.output_item.done"]), R_ITEM
)
R_DELTA = st.builds(
    lambda t: {"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": t, "logprobs": []},
    DELTA,
)
R_TERMINALS = st.one_of(
    st.builds(lambda u: {"type": "response.completed", "response": _response("completed", u)}, R_USAGE),
    st.builds(lambda u: {"type": "response.incomplete", "response": _response("incomplete", u)}, R_USAGE),
    st.just({"type": "response.failed", "response": _response("failed", error={"code": "server_error", "message": "boom"})}),
)
R_ERROR = st.just({"type": "error", "code": "server_error", "message": "boom", "param": None})
R_WELL_FORMED = st.one_of(R_LIFECYCLE, R_ITEM_EVENT, R_DELTA, R_DELTA, R_ERROR)
R_ANY = st.one_of(R_WELL_FORMED, R_TERMINALS, st.just({"type": "response.brand_new_event", "x": 1}))
_SEQUENCE = re.compile(r'"sequence_number":\s*(-?\d+)')


def codex_kind(data: str) -> str | None:
    """The event type Codex acts on: the data's `type`, if the data is a JSON object."""
    event = json_or_none(data)
    return event.get("type") if isinstance(event, dict) and isinstance(event.get("type"), str) else None


def assert_only_added(before: Any, after: Any) -> None:
    """`after` is `before` with keys added (at any depth) or missing counts (null) set to 0,
    none other changed or removed."""
    if before is None and after == 0:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key, value in before.items():
            assert key in after
            assert_only_added(value, after[key])
    else:
        assert before == after


def check_passthrough(raw: bytes, out: bytes, well_formed: bool) -> list[tuple[str, str]]:
    out.decode("utf-8")
    upstream = [(n, d) for n, d in decode(raw) if d and d != "[DONE]"]
    relayed = decode(out)
    kinds = [codex_kind(data) for _, data in relayed]
    check_one_terminal_last(kinds)
    upstream_ended = any(codex_kind(d) in TERMINAL for _, d in upstream)
    if upstream_ended:
        count = len(relayed)
    else:
        count = len(relayed) - 1
        synthetic = json.loads(relayed[-1][1])
        assert synthetic["type"] == "response.failed" and synthetic["response"]["error"]["code"] == "stream_truncated"
        sdk_validate(synthetic)
        seen = [int(m) for _, d in relayed[:-1] for m in _SEQUENCE.findall(d) if len(m) < 100]
        assert all(synthetic["sequence_number"] > s for s in seen)
    assert len(upstream) >= count
    for (_, data), (out_name, out_data) in zip(upstream, relayed[:count], strict=False):  # upstream may hold more
        if out_data != data:  # only the documented rewrites
            before, after = json.loads(data), json.loads(out_data)
            if out_name == "response.output_item.done":
                assert after["item"]["type"] == "reasoning"
                assert after["item"]["encrypted_content"].startswith("codexshim1.")
            else:  # the slug Codex asked for as model; usage and left-out response fields filled in; nothing changed
                assert after["response"].pop("model", "resp-slug") == "resp-slug"  # where the upstream named one
                before["response"].pop("model", None)
                filled = after["response"].pop("usage", None)
                usage = before["response"].pop("usage", None)
                if not before["response"].get("output") and after["response"].get("output"):  # left out: the items that went by
                    went_by = [json.loads(d)["item"] for n, d in relayed if n == "response.output_item.done"]
                    assert all(item in went_by for item in after["response"]["output"])
                    after["response"]["output"] = before["response"].get("output")
                assert {k: v for k, v in after["response"].items() if k in before["response"]} == before["response"]
                assert {k: v for k, v in after.items() if k != "response"} == {k: v for k, v in before.items() if k != "response"}
                if filled != usage:  # filled in: only added to
                    assert_only_added(usage, filled)
                    assert "total_tokens" in filled
    for _, data in relayed:
        if codex_kind(data) == "response.completed":
            response = json.loads(data).get("response")
            usage = response.get("usage") if isinstance(response, dict) else None
            assert not isinstance(usage, dict) or "total_tokens" in usage
    if kinds[-1] == "response.completed":
        assert any(codex_kind(d) == "response.completed" for _, d in upstream)
    if well_formed:
        for _, data in relayed:
            event = json_or_none(data)
            if event is not None:  # a cut may leave the last upstream event truncated
                event.setdefault("sequence_number", 0)
                sdk_validate(event)
    return relayed


@st.composite
def responses_stream(draw: st.DrawFn) -> bytes:
    frames = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            data, name = draw(JUNK).encode("utf-8", "surrogatepass"), draw(st.sampled_from([None, "response.completed",
                "response.output_text.delta"]))
        else:
            event = draw(mutated(R_ANY))
            if isinstance(event, dict) and draw(st.booleans()):
                event["sequence_number"] = draw(st.one_of(st.integers(0, 50), HOSTILE))
            true_name = event.get("type") if isinstance(event, dict) and isinstance(event.get("type"), str) else None
            name = draw(st.sampled_from([true_name, true_name, None, "response.completed", "response.output_text.delta"]))
            data = draw(payload(event))
        frames.append(draw(frame(data, name)))
    return b"".join(frames)


@FUZZ
@given(responses_stream(), CUTS)
def test_responses_passthrough_survives_hostile_streams(raw, cuts):
    out = run(responses.build({"model": "resp-slug", "input": "hi"}, RESPONSES_ROUTE, None).new_translator(), raw, cuts)
    check_passthrough(raw, out, well_formed=False)


@st.composite
def good_responses_stream(draw: st.DrawFn) -> bytes:
    events = [{"type": "response.created", "response": _response("in_progress")}]
    events += draw(st.lists(R_WELL_FORMED, max_size=8))
    if draw(st.booleans()):
        events.append(draw(R_TERMINALS))
        events += draw(st.lists(st.one_of(R_WELL_FORMED, R_TERMINALS), max_size=3))  # after the end: dropped
    for seq, event in enumerate(events):
        event["sequence_number"] = seq
    named = draw(st.booleans())
    return b"".join(
        (f"event: {e['type']}\n" if named else "").encode() + b"data: " + json.dumps(e).encode() + b"\n\n"
        for e in events
    )


@SMALL
@given(good_responses_stream(), st.integers(0, 200_000), CUTS)
def test_responses_passthrough_of_well_formed_streams_stays_sdk_valid(raw, cut_at, cuts):
    translator = responses.build({"model": "resp-slug", "input": "hi"}, RESPONSES_ROUTE, None).new_translator()
    cut = raw[: min(cut_at, len(raw))]
    check_passthrough(cut, run(translator, cut, cuts), well_formed=True)


# -- the bugs the fuzzers found, as the smallest inputs -----------------------------------------------


def passthrough(raw: bytes) -> list[dict[str, Any]]:
    translator = responses.build({"model": "resp-slug", "input": "hi"}, RESPONSES_ROUTE, None).new_translator()
    out = translator.feed(raw) + translator.feed(b"")
    return [json_or_none(data) for _, data in decode(out)]


def test_passthrough_survives_numbers_and_nesting_beyond_pythons_limits():
    for data in (
        b'{"type":"response.completed","response":{"usage":{"input_tokens":"abc"}}}',
        b"[" * 100_000,
        b'{"type":"response.failed","sequence_number":' + b"9" * 5000 + b"}",
    ):
        raw = b"data: " + data + b"\n\n"
        assert passthrough(raw)[-1]["type"] in ("response.completed", "response.failed")


def test_passthrough_relays_multi_line_data_as_multi_line_data():
    raw = b'event: response.output_text.delta\ndata: {\ndata: "type": "response.output_text.delta", "delta": "hi"\ndata: }\n\n'
    assert passthrough(raw)[0] == {"type": "response.output_text.delta", "delta": "hi"}


def test_passthrough_drops_events_after_the_terminal_event():
    done = {"type": "response.completed", "response": _response("completed", {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2})}
    late = {"type": "response.output_text.delta", "delta": "late"}
    raw = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in (done, late, done))
    assert [e["type"] for e in passthrough(raw)] == ["response.completed"]


def test_passthrough_goes_by_the_datas_type_not_the_event_name():
    failed = {"type": "response.failed", "response": _response("failed", error={"code": "server_error", "message": "x"})}
    raw = b"event: response.output_text.delta\ndata: " + json.dumps(failed).encode() + b"\n\n"
    assert [e["type"] for e in passthrough(raw)] == ["response.failed"]


def test_passthrough_error_event_is_not_the_end_of_the_stream():
    raw = b'event: error\ndata: {"type":"error","code":"server_error","message":"boom"}\n\n'
    events = passthrough(raw)
    assert [e["type"] for e in events] == ["error", "response.failed"]
    assert events[-1]["response"]["error"]["code"] == "stream_truncated"


def test_passthrough_numbers_its_failure_after_every_relayed_event():
    raw = b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":41}\n\n'
    failed = passthrough(raw)[-1]
    assert failed["sequence_number"] == 42
    sdk_validate(failed)


def test_tool_call_with_a_non_string_name_or_id_fails_the_response():
    for call in ({"index": 0, "id": 7, "function": {"name": "exec_command"}}, {"index": 0, "id": "c", "function": {"name": ["x"]}}):
        raw = b"data: " + json.dumps(_choice({"tool_calls": [call]})).encode() + b"\n\ndata: [DONE]\n\n"
        assert parse_checked(run(chat_translator(), raw, []))[-1]["type"] == "response.failed"
    start = {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t", "name": 5, "input": {}}}
    raw = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in (start, {"type": "message_stop"}))
    assert parse_checked(run(anthropic_translator(), raw, []))[-1]["type"] == "response.failed"


def test_chat_error_with_an_empty_code_still_names_a_code():
    raw = b'data: {"error":{"message":"","code":""}}\n\n'
    assert parse_checked(run(chat_translator(), raw, []))[-1]["response"]["error"]["code"] == "upstream_error"


def test_incomplete_compaction_lists_no_items_it_dropped():
    body = {"model": "byok-model", "input": [{"type": "message", "role": "user", "content": "hi"}, {"type": "compaction_trigger"}]}
    translator = compaction.wrap(chat.build(compaction.prepare_request(body, True), CHAT_ROUTE, None)).new_translator()
    raw = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in (_choice({"content": "sum"}), _choice({}, "length")))
    last = parse_checked(run(translator, raw, []), compaction=True)[-1]
    assert last["type"] == "response.incomplete" and last["response"]["output"] == []
