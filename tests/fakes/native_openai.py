"""A stand-in for OpenAI's own Responses endpoint: HTTPS+SSE and Codex's WebSocket transport.

Used where the real api.openai.com would be (mitmdump's map_remote sends it here), so tests can
prove that native-model traffic passes the proxy untouched — over SSE and over the socket, whose
per-connection state (previous_response_id, prewarm with generate=false) it models.
"""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

import wsproto
import wsproto.events as ws_events

from shim.sse import SSEDecoder
from tests.harness import DUMMY_OPENAI_KEY

from .responses_upstream import ScriptedResponsesModel

NATIVE_KEY = DUMMY_OPENAI_KEY  # the key run_codex gives Codex, which passes through untouched


class NativeOpenAI:
    """Threaded server on 127.0.0.1: POST /v1/responses (SSE) and GET upgrade (WebSocket)."""

    def __init__(self) -> None:
        self.model = ScriptedResponsesModel(api_key=NATIVE_KEY, strict=False, total_tokens=True)
        self.http_requests: list[dict[str, Any]] = []
        self.ws_messages: list[dict[str, Any]] = []  # every client frame, parsed
        self.ws_connections = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> NativeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        conn.settimeout(60)
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                data = conn.recv(65536)
                if not data:
                    return
                head += data
            if b"upgrade: websocket" in head.lower():
                self._websocket(conn, head)
            else:
                self._http(conn, head)

    # -- HTTPS + SSE ---------------------------------------------------------------------

    def _http(self, conn: socket.socket, head: bytes) -> None:
        header_block, _, body = head.partition(b"\r\n\r\n")
        lines = header_block.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            body += conn.recv(65536)
        self.http_requests.append({"path": path, "headers": headers, "body": body})
        model = str(json.loads(body or b"{}").get("model", ""))
        if not model.startswith("gpt-"):
            conn.sendall(b"HTTP/1.1 404 X\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")
            return
        reply = self.model(path, headers, body)
        out = [f"HTTP/1.1 {reply.status} X\r\ncontent-type: {reply.content_type}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".encode()]
        for piece in reply.pieces:
            if piece:
                out.append(b"%x\r\n%s\r\n" % (len(piece), piece))
        out.append(b"0\r\n\r\n")
        conn.sendall(b"".join(out))

    # -- WebSocket -----------------------------------------------------------------------

    def _websocket(self, conn: socket.socket, head: bytes) -> None:
        self.ws_connections += 1
        if f"bearer {NATIVE_KEY}".encode() not in head.lower():
            conn.sendall(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            return
        ws = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
        ws.receive_data(head)
        history: list[dict[str, Any]] = []
        last_id: str | None = None
        text = ""
        while True:
            for event in ws.events():
                if isinstance(event, ws_events.Request):
                    conn.sendall(ws.send(ws_events.AcceptConnection()))
                elif isinstance(event, ws_events.TextMessage):
                    text += event.data
                    if event.message_finished:
                        frames, history, last_id = self._turn(json.loads(text), history, last_id)
                        text = ""
                        for frame in frames:
                            conn.sendall(ws.send(ws_events.TextMessage(data=frame)))
                elif isinstance(event, ws_events.CloseConnection):
                    conn.sendall(ws.send(event.response()))
                    return
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            ws.receive_data(data)

    def _turn(self, message: dict[str, Any], history: list[dict[str, Any]], last_id: str | None) -> tuple[list[str], list[dict[str, Any]],
        str | None]:
        self.ws_messages.append(message)
        if message.get("type") != "response.create":
            return [], history, last_id
        request = {k: v for k, v in message.items() if k not in ("type", "previous_response_id", "generate")}
        if not str(request.get("model", "")).startswith("gpt-"):
            error = {"type": "error", "status": 400, "error": {"type": "invalid_request_error", "code": "model_not_found",
                                                               "message": f"The model `{request.get('model')}` does not exist."}}
            return [json.dumps(error)], history, last_id
        if message.get("previous_response_id"):
            if message["previous_response_id"] != last_id:
                error = {"type": "error", "status": 400, "error": {"type": "invalid_request_error", "code": "previous_response_not_found",
                    "message": "Previous response not found."}}
                return [json.dumps(error)], history, last_id
            request["input"] = history + list(request.get("input") or [])
        if message.get("generate") is False:
            rid = f"resp_prewarm_{len(self.ws_messages)}"
            created = {"type": "response.created", "response": {"id": rid, "status": "in_progress", "output": []}}
            done = {"type": "response.completed", "response": {"id": rid, "status": "completed", "output": [],
                                                               "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}}}
            return [json.dumps(created), json.dumps(done)], list(request.get("input") or []), rid
        reply = self.model("/v1/responses", {"authorization": f"Bearer {NATIVE_KEY}"}, json.dumps(request).encode())
        decoder = SSEDecoder()
        frames = [data for _, data in decoder.feed(b"".join(reply.pieces)) + decoder.close()]
        outputs = [json.loads(f)["item"] for f in frames if '"response.output_item.done"' in f]
        completed = [json.loads(f) for f in frames if '"response.completed"' in f]
        new_id = completed[-1]["response"]["id"] if completed else None
        return frames, list(request.get("input") or []) + outputs, new_id
