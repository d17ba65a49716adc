"""mitmweb as a user sees it, through its own HTTP API (what the browser calls), after a real
Codex tool loop on a BYOK route: the BYOK flows stand out, both sides of every turn can be read
(Codex's request and the request that went upstream; the provider's raw stream and the
Responses stream Codex received), the content endpoint answers, and no key is anywhere."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.chat_upstream import API_KEY, ScriptedChatModel, chat_upstream
from tests.harness import Mitmdump, free_port, run_codex

pytestmark = pytest.mark.e2e

PASSWORD = "codex-shim-test-password"
BLUE, PURPLE = "\N{LARGE BLUE CIRCLE}", "\N{LARGE PURPLE CIRCLE}"


class Mitmweb(Mitmdump):
    """`mitmweb -s addons/codex_shim.py` with its web API on a free loopback port."""

    def __init__(self, workdir: Path, models: list[dict[str, Any]]) -> None:
        self.web_port = free_port()
        super().__init__(workdir, models, ["--set", f"web_port={self.web_port}", "--set", "web_open_browser=false",
                                           "--set", f"web_password={PASSWORD}"])
        self.args[0] = str(Path(sys.executable).parent / "mitmweb")

    def get(self, path: str) -> bytes:
        request = urllib.request.Request(f"http://127.0.0.1:{self.web_port}{path}", headers={"Authorization": f"Bearer {PASSWORD}"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the API, not through any proxy
        with opener.open(request, timeout=10) as answer:
            assert answer.status == 200, path
            return bytes(answer.read())


def test_mitmweb_shows_both_sides_of_every_byok_turn(tmp_path: Path) -> None:
    model = ScriptedChatModel()
    with chat_upstream(model) as upstream:
        route = {"model": "byok-chat", "provider": "generic-chat-completion-api", "base_url": f"{upstream.base_url}/v1",
                 "api_key": API_KEY, "prices": {"input": 1, "output": 2}}
        with Mitmweb(tmp_path, [route]) as web:
            result = run_codex(web, tmp_path / "home", "byok-chat", "Run the marker command and tell me its output.")
            assert result.returncode == 0, result.stderr[-3000:]
            listing = web.get("/flows")
            flows = json.loads(listing)
            byok = [f for f in flows if f["marked"] == BLUE]
            halves = [f for f in flows if f["marked"] == PURPLE]
            contents = {f["id"]: (web.get(f"/flows/{f['id']}/request/content.data"), web.get(f"/flows/{f['id']}/response/content.data"))
                        for f in byok + halves}
    assert len(byok) == 2 and len(halves) == 2, [(f["marked"], f["comment"]) for f in flows]  # two turns of the tool loop
    for flow in byok:
        assert flow["request"]["path"] == "/v1/chat/completions"
        assert "codex-shim: byok-chat -> generic-chat-completion-api" in flow["comment"]
        assert "first byte" in flow["comment"] and "in 1200 (cached 1000) out 34" in flow["comment"] and "$" in flow["comment"]
        sent_upstream, codex_got = contents[flow["id"]]
        assert json.loads(sent_upstream)["model"] == "byok-chat" and "messages" in json.loads(sent_upstream)
        assert b"event: response.completed" in codex_got  # the Responses stream Codex received
    for flow in halves:
        assert flow["request"]["path"].endswith("/responses") and "the request Codex sent" in flow["comment"]
        codex_sent, provider_said = contents[flow["id"]]
        assert "input" in json.loads(codex_sent)  # a Responses request, as Codex wrote it
        assert b'"chat.completion.chunk"' in provider_said and b"data: [DONE]" in provider_said  # the raw provider stream
    assert "marker-42" in b"".join(provider for _, provider in contents.values()).decode() or "marker-42" in result.stdout
    everything = listing + b"".join(a + b for a, b in contents.values())
    assert API_KEY.encode() not in everything  # the BYOK key is nowhere in mitmweb
    ours = json.dumps(byok + halves).encode() + b"".join(a + b for a, b in contents.values())
    assert b"sk-dummy-openai-key" not in ours  # nor Codex's own credential on the BYOK turns' flows
