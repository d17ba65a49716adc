"""BYOK turns on Codex's WebSocket transport.

Codex 0.169 opens a WebSocket to the Responses URL first. Two cases:

* The socket is opened for a BYOK model (its upgrade names the model in
  `x-codex-turn-metadata`): the router answers the upgrade with 426, and Codex falls back to
  HTTPS at once (sticky for the session) instead of retrying for ~6 s. No OpenAI host is needed.
* The socket is already open to OpenAI for a native model and the user switches to a BYOK model:
  the `response.create` for the BYOK model is dropped before it reaches OpenAI and answered on
  the same socket. The upstream call runs as a mitmproxy client replay (so upstream TLS options
  apply and mitmweb shows the exchange), and its translated events are injected as WebSocket
  text frames, one event per frame, as OpenAI sends them.

State: our `response.completed` carries an empty `id`, so Codex never sends a BYOK turn as an
increment (`previous_response_id` + new items) — it always sends the full context, and native
turns after it start afresh too. Codex sent full context on a model switch in every run we
observed; should a BYOK turn still arrive incremental, we answer `previous_response_not_found`,
which makes Codex resend it whole. Native frames pass untouched in both directions.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from mitmproxy import connection, ctx, http
from mitmproxy.addons.clientplayback import ReplayHandler

from . import native_history
from .addon import CodexShim, failed_stream
from .config import ModelRoute
from .errors import RequestError, ShimError
from .responses_stream import ResponseStream
from .sse import SSEDecoder

log = logging.getLogger("codex_shim")

_TERMINAL = ('"response.created"', '"response.completed"', '"response.failed"', '"response.incomplete"')


class SocketTurn:
    """One BYOK turn answered on a native socket: receives Responses SSE, sends frames."""

    def __init__(self, socket: http.HTTPFlow, model: str) -> None:
        self.socket = socket
        self.model = model
        self.decoder = SSEDecoder()
        self.handler: ReplayHandler | None = None
        self.finished = False
        self.abandoned = False

    def abandon(self) -> None:
        """No more frames from this turn: its events must not mix with a newer turn's."""
        self.finished = self.abandoned = True
        self.cut()

    def send(self, frame: str) -> None:
        if self.abandoned:
            return
        if not self.socket.live:
            self.cut()  # Codex went away: stop the upstream instead of streaming into the void
            return
        ctx.master.commands.call("inject.websocket", self.socket, True, frame.encode(), True)

    def events(self, sse: bytes) -> None:
        for _, data in self.decoder.feed(sse):
            if any(marker in data for marker in _TERMINAL):
                data = _without_response_id(data)
                self.finished = self.finished or '"response.created"' not in data
            self.send(data)

    def http_error(self, error: ShimError) -> None:
        if error.as_stream:
            self.events(failed_stream(error, self.model).content or b"")
            return
        self.finished = True
        frame = {"type": "error", "status": error.status, **json.loads(error.body())}
        frame["headers"] = {"retry-after": error.retry_after} if error.retry_after else {}
        self.send(json.dumps(frame))

    def broken(self, reason: str) -> None:
        if self.finished:
            return
        builder = ResponseStream(self.model)
        builder.fail("upstream_connection_error", reason)  # retried by Codex
        self.events(builder.drain())

    def cut(self) -> bool:
        """Stop the upstream call; True if there was a connection to stop."""
        if self.handler is None:
            return False
        cancelled = False
        for io in self.handler.transports.values():
            if io.handler is not None and not io.handler.done():
                io.handler.cancel("codex-shim: turn abandoned")
                cancelled = True
        return cancelled


def _without_response_id(data: str) -> str:
    """Empty the response id so Codex sends full context next turn (see module docstring)."""
    event = json.loads(data)
    response = event.get("response")
    if isinstance(response, dict):
        response["id"] = ""
    return json.dumps(event, ensure_ascii=False)


class WebSocketTurns:
    """Serves BYOK `response.create` messages that arrive on a socket opened for a native model."""

    def __init__(self, shim: CodexShim) -> None:
        self.shim = shim
        self._tasks: set[asyncio.Task[None]] = set()
        self._turns: dict[str, SocketTurn] = {}  # socket flow id -> its running BYOK turn

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        """Codex closed the socket: a BYOK turn still running on it is abandoned upstream too."""
        turn = self._turns.pop(flow.id, None)
        if turn is not None:
            turn.cut()

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        message = flow.websocket.messages[-1]
        if message.injected or not message.from_client or not message.is_text:
            return
        content = message.content
        if b'"response.create"' not in content and b'"response.processed"' not in content:
            return
        if flow.metadata.get("codex_shim", {}).get("route") != "websocket":
            return
        try:
            data = json.loads(content)
        except json.JSONDecodeError:
            return
        if not isinstance(data, dict):
            return
        if data.get("type") == "response.processed":
            if not data.get("response_id"):
                message.drop()  # acknowledges one of our turns; OpenAI never saw it
            return
        route = self.shim.routes.get(data.get("model")) if data.get("type") == "response.create" else None
        if route is None:
            if data.get("type") == "response.create" and native_history.carries_ours(content):
                message.content = json.dumps(native_history.scrub(data)).encode()
            return
        message.drop()
        flow.comment = f"codex-shim: BYOK turns for {route.model} answered on this socket"
        self._serve(flow, data, route)

    def _serve(self, socket: http.HTTPFlow, data: dict[str, Any], route: ModelRoute) -> None:
        previous = self._turns.pop(socket.id, None)
        if previous is not None:  # Codex moved on (it waits for a turn's end, so this is rare)
            previous.abandon()
        turn = SocketTurn(socket, route.model)
        if data.get("generate") is False:  # prewarm: nothing to generate
            builder = ResponseStream(route.model)
            builder.start()
            builder.complete()
            turn.events(builder.drain())
            return
        if data.get("previous_response_id"):
            turn.http_error(ShimError(400, "previous_response_not_found", "codex-shim: send the full context for BYOK turns"))
            return
        body = {k: v for k, v in data.items() if k not in ("type", "previous_response_id", "generate")}
        body["stream"] = True
        upstream = http.HTTPFlow(socket.client_conn, connection.Server(address=None))
        upstream.request = socket.request.copy()
        try:
            self.shim.prepare_upstream(upstream, body, route, sink=turn)
        except RequestError as exc:
            turn.http_error(ShimError(exc.status, exc.code, f"codex-shim ({route.model}): {exc}"))
            return
        except Exception as exc:
            log.exception("codex-shim: failed to translate a WebSocket turn")
            turn.http_error(ShimError(500, "server_error", f"codex-shim ({route.model}): internal error: {exc!r}"))
            return
        upstream.server_conn.address = (upstream.request.host, upstream.request.port)
        try:
            turn.handler = ReplayHandler(upstream, ctx.options)
            task = asyncio.get_running_loop().create_task(turn.handler.replay())
        except Exception as exc:
            log.exception("codex-shim: could not start a WebSocket turn's upstream call")
            self.shim.forget(upstream)
            turn.broken(f"codex-shim ({route.model}): could not reach the provider: {exc!r}")
            return
        self._turns[socket.id] = turn
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._turns.pop(socket.id, None) if self._turns.get(socket.id) is turn else None)
