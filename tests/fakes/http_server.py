"""A tiny threaded HTTP/1.1 server on 127.0.0.1 that streams like real providers do."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def ragged(data: bytes, sizes: Iterable[int] = (7, 1, 13, 2, 31, 3, 5, 64)) -> list[bytes]:
    """Split bytes at awkward places: mid-event, mid-CRLF and mid-UTF-8 character."""
    pieces, pos, cycle = [], 0, list(sizes)
    i = 0
    while pos < len(data):
        step = cycle[i % len(cycle)]
        pieces.append(data[pos : pos + step])
        pos += step
        i += 1
    return pieces


class Reply:
    """What the fake sends back: a status, headers and body pieces written as chunks."""

    def __init__(
        self,
        status: int = 200,
        pieces: Iterable[bytes] = (),
        content_type: str = "text/event-stream",
        headers: dict[str, str] | None = None,
        delay: float = 0.0005,
        cut: bool = False,
    ) -> None:
        self.status = status
        self.pieces = pieces  # may be a generator: written lazily, piece by piece
        self.content_type = content_type
        self.headers = headers or {}
        self.delay = delay
        self.cut = cut  # drop the connection without the final chunk

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, [json.dumps(payload).encode()], "application/json", headers)


Handler = Callable[[str, dict[str, str], bytes], Reply]


class FakeServer:
    """Runs `handler(path, headers, body) -> Reply` for every request; records what it saw."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[dict[str, Any]] = []
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                fake.requests.append({"path": self.path, "headers": headers, "body": body})
                reply = fake.handler(self.path, headers, body)
                self.send_response(reply.status)
                self.send_header("content-type", reply.content_type)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                try:
                    for piece in reply.pieces:
                        if piece:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                            self.wfile.flush()
                            if reply.delay:
                                time.sleep(reply.delay)
                    if reply.cut:
                        self.close_connection = True
                        return
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def json_bodies(self) -> list[Any]:
        return [json.loads(r["body"]) for r in self.requests if r["body"]]
