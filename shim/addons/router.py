"""Routes Codex's Responses calls: BYOK slugs to their provider, the rest to OpenAI untouched.

A call for a configured slug opens a `ByokExchange`, and its flow is rewritten in place into the
provider's request (so mitmweb shows the real upstream exchange); the provider's stream is
translated chunk by chunk in mitmproxy's streaming hook. Every other Responses call passes
through byte for byte, streamed as it arrives — only a native call that carries our reasoning
or compaction items after BYOK turns is re-sent without them (native_history).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mitmproxy import ctx, http
from mitmproxy.addonmanager import traverse
from mitmproxy.exceptions import AddonHalt

from .. import jsonio, messages, native_history
from ..answers import error_response, failed_stream
from ..byok_call import new_call_flow, start_byok_call
from ..config import RouteTable
from ..corrected_retry import CollectedAnswer
from ..corrections import Correction, correction_for, refusal_message
from ..errors import RequestError, ShimError, from_upstream, needs_stored_state
from ..exchange import METADATA_KEY, ByokExchange, NativeExchange, RelayedExchange, legacy_compact_body, open_exchange
from ..outlets import HttpStream, JsonAnswer, LegacyCompact, Outlet
from ..policy import CodexShimOutcomeHook, CodexShimTurnHook, Turn
from ..rules import route_by_rules
from ..state import Shim
from ..turn_kinds import estimate_input_tokens, turn_kinds

if TYPE_CHECKING:
    from .both_sides import BothSides
    from .fallbacks import Fallbacks

log = logging.getLogger("codex_shim")

MAX_CORRECTIONS = 3  # retries of one turn, each after a refusal that taught something new

RELAYED_HEADERS = frozenset({"content-type", "cache-control", "retry-after", "x-codex-shim-upstream-status"})


def is_responses_path(path: str) -> bool:
    return path.split("?", 1)[0].rstrip("/").endswith(("/responses", "/responses/compact"))


def is_legacy_compact(path: str) -> bool:
    """`POST …/responses/compact`: the pre-v2 compaction call, answered with {"output": [items]}."""
    return path.split("?", 1)[0].rstrip("/").endswith("/responses/compact")


def turn_model(headers: http.Headers) -> str | None:
    """The model Codex names in its turn metadata header (sent with the WebSocket upgrade too)."""
    raw = headers.get("x-codex-turn-metadata")
    if not raw:
        return None
    try:
        meta = jsonio.loads(raw)
    except ValueError:
        return None
    model = meta.get("model") if isinstance(meta, dict) else None
    return model if isinstance(model, str) else None


def answer_to_codex(upstream: http.Response, headers: http.Headers) -> http.Response:
    """A new response for Codex with the upstream's status and `headers`, streamed as HTTP/1.1 chunks.

    New, not the upstream's Response rewritten: mitmproxy's connection to the provider holds that
    same object and, when the body ends, reads its headers to decide whether to close
    (Http1Connection.mark_done, mitmproxy/proxy/layers/http/_http1.py). Made to say "chunked", a
    body that ended by the provider closing (`connection: close`, no length) would leave the
    half-closed connection open for good, holding one of the five connections mitmproxy allows
    per upstream address (proxy/server.py, max_conns): the sixth turn would hang. Built whole
    rather than copied: a copy round-trips the whole object's state, on the way to the first delta."""
    return messages.response(b"HTTP/1.1", upstream.status_code, upstream.data.reason, headers, None,
                             upstream.timestamp_start, upstream.timestamp_end)


def release_stream(flow: http.HTTPFlow) -> None:
    """The turn is over: let go of its stream function, which holds the whole turn (exchange,
    Codex's parsed request, translator). mitmproxy's flow objects reference each other, so a flow
    is freed by the garbage collector, not when its connection ends; whatever it still holds goes
    with it, in the collections that a later turn's first delta may wait on. Let go of here, the
    turn is freed at once (`True`: the flow was streamed, as mitmproxy sees it)."""
    if flow.response is not None and callable(flow.response.stream):
        flow.response.stream = True


