"""A `responses` route never forwards the fields only OpenAI's own backend takes.

Codex 0.171 knows three optional top-level request fields besides those it always sends
(`access_programs`, `prompt_cache_options`, and `request_country`, new in 0.171; see
docs/codex-protocol.md). They were absent from the requests we captured, but Codex fills them in
when its config or the model catalog asks for them, and servers that speak /v1/responses
themselves refuse unknown fields with a 400 naming the field — as the fake upstream here does."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.http_server import FakeServer
from tests.fakes.responses_upstream import API_KEY, ScriptedResponsesModel, responses_upstream
from tests.harness import Mitmdump, free_port
from tests.responses_grammar import check_one_terminal_last, relayed_events

pytestmark = pytest.mark.e2e

FIXTURE = Path(__file__).parent / "fixtures" / "codex" / "codex-0.171-responses-request.json"
SLUG = "byok-strict-responses"
# Plausible values: a server that refuses the key does not look at what it holds.
OPENAI_ONLY_FIELDS: dict[str, Any] = {
    "access_programs": {"cyber": {"enabled": True}},
    "prompt_cache_options": {"mode": "implicit", "ttl": "30m"},
    "request_country": "US",
}

Proxy = tuple[Mitmdump, FakeServer, ScriptedResponsesModel, str]


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    model = ScriptedResponsesModel()  # strict: refuses unknown top-level fields, as OpenRouter, vLLM... do
    host = f"127.0.0.1:{free_port()}"  # stands in for api.openai.com: the addon answers, nothing listens
    with responses_upstream(model) as upstream:
        route = {"model": SLUG, "provider": "responses", "base_url": f"{upstream.base_url}/v1", "api_key": API_KEY}
        with Mitmdump(tmp_path_factory.mktemp("strict"), [route], ["--set", f"codex_shim_hosts={host}"]) as proxy:
            yield proxy, upstream, model, host


def post(proxy: Mitmdump, host: str, body: dict[str, Any]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
    try:
        conn.request("POST", f"http://{host}/v1/responses", body=json.dumps(body),
                     headers={"content-type": "application/json", "authorization": "Bearer sk-codex-own",
                              "accept-encoding": "zstd,gzip"})  # as Codex 0.171 asks
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def completed(data: bytes) -> bool:
    """The relayed stream (the upstream's own events, unchecked) ends in one response.completed."""
    kinds = [event.get("type") for event in relayed_events(data)]
    check_one_terminal_last(kinds)
    return kinds[-1] == "response.completed"


def codex_request(**extra: Any) -> dict[str, Any]:
    """The real 0.171 request (first turn of `codex exec`), for the strict route, plus `extra`."""
    return {**json.loads(FIXTURE.read_text()), "model": SLUG, **extra}


def test_the_real_0171_request_reaches_a_strict_responses_server(strict: Proxy) -> None:
    proxy, upstream, model, host = strict
    before = len(upstream.requests)
    status, data = post(proxy, host, codex_request())
    assert model.errors == []
    assert status == 200 and completed(data)
    assert upstream.requests[before]["headers"]["accept-encoding"] == "identity"  # not Codex's zstd,gzip


@pytest.mark.parametrize("field", sorted(OPENAI_ONLY_FIELDS))
def test_a_responses_route_never_forwards_openai_only_fields(strict: Proxy, field: str) -> None:
    proxy, upstream, model, host = strict
    before, errors = len(upstream.requests), len(model.errors)
    status, data = post(proxy, host, codex_request(**{field: OPENAI_ONLY_FIELDS[field]}))
    assert model.errors[errors:] == [], f"the upstream refused the request: {model.errors[errors:]}"
    sent = json.loads(upstream.requests[before]["body"])
    assert field not in sent
    assert status == 200 and completed(data)
