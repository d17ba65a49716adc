"""The "codex-shim SSE" content view: what it shows for every real recorded stream, that no bytes
make it raise, and that mitmproxy itself picks it for an event stream (and unregisters it).

The corpus facts (text, reasoning, tool calls, stop, usage, errors) come from manifest.json, read
off the recordings independently of shim/ (tests/corpus/README.md). The view shows runs as
`label: "<JSON string>"`, so the test reads them back exactly."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mitmproxy import contentviews, http
from mitmproxy.addons import script
from mitmproxy.test import taddons, tflow

from shim.addons.content_views import ContentViews, SSEContentview
from shim.config import ModelRoute
from shim.providers import chat
from shim.sse import SSEDecoder, encode_event
from shim.sse_view import FAILED_MARK, looks_like_sse, render
from tests.addon_chain import entry_addons
from tests.harness import ROOT

CORPUS = Path(__file__).parent / "corpus"
ENTRIES: list[dict[str, Any]] = json.loads((CORPUS / "manifest.json").read_text())
VIEW = "codex-shim sse"  # the registry's key: the name, lower-cased
FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None)
RUN = re.compile(r'^(?P<label>[a-z_]+(?: \([^)]*\))?(?:\[\d+\])?): (?P<text>".*")(?:  \(\d+ deltas\))?$')
REASONING_LABELS = {"reasoning", "reasoning_content", "thinking", "reasoning_summary", "reasoning_text"}
NO_TERMINAL = "(no terminal event"


def runs(lines: list[str], labels: set[str]) -> str:
    """The text of the runs with these labels, joined in order."""
    found = [RUN.match(line) for line in lines]
    return "".join(json.loads(m["text"]) for m in found if m and m["label"] in labels)


def events_in(raw: bytes) -> int:
    decoder = SSEDecoder()
    return len(decoder.feed(raw) + decoder.close())


def shown_arguments(arguments: str) -> str:
    return arguments if arguments and arguments.isprintable() else json.dumps(arguments, ensure_ascii=False)


def assert_well_formed(lines: list[str]) -> None:
    assert lines and all(isinstance(line, str) for line in lines)
    assert not any(line.startswith(FAILED_MARK) for line in lines), lines[0]
    for line in lines:
        assert "\n" not in line and "\r" not in line, line
        line.encode("utf-8")  # no lone surrogate


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_a_recording_shows_its_whole_content_one_line_per_event(entry: dict[str, Any]) -> None:
    raw = (CORPUS / entry["file"]).read_bytes()
    expect = entry["expect"]
    lines = render(raw)
    assert_well_formed(lines)
    text = "\n".join(lines)
    assert f": {events_in(raw)} events" in lines[0]
    assert runs(lines, {"text"}) == expect["text"]
    assert runs(lines, REASONING_LABELS) == expect.get("reasoning", "")
    for call in expect.get("tool_calls", []):
        call_id = call.get("id", call.get("call_id", ""))
        assert any(f" {call['name']} {call_id}" in line and f"arguments: {shown_arguments(call['arguments'])}" in line for line in lines), call
    for name, value in (expect.get("usage") or {}).items():
        assert re.search(rf"\b{name}={value}\b", text), name
    for error in expect.get("errors", []):
        assert json.dumps(error["message"], ensure_ascii=False) in text
    if expect.get("stop"):
        stop = {"chat": f"finish_reason: {expect['stop']}", "anthropic": f"stop_reason={expect['stop']}", "responses": f"status={expect['stop']}"}
        assert stop[entry["shape"]] in text
    assert (lines[-1] == "[DONE]") == expect.get("done_sentinel", False)
    assert NO_TERMINAL not in text
    # Every event understood (nothing fell back to a raw line or a bare chunk), the deltas joined.
    assert not any(line.startswith(("data: ", "event: ", "chunk: ")) for line in lines)
    # One line per event at most, besides the lines deltas are joined on (runs, tool calls, a
    # choice's role), which one chat chunk may share with its finish_reason and usage.
    event_lines = [line for line in lines[1:] if not line.startswith(":")]  # the header and keep-alive comments aside
    joined = [line for line in event_lines if RUN.match(line) or re.search(r" (arguments|input): ", line) or line.startswith("role")]
    assert len(event_lines) - len(joined) <= events_in(raw)
    if events_in(raw) >= 10:
        assert len(event_lines) < events_in(raw)


def test_the_shims_own_responses_stream_renders_as_the_answer() -> None:
    """What Codex receives on a chat route: one run per text / reasoning item, the call assembled."""
    entry = next(e for e in ENTRIES if e["file"] == "deepseek/reasoning-tool-call.sse")
    route = ModelRoute(model="slug", provider="generic-chat-completion-api", base_url="http://127.0.0.1:1/v1")
    translator = chat.build({"model": "slug", "input": "hi"}, route, "sk-test").new_translator()
    out = translator.feed((CORPUS / entry["file"]).read_bytes()) + translator.feed(b"")
    lines = render(out)
    assert_well_formed(lines)
    assert lines[0].startswith(f"Responses: {events_in(out)} events")
    assert runs(lines, {"reasoning_summary"}) == entry["expect"]["reasoning"]
    [call] = entry["expect"]["tool_calls"]
    [line] = [line for line in lines if line.startswith("output_item.added") and "function_call" in line]
    assert f"function_call {call['name']} {call['id']} arguments: {call['arguments']}" in line
    assert lines[-1].startswith("response.completed: status=completed usage: input_tokens=374")
    assert not any(line.startswith(("data: ", "event: ")) for line in lines)
    assert len(lines) < events_in(out) / 2


def test_a_freeform_custom_tool_call_shows_its_input_quoted() -> None:
    patch = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch"
    added = {"type": "response.output_item.added", "output_index": 0,
             "item": {"type": "custom_tool_call", "id": "ctc_1", "call_id": "call_9", "name": "apply_patch", "input": ""}}
    deltas = [{"type": "response.custom_tool_call_input.delta", "item_id": "ctc_1", "output_index": 0, "delta": patch[i : i + 7]}
              for i in range(0, len(patch), 7)]
    done = {"type": "response.completed", "response": {"status": "completed", "usage": {"input_tokens": 3, "output_tokens": 4}}}
    lines = render(b"".join(encode_event(e["type"], json.dumps(e)) for e in [added, *deltas, done]))
    assert lines[1] == f"output_item.added[0] custom_tool_call apply_patch call_9 input: {json.dumps(patch)}  ({len(deltas)} deltas)"
    assert lines[2] == "response.completed: status=completed usage: input_tokens=3 output_tokens=4"


def test_unknown_events_get_a_compact_line_each_and_bad_data_its_raw_line() -> None:
    raw = (b"event: codex.rate_limits\ndata: {\"type\":\"codex.rate_limits\",\"primary\":{\"used_percent\":" + b"7" * 400 + b"}}\n\n"
           b"data: {\"something\":\"else\"}\n\n"
           b"data: not json \xff\xfe\n\n"
           b"event: x\ndata: [1, 2]\n\n"
           b"data: {\"choices\": [{\"delta\": {\"content\": \"Hel\"}}]}\n\n"
           b"data: {\"choices\": [{\"delta\": {\"content\": \"lo\"}}]}\n\n")
    lines = render(raw)
    assert_well_formed(lines)
    assert lines[0].startswith("Chat Completions: 6 events")
    assert lines[1].startswith("codex.rate_limits: {\"primary\":") and "more chars)" in lines[1] and len(lines[1]) < 400
    assert lines[2] == '(unnamed event): {"something":"else"}'
    assert lines[3] == "data: not json \ufffd\ufffd"
    assert lines[4] == "event: x data: [1, 2]"
    assert lines[5] == 'text: "Hello"  (2 deltas)'
    assert lines[6].startswith(NO_TERMINAL)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_a_recording_cut_anywhere_still_renders(entry: dict[str, Any]) -> None:
    raw = (CORPUS / entry["file"]).read_bytes()
    for cut in sorted({1, 7, len(raw) // 3, len(raw) // 2, len(raw) - 3, *range(0, len(raw), max(1, len(raw) // 25))}):
        assert_well_formed(render(raw[:cut]))
        assert_well_formed(render(raw[cut:]))
    if entry["shape"] == "chat" and entry["expect"].get("done_sentinel") and not entry["expect"].get("errors"):
        assert render(raw[: raw.rindex(b"data: [DONE]")])[-1].startswith(NO_TERMINAL)


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    assert_well_formed(render(raw))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
FIELDS = ["type", "delta", "index", "item", "item_id", "output_index", "response", "choices", "content_block", "usage", "error",
          "message", "tool_calls", "function", "content", "reasoning", "reasoning_details", "text", "thinking", "finish_reason", "role"]
TYPES = ["response.created", "response.completed", "response.failed", "response.output_item.added", "response.output_item.done",
         "response.output_text.delta", "response.function_call_arguments.delta", "response.custom_tool_call_input.delta",
         "message_start", "content_block_start", "content_block_delta", "message_delta", "ping", "error", "text_delta",
         "input_json_delta", "function_call", "custom_tool_call", "tool_use", "thinking", "reasoning.text", "reasoning.encrypted"]
NODE = st.deferred(lambda: st.dictionaries(st.sampled_from(FIELDS), VALUE, max_size=5))
VALUE = st.sampled_from(TYPES) | JSON | NODE | st.lists(NODE, max_size=3)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["", *TYPES]), NODE), max_size=8))
def test_known_event_types_with_any_fields_never_raise(events: list[tuple[str, dict[str, Any]]]) -> None:
    raw = b"".join(encode_event(name, json.dumps(body)) if name else b"data: " + json.dumps(body).encode() + b"\n\n" for name, body in events)
    assert_well_formed(render(raw))


def test_deeply_nested_or_escaped_json_never_raises() -> None:
    assert_well_formed(render(b"data: " + b"[" * 100_000 + b"\n\n"))
    assert_well_formed(render(b'data: {"type":"response.output_text.delta","delta":"\\ud800 lone"}\n\n'))
    assert_well_formed(render(b'data: {"choices":[{"delta":{"content":"' + b"9" * 5000 + b'"}}]}\n\n'))


def test_sse_is_recognised_by_its_first_field_whatever_the_content_type() -> None:
    assert looks_like_sse(b": keep-alive\n\nevent: message_start\ndata: {}\n\n")
    assert looks_like_sse(b"\r\ndata: {}\r\n\r\n")
    assert not looks_like_sse(b'{"data": 1}')
    assert not looks_like_sse(b"")


def response_flow(body: bytes, content_type: str) -> Any:
    return tflow.tflow(resp=http.Response.make(200, body, {"content-type": content_type}))


def test_mitmproxy_picks_the_view_for_an_event_stream_and_drops_it_when_unloaded() -> None:
    raw = (CORPUS / "openai/chat-text-after-tool.sse").read_bytes()
    with taddons.context(ContentViews()) as tctx:
        flow = response_flow(raw, "text/event-stream; charset=utf-8")
        shown = contentviews.prettify_message(flow.response, flow)
        assert shown.view_name == "codex-shim SSE"
        assert 'text: "The capital of the UK is London."  (8 deltas)' in shown.text.splitlines()
        mislabelled = response_flow(raw, "application/json")
        assert contentviews.prettify_message(mislabelled.response, mislabelled).view_name == "codex-shim SSE"
        other = response_flow(b'{"a": 1}', "application/json")
        assert contentviews.prettify_message(other.response, other).view_name == "JSON"
        chosen = contentviews.prettify_message(other.response, other, view_name=VIEW)  # picked by hand, it still renders
        assert chosen.view_name == "codex-shim SSE" and "(unnamed event)" not in chosen.text
        [addon] = [a for a in tctx.master.addons.chain if isinstance(a, ContentViews)]
        tctx.master.addons.remove(addon)
    assert VIEW not in contentviews.registry
    assert contentviews.prettify_message(flow.response, flow).view_name == "Raw"


def test_reloading_a_script_keeps_one_view(tmp_path: Path) -> None:
    """mitmproxy re-runs a script when it changes (the old addons' `done`, then the new `load`), while
    our package stays imported: a script adding ContentViews as addons/codex_shim.py does."""
    entry = tmp_path / "entry.py"
    entry.write_text(f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
                     "from shim.addons.content_views import ContentViews\naddons = [ContentViews()]\n")
    before = len(contentviews.registry)
    with taddons.context() as tctx:
        loaded = script.Script(str(entry), False)
        first = contentviews.registry[VIEW]
        loaded.loadscript()  # what the script watcher does on a change
        second = contentviews.registry[VIEW]
        assert second is not first and isinstance(second, SSEContentview)
        assert len(contentviews.registry) == before + 1
        assert contentviews.registry.available_views().count(VIEW) == 1
        assert loaded.ns is not None
        tctx.master.addons.remove(loaded.ns)
    assert VIEW not in contentviews.registry and len(contentviews.registry) == before


def test_the_entry_script_adds_the_view_once() -> None:
    assert sum(isinstance(part, ContentViews) for addon in entry_addons() for part in addon.parts) == 1


def test_a_stale_instance_does_not_remove_a_newer_registration() -> None:
    old, new = ContentViews(), ContentViews()
    old.load(None)
    new.load(None)  # loaded again before the old one's done (the registry replaces it by name)
    old.done()
    assert contentviews.registry[VIEW] is new.view
    new.done()
    assert VIEW not in contentviews.registry
