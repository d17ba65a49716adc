"""Fault matrix: a real mitmdump with the addon against a fake chat provider that misbehaves.

Whatever the upstream does, Codex must get either a whole answer or an error it understands —
never a truncated answer that looks finished, never a hang, never a key.
"""

from __future__ import annotations

import gzip
import http.client
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shim import carrier
from tests.fakes.chat_upstream import USAGE, chunk, sse
from tests.fakes.http_server import FakeServer, Reply, ragged
from tests.harness import Mitmdump, free_port
from tests.responses_grammar import parse_checked

pytestmark = pytest.mark.e2e

KEY = "sk-fault-matrix-secret-key"
GOOD = sse([chunk({"role": "assistant", "content": ""}), *[chunk({"content": w}) for w in ("Hé", "llo ", "wörld")],
            chunk(finish="stop"), chunk(usage=USAGE)])
EVENT_ENDS = [i + 2 for i in range(len(GOOD) - 1) if GOOD[i : i + 2] == b"\n\n"]
# Once finish_reason arrived the answer is whole (a missing usage chunk or [DONE] is tolerated).
BEFORE_FINISH = [end for end in EVENT_ENDS if b'"finish_reason": "stop"' not in GOOD[:end]]
stop_hanging = threading.Event()
abandoned = threading.Event()  # set when the upstream notices its reader went away


def misbehave(path: str, headers: dict[str, str], body: bytes) -> Reply:
    fault = json.loads(body)["model"]
    if fault == "ok":
        return Reply(200, ragged(GOOD))
    if fault.startswith("cut-"):
        return Reply(200, [GOOD[: int(fault[4:])]], cut=True)
    if fault.startswith("early-end-"):
        return Reply(200, [GOOD[: int(fault[10:])]])
    if fault == "429":
        return Reply.json(429, {"error": {"message": "Rate limit reached for fake-model on tokens per min.", "type": "tokens",
            "code": "rate_limit_exceeded"}}, {"retry-after": "7"})
    if fault == "500":
        return Reply.json(500, {"error": {"message": "The server had an error while processing your request.", "type": "server_error"}})
    if fault == "529":
        return Reply.json(529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    if fault == "402":
        return Reply.json(402, {"error": {"message": "Insufficient Balance", "type": "unknown_error"}})
    if fault == "400-context":
        return Reply.json(400,
            {"error": {"message": "This model's maximum context length is 65536 tokens. However, you requested 90000 tokens.",
                "type": "invalid_request_error", "code": "context_length_exceeded"}})
    if fault == "404":
        return Reply.json(404, {"error": {"message": "The model `fake-404` does not exist", "type": "invalid_request_error",
            "code": "model_not_found"}})
    if fault == "401":
        return Reply.json(401, {"error": {"message": "Authentication Fails, Your api key is invalid", "type": "authentication_error"}})
    if fault == "bad-json-event":
        return Reply(200, [GOOD[: EVENT_ENDS[1]], b"data: {not json\n\n", GOOD[EVENT_ENDS[1] :]])
    if fault == "html":
        return Reply(200, [b"<html>Bad gateway</html>"], content_type="text/html")
    if fault == "deep-error":  # nested deeper than Python's json reads (RecursionError, not ValueError)
        return Reply(400, [b'{"error": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"], content_type="application/json")
    if fault == "empty":
        return Reply(200, [], content_type="application/json")
    if fault == "gzip":
        return Reply(200, [gzip.compress(GOOD)], headers={"content-encoding": "gzip"})
    if fault == "json-answer":
        answer = {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant",
            "content": "whole answer"}, "finish_reason": "stop"}], "usage": USAGE}
        return Reply.json(200, answer)
    if fault == "endless":
        def endless() -> Iterator[bytes]:
            yield GOOD[: EVENT_ENDS[1]]
            try:
                for _ in range(400):  # bounded: 20 s at most
                    time.sleep(0.05)
                    yield b'data: {"choices":[{"index":0,"delta":{"content":"more "}}]}\n\n'
            finally:
                abandoned.set()  # the generator is closed when a write fails: the proxy hung up
        return Reply(200, endless(), delay=0)
    if fault == "hang":
        def pieces() -> Iterator[bytes]:
            yield GOOD[: EVENT_ENDS[1]]
            stop_hanging.wait(20)  # bounded: the test releases us, or 20 s pass
        return Reply(200, pieces())
    raise AssertionError(fault)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mitmdump, FakeServer]]:
    work = tmp_path_factory.mktemp("faults")
    faults = ["ok", "429", "500", "529", "402", "400-context", "401", "404", "bad-json-event", "html", "deep-error", "empty", "gzip",
              "json-answer", "hang", "endless", *[f"cut-{n}" for n in EVENT_ENDS[:-1]], *[f"early-end-{n}" for n in BEFORE_FINISH]]
    with FakeServer(misbehave) as upstream:
        models = [{"model": f"byok-{f}", "provider": "generic-chat-completion-api", "base_url": f"{upstream.base_url}/v1",
                   "api_key": KEY, "upstream_model": f} for f in faults]
        models.append({"model": "byok-down", "provider": "generic-chat-completion-api",
                       "base_url": f"http://127.0.0.1:{free_port()}/v1", "api_key": KEY})
        models.append({"model": "byok-buggy", "provider": "ollama", "api_key": KEY})  # see broken_provider.py
        saved = work / "flows.mitm"
        with Mitmdump(work, models, ["--set", "codex_shim_idle_timeout=2", "--set", f"codex_shim_hosts=127.0.0.1:{free_port()}",
                                     "-w", str(saved), "-s", str(Path(__file__).parent / "fakes" / "broken_provider.py")]) as mitm:
            yield mitm, upstream
        stop_hanging.set()
    assert KEY not in mitm.output()
    assert b"/v1/chat/completions" in saved.read_bytes() and KEY.encode() not in saved.read_bytes()  # errors too


