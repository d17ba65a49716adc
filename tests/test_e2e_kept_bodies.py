"""A BYOK stream is kept only where someone can see it: plain mitmdump forwards it and keeps
nothing; with `-w` the saved flow carries the Responses stream Codex received.

A probe addon loaded after ours reads what is left on each flow once every hook ran (the
translated stream is put on the flow in the Router's `response` hook)."""

from __future__ import annotations

import http.client
import json
from pathlib import Path

import pytest
from mitmproxy import io

from tests.fakes.responses_upstream import API_KEY, ScriptedResponsesModel, responses_upstream
from tests.harness import Mitmdump, free_port

pytestmark = pytest.mark.e2e

SLUG = "byok-kept"
PROBE = '''
from pathlib import Path
from mitmproxy import ctx

class KeptProbe:
    def load(self, loader):
        loader.add_option("kept_probe_out", str, "", "where the body sizes go")

    def response(self, flow):
        if "codex_shim" in flow.metadata and flow.metadata["codex_shim"].get("route") == "SLUG":
            with Path(ctx.options.kept_probe_out).open("a") as out:
                out.write(f"{len(flow.response.raw_content or b'')}\\n")

addons = [KeptProbe()]
'''.replace("SLUG", SLUG)


def one_turn(tmp_path: Path, extra: list[str]) -> tuple[bytes, list[int]]:
    """One BYOK turn through mitmdump with `extra` options: what Codex got, and the probe's sizes."""
    probe, sizes = tmp_path / "probe.py", tmp_path / "sizes.txt"
    probe.write_text(PROBE)
    host = f"127.0.0.1:{free_port()}"  # stands in for api.openai.com: the addon answers
    with responses_upstream(ScriptedResponsesModel()) as upstream:
        route = {"model": SLUG, "provider": "responses", "base_url": f"{upstream.base_url}/v1", "api_key": API_KEY}
        args = ["--set", f"codex_shim_hosts={host}", "-s", str(probe), "--set", f"kept_probe_out={sizes}", *extra]
        with Mitmdump(tmp_path, [route], args) as proxy:
            conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
            try:
                body = {"model": SLUG, "input": [{"type": "message", "role": "user", "content": "hello"}], "stream": True}
                conn.request("POST", f"http://{host}/v1/responses", body=json.dumps(body), headers={"content-type": "application/json"})
                answer = conn.getresponse().read()
            finally:
                conn.close()
    return answer, [int(line) for line in sizes.read_text().split()]


def test_plain_mitmdump_forwards_a_byok_stream_and_keeps_none_of_it(tmp_path: Path) -> None:
    answer, sizes = one_turn(tmp_path, [])
    assert b"event: response.completed" in answer  # Codex got the whole stream
    assert sizes == [0]  # and nothing of it stayed on the flow


def test_a_saved_byok_flow_carries_the_stream_codex_received(tmp_path: Path) -> None:
    saved = tmp_path / "flows.mitm"
    answer, sizes = one_turn(tmp_path, ["-w", str(saved)])
    assert sizes and sizes[0] > 0
    with saved.open("rb") as file:
        flows = [f for f in io.FlowReader(file).stream() if f.metadata.get("codex_shim", {}).get("route") == SLUG]
    assert len(flows) == 1
    kept = flows[0].response.raw_content or b""
    assert b"event: response.completed" in kept and kept == answer  # the translated stream, as Codex got it
