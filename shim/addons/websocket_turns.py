"""BYOK turns on Codex's WebSocket transport.

Codex opens a WebSocket to the Responses URL first. Two cases:

* The socket is opened for a BYOK model (its upgrade names the model in
  `x-codex-turn-metadata`): the upgrade is answered with 426, and Codex falls back to HTTPS at
  once (sticky for the session) instead of retrying for ~6 s. No OpenAI host is needed.
* The socket is already open to OpenAI for a native model and the user switches to a BYOK model:
  the `response.create` for the BYOK model is dropped before it reaches OpenAI and answered on
  the same socket. The upstream call runs as a mitmproxy client replay (so upstream TLS options
  apply and mitmweb shows the exchange; the Router's hooks translate it), and the answer is
  written as WebSocket text frames, one event per frame, as OpenAI sends them.

State: our answers carry an empty response `id`, so Codex never sends a BYOK turn as an
increment (`previous_response_id` + new items) — it always sends the full context, and native
turns after it start afresh too. Codex sent full context on a model switch in every run we
observed; should a BYOK turn still arrive incremental, we answer `previous_response_not_found`,
which makes Codex resend it whole. Native frames pass untouched in both directions.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from mitmproxy import ctx, http
from mitmproxy.addons.clientplayback import ReplayHandler

from .. import jsonio, native_history
from ..byok_call import new_call_flow, start_byok_call
from ..config import ModelRoute
from ..errors import RequestError, ShimError, needs_stored_state
from ..event_sinks import FrameSink
from ..exchange import METADATA_KEY
from ..outlets import SocketFrames
from ..replays import cancel_replay
from ..responses_stream import ResponseStream
from ..state import Shim
from .both_sides import BothSides
from .router import decide_turn, is_responses_path, turn_model, unknown_route

log = logging.getLogger("codex_shim")


class SocketTurn:
    """One BYOK turn answered on a native socket: the outlet its exchange writes frames to."""

    def __init__(self, socket: http.HTTPFlow) -> None:
        self.socket = socket
        self.handler: ReplayHandler | None = None
        self.abandoned = False

    def abandon(self) -> None:
        """No more frames from this turn: its events must not mix with a newer turn's."""
        self.abandoned = True
        self.cut()

    def send(self, frame: str) -> None:
        if self.abandoned:
            return
        if not self.socket.live:
            self.cut()  # Codex went away: stop the upstream instead of streaming into the void
            return
        ctx.master.commands.call("inject.websocket", self.socket, True, frame.encode(), True)

    def error_frame(self, error: ShimError) -> None:
        """An error Codex reads as the HTTP status it stands for (as OpenAI's socket sends it)."""
        frame = {"type": "error", "status": error.status, **json.loads(error.body())}
        frame["headers"] = {"retry-after": error.retry_after} if error.retry_after else {}
        self.send(json.dumps(frame))

    def cut(self) -> bool:
        """Stop the upstream call; True if there was a connection to stop."""
        return self.handler is not None and cancel_replay(self.handler, "codex-shim: turn abandoned")


@dataclass
class NativeSocket:
    """A socket Codex opened for an OpenAI model, and the BYOK turn running on it, if any."""

    model: str | None
    turn: SocketTurn | None = None


def wants_https(model: str | None, routes: dict[str, ModelRoute]) -> bool:
    """Should this upgrade get 426? For a BYOK model, or an unnamed one while BYOK routes exist."""
    return model in routes or (model is None and bool(routes))