def ask(proxy: Mitmdump, model: str, path: str = "/v1/responses", body: str | None = None,
        headers: dict[str, str] | None = None) -> tuple[int, bytes, bool]:
    """POST a Responses request through the proxy; (status, body, whether the body arrived whole)."""
    target = proxy.args[proxy.args.index("--set", proxy.args.index("codex_shim_idle_timeout=2")) + 1].split("=")[1]
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
    if body is None:
        body = json.dumps({"model": model, "stream": True, "input": "hi", "instructions": "be brief"})
    sent = {"content-type": "application/json", "authorization": "Bearer sk-codex-own", **(headers or {})}
    conn.request("POST", f"http://{target}{path}", body=body, headers=sent)
    resp = conn.getresponse()
    try:
        data, whole = resp.read(), True
    except http.client.IncompleteRead as exc:
        data, whole = exc.partial, False
    conn.close()
    assert KEY.encode() not in data
    return resp.status, data, whole


def events(data: bytes) -> list[dict[str, Any]]:
    """The events Codex got, SDK- and grammar-checked like every translator's output."""
    return parse_checked(data)


def last_event(data: bytes) -> dict[str, Any]:
    return events(data)[-1]


def test_a_good_stream_completes(proxy: tuple[Mitmdump, FakeServer]) -> None:
    status, data, whole = ask(proxy[0], "byok-ok")
    assert status == 200 and whole
    done = [e for e in events(data) if e["type"] == "response.output_item.done"]
    assert done[0]["item"]["content"][0]["text"] == "Héllo wörld"
    assert last_event(data)["type"] == "response.completed"


@pytest.mark.parametrize("cut", EVENT_ENDS[:-1])
def test_a_stream_cut_at_any_event_boundary_never_completes(proxy: tuple[Mitmdump, FakeServer], cut: int) -> None:
    status, data, whole = ask(proxy[0], f"byok-cut-{cut}")
    assert b"response.completed" not in data
    assert not whole or last_event(data)["type"] == "response.failed"


