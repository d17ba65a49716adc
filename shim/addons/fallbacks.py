"""Fallbacks: a turn whose route fails before answering is served by the next route in its list.

A route with `fallbacks` in models.json is tried first; on a connect error, no first byte within
`codex_shim_first_byte_timeout`, a 429, a 5xx or Anthropic's 529 — before anything reached
Codex — the next route is tried, translated for its own shape. Never after streaming began. A
route that just failed is tried last for `codex_shim_fallback_cooldown` seconds (a circuit
breaker). When every route failed, Codex gets the last error in the form it acts on.

How: the Codex flow is answered by the loopback relay (shim/relay.py), which holds the response
until an attempt has answered. Each attempt is a client-replayed flow of its own (so mitmweb
shows every try, with its provider request) whose exchange writes into the relay; the Router's
hooks translate it as any other BYOK flow and report its outcome here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from mitmproxy import ctx, http

from ..answers import SSE_TYPE
from ..breaker import CircuitBreaker
from ..byok_call import new_call_flow, start_byok_call
from ..config import ModelRoute
from ..errors import RequestError, ShimError
from ..event_sinks import EventSink, SSESink
from ..exchange import METADATA_KEY, ByokExchange, RelayedExchange
from ..relay import Relay, RelayResponse
from ..replays import cancel_replay
from ..responses_stream import ResponseStream
from ..state import Shim
from .both_sides import CHAT_MARKER, MARKERS, BothSides, codex_request_copy

log = logging.getLogger("codex_shim")

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504, 529})


def candidates(route: ModelRoute, routes: dict[str, ModelRoute], breaker: CircuitBreaker, now: float) -> list[ModelRoute]:
    """The routes a turn for `route` may be served by, in the order to try them."""
    slugs = list(dict.fromkeys([route.model, *route.fallbacks]))
    return [routes[slug] for slug in breaker.order(slugs, now) if slug in routes]


class RelaySink(SSESink):
    """SSE written straight into the relay's answer to Codex — by the attempt serving it only."""

    def __init__(self, response: RelayResponse, may_write: Callable[[], bool] = lambda: True) -> None:
        super().__init__()
        self._response = response
        self._may_write = may_write

    def drain(self) -> bytes:
        out = super().drain()
        if self._may_write():
            self._response.write(out)
        return b""

    def write(self, event_type: str, data: bytes, event: dict[str, Any] | None) -> None:
        super().write(event_type, data, event)
        self.drain()

    def relayed(self, event_type: str, data: str, event: dict[str, Any] | None) -> None:
        super().relayed(event_type, data, event)
        self.drain()

    def write_framed(self, framed: bytes) -> None:
        if self._may_write():
            self._response.write(framed)


class Attempt:
    """One route's try at a turn: the outlet of its exchange (shim/outlets.py), which writes into
    the relay while it serves the turn and tells the plan how the try went."""

    name = "sse"
    anonymous = False
    reports_outcome = False  # the Codex flow the relay answers reports the turn
    answers_on_flow = False
    streams = True

    def __init__(self, plan: FallbackPlan, route: ModelRoute) -> None:
        self.plan = plan
        self.route = route
        self.flow: http.HTTPFlow | None = None
        self.exchange: ByokExchange | None = None
        self.over = False  # failed, timed out, or superseded: its later news is ignored

    def sink(self) -> EventSink:
        assert self.plan.response is not None
        return RelaySink(self.plan.response, lambda: self.plan.serving is self)

    def answered(self, status: int) -> None:
        if not self.over and 200 <= status < 300:
            self.plan.accepted(self)

    def deliver(self, flow: http.HTTPFlow, exchange: ByokExchange, events: bytes) -> None:
        if not self.over:  # its events went into the relay as they were written
            self.plan.finished(self)

    def deliver_error(self, flow: http.HTTPFlow, exchange: ByokExchange, error: ShimError) -> None:
        if not self.over:
            status = flow.response.status_code if flow.response else 502
            self.plan.attempt_failed(self, error, retry=status in RETRYABLE_STATUSES)

    def broken(self, flow: http.HTTPFlow, exchange: ByokExchange, reason: str) -> None:
        if not self.over:
            error = ShimError(502, "upstream_connection_error", f"codex-shim: {self.route.provider} for {self.route.model} failed: {reason}")
            self.plan.attempt_failed(self, error, retry=True)


