"""Real processes for end-to-end tests: mitmdump with the addon, and the real Codex CLI."""

from __future__ import annotations

import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The Codex CLI the end-to-end tests drive: 0.171.0 unless CODEX_SHIM_CODEX_VERSION names another
# (scripts/test also runs the e2e tests on 0.169.0). Each version has its own npm cache directory.
DEFAULT_CODEX_VERSION = "0.171.0"
CODEX_VERSION = os.environ.get("CODEX_SHIM_CODEX_VERSION") or DEFAULT_CODEX_VERSION
DUMMY_OPENAI_KEY = "sk-dummy-openai-key-for-tests"
CODEX_CACHE = Path(os.environ.get("CODEX_SHIM_CODEX_CACHE") or ROOT / ".cache" / f"codex-{CODEX_VERSION}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Mitmdump:
    """`mitmdump -s addons/codex_shim.py` on a free loopback port with its own confdir."""

    def __init__(self, workdir: Path, models: list[dict[str, Any]] | None, extra: list[str] = (), env: dict[str, str] | None = None,
                 model_data: bool = False) -> None:
        """`model_data`: let the addon ask each route's provider for its model data at start (the
        routes must point at local fakes then: no test reaches the internet). Off, profiles come
        from the snapshot shipped in shim/data, and the fakes see only the turns."""
        self.workdir = workdir
        self.port = free_port()
        self.confdir = workdir / "mitmproxy"
        self.confdir.mkdir(parents=True, exist_ok=True)
        self.config = workdir / "models.json"
        if models is not None:
            self.config.write_text(json.dumps({"models": models}))
        self.log = workdir / "mitmdump.log"
        mitmdump = Path(sys.executable).parent / "mitmdump"
        self.args = [
            str(mitmdump), "-s", str(ROOT / "addons" / "codex_shim.py"),
            "--listen-host", "127.0.0.1", "-p", str(self.port),
            "--set", f"confdir={self.confdir}",
            "--set", f"codex_shim_config={self.config}",
            "--set", f"codex_shim_model_data={str(model_data).lower()}",
            *extra,
        ]
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def ca(self) -> Path:
        return self.confdir / "mitmproxy-ca-cert.pem"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Mitmdump:
        self._logfile = self.log.open("wb")
        self.proc = subprocess.Popen(self.args, stdout=self._logfile, stderr=subprocess.STDOUT, env=self.env)
        try:
            wait_for_port(self.port, self.proc)
            deadline = time.monotonic() + 10  # the log is written asynchronously: wait for start-up lines
            while "proxy listening" not in self.output() and time.monotonic() < deadline:
                time.sleep(0.02)
        except Exception as exc:
            self.__exit__()
            raise RuntimeError(f"mitmdump did not start:\n{self.output()}") from exc
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 15.0) -> str:
        """Wait until mitmdump has logged `text` (e.g. the profiles fetched in the background)."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if time.monotonic() > deadline:
                raise TimeoutError(f"mitmdump did not log {text!r} within {timeout}s:\n{self.output()[-3000:]}")
            time.sleep(0.05)
        return self.output()

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._logfile.close()


def installed_codex_version() -> str | None:
    manifest = CODEX_CACHE / "node_modules" / "@openai" / "codex" / "package.json"
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def codex_binary() -> Path:
    """The real Codex CLI at CODEX_VERSION, installed from npm into its cache directory on first use
    (and again when the directory holds another version, e.g. a CODEX_SHIM_CODEX_CACHE reused)."""
    binary = CODEX_CACHE / "node_modules" / ".bin" / "codex"
    if binary.exists() and installed_codex_version() == CODEX_VERSION:
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to install @openai/codex for the end-to-end tests")
    CODEX_CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(CODEX_CACHE), f"@openai/codex@{CODEX_VERSION}"],
        check=True, timeout=600,
    )
    return binary


def codex_env(proxy: Mitmdump | None, codex_home: Path, *, openai_api_key: str | None = None,
              codex_api_key: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The whole environment for a Codex CLI process: nothing leaks in from the developer's own
    (their keys, proxies, ~/.codex), and all traffic goes through `proxy`, trusting its CA.

    Without keys Codex uses the login in `codex_home/auth.json` (ChatGPT mode, or the app-server's
    API key); without a proxy it talks to no one (for `codex debug models --bundled`)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(codex_home),
        "CODEX_HOME": str(codex_home),
        "RUST_LOG": "error",
    }
    if proxy is not None:
        env |= {"HTTPS_PROXY": proxy.url, "HTTP_PROXY": proxy.url, "NO_PROXY": "", "CODEX_CA_CERTIFICATE": str(proxy.ca)}
    if openai_api_key is not None:
        env["OPENAI_API_KEY"] = openai_api_key
    if codex_api_key is not None:
        env["CODEX_API_KEY"] = codex_api_key
    return env | (extra or {})


def run_codex(proxy: Mitmdump, home: Path, model: str, prompt: str, timeout: float = 120.0, extra_env: dict[str,
    str] | None = None, args: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """`codex exec` through the proxy, with a throwaway CODEX_HOME and a dummy OpenAI key (`args`: more of exec's options)."""
    home.mkdir(parents=True, exist_ok=True)
    workdir = home / "work"
    workdir.mkdir(exist_ok=True)
    # CODEX_API_KEY is what `codex exec` sends as its bearer.
    env = codex_env(proxy, home, openai_api_key=DUMMY_OPENAI_KEY, codex_api_key=DUMMY_OPENAI_KEY, extra=extra_env)
    return subprocess.run(
        [str(codex_binary()), "exec", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
         "-C", str(workdir), "-m", model, *args, prompt],
        capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL,
    )


class AppServer:
    """`codex app-server` (what Codex Desktop drives) over stdio JSON-RPC, with bounded waits."""

    def __init__(self, proxy: Mitmdump, home: Path, extra_env: dict[str, str] | None = None) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.workdir = home / "work"
        self.workdir.mkdir(exist_ok=True)
        auth = home / "auth.json"
        if not auth.exists():  # the app-server reads the key from its login, not the environment
            auth.write_text(json.dumps({"OPENAI_API_KEY": DUMMY_OPENAI_KEY}))
        env = codex_env(proxy, home, openai_api_key=DUMMY_OPENAI_KEY, extra=extra_env)
        self.proc = subprocess.Popen([str(codex_binary()), "app-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env, text=True, bufsize=1)
        self._next_id = 0
        self.notifications: list[dict[str, Any]] = []
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)

    def _next_message(self, deadline: float) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("codex app-server went quiet")
        return json.loads(self._lines.get(timeout=remaining))

    def request(self, method: str, params: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        self._next_id += 1
        ident = self._next_id
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"id": ident, "method": method, "params": params}) + "\n")
        deadline = time.monotonic() + timeout
        while True:
            message = self._next_message(deadline)
            if message.get("id") == ident and "method" not in message:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result") or {})
            self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        if "method" in message and "id" in message:  # a server request (approval...): decline politely
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"id": message["id"], "result": {"decision": "approved"}}) + "\n")
        elif "method" in message:
            self.notifications.append(message)

    def start(self, model: str) -> str:
        self.request("initialize", {"clientInfo": {"name": "codex-shim-tests", "version": "1.0"}})
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"method": "initialized"}) + "\n")
        result = self.request("thread/start", {"model": model, "cwd": str(self.workdir), "approvalPolicy": "never",
                                               "sandbox": "danger-full-access"})
        return str(result["thread"]["id"])

    def turn(self, thread_id: str, text: str, model: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Run one turn to completion; returns the notifications it produced."""
        start = len(self.notifications)
        self.request("turn/start", {"threadId": thread_id, "model": model, "input": [{"type": "text", "text": text}]})
        deadline = time.monotonic() + timeout
        while not any(n["method"] == "turn/completed" for n in self.notifications[start:]):
            self._handle(self._next_message(deadline))
        return self.notifications[start:]

    def compact(self, thread_id: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Manual /compact (Desktop's "compact" action); returns the notifications it produced."""
        start = len(self.notifications)
        self.request("thread/compact/start", {"threadId": thread_id})
        deadline = time.monotonic() + timeout
        while not any(n["method"] == "turn/completed" for n in self.notifications[start:]):
            self._handle(self._next_message(deadline))
        return self.notifications[start:]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def agent_text(notifications: list[dict[str, Any]]) -> str:
    """The agent messages of a turn, joined."""
    texts = []
    for note in notifications:
        item = (note.get("params") or {}).get("item") or {}
        if note["method"] == "item/completed" and item.get("type") == "agentMessage":
            texts.append(str(item.get("text", "")))
    return "\n".join(texts)


def turn_error(notifications: list[dict[str, Any]]) -> Any:
    for note in notifications:
        if note["method"] == "turn/completed":
            return (note.get("params") or {}).get("turn", {}).get("error")
    return None


def node_modules(directory: Path, packages: Sequence[str], marker: str, why: str) -> Path:
    """npm `packages` installed once into `directory` (under .cache/); `marker` is a package whose
    presence says they are there. Skips the test (saying `why` they are needed) without node and npm."""
    modules = directory / "node_modules"
    if (modules / marker / "package.json").exists():
        return modules
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip(f"node and npm are needed for {why}")
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(directory), *packages], check=True, timeout=300)
    return modules