class WebSocketTurns:
    """Answers BYOK upgrades with 426 and serves BYOK turns on sockets opened for native models."""

    def __init__(self, shim: Shim, sides: BothSides | None = None) -> None:
        self.shim = shim
        self.sides = sides  # a socket turn's two sides in mitmweb, as any BYOK turn's
        self._tasks: set[asyncio.Task[None]] = set()
        self._sockets: dict[str, NativeSocket] = {}

    def request(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        if flow.response or flow.error or not flow.live or req.method != "GET":
            return
        if req.headers.get("upgrade", "").lower() != "websocket" or not self.shim.is_our_host(req) or not is_responses_path(req.path):
            return
        model = turn_model(req.headers)
        if wants_https(model, self.shim.routes):
            error = ShimError(426, "websocket_not_supported", "codex-shim serves BYOK models over HTTPS")
            flow.response = http.Response.make(426, error.body(), {"content-type": "application/json"})
            flow.metadata[METADATA_KEY] = {"route": "websocket-fallback", "model": model}
        else:
            # Remember now: map_remote may rewrite the host before the socket's messages flow.
            self._sockets[flow.id] = NativeSocket(model)
            flow.metadata[METADATA_KEY] = {"route": "websocket", "model": model}

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.websocket is None:
            self._sockets.pop(flow.id, None)  # the upgrade was refused: no socket

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.websocket is None:
            self._sockets.pop(flow.id, None)

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        """Codex closed the socket: a BYOK turn still running on it is abandoned upstream too."""
        socket = self._sockets.pop(flow.id, None)
        if socket is not None and socket.turn is not None:
            socket.turn.cut()

    def websocket_message(self, flow: http.HTTPFlow) -> None:
        assert flow.websocket is not None
        message = flow.websocket.messages[-1]
        if message.injected or not message.from_client or not message.is_text:
            return
        content = message.content
        if b'"response.create"' not in content and b'"response.processed"' not in content:
            return
        socket = self._sockets.get(flow.id)
        if socket is None:
            return
        try:
            data = jsonio.loads(content)
        except ValueError:  # not JSON, or not UTF-8: not a turn of ours
            return
        if not isinstance(data, dict):
            return
        if data.get("type") == "response.processed":
            if not data.get("response_id"):
                message.drop()  # acknowledges one of our turns; OpenAI never saw it
            return
        if data.get("type") != "response.create":
            return
        model = data.get("model")
        model = model if isinstance(model, str) else None
        turn, notes = decide_turn(flow, data, model, False, self.shim.routes)  # rules and policy, as over HTTPS
        if refusal := unknown_route(turn, self.shim.routes):
            message.drop()
            SocketTurn(flow).error_frame(refusal)
            return
        data = turn.body
        route = self.shim.routes.get(turn.use) if turn.use else None
        if route is None:
            if notes.get("policy_changed_request") or native_history.carries_ours(content):
                message.content = jsonio.dumps(native_history.scrub(data))  # else: byte for byte
            return
        message.drop()
        flow.comment = f"codex-shim: BYOK turns for {route.model} answered on this socket"
        self._serve(flow, socket, data, route)

    def _serve(self, flow: http.HTTPFlow, socket: NativeSocket, data: dict[str, Any], route: ModelRoute) -> None:
        if socket.turn is not None:  # Codex moved on (it waits for a turn's end, so this is rare)
            socket.turn.abandon()
        turn = socket.turn = SocketTurn(flow)
        if data.get("generate") is False:  # prewarm: nothing to generate
            stream = ResponseStream(route.model, sink=FrameSink(turn.send), anonymous=True)
            stream.start()
            stream.complete()
            return
        if refusal := needs_stored_state(data):  # the same refusals as over HTTP
            turn.error_frame(refusal)
            return
        body = {k: v for k, v in data.items() if k not in ("type", "previous_response_id", "generate")}
        body["stream"] = True
        upstream = new_call_flow(flow.request, flow.client_conn)
        try:
            exchange = start_byok_call(self.shim, upstream, body, route, SocketFrames(turn), sides=self.sides,
                                       replay=self._tasks, then=lambda: _finished(socket, turn))
        except RequestError as exc:
            turn.error_frame(ShimError(exc.status, exc.code, f"codex-shim ({route.model}): {exc}"))
            return
        except Exception as exc:
            log.exception("codex-shim: failed to start a WebSocket turn")
            turn.error_frame(ShimError(500, "server_error", f"codex-shim ({route.model}): internal error: {exc!r}"))
            return
        turn.handler = exchange.replay


def _finished(socket: NativeSocket, turn: SocketTurn) -> None:
    if socket.turn is turn:
        socket.turn = None
