"""The bench's fake Responses server repeats the request's settings in its response objects, as the
recorded OpenAI and OpenRouter streams do: a proxy that rewrites those objects is timed reading
and writing what a real server sends (with Codex's own request, ~20 KB an event)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scripts.benchmark.answers import ECHOED, sse_data
from scripts.benchmark.client import codex_payload, fetch, provider_payload, responses_payload
from scripts.benchmark.upstream import FakeUpstream

CORPUS = Path(__file__).parent / "corpus"


def response_objects(body: bytes) -> dict[str, dict[str, Any]]:
    events = [json.loads(data) for data in sse_data(body) if data.startswith("{")]  # (a recording may end with [DONE])
    return {e["type"]: e["response"] for e in events if "response" in e}


def test_recorded_servers_repeat_the_requests_settings_in_every_response_object() -> None:
    """The reference the fake follows: these keys are in each recorded object."""
    for name in ("openai/responses-function-call.sse", "openrouter/responses-reasoning-text.sse"):
        objects = response_objects((CORPUS / name).read_bytes())
        assert {"response.created", "response.in_progress"} <= set(objects), name
        for kind, response in objects.items():
            assert {"tools", "instructions", "tool_choice", "parallel_tool_calls"} <= set(response), (name, kind)


def test_the_fake_repeats_each_requests_own_settings() -> None:
    with FakeUpstream() as upstream:
        for payload in (codex_payload("bench-model", 3, 0), responses_payload("bench-model", 3, 0), codex_payload("bench-model", 3, 0)):
            answer = fetch(upstream.port, "/v1/responses", upstream.host, payload, b"response.output_text.delta", timeout=10)
            assert answer.problem(3) is None
            request = json.loads(payload)
            echo = {k: request[k] for k in ECHOED if k in request}
            assert "tools" in echo and "tool_choice" in echo
            objects = response_objects(answer.body)
            assert set(objects) == {"response.created", "response.in_progress", "response.completed"}
            for response in objects.values():
                assert {k: response.get(k) for k in echo} == echo


def test_the_fakes_openrouter_shape_is_the_same_answer_without_event_names() -> None:
    """OpenRouter's recorded Responses stream names no event (its data says the type, first); the
    fake's "openrouter" shape, served under a /data-only base URL, is its "responses" answer so."""
    recorded = (CORPUS / "openrouter" / "responses-reasoning-text.sse").read_bytes()
    assert b"\nevent:" not in recorded and b'data: {"type":"response.created",' in recorded
    with FakeUpstream() as upstream:
        answers = {}
        for shape in ("responses", "openrouter"):
            path, payload = provider_payload(shape, 3, 0)
            answers[shape] = fetch(upstream.port, path, upstream.host, payload, b"response.output_text.delta", timeout=10).body
            assert [json.loads(data)["type"] for data in sse_data(answers[shape])].count("response.output_text.delta") == 3
    assert b"event:" in answers["responses"] and b"event:" not in answers["openrouter"]
    assert sse_data(answers["openrouter"]) == sse_data(answers["responses"])
    assert all(data.startswith('{"type":"') for data in sse_data(answers["openrouter"]))
