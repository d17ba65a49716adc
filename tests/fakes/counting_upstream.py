"""A stdlib http.server chat-completions provider that counts its connections, to catch a proxy leaking them.

Two ways to end a body: "close" sends `connection: close` and no length and no chunking, so the
body ends when the server closes (legal, what simple servers and some gateways do); "keep-alive"
sends HTTP/1.1 chunks and keeps the connection for the next request.

A connection counts as open until the *proxy* has closed its side: after its last answer the
server half-closes and waits (bounded) for the peer's FIN. A proxy that never closes a finished
connection therefore shows up as `open` staying above 0.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .chat_upstream import USAGE, chunk, sse

ANSWER_WORDS = ("Hé", "llo ", "wörld")
ANSWER_TEXT = "".join(ANSWER_WORDS)
ANSWER = sse([chunk({"role": "assistant", "content": ""}), *[chunk({"content": w}) for w in ANSWER_WORDS],
              chunk(finish="stop"), chunk(usage=USAGE)])
LINGER = 30.0  # seconds the server waits for the proxy to close a finished connection
IDLE = 60.0  # seconds an idle keep-alive connection is kept


class CountingUpstream:
    """Serves ANSWER to every POST on 127.0.0.1; `opened` and `open` count connections."""

    def __init__(self, body_end: str) -> None:
        if body_end not in ("close", "keep-alive"):
            raise ValueError(body_end)
        self.body_end = body_end
        self.opened = 0
        self.open = 0
        self.requests = 0
        self.lock = threading.Lock()
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = IDLE

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                with fake.lock:
                    fake.requests += 1
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                if fake.body_end == "close":
                    self.send_header("connection", "close")
                    self.end_headers()
                    self.wfile.write(ANSWER)
                    self.close_connection = True
                else:
                    self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    for piece in (ANSWER[:40], ANSWER[40:]):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        class _Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 64

            def process_request(self, request: Any, client_address: Any) -> None:
                with fake.lock:
                    fake.opened += 1
                    fake.open += 1
                super().process_request(request, client_address)

            def shutdown_request(self, request: Any) -> None:
                try:
                    fake._wait_for_peer_close(request)
                finally:
                    with fake.lock:
                        fake.open -= 1
                    super().shutdown_request(request)

        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @staticmethod
    def _wait_for_peer_close(sock: socket.socket) -> None:
        """Half-close, then read until the peer's FIN or LINGER seconds (whatever it still sends is dropped)."""
        try:
            sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(min(left, 1.0))
                try:
                    if not sock.recv(65536):
                        return
                except TimeoutError:
                    continue
        except OSError:
            return

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def counts(self) -> tuple[int, int]:
        """(connections opened so far, connections the proxy has not closed yet)."""
        with self.lock:
            return self.opened, self.open

    def wait_for_open(self, at_most: int, timeout: float) -> int:
        """Wait until at most `at_most` connections are open (bounded); the number open then."""
        deadline = time.monotonic() + timeout
        while True:
            open_now = self.counts()[1]
            if open_now <= at_most or time.monotonic() > deadline:
                return open_now
            time.sleep(0.01)

    def __enter__(self) -> CountingUpstream:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
