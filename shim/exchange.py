"""One object per turn: what the proxy knows about a Responses call from request to answer.

A `ByokExchange` is opened once, in the request hook, when a call names a BYOK slug, and found
again by flow id in every later hook: the route, the upstream request, the translator, the
outlet its answer goes to (shim/outlets.py: SSE on an HTTP flow, frames on a WebSocket turn,
JSON for the legacy compact endpoint, another call waiting for it), the timings and the usage. A `NativeExchange` marks a call that goes
to OpenAI untouched, so that its answer is streamed. `Exchanges` keeps them by flow id.

What a user or another addon may read goes on the flow under one key (`METADATA_KEY`); the
exchange itself is ours.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from mitmproxy import http
from mitmproxy.addons.clientplayback import ReplayHandler

from . import compaction
from .config import ModelRoute
from .errors import RequestError, ShimError
from .event_sinks import EventSink
from .kept_body import KeptBody
from .model_profile import ModelProfile
from .outlets import HttpStream, Outlet
from .providers import PROVIDERS
from .providers.base import StreamTranslator, UpstreamRequest
from .response_object import request_echo

METADATA_KEY = "codex_shim"
"""flow.metadata[METADATA_KEY]: what codex-shim did with a flow (see README, "Flows in mitmweb")."""


class Plan(Protocol):
    def facts(self) -> dict[str, Any]: ...

    def cancel(self) -> None: ...


@dataclass(eq=False)
class ByokExchange:
    """One BYOK turn, from Codex's request to the provider's last byte."""

    route: ModelRoute
    upstream: UpstreamRequest
    profile: ModelProfile = field(default_factory=ModelProfile)
    body: dict[str, Any] = field(default_factory=dict)
    """The Responses request as Codex (or a policy) made it: what a corrected retry is built from."""
    compacting: bool = False
    outlet: Outlet = field(default_factory=HttpStream)
    """Where the answer goes, in the form its asker wants (shim/outlets.py)."""
    replay: ReplayHandler | None = None
    """The client replay carrying this call, when codex-shim started it (socket turns, fallbacks)."""
    translator: StreamTranslator | None = None
    sink: EventSink | None = None
    streamed: bool = False
    opened_at: float = field(default_factory=time.monotonic)
    first_byte_at: float | None = None
    ended_at: float | None = None
    last_upstream_activity: float | None = field(default_factory=time.monotonic)
    """When the upstream last sent something; None once it has nothing more to send."""
    notes: dict[str, Any] = field(default_factory=dict)
    """How the turn was routed (kinds, rule, policy), for the flow's facts."""
    codex_request: http.Request | None = None
    """The request as Codex sent it (credentials redacted), for mitmweb (shim/addons/both_sides.py)."""
    provider_answer: http.Response | None = None
    """The provider's response as it came (a streamed one's headers; its body is kept in `raw`)."""
    sent: KeptBody | None = None
    raw: KeptBody | None = None
    halves: http.HTTPFlow | None = None

    def new_translator(self) -> StreamTranslator:
        """The translator for this turn's answer, writing into its outlet's sink."""
        self.sink = self.outlet.sink()
        self.translator = self.upstream.new_translator(self.sink, anonymous=self.outlet.anonymous)
        return self.translator

    def upstream_answered(self) -> None:
        self.first_byte_at = self.first_byte_at or time.monotonic()

    def ended(self) -> None:
        self.ended_at = time.monotonic()
        self.last_upstream_activity = None

    def fail(self, error: ShimError) -> bytes:
        """End the answer with response.failed; SSE bytes for an SSE sink (b"" for the others).

        An answer that already streamed continues its own numbering; one that did not gets a whole
        failed answer of its own."""
        translator = self.translator or self.new_translator()
        return translator.fail(error.code, error.message)

    def facts(self) -> dict[str, Any]:
        """What mitmweb and other addons may read about this turn."""
        facts: dict[str, Any] = {
            **self.notes,
            "route": self.route.model,
            "provider": self.route.provider,
            "upstream": self.upstream.url,
            "upstream_model": self.route.upstream_name,
            "output": self.outlet.name,
        }
        if self.compacting:
            facts["compaction"] = True
        if self.streamed:
            facts["streamed"] = True
        if self.first_byte_at is not None:
            facts["time_to_first_byte_s"] = round(self.first_byte_at - self.opened_at, 4)
        first_delta = self.translator.stream.first_delta_at if self.translator is not None else None
        if first_delta is not None:
            facts["time_to_first_token_s"] = round(first_delta - self.opened_at, 4)
        if self.ended_at is not None:
            facts["duration_s"] = round(self.ended_at - self.opened_at, 4)
        if self.translator is not None and self.translator.stream.started:
            usage = self.translator.stream.usage
            facts["usage"] = usage.as_json()
            if usage.web_search_requests:
                facts["web_search_requests"] = facts["usage"]["web_search_requests"] = usage.web_search_requests
            if self.profile.prices is not None:
                facts["cost"] = round(usage.cost(self.profile.prices), 9)
                facts["priced_by"] = self.profile.price_source
            if self.translator.stream.abandoned_tool_calls:  # cut off by the output limit, not run
                facts["dropped_tool_calls"] = self.translator.stream.abandoned_tool_calls
        return facts


