"""Fallbacks with the real Codex CLI: a slug whose own provider is down is served by its
fallback on another provider shape; the dead provider is tried once, then skipped while it
cools down; each attempt is a flow of its own."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest

from tests.fakes.anthropic_upstream import API_KEY as CLAUDE_KEY
from tests.fakes.chat_upstream import API_KEY as CHAT_KEY
from tests.fakes.chat_upstream import USAGE, ScriptedChatModel, chat_upstream, chunk, sse
from tests.fakes.http_server import FakeServer, Reply
from tests.harness import Mitmdump, free_port, run_codex

pytestmark = pytest.mark.e2e

OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def dead_anthropic(status: int) -> FakeServer:
    return FakeServer(lambda path, headers, body: Reply.json(status, OVERLOADED))


def routes(dead_url: str, chat_url: str, **extra: object) -> list[dict[str, object]]:
    return [
        {"model": "claude-main", "provider": "anthropic", "base_url": f"{dead_url}/v1", "api_key": CLAUDE_KEY,
         "fallbacks": ["chat-backup"], **extra},
        {"model": "chat-backup", "provider": "generic-chat-completion-api", "base_url": f"{chat_url}/v1", "api_key": CHAT_KEY},
    ]


@pytest.mark.parametrize("status", [529, 503])
def test_a_dead_provider_is_tried_once_and_its_fallback_finishes_the_tool_loop(tmp_path: Path, status: int) -> None:
    model = ScriptedChatModel()
    flows = tmp_path / "flows.mitm"
    with dead_anthropic(status) as dead, chat_upstream(model) as backup, \
            Mitmdump(tmp_path, routes(dead.base_url, backup.base_url), ["-w", str(flows)]) as proxy:
        result = run_codex(proxy, tmp_path / "home", "claude-main", "Run the marker command and tell me its output.")
        log = proxy.output()
    assert result.returncode == 0, result.stderr[-3000:]
    assert "marker-42" in result.stdout  # the tool loop ran to its end on the fallback
    assert model.errors == []
    assert len(dead.requests) == 1, "the dead provider is skipped while it cools down"
    assert len(backup.requests) == 2
    assert "claude-main failed before answering" in log and "trying chat-backup" in log
    assert CLAUDE_KEY.encode() not in flows.read_bytes() and CHAT_KEY.encode() not in flows.read_bytes()


def test_when_every_route_fails_codex_gets_the_last_error(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens: a connect error
    with dead_anthropic(529) as dead, Mitmdump(tmp_path, routes(dead.base_url, f"http://127.0.0.1:{closed}")) as proxy:
        answer = ask(proxy, "claude-main")
    assert answer.startswith("HTTP/1.1 200"), answer[:200]
    failed = [json.loads(line[6:]) for line in answer.splitlines() if line.startswith("data: ")][-1]
    assert failed["type"] == "response.failed"
    assert failed["response"]["error"]["code"] == "upstream_connection_error"
    assert len(dead.requests) == 1


def test_a_provider_that_answers_is_never_abandoned_for_its_fallback(tmp_path: Path) -> None:
    model = ScriptedChatModel()
    with chat_upstream(model) as primary, chat_upstream(ScriptedChatModel()) as backup:
        table = [
            {"model": "main", "provider": "generic-chat-completion-api", "base_url": f"{primary.base_url}/v1",
             "api_key": CHAT_KEY, "fallbacks": ["backup"]},
            {"model": "backup", "provider": "generic-chat-completion-api", "base_url": f"{backup.base_url}/v1", "api_key": CHAT_KEY},
        ]
        with Mitmdump(tmp_path, table) as proxy:
            result = run_codex(proxy, tmp_path / "home", "main", "Run the marker command and tell me its output.")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "marker-42" in result.stdout
    assert len(primary.requests) == 2 and backup.requests == []


def ask(proxy: Mitmdump, model: str, filler: int = 0) -> str:
    """One plain-HTTP Responses call through the proxy (api.openai.com is routed over http too):
    the status line and the body, de-chunked."""
    body = json.dumps({"model": model, "input": "hi " + "x" * filler, "stream": True}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=20)
    try:
        conn.request("POST", "http://api.openai.com/v1/responses", body, {"content-type": "application/json"})
        answer = conn.getresponse()
        return f"HTTP/1.1 {answer.status}\r\n" + answer.read().decode("utf-8", "replace")
    finally:
        conn.close()


def test_a_big_request_through_the_relay_keeps_the_end_of_its_answer(tmp_path: Path) -> None:
    answer = sse([chunk({"content": f"word{i} "}) for i in range(300)] + [chunk(finish="stop"), chunk(usage=USAGE)])
    with FakeServer(lambda path, headers, body: Reply(200, [answer], delay=0)) as primary:  # fast: it ends as the relay closes
        table = [
            {"model": "main", "provider": "generic-chat-completion-api", "base_url": f"{primary.base_url}/v1",
             "api_key": CHAT_KEY, "fallbacks": ["backup"]},
            {"model": "backup", "provider": "generic-chat-completion-api", "base_url": f"{primary.base_url}/v1", "api_key": CHAT_KEY},
        ]
        with Mitmdump(tmp_path, table) as proxy:
            answers = [ask(proxy, "main", filler=1_000_000) for _ in range(3)]
    for text in answers:
        last = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")][-1]
        assert last["type"] == "response.completed", text[-300:]
    assert len(primary.requests) == 3  # each turn once, on the primary