@pytest.mark.parametrize("end", BEFORE_FINISH)
def test_a_stream_that_ends_early_fails_instead_of_completing(proxy: tuple[Mitmdump, FakeServer], end: int) -> None:
    status, data, whole = ask(proxy[0], f"byok-early-end-{end}")
    assert b"response.completed" not in data
    final = last_event(data)
    assert final["type"] == "response.failed"
    assert final["response"]["error"]["code"] == "stream_truncated"


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [
        ("429", "rate_limit_exceeded", ["Rate limit reached for fake-model", "try again in 7s", "fake-model"]),
        ("500", "server_error", ["The server had an error"]),
        ("529", "server_is_overloaded", ["Overloaded"]),
        ("402", "insufficient_quota", ["Insufficient Balance"]),
        ("400-context", "context_length_exceeded", ["maximum context length is 65536"]),
        ("bad-json-event", "upstream_protocol_error", ["could not translate"]),
        ("html", "upstream_protocol_error", ["unreadable answer"]),
        ("empty", "upstream_protocol_error", ["unreadable answer"]),
    ],
)
def test_upstream_failures_become_response_failed_with_the_providers_words(
    proxy: tuple[Mitmdump, FakeServer], fault: str, code: str, words: list[str]
) -> None:
    status, data, whole = ask(proxy[0], f"byok-{fault}")
    assert status == 200 and whole
    final = last_event(data)
    assert final["type"] == "response.failed"
    error = final["response"]["error"]
    assert error["code"] == code
    for word in words:
        assert word in error["message"]


def test_a_rejected_byok_key_is_shown_not_taken_for_codexs_own_login(proxy: tuple[Mitmdump, FakeServer]) -> None:
    status, data, whole = ask(proxy[0], "byok-401")
    assert status == 400  # a 401 would make Codex refresh its ChatGPT login and drop the message
    error = json.loads(data)["error"]
    assert error["code"] == "invalid_api_key"
    assert "Your api key is invalid" in error["message"] and "generic-chat-completion-api" in error["message"]


def test_a_plain_4xx_keeps_its_status_and_message(proxy: tuple[Mitmdump, FakeServer]) -> None:
    status, data, whole = ask(proxy[0], "byok-404")
    assert status == 404
    error = json.loads(data)["error"]
    assert "The model `fake-404` does not exist" in error["message"] and "fake-404" in error["message"]


@pytest.mark.parametrize("fault", ["gzip", "json-answer"])
def test_compressed_and_non_streamed_answers_are_translated(proxy: tuple[Mitmdump, FakeServer], fault: str) -> None:
    status, data, whole = ask(proxy[0], f"byok-{fault}")
    assert status == 200 and whole
    assert last_event(data)["type"] == "response.completed"
    assert b"response.output_text.delta" in data


def test_a_silent_upstream_is_cut_after_the_idle_timeout(proxy: tuple[Mitmdump, FakeServer]) -> None:
    status, data, whole = ask(proxy[0], "byok-hang")  # the proxy cuts after 2 s of silence
    assert not whole and b"response.completed" not in data
    assert "sent nothing for 2s" in proxy[0].output()


def test_an_unreachable_upstream_is_an_error_not_a_hang(proxy: tuple[Mitmdump, FakeServer]) -> None:
    status, data, whole = ask(proxy[0], "byok-down")
    assert status >= 500


def test_the_legacy_compact_endpoint_answers_with_a_compaction_item(proxy: tuple[Mitmdump, FakeServer]) -> None:
    status, data, whole = ask(proxy[0], "byok-ok", "/v1/responses/compact")
    assert status == 200 and whole
    (item,) = json.loads(data)["output"]
    assert item["type"] == "compaction"
    assert carrier.unwrap("compaction", item["encrypted_content"]) == {"summary": "Héllo wörld"}