@dataclass(eq=False)
class NativeExchange:
    """A Responses call for an OpenAI model: passed through, its answer streamed as it comes
    (what was done to it is on the flow, under METADATA_KEY)."""


@dataclass(eq=False)
class RelayedExchange:
    """A Codex flow answered by the relay for a fallback plan; its attempts are exchanges of their own."""

    plan: Plan
    codex_request: http.Request | None = None
    """The request as Codex sent it (credentials redacted): shown on the flow once it is over."""


Exchange = ByokExchange | NativeExchange | RelayedExchange


class Exchanges:
    """The open exchanges, by flow id: opened in the request hook, closed by response or error."""

    def __init__(self) -> None:
        self._open: dict[str, tuple[http.HTTPFlow, Exchange]] = {}

    def open(self, flow: http.HTTPFlow, exchange: Exchange) -> None:
        self._open[flow.id] = (flow, exchange)

    def get(self, flow: http.HTTPFlow) -> Exchange | None:
        entry = self._open.get(flow.id)
        return entry[1] if entry is not None else None

    def byok(self, flow: http.HTTPFlow) -> ByokExchange | None:
        exchange = self.get(flow)
        return exchange if isinstance(exchange, ByokExchange) else None

    def close(self, flow: http.HTTPFlow) -> Exchange | None:
        entry = self._open.pop(flow.id, None)
        return entry[1] if entry is not None else None

    def byok_flows(self) -> list[tuple[http.HTTPFlow, ByokExchange]]:
        return [(flow, exchange) for flow, exchange in self._open.values() if isinstance(exchange, ByokExchange)]


def open_exchange(
    body: dict[str, Any],
    route: ModelRoute,
    *,
    outlet: Outlet | None = None,
    profile: ModelProfile | None = None,
) -> ByokExchange:
    """The provider's request for a Responses request `body`, shaped by the model's `profile`
    (raises RequestError if it cannot be)."""
    provider = PROVIDERS.get(route.provider)
    if provider is None:
        raise RequestError(f"provider {route.provider!r} is not supported by this version of codex-shim")
    key = route.resolve_key()
    if route.api_key_env and key is None:  # never send a whole prompt to a provider that will refuse it
        raise RequestError(
            f"${route.api_key_env} is not set in the proxy's environment, so the request was not sent; "
            "set it where the proxy runs (or give api_key in models.json) and restart the proxy",
            code="invalid_api_key",
        )
    compacting = compaction.is_compaction_request(body)
    profile = profile or provider.default_profile(route).with_route_overrides(route)
    upstream = provider.build(compaction.prepare_request(body, compacting), route, key, profile)
    upstream.echo = request_echo(body)
    if compacting:
        upstream = compaction.wrap(upstream)
    return ByokExchange(route, upstream, profile=profile, body=body, compacting=compacting, outlet=outlet or HttpStream())


def legacy_compact_body(body: dict[str, Any]) -> dict[str, Any]:
    """`POST …/responses/compact` (the pre-v2 call) as the streamed compaction request it means."""
    items = body.get("input")
    if isinstance(items, str):
        items = [{"type": "message", "role": "user", "content": items}]
    return {**body, "stream": True, "input": [*(items or []), {"type": "compaction_trigger"}]}