class Listeners:
    """The loaded addons' handlers of an event of ours (shim/policy.py), in mitmproxy's order.
    Called directly, not through AddonManager.trigger: that walks every loaded addon (some forty,
    ~0.13 ms a turn) to reach the one or two that handle it. Asked on every turn; the addon chain
    is walked again only when the loaded addons or the scripts' order changed (a script added,
    reloaded or removed registers or drops addons in AddonManager.lookup; a new `scripts` order
    only reorders the script loader's list)."""

    def __init__(self) -> None:
        self._loaded: tuple[int, ...] = ()
        self._handlers: dict[str, tuple[Callable[..., Any], ...]] = {}

    def __call__(self, event: str) -> tuple[Callable[..., Any], ...]:
        addons = ctx.master.addons
        scripts = addons.get("scriptloader")
        loaded = (*map(id, addons.lookup.values()), *map(id, getattr(scripts, "addons", ())))
        if loaded != self._loaded:
            self._loaded, self._handlers = loaded, {}
        handlers = self._handlers.get(event)
        if handlers is None:
            handlers = self._handlers[event] = tuple(
                getattr(addon, event) for addon in traverse(addons.chain) if callable(getattr(addon, event, None)))
        return handlers


listeners = Listeners()


def tell(handlers: tuple[Callable[..., Any], ...], event: str, *args: Any) -> None:
    """Each handler gets the event as mitmproxy's trigger would hand it: one that raises is logged
    and the others still run, one that raises AddonHalt stops the rest, and an async one is refused
    with a logged error (our events are delivered synchronously, as the README says)."""
    for handler in handlers:
        try:
            result = handler(*args)
        except AddonHalt:
            return
        except Exception:
            log.exception(f"codex-shim: an addon's {event} failed")
            continue
        if inspect.isawaitable(result):
            if inspect.iscoroutine(result):
                result.close()
            log.error(f"codex-shim: {handler!r} is async; {event} handlers must be plain functions (ignored)")


def outcome(flow: http.HTTPFlow, facts: dict[str, Any]) -> None:
    """Tell policy addons how a turn ended (shim/policy.py)."""
    tell(listeners(CodexShimOutcomeHook.name), CodexShimOutcomeHook.name, flow, facts)


def decide_turn(
    flow: http.HTTPFlow, body: dict[str, Any], model: str | None, legacy: bool, routes: RouteTable
) -> tuple[Turn, dict[str, Any]]:
    """Where a turn goes: a policy addon's choice, else the first matching rule, else the route of
    the slug Codex asked for (none: OpenAI). Policy addons see it before anything is sent."""
    kinds = turn_kinds(body, flow.request.headers, legacy)
    notes: dict[str, Any] = {"kinds": sorted(kinds)} if kinds else {}
    meta = flow.metadata.get(METADATA_KEY)
    preset = meta.get("use") if isinstance(meta, dict) else None
    if isinstance(preset, str):
        use: str | None = preset
        notes["routed_by"] = "flow.metadata['codex_shim']['use']"
    elif rule := route_by_rules(routes.rules, model, routes, kinds, lambda: estimate_input_tokens(body)):
        use = rule.use
        notes["routed_by"] = f"rule {rule.when}" + (f" > {rule.tokens} tokens" if rule.tokens else "")
    else:
        use = model if model in routes else None
    turn = Turn(model, body, kinds, use)
    if policies := listeners(CodexShimTurnHook.name):
        before = json.dumps(body, sort_keys=True)
        tell(policies, CodexShimTurnHook.name, flow, turn)
        if not isinstance(turn.body, dict):
            turn.body = body  # a policy that broke the body does not get to send it
        notes["policy_changed_request"] = json.dumps(turn.body, sort_keys=True) != before
        if turn.use != use:
            notes["routed_by"] = "codex_shim_turn policy"
        if turn.notes:
            notes["policy"] = list(turn.notes)
    if turn.use is not None and turn.use != model:
        notes["requested"] = model
    return turn, notes


def unknown_route(turn: Turn, routes: RouteTable) -> ShimError | None:
    """A policy or preset that names no configured slug: refused, never sent to OpenAI instead."""
    if turn.use is None or turn.use in routes:
        return None
    return ShimError(400, "model_not_found", f"codex-shim: the turn was routed to {turn.use!r}, which is not a configured model; nothing was sent")


