"""The one way a BYOK call starts: an exchange opened for a Responses body on a route, a flow
rewritten into the provider's request, both sides kept for mitmweb, the exchange registered — and,
for a call codex-shim makes itself (a fallback attempt, a WebSocket turn, a corrected retry), the
flow sent now as a mitmproxy client replay. The Router's hooks translate every such flow alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mitmproxy import connection, http
from mitmproxy.net.http import url

from . import jsonio, messages
from .config import ModelRoute
from .exchange import METADATA_KEY, ByokExchange, open_exchange
from .outlets import Outlet
from .replays import start_replay
from .state import Shim

if TYPE_CHECKING:
    from .addons.both_sides import BothSides


def start_byok_call(
    shim: Shim,
    flow: http.HTTPFlow,
    body: dict[str, Any],
    route: ModelRoute,
    outlet: Outlet,
    *,
    sides: BothSides | None = None,
    notes: dict[str, Any] | None = None,
    replay: set[asyncio.Task[None]] | None = None,
    then: Callable[[], None] | None = None,
) -> ByokExchange:
    """Make `flow` the provider call for `body` on `route`, answering into `outlet`. With `replay`
    (where its task is kept) the flow is sent now, as a call of codex-shim's own. Raises
    RequestError when the body cannot be translated, before anything is changed or sent."""
    exchange = open_exchange(body, route, outlet=outlet, profile=shim.profiles.of(route))
    exchange.notes = dict(notes or {})
    if sides is not None:
        sides.opened(flow, exchange)
    send_upstream(flow, exchange)
    shim.exchanges.open(flow, exchange)
    if replay is not None:
        flow.server_conn.address = (flow.request.host, flow.request.port)
        try:
            exchange.replay = start_replay(flow, replay, then)
        except Exception:
            shim.exchanges.close(flow)
            raise
    return exchange


def new_call_flow(template: http.Request, client_conn: connection.Client) -> http.HTTPFlow:
    """A flow of codex-shim's own, for a call it sends itself, made from the request it answers."""
    flow = http.HTTPFlow(client_conn, connection.Server(address=None))
    flow.request = template.copy()
    return flow


@lru_cache(maxsize=256)
def _target(upstream_url: str) -> tuple[bytes, str, int, bytes, bytes]:
    """Scheme, host, port and path of an upstream URL as a request holds them, and its authority
    (host, and the port unless it is the scheme's), as mitmproxy's `Request.url` setter makes them."""
    scheme, host, port, path = url.parse(upstream_url)
    authority = url.hostport(scheme, host, port)  # bytes in, bytes out
    return scheme, host.decode("idna"), port, path, authority


def send_upstream(flow: http.HTTPFlow, exchange: ByokExchange) -> None:
    """Rewrite `flow`'s request into the provider's: nothing of Codex's (auth, cookies, ids) survives."""
    upstream = exchange.upstream
    # Serialise first: nothing that can fail comes after the key is on the flow. Any string (a lone
    # surrogate too) makes valid JSON (shim/jsonio.py).
    content = jsonio.dumps(upstream.body)
    # A new request, not Codex's rewritten: mitmproxy's connection to Codex holds the original and
    # reads its headers (a `connection: close`) when the answer is done (the twin of the Router's
    # new response). Built whole, with the upstream URL parsed once per route (a turn's first delta waits on this).
    codex = flow.request
    scheme, host, port, path, authority = _target(upstream.url)
    fields = [(b"host", urlsplit(upstream.url).netloc.encode()), (b"accept-encoding", b"identity")]
    fields += [(k.encode(), v.encode()) for k, v in upstream.headers.items() if k.lower() not in ("host", "content-length")]
    fields.append((b"content-length", b"%d" % len(content)))
    # No `connection` header, even when the client's connection closes after this answer: mitmproxy
    # closes the provider's connection with the client's, at once. Said upstream, it made the provider
    # close first, which cost the bench's first deltas (docs/performance-history.md, round 9: `connection: close`).
    flow.request = messages.request(host, port, b"POST", scheme, authority if codex.data.authority else b"", path, codex.data.http_version,
                                    http.Headers(fields), content, codex.timestamp_start, codex.timestamp_end)
    flow.metadata[METADATA_KEY] = exchange.facts()
    route = exchange.route
    flow.comment = f"codex-shim: {route.model} -> {route.provider} {route.upstream_name}"
