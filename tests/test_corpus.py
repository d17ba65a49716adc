"""Every real recorded provider stream in tests/corpus, through its translator, in several
chunkings: the Responses events Codex gets pass the grammar and the openai SDK's types, do not
depend on how the bytes were split, and keep the provider's content (text, reasoning, tool
calls, usage) exactly. The expected facts in manifest.json were read off the recordings by
tests/corpus/extract_expectations.py, independently of the translators."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from shim import carrier
from shim.config import ModelRoute
from shim.providers import PROVIDERS
from tests.responses_grammar import (
    EVENT_ADAPTER,
    check_one_terminal_last,
    decode,
    done_items,
    normalise,
    of_type,
    parse_checked,
    types,
)

CORPUS = Path(__file__).parent / "corpus"
ENTRIES: list[dict[str, Any]] = json.loads((CORPUS / "manifest.json").read_text())
PROVIDER_OF_SHAPE = {"chat": "generic-chat-completion-api", "anthropic": "anthropic", "responses": "responses"}
TERMINAL_OF_STOP = {
    "stop": "response.completed", "tool_calls": "response.completed", "end_turn": "response.completed",
    "tool_use": "response.completed", "completed": "response.completed", "pause_turn": "response.completed",
    "length": "response.incomplete", "max_tokens": "response.incomplete", "failed": "response.failed",
}


def chunkings(raw: bytes) -> dict[str, list[bytes]]:
    rng = random.Random(len(raw))
    cuts = sorted(rng.sample(range(1, len(raw)), min(40, len(raw) - 1)))
    return {
        "whole": [raw],
        "bytes": [raw[i : i + 1] for i in range(len(raw))],
        "lines": raw.splitlines(keepends=True),
        "random": [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)],
    }


def translate(entry: dict[str, Any], pieces: list[bytes]) -> bytes:
    shape = entry["shape"]
    route = ModelRoute(model="corpus-slug", provider=PROVIDER_OF_SHAPE[shape], base_url="http://127.0.0.1:1/v1")
    upstream = PROVIDERS[route.provider].build({"model": "corpus-slug", "input": "hi"}, route, "sk-test")
    translator = upstream.new_translator()
    return b"".join(translator.feed(piece) for piece in pieces if piece) + translator.feed(b"")


def events_of(entry: dict[str, Any], out: bytes) -> list[dict[str, Any]]:
    if entry["shape"] != "responses":
        return parse_checked(out)
    # Relayed as the upstream sent them: SDK-valid where the upstream was, one terminal event last.
    events = [json.loads(data) for _, data in decode(out)]
    check_one_terminal_last(types(events))
    for event in events:
        if event["type"].startswith("response.") and event["type"] != "response.failed":
            EVENT_ADAPTER.validate_python(event)  # the upstream's own event, as the SDK types it
    return events


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_a_recorded_stream_gives_the_same_events_however_it_is_split(entry: dict[str, Any]) -> None:
    raw = (CORPUS / entry["file"]).read_bytes()
    outputs = {name: events_of(entry, translate(entry, pieces)) for name, pieces in chunkings(raw).items()}
    whole = normalise(outputs["whole"])
    for name, events in outputs.items():
        assert normalise(events) == whole, f"{name} chunking changed the events"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_a_recorded_stream_keeps_the_providers_content(entry: dict[str, Any]) -> None:
    expect = entry["expect"]
    events = events_of(entry, translate(entry, [(CORPUS / entry["file"]).read_bytes()]))
    terminal = events[-1]
    stop = "failed" if expect.get("errors") else expect.get("stop")
    assert terminal["type"] == TERMINAL_OF_STOP[stop], f"{stop} ended as {terminal['type']}"
    if terminal["type"] == "response.failed":
        message = terminal["response"]["error"]["message"]
        assert any(str(error.get("message", "")) in message or error.get("code") == terminal["response"]["error"]["code"]
                   for error in expect["errors"]), message
        return
    text = "".join(e["delta"] for e in of_type(events, "response.output_text.delta"))
    assert text == expect.get("text", "")
    reasoning = "".join(e["delta"] for e in events if e["type"] in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"))
    assert reasoning == expect.get("reasoning", "")
    calls = [item for item in done_items(events) if item["type"] == "function_call"]
    client_calls = [c for c in expect.get("tool_calls", []) if c.get("kind", "tool_use") == "tool_use"]
    assert [(c["name"], c["arguments"]) for c in calls] == [(c["name"], c["arguments"] or "{}") for c in client_calls]
    for call, wanted in zip(calls, client_calls, strict=True):
        assert call["call_id"] == wanted.get("id", wanted.get("call_id"))
    check_searches(entry["shape"], expect, done_items(events))
    check_usage(entry["shape"], expect.get("usage"), terminal["response"]["usage"])
    if expect.get("reasoning_signatures") or expect.get("thinking_signatures"):
        carried = json.dumps([carrier.unwrap(kind, item.get("encrypted_content")) for item in done_items(events)
                              if item["type"] == "reasoning" for kind in ("chat", "anthropic")])
        assert '"signature": ""' not in carried and '"signature": "' in carried, "the signature goes back to the provider"


def check_searches(shape: str, expect: dict[str, Any], items: list[dict[str, Any]]) -> None:
    """Each search the provider ran is a web_search_call with its query and pages; citations are url_citations.
    A chat stream (OpenRouter) names no query: one search with the cited pages, and any other counted search without."""
    searches = [item for item in items if item["type"] == "web_search_call"]
    got = [(s["action"]["query"], len(s["action"]["sources"]) if s["status"] == "completed" else s["status"]) for s in searches]
    status = {"no result": "incomplete"}
    wanted = [(w["query"], w["results"] if isinstance(w["results"], int) else status.get(w["results"], "failed"))
              for w in expect.get("web_searches", [])]
    if shape == "chat":
        cited, counted = len(expect.get("cited_urls", [])), expect.get("web_search_requests", 0)
        wanted = ([("", cited)] if cited else []) + [("", 0)] * (counted - (1 if cited else 0))
    assert got == wanted
    cited = {a["url"] for item in items if item["type"] == "message" for part in item["content"] for a in part["annotations"]}
    assert cited == set(expect.get("cited_urls", []))


def check_usage(shape: str, wanted: dict[str, int] | None, usage: dict[str, Any]) -> None:
    """Usage as Codex counts it (README, "Usage"): output includes reasoning, total = input + output."""
    if not wanted:
        return
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["output_tokens_details"]["reasoning_tokens"] <= usage["output_tokens"]
    if shape == "chat":
        assert usage["input_tokens"] == wanted["prompt_tokens"]
        total = max(wanted["total_tokens"], wanted["prompt_tokens"] + wanted["completion_tokens"])
        assert usage["total_tokens"] == total
    elif shape == "anthropic":
        assert usage["output_tokens"] == wanted["output_tokens"]
        assert usage["input_tokens"] >= wanted["input_tokens"]  # plus cache reads and writes
    else:
        assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (
            wanted["input_tokens"], wanted["output_tokens"], wanted["total_tokens"])