def test_when_codex_goes_away_the_upstream_is_closed_and_other_flows_go_on(proxy: tuple[Mitmdump, FakeServer]) -> None:
    mitm = proxy[0]
    target = mitm.args[mitm.args.index("--set", mitm.args.index("codex_shim_idle_timeout=2")) + 1].split("=")[1]
    conn = http.client.HTTPConnection("127.0.0.1", mitm.port, timeout=30)
    conn.request("POST", f"http://{target}/v1/responses", body=json.dumps({"model": "byok-endless", "input": "hi", "stream": True}),
                 headers={"content-type": "application/json"})
    resp = conn.getresponse()
    assert b"response.output_text.delta" in resp.read1(65536) + resp.read1(65536)
    # While that stream runs, another flow is served in full.
    status, data, whole = ask(mitm, "byok-ok")
    assert whole and last_event(data)["type"] == "response.completed"
    assert not abandoned.is_set()
    conn.close()  # Codex goes away mid-answer
    assert abandoned.wait(10), "the upstream kept streaming into the void"


def test_an_addon_bug_becomes_response_failed_and_the_proxy_keeps_serving(proxy: tuple[Mitmdump, FakeServer]) -> None:
    status, data, whole = ask(proxy[0], "byok-buggy")
    final = last_event(data)
    assert status == 200 and final["type"] == "response.failed"
    assert "internal error" in final["response"]["error"]["message"] and "simulated addon bug" in final["response"]["error"]["message"]
    status, data, whole = ask(proxy[0], "byok-ok")
    assert last_event(data)["type"] == "response.completed"


def test_a_request_the_route_cannot_translate_gets_a_clear_400(proxy: tuple[Mitmdump, FakeServer]) -> None:
    body = json.dumps({"model": "byok-ok", "input": [{"type": "mystery_item", "x": 1}]})
    status, data, whole = ask(proxy[0], "byok-ok", body=body)
    assert status == 400
    assert "mystery_item" in json.loads(data)["error"]["message"]


def test_a_malformed_body_for_a_byok_model_gets_a_clear_400(proxy: tuple[Mitmdump, FakeServer]) -> None:
    status, data, whole = ask(proxy[0], "byok-ok", body="{not json", headers={"x-codex-turn-metadata": json.dumps({"model": "byok-ok"})})
    assert status == 400
    assert "not valid JSON" in json.loads(data)["error"]["message"]


def test_a_body_nested_too_deeply_gets_a_clear_400_and_goes_nowhere(proxy: tuple[Mitmdump, FakeServer]) -> None:
    body = '{"model": "byok-ok", "stream": true, "input": ' + "[" * 100_000 + "]" * 100_000 + "}"
    status, data, whole = ask(proxy[0], "byok-ok", body=body, headers={"x-codex-turn-metadata": json.dumps({"model": "byok-ok"})})
    assert status == 400  # passed on, it would have met the closed port codex_shim_hosts names: 502
    assert "nested deeper than codex-shim can read" in json.loads(data)["error"]["message"]


def test_a_providers_error_nested_too_deeply_reaches_codex_as_an_error_it_reads(proxy: tuple[Mitmdump, FakeServer]) -> None:
    status, data, whole = ask(proxy[0], "byok-deep-error")
    assert status == 400 and whole
    error = json.loads(data)["error"]
    assert error["code"] == "upstream_error" and "answered 400" in error["message"]


def test_a_lone_surrogate_in_codexs_request_still_reaches_the_provider(proxy: tuple[Mitmdump, FakeServer]) -> None:
    body = '{"model": "byok-ok", "stream": true, "input": "bad \\ud800 text"}'  # valid JSON, not valid UTF-8 text
    status, data, whole = ask(proxy[0], "byok-ok", body=body)
    assert status == 200 and last_event(data)["type"] == "response.completed"
