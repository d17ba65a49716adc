"""Security defaults of a real mitmdump with the addon: where it listens, what it decrypts, where keys go."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from tests.fakes.native_openai import NATIVE_KEY, NativeOpenAI
from tests.harness import ROOT, Mitmdump, free_port, run_codex

pytestmark = pytest.mark.e2e

BYOK_KEY = "sk-byok-must-not-reach-openai"


def mitmdump(*args: str, until: str, seconds: float = 60) -> tuple[int | None, str, list[str]]:
    """Run mitmdump with the addon until `until` shows in its log or it exits (bounded).

    Returns (exit code, or None if it was still running; the log; its listening addresses then)."""
    proc = subprocess.Popen([str(Path(sys.executable).parent / "mitmdump"), "-s", str(ROOT / "addons" / "codex_shim.py"), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={"PYTHONUNBUFFERED": "1", "PATH": "/usr/bin:/bin"})
    assert proc.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    deadline = time.monotonic() + seconds
    while until not in "".join(lines) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    listening = listen_addresses(proc.pid)
    code = proc.poll()
    if code is None:
        proc.terminate()
        proc.wait(10)
    reader.join(10)
    return code, "".join(lines), listening


def listen_addresses(pid: int) -> list[str]:
    """The local addresses of `pid`'s listening TCP sockets, read from /proc (no traffic)."""
    inodes = set()
    fds = Path(f"/proc/{pid}/fd")
    for fd in fds.iterdir() if fds.exists() else []:
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append(fields[1].split(":")[0])
    return found


def test_plain_mitmdump_with_the_addon_listens_on_loopback_only(tmp_path: Path) -> None:
    port = free_port()
    code, log, listening = mitmdump("-p", str(port), "--set", f"confdir={tmp_path}",
                                    "--set", f"codex_shim_config={tmp_path}/none.json", until=f"listening at 127.0.0.1:{port}")
    assert code is None, log
    assert f"listening at 127.0.0.1:{port}" in log
    assert listening == ["0100007F"], listening  # 127.0.0.1 only: no 0.0.0.0, no [::]


def test_a_remote_listen_address_without_proxyauth_is_refused(tmp_path: Path) -> None:
    code, log, _ = mitmdump("-p", str(free_port()), "--listen-host", "0.0.0.0", "--set", f"confdir={tmp_path}",
                            "--set", f"codex_shim_config={tmp_path}/none.json", until="(only the exit ends this wait)")
    assert code not in (None, 0)
    assert "refuses to listen on '0.0.0.0' without proxyauth" in log


def peer_issuer(proxy: Mitmdump, port: int) -> str:
    """CONNECT through the proxy to 127.0.0.1:port and report who issued the certificate we see."""
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as raw:
        raw.sendall(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        assert raw.recv(4096).startswith(b"HTTP/1.1 200")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            der = tls.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der).issuer.rfc4514_string()


@pytest.fixture()
def tls_server(tmp_path: Path) -> Iterator[int]:
    """A TLS server on loopback with its own self-signed certificate."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=own-test-server"], check=True, capture_output=True, timeout=60)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(20)

    def serve() -> None:
        for _ in range(2):  # bounded: one connection per proxy run
            try:
                conn, _ = listener.accept()
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def test_only_the_routed_hosts_are_decrypted(tmp_path: Path, tls_server: int) -> None:
    with Mitmdump(tmp_path / "a", []) as proxy:
        tunnelled = peer_issuer(proxy, tls_server)
    with Mitmdump(tmp_path / "b", [], ["--set", f"codex_shim_hosts=api.openai.com,127.0.0.1:{tls_server}"]) as proxy:
        intercepted = peer_issuer(proxy, tls_server)
    assert "own-test-server" in tunnelled  # not a routed host: the real certificate, undecrypted
    assert "mitmproxy" in intercepted  # a routed host: decrypted with mitmproxy's CA


def test_native_traffic_never_carries_a_byok_key_and_byok_traffic_never_an_openai_key(tmp_path: Path) -> None:
    from tests.fakes.chat_upstream import API_KEY, ScriptedChatModel, chat_upstream

    with NativeOpenAI() as native, chat_upstream(ScriptedChatModel()) as upstream:
        models = [{"model": "byok-chat", "provider": "generic-chat-completion-api", "base_url": f"{upstream.base_url}/v1", "api_key": API_KEY}]
        mapping = ["--map-remote", rf"|^https://api\.openai\.com|http://127.0.0.1:{native.port}"]
        with Mitmdump(tmp_path, models, mapping) as proxy:
            native_run = run_codex(proxy, tmp_path / "a", "gpt-native", "Run the command.")
            byok_run = run_codex(proxy, tmp_path / "b", "byok-chat", "Run the command.")
            log = proxy.output()
    assert native_run.returncode == 0 and byok_run.returncode == 0, (native_run.stderr[-2000:], byok_run.stderr[-2000:])
    assert native.ws_messages, "the native run went over the socket"
    assert API_KEY not in json.dumps(native.ws_messages) + json.dumps(native.http_requests, default=str)
    for request in upstream.requests:
        assert NATIVE_KEY not in json.dumps(request["headers"]) + request["body"].decode()
    assert API_KEY not in log and NATIVE_KEY not in log


def test_a_remote_listen_address_is_allowed_when_the_user_says_the_network_is_theirs(tmp_path: Path) -> None:
    port = free_port()
    code, log, listening = mitmdump("-p", str(port), "--listen-host", "0.0.0.0", "--set", "codex_shim_allow_remote=true",
                                    "--set", f"confdir={tmp_path}", "--set", f"codex_shim_config={tmp_path}/none.json",
                                    until=f"listening at *:{port}")
    assert code is None, log
    assert "00000000" in listening  # 0.0.0.0, as asked