class FallbackPlan:
    """One turn with fallbacks: tries its routes in order until one answers."""

    def __init__(
        self, addon: Fallbacks, codex_flow: http.HTTPFlow, body: dict[str, Any], routes: list[ModelRoute], notes: dict[str, Any]
    ) -> None:
        self.addon = addon
        self.notes = notes
        self.template = codex_flow.request.copy()
        self.client_conn = codex_flow.client_conn
        self.body = body
        self.remaining = list(routes)
        self.requested = routes[0].model
        self.current: Attempt | None = None
        self.serving: Attempt | None = None
        self.response: RelayResponse | None = None
        self.outcomes: list[dict[str, str]] = []
        self.last_error: ShimError | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._done = asyncio.Event()
        self.path = ""

    async def serve(self, response: RelayResponse) -> None:
        """The relay's handler for this turn's Codex flow: answers once an attempt decides."""
        self.response = response
        if self._done.is_set():
            return  # Codex went away before the relay was asked: no provider is called
        self._try_next()
        await self._done.wait()

    def cancel(self) -> None:
        """Codex went away: stop whatever attempt is running."""
        self.addon.relay.forget(self.path)
        if self.current is not None:
            self._stop(self.current, "codex-shim: Codex closed the turn")
        self._end()

    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = {**self.notes, "route": self.requested, "attempts": self.outcomes}
        if self.serving is not None:
            facts["served_by"] = self.serving.route.model
            exchange = self._exchange(self.serving)
            served = exchange.facts() if exchange is not None else {}
            kept = ("usage", "cost", "priced_by", "web_search_requests", "corrected", "provider", "upstream_model",
                    "time_to_first_byte_s", "time_to_first_token_s", "duration_s")
            facts.update({key: served[key] for key in kept if key in served})
        elif self.last_error is not None:
            facts["error"] = self.last_error.message
        return facts

    # -- attempts ---------------------------------------------------------------------------------

    def _try_next(self) -> None:
        while self.remaining:
            route = self.remaining.pop(0)
            attempt = self.current = Attempt(self, route)
            try:
                self._start(attempt)
                return
            except RequestError as exc:
                self._record(attempt, f"not translatable: {exc}")
                self.last_error = ShimError(exc.status, exc.code, f"codex-shim ({route.model}): {exc}")
            except Exception as exc:  # noqa: BLE001 - one route's bug must not stop the others
                log.exception("codex-shim: could not start a fallback attempt")
                self._record(attempt, f"internal error: {exc!r}")
                self.last_error = ShimError(500, "server_error", f"codex-shim ({route.model}): internal error: {exc!r}")
        self._give_up()

    def _start(self, attempt: Attempt) -> None:
        upstream = new_call_flow(self.template, self.client_conn)
        attempt.flow = upstream
        attempt.exchange = start_byok_call(self.addon.shim, upstream, self.body, attempt.route, attempt, sides=self.addon.sides,
                                           notes={**self.notes, "attempt_for": self.requested}, replay=self.addon.tasks)
        upstream.comment += f" (for {self.requested}, attempt {len(self.outcomes) + 1})"
        limit = self.addon.first_byte_timeout
        if limit > 0 and self.remaining:  # the last route gets all the time it needs
            self._timer = asyncio.get_running_loop().call_later(limit, self._timed_out, attempt, limit)

    def _timed_out(self, attempt: Attempt, limit: float) -> None:
        if attempt is self.current and not attempt.over and self.serving is None:
            error = ShimError(504, "upstream_timeout", f"codex-shim: {attempt.route.model} sent nothing for {limit:g}s")
            self.attempt_failed(attempt, error, retry=True)

    def accepted(self, attempt: Attempt) -> None:
        """The attempt's provider answered 2xx: from here on, this is Codex's answer."""
        self._cancel_timer()
        self.serving = attempt
        self.remaining.clear()
        self.addon.breaker.succeeded(attempt.route.model)
        self._record(attempt, "answered")
        assert self.response is not None
        self.response.start(200, {"content-type": SSE_TYPE, "cache-control": "no-cache"})

    def attempt_failed(self, attempt: Attempt, error: ShimError, retry: bool) -> None:
        self._cancel_timer()
        if self.serving is attempt:  # it broke mid-answer: too late to switch; Codex retries the turn
            self._stop(attempt, error.message)
            exchange = self._exchange(attempt)
            if exchange is not None and exchange.translator is not None:
                exchange.translator.fail(error.code, error.message)  # after what was already sent
            self._end()
            return
        self._stop(attempt, error.message)
        self._record(attempt, error.message)
        self.last_error = error
        if retry:
            self.addon.breaker.failed(attempt.route.model, time.monotonic())
            if self.remaining:
                log.warning(f"codex-shim: {attempt.route.model} failed before answering ({error.message}); trying {self.remaining[0].model}")
                self._try_next()
                return
        self._give_up()

    def finished(self, attempt: Attempt) -> None:
        if attempt is self.serving:
            self._end()

    def _give_up(self) -> None:
        """Every route failed (or one failed in a way another cannot help): Codex gets the last error."""
        error = self.last_error or ShimError(502, "upstream_connection_error", "codex-shim: no route could be tried")
        response = self.response
        if response is not None and not response.started:
            if error.as_stream:
                headers = {"content-type": SSE_TYPE, "x-codex-shim-upstream-status": str(error.status)}
                if error.retry_after:
                    headers["retry-after"] = error.retry_after
                response.start(200, headers)
                stream = ResponseStream(self.requested)
                stream.fail(error.code, error.message)
                response.write(stream.drain())
            else:
                headers = {"content-type": "application/json"}
                if error.retry_after:
                    headers["retry-after"] = error.retry_after
                response.start(error.status, headers)
                response.write(error.body())
        self._end()

    def _stop(self, attempt: Attempt, reason: str) -> None:
        attempt.over = True
        exchange = self._exchange(attempt)
        if exchange is not None and exchange.replay is not None:
            cancel_replay(exchange.replay, reason)

    def _exchange(self, attempt: Attempt) -> ByokExchange | None:
        return attempt.exchange

    def _record(self, attempt: Attempt, outcome: str) -> None:
        self.outcomes.append({"route": attempt.route.model, "outcome": outcome})

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _end(self) -> None:
        self._cancel_timer()
        if self.response is not None:
            self.response.close()
        self._done.set()


