"""What a new user sees at start, from real processes: the banner, a bad models.json, --version, web."""

from __future__ import annotations

import json
import subprocess
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness import ROOT, Mitmdump, free_port

pytestmark = pytest.mark.e2e

SHIM = ROOT / "scripts" / "shim"
ROUTE = {"model": "deepseek-chat", "provider": "generic-chat-completion-api", "base_url": "http://127.0.0.1:9/v1",
         "api_key_env": "CODEX_SHIM_TEST_UNSET_KEY"}


def wait_for(text: str, read: Callable[[], str], proc: subprocess.Popen[bytes] | None = None, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = read()
        if text in output:
            return output
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{text!r} not printed:\n{read()}")


def test_the_banner_follows_the_route_table_with_lines_to_paste(tmp_path: Path) -> None:
    with Mitmdump(tmp_path, [{**ROUTE, "base_ulr": "typo"}], env={"CODEX_SHIM_TEST_UNSET_KEY": ""}) as proxy:
        output = wait_for("Harmless.", proxy.output)
        assert proxy.ca.exists()  # the banner names a file mitmproxy really wrote
    assert output.index("1 BYOK route(s)") < output.index("proxy listening") < output.index("codex-shim is ready.")
    assert f"  export HTTPS_PROXY=http://127.0.0.1:{proxy.port}\n" in output
    assert f"  export CODEX_CA_CERTIFICATE={proxy.ca}\n" in output
    assert "  codex -m deepseek-chat\n" in output and "codex app-server daemon restart" in output
    assert "unknown field 'base_ulr' ignored (did you mean 'base_url'?)" in output
    assert "route 'deepseek-chat': $CODEX_SHIM_TEST_UNSET_KEY is not set" in output
    assert output.count("codex-shim is ready.") == 1


def test_a_bad_models_json_stops_the_start_with_one_plain_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"models": [{"model": "x", "provider": "generic-chat-completion-api"}]}))
    result = subprocess.run(
        [str(SHIM), "-p", str(free_port()), "--set", f"confdir={tmp_path / 'conf'}", "--set", f"codex_shim_config={bad}"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"codex-shim: not started: {bad}: models[0] (model 'x'): base_url is required for provider 'generic-chat-completion-api'" in output
    assert "Traceback" not in output and "listening" not in output and "Value error" not in output


def test_version_names_codex_shim_and_mitmproxy() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = subprocess.run([str(SHIM), "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"codex-shim {version}"
    assert "Mitmproxy: 12." in result.stdout


def test_web_starts_mitmweb_with_the_same_addon_and_shows_its_url(tmp_path: Path) -> None:
    config = tmp_path / "models.json"
    config.write_text(json.dumps({"models": [ROUTE]}))
    port, web_port = free_port(), free_port()
    log = tmp_path / "mitmweb.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(SHIM), "web", "-p", str(port), "--set", f"web_port={web_port}", "--set", "web_open_browser=false",
             "--set", f"confdir={tmp_path / 'conf'}", "--set", f"codex_shim_config={config}"],
            stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        try:
            output = wait_for("Harmless.", lambda: log.read_text(errors="replace"), proc)
        finally:
            proc.terminate()
            proc.wait(10)
    assert f"HTTP(S) proxy listening at 127.0.0.1:{port}" in output  # the same loopback default
    assert f"  mitmweb  http://127.0.0.1:{web_port}/?token=" in output
    assert "1 BYOK route(s)" in output and f"export HTTPS_PROXY=http://127.0.0.1:{port}" in output
