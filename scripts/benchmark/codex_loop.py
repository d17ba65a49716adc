"""`scripts/bench --codex-loop`: the wall time of a real Codex CLI agent loop (a tool call, then the answer).

The same two-request loop against the same scripted model, three ways:
  direct     Codex talks to a local Responses server itself (a custom model provider, no proxy):
             the floor.
  API key    through mitmdump with the addon, the model routed to a local Chat Completions fake
             (Codex first tries its WebSocket; the proxy answers 426 so it falls back at once).
  ChatGPT    the same in ChatGPT-login mode (a synthetic login, a stand-in for chatgpt.com's
             account check and model catalog).
Every server is a test fake on 127.0.0.1; the Codex CLI comes from tests.harness (npm, cached).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.chatgpt_login import (
    bundled_catalog,
    chatgpt_backend,
    map_chatgpt_to,
    run_codex_chatgpt,
)
from tests.fakes.chat_upstream import API_KEY, ScriptedChatModel, chat_upstream
from tests.fakes.responses_upstream import ScriptedResponsesModel, responses_upstream
from tests.harness import Mitmdump, codex_binary, run_codex

PROMPT = "Run the marker command and tell me its output."
TIMEOUT = 120.0  # seconds one Codex run may take
Row = tuple[str, float, str]  # figure, median seconds, note


def _timed(run: Callable[[], subprocess.CompletedProcess[str]]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def _check(result: subprocess.CompletedProcess[str], marker: str, requests: int) -> None:
    """The loop must really have run: two requests to the model and the tool's output in the answer."""
    if result.returncode != 0 or marker not in result.stdout or requests != 2:
        raise RuntimeError(f"the Codex loop did not run as expected ({requests} requests):\n{result.stderr[-2000:]}")


def _direct(workdir: Path) -> float:
    """Codex against a local Responses server it is configured for: no proxy at all."""
    model = ScriptedResponsesModel(api_key="sk-direct", strict=False, total_tokens=True)
    home = workdir / "home"
    (home / "work").mkdir(parents=True, exist_ok=True)
    with responses_upstream(model) as server:
        (home / "config.toml").write_text(
            'model_provider = "direct"\n'
            "[model_providers.direct]\n"
            'name = "direct"\n'
            f'base_url = "{server.base_url}/v1"\n'
            'wire_api = "responses"\n'
            'env_key = "DIRECT_KEY"\n'
        )
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "CODEX_HOME": str(home),
               "DIRECT_KEY": "sk-direct", "RUST_LOG": "error"}
        elapsed, result = _timed(lambda: subprocess.run(
            [str(codex_binary()), "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
             "-C", str(home / "work"), "-m", "direct-model", PROMPT],
            check=False, capture_output=True, text=True, timeout=TIMEOUT, env=env, stdin=subprocess.DEVNULL,
        ))
    _check(result, "resp-42", len(server.requests))
    return elapsed


def _routes(base_url: str) -> list[dict[str, Any]]:
    return [{"model": "byok-chat", "provider": "generic-chat-completion-api", "base_url": f"{base_url}/v1", "api_key": API_KEY}]


def _api_key(workdir: Path) -> float:
    with chat_upstream(ScriptedChatModel()) as upstream, Mitmdump(workdir, _routes(upstream.base_url)) as proxy:
        elapsed, result = _timed(lambda: run_codex(proxy, workdir / "home", "byok-chat", PROMPT, timeout=TIMEOUT))
    _check(result, "marker-42", len(upstream.requests))
    return elapsed


def _chatgpt(workdir: Path, catalog: dict[str, Any]) -> float:
    with (
        chat_upstream(ScriptedChatModel()) as upstream,
        chatgpt_backend(catalog) as backend,
        Mitmdump(workdir, _routes(upstream.base_url), map_chatgpt_to(backend.port)) as proxy,
    ):
        elapsed, result = _timed(lambda: run_codex_chatgpt(proxy, workdir / "home", "byok-chat", PROMPT, timeout=TIMEOUT))
    _check(result, "marker-42", len(upstream.requests))
    return elapsed


def codex_loop(reps: int = 3) -> list[Row]:
    """(figure, median seconds, note) rows, the three ways interleaved `reps` times."""
    root = Path(tempfile.mkdtemp(prefix="codex-shim-loop-"))
    try:
        catalog = bundled_catalog(root / "bundled")
        runs: dict[str, list[float]] = {"direct": [], "api-key": [], "chatgpt": []}
        for rep in range(reps):
            runs["direct"].append(_direct(root / f"direct-{rep}"))
            runs["api-key"].append(_api_key(root / f"api-{rep}"))
            runs["chatgpt"].append(_chatgpt(root / f"chatgpt-{rep}", catalog))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    floor = statistics.median(runs["direct"])
    rows: list[Row] = [("Codex 2-request loop, direct (no proxy)", floor, "Codex -> local Responses server")]
    for name, label in (("api-key", "API-key mode"), ("chatgpt", "ChatGPT-login mode")):
        value = statistics.median(runs[name])
        rows.append((f"Codex 2-request loop via shim, {label}", value, f"ratio {value / floor:.2f} to direct; target < 2.5 s"))
    return rows
