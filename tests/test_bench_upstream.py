"""The bench's fake Responses server repeats the request's settings in its response objects, as the
recorded OpenAI and OpenRouter streams do: a proxy that rewrites those objects is timed reading
and writing what a real server sends (with Codex's own request, ~20 KB an event)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scripts.benchmark.answers import ECHOED, sse_data
from scripts.benchmark.client import codex_payload, fetch, responses_payload
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