class Router:
    """The request, response and error hooks of Responses calls (HTTP; sockets: WebSocketTurns)."""

    def __init__(self, shim: Shim, fallbacks: Fallbacks | None = None, sides: BothSides | None = None) -> None:
        self.shim = shim
        self.fallbacks = fallbacks
        self.sides = sides
        self._tasks: set[asyncio.Task[None]] = set()  # corrected retries' replays

    def configure(self, updated: set[str]) -> None:
        if "connection_strategy" in updated or "codex_shim_config" in updated:
            # Eager CONNECT dials OpenAI before we see the request: BYOK must work without it.
            if ctx.options.connection_strategy != "lazy":
                ctx.options.update(connection_strategy="lazy")

    # -- request side --------------------------------------------------------------------

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live:
            return
        if self.shim.exchanges.get(flow) is not None:
            return  # an upstream call we made ourselves (a WebSocket turn's)
        req = flow.request
        if req.method != "POST" or not self.shim.is_our_host(req) or not is_responses_path(req.path):
            return
        legacy = is_legacy_compact(req.path)
        try:
            body = jsonio.loads(req.get_content(strict=True) or b"")
        except ValueError as exc:  # (json's JSONDecodeError, and UnicodeDecodeError, are ValueErrors)
            if self.shim.routes.get(turn_model(req.headers) or ""):
                self._refuse(flow, ShimError(400, "invalid_request_error", f"codex-shim: request body is not valid JSON: {exc}"), "", False)
            return  # not ours to judge: pass through
        model = body.get("model") if isinstance(body, dict) else None
        model = model if isinstance(model, str) else None
        if not isinstance(body, dict):
            self._pass_native(flow, body, model, {})
            return
        streams = not legacy and body.get("stream") is True  # the caller reads SSE
        turn, notes = decide_turn(flow, body, model, legacy, self.shim.routes)
        if refusal := unknown_route(turn, self.shim.routes):
            self._refuse(flow, refusal, model or "", streams)
            return
        body = turn.body
        route = self.shim.routes.get(turn.use) if turn.use else None
        if route is None:
            self._pass_native(flow, body, model, notes)
            return
        if refusal := needs_stored_state(body):
            self._refuse(flow, refusal, route.model, streams)
            return
        if streams and self.fallbacks is not None and self.fallbacks.plan(flow, body, route, notes):
            return  # served by the first of its routes that answers
        if route.fallbacks and not legacy and not streams:
            notes["fallbacks"] = "not tried: a call without \"stream\": true is answered by its own route"
        try:  # whatever fails in here is answered, not raised
            outlet: Outlet = HttpStream() if streams else LegacyCompact() if legacy else JsonAnswer()
            start_byok_call(self.shim, flow, legacy_compact_body(body) if legacy else body, route, outlet, sides=self.sides, notes=notes)
        except RequestError as exc:
            self._refuse(flow, ShimError(exc.status, exc.code, f"codex-shim ({route.model}): {exc}"), route.model, streams)
            return
        except Exception as exc:
            log.exception("codex-shim: failed to translate a request")
            flow.metadata[METADATA_KEY] = {"route": route.model, "traceback": traceback.format_exc()}
            self._refuse(flow, ShimError(500, "server_error", f"codex-shim ({route.model}): internal error: {exc!r}"), route.model, streams)

    def _pass_native(self, flow: http.HTTPFlow, body: Any, model: str | None, notes: dict[str, Any]) -> None:
        exchange = NativeExchange()
        flow.metadata[METADATA_KEY] = {"route": "passthrough", "model": model, **notes}
        if isinstance(body, dict) and (notes.get("policy_changed_request") or native_history.carries_ours(flow.request.content or b"")):
            flow.request.headers.pop("content-encoding", None)
            flow.request.content = jsonio.dumps(native_history.scrub(body))
            flow.metadata[METADATA_KEY]["scrubbed"] = "BYOK reasoning/compaction items made OpenAI-safe"
        self.shim.exchanges.open(flow, exchange)

    def _refuse(self, flow: http.HTTPFlow, error: ShimError, model: str, streams: bool) -> None:
        """Answer a call we cannot send upstream, in the form its caller reads (`streams`: SSE)."""
        flow.response = failed_stream(error, model) if error.as_stream and streams else error_response(error)
        flow.metadata.setdefault(METADATA_KEY, {"route": model})["error"] = error.message

    # -- response side -------------------------------------------------------------------

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        exchange = self.shim.exchanges.get(flow)
        resp = flow.response
        assert resp is not None
        if isinstance(exchange, RelayedExchange):
            # The relay ends its answer by closing; Codex's connection stays open (a copy: see below).
            kept = [(k.encode(), v.encode()) for k, v in resp.headers.items() if k.lower() in RELAYED_HEADERS]
            flow.response = answer_to_codex(resp, http.Headers([*kept, (b"transfer-encoding", b"chunked")]))
            flow.response.stream = True
            return
        if isinstance(exchange, NativeExchange):
            resp.stream = True  # Codex reads SSE as it arrives
            return
        if exchange is None:
            return
        exchange.upstream_answered()
        exchange.outlet.answered(resp.status_code)
        is_sse = "text/event-stream" in resp.headers.get("content-type", "")
        if not (200 <= resp.status_code < 300 and is_sse and "content-encoding" not in resp.headers) or not exchange.outlet.streams:
            # Read whole in `response`. Its chunks are not seen, so silence cannot be told from a long
            # answer: the idle cutter leaves it to the caller's own timeout (the SDKs have one).
            exchange.last_upstream_activity = None
            return
        translator = exchange.new_translator()
        exchange.provider_answer = resp
        resp = flow.response = answer_to_codex(resp, http.Headers(
            content_type="text/event-stream; charset=utf-8", cache_control="no-cache", transfer_encoding="chunked"
        ))
        exchange.streamed = True

        raw, sent = exchange.raw, exchange.sent

        def stream(chunk: bytes) -> list[bytes]:
            if chunk:
                exchange.last_upstream_activity = time.monotonic()
                if raw is not None:
                    raw.add(chunk)
            else:
                exchange.last_upstream_activity = None
            out = translator.feed(chunk)
            if not out:
                return []
            if sent is not None:
                sent.add(out)
            return [out]

        resp.stream = stream

    async def response(self, flow: http.HTTPFlow) -> None:
        exchange = self.shim.exchanges.close(flow)
        if isinstance(exchange, RelayedExchange):
            flow.metadata[METADATA_KEY] = {**flow.metadata.get(METADATA_KEY, {}), **exchange.plan.facts()}
            outcome(flow, flow.metadata[METADATA_KEY])
            if exchange.codex_request is not None:  # shown as Codex sent it, not as the relay got it
                flow.request = exchange.codex_request
            return
        if not isinstance(exchange, ByokExchange) or flow.response is None:
            return
        exchange.ended()
        provider_answer = exchange.provider_answer if exchange.streamed else flow.response
        served_by = exchange
        try:
            fix = None if exchange.streamed else self._correction(exchange, flow.response)
            if fix is not None and exchange.outlet.answers_on_flow:
                served_by = await self._retry_corrected(flow, exchange, fix)
            elif not exchange.streamed:
                if fix is not None:  # a fallback attempt or a socket turn: corrected from the next turn on
                    self.shim.profiles.learn(exchange.route, fix.changes, fix.why)
                    log.warning(f"codex-shim ({exchange.route.model}): {exchange.route.provider} refused {fix.why}; corrected from the next turn on")
                self._answer_whole(flow, exchange, flow.response)
            else:
                exchange.outlet.deliver(flow, exchange, b"")  # streamed: it went out as it was translated
        finally:
            served = {k: v for k, v in served_by.facts().items() if k != "output"}  # the form is this flow's
            flow.metadata[METADATA_KEY] = {**flow.metadata.get(METADATA_KEY, {}), **exchange.facts(), **served}
            if exchange.outlet.reports_outcome:
                outcome(flow, flow.metadata[METADATA_KEY])
            if self.sides is not None:
                self.sides.closed(flow, exchange, provider_answer)
            release_stream(flow)

    def _correction(self, exchange: ByokExchange, resp: http.Response) -> Correction | None:
        """A 400 about a setting codex-shim chose, whose correction changes the request: else None."""
        if resp.status_code != 400:
            return None
        fix = correction_for(refusal_message(resp.get_content(strict=False) or b""), exchange.profile)
        if fix is None:
            return None
        corrected = replace(exchange.profile, **fix.changes)
        try:
            body = open_exchange(exchange.body, exchange.route, profile=corrected).upstream.body
        except RequestError:
            return None
        return fix if body != exchange.upstream.body else None

    async def _retry_corrected(self, flow: http.HTTPFlow, exchange: ByokExchange, fix: Correction) -> ByokExchange:
        """Send the turn again with the corrected profile (shim/corrected_retry.py), and again while each
        retry's refusal teaches something new (MAX_CORRECTIONS in all); Codex gets the answer, or the last refusal."""
        route = exchange.route
        self.shim.profiles.learn(route, fix.changes, fix.why)
        log.warning(f"codex-shim ({route.model}): {route.provider} refused {fix.why}; sending the turn once more, corrected")
        exchange.notes = {**exchange.notes, "corrected": fix.why}
        served_by = exchange
        for _ in range(MAX_CORRECTIONS):
            profile = self.shim.profiles.of(route)
            collected = CollectedAnswer(exchange.outlet)
            call = new_call_flow(flow.request, flow.client_conn)
            try:
                served_by = start_byok_call(self.shim, call, exchange.body, route, collected, sides=self.sides, notes=exchange.notes,
                                            replay=self._tasks, then=collected.replay_ended)
            except Exception as exc:  # noqa: BLE001 - the refusal then stands, with why the retry could not go
                log.exception("codex-shim: could not send the corrected retry")
                self._deliver_error(flow, exchange, ShimError(502, "upstream_connection_error", f"codex-shim: the corrected retry failed: {exc!r}"))
                return exchange
            call.comment += f" (corrected retry: {exchange.notes['corrected']})"
            await collected.done.wait()
            if collected.error is None:
                exchange.outlet.deliver(flow, exchange, collected.events())
                return served_by
            learned = self.shim.profiles.of(route) != profile  # the retry's own refusal was read as a correction
            if collected.error.status != 400 or not learned:
                break
        assert collected.error is not None  # the loop ends early only on success
        self._deliver_error(flow, exchange, collected.error)
        return served_by

    def _answer_whole(self, flow: http.HTTPFlow, exchange: ByokExchange, resp: http.Response) -> None:
        """An answer that was not streamed (JSON, compressed SSE, an error, the legacy endpoint)."""
        try:
            if 200 <= resp.status_code < 300:
                content = resp.get_content(strict=False) or b""
                translator = exchange.new_translator()
                if "text/event-stream" in resp.headers.get("content-type", ""):
                    events = translator.feed(content) + translator.feed(b"")
                else:
                    events = translator.feed_answer(jsonio.loads(content))
                self._deliver(flow, exchange, events)
                return
            route = exchange.route
            error = from_upstream(
                resp.status_code,
                resp.get_content(strict=False) or b"",
                resp.headers.get("retry-after"),
                f"{route.provider} at {flow.request.pretty_host}",
                route.upstream_name,
            )
        except Exception as exc:  # noqa: BLE001
            error = ShimError(502, "upstream_protocol_error", f"codex-shim: unreadable answer from {flow.request.pretty_host}: {exc!r}")
        self._deliver_error(flow, exchange, error)

    def _deliver(self, flow: http.HTTPFlow, exchange: ByokExchange, events: bytes) -> None:
        exchange.outlet.deliver(flow, exchange, events)

    def _deliver_error(self, flow: http.HTTPFlow, exchange: ByokExchange, error: ShimError) -> None:
        flow.metadata.setdefault(METADATA_KEY, {})["error"] = error.message
        exchange.outlet.deliver_error(flow, exchange, error)

    def error(self, flow: http.HTTPFlow) -> None:
        exchange = self.shim.exchanges.close(flow)
        if isinstance(exchange, RelayedExchange):
            exchange.plan.cancel()  # Codex went away (or the relay failed): stop the attempts
            flow.metadata[METADATA_KEY] = {**flow.metadata.get(METADATA_KEY, {}), **exchange.plan.facts()}
            outcome(flow, flow.metadata[METADATA_KEY])
            return
        if not isinstance(exchange, ByokExchange):
            return
        exchange.ended()
        reason = flow.error.msg if flow.error else "connection lost"
        flow.metadata[METADATA_KEY] = {**flow.metadata.get(METADATA_KEY, {}), **exchange.facts(), "error": reason}
        if exchange.outlet.reports_outcome:
            outcome(flow, flow.metadata[METADATA_KEY])
        if self.sides is not None:
            self.sides.closed(flow, exchange, exchange.provider_answer)
        exchange.outlet.broken(flow, exchange, reason)
        release_stream(flow)