class Fallbacks:
    """Owns the relay, the circuit breaker and the turns being served with fallbacks."""

    def __init__(self, shim: Shim, sides: BothSides | None = None) -> None:
        self.shim = shim
        self.sides = sides
        self.relay = Relay()
        self.breaker = CircuitBreaker()
        self.first_byte_timeout = 0.0  # from codex_shim_first_byte_timeout, in `configure`
        self.tasks: set[asyncio.Task[None]] = set()

    def load(self, loader: Any) -> None:
        loader.add_option(
            "codex_shim_fallback_cooldown",
            int,
            30,
            "Seconds a route that just failed is tried only after its fallbacks (a circuit breaker).",
        )
        loader.add_option(
            "codex_shim_first_byte_timeout",
            int,
            30,
            "Seconds a route with fallbacks may take to start answering before the next is tried (0: no limit).",
        )

    def configure(self, updated: set[str]) -> None:
        if "codex_shim_fallback_cooldown" in updated:
            self.breaker.cooldown_s = max(0, ctx.options.codex_shim_fallback_cooldown)
        if "codex_shim_first_byte_timeout" in updated:
            self.first_byte_timeout = max(0, ctx.options.codex_shim_first_byte_timeout)

    # Sync hooks (they start or stop async work): mitmproxy calls `running` and `done` from sync
    # code when it reloads the script, and refuses async handlers there.
    def running(self) -> None:
        if any(route.fallbacks for route in self.shim.routes.values()):  # else no port of ours is open
            self._start_relay()

    def done(self) -> None:
        self.relay.close()

    def _start_relay(self) -> None:
        task = asyncio.get_running_loop().create_task(self.relay.start())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def plan(self, flow: http.HTTPFlow, body: dict[str, Any], route: ModelRoute, notes: dict[str, Any] | None = None) -> bool:
        """Serve `flow` through its route's fallbacks; False when it has none (or no relay runs)."""
        routes = candidates(route, self.shim.routes, self.breaker, time.monotonic())
        if len(routes) < 2:
            return False
        if not self.relay.running:  # fallbacks appeared by a reload: from the next turn on
            self._start_relay()
            log.info(f"codex-shim: starting the fallback relay; {route.model} gets its fallbacks from the next turn")
            return False
        plan = FallbackPlan(self, flow, body, routes, notes or {})
        relayed = RelayedExchange(plan, codex_request_copy(flow.request))
        path = plan.path = self.relay.register(plan.serve)
        req = flow.request = flow.request.copy()  # a copy, as byok_call.send_upstream does, and for the same reason
        req.url = f"http://127.0.0.1:{self.relay.port}{path}"
        req.headers = http.Headers(host=f"127.0.0.1:{self.relay.port}", content_type="application/json")
        req.content = b""  # the plan holds the request; a body the relay never reads would reset its answer
        flow.metadata[METADATA_KEY] = plan.facts()
        flow.comment = f"codex-shim: {route.model} with fallbacks {', '.join(r.model for r in routes[1:])}"
        flow.marked = MARKERS.get(route.provider, CHAT_MARKER)
        self.shim.exchanges.open(flow, relayed)
        return True

