"""Both sides of every BYOK turn in mitmweb.

A BYOK flow is what mitmproxy really did: the request it sent to the provider, and the answer
it sent to Codex (the translated Responses stream, now kept up to `codex_shim_keep_bytes`, so
mitmweb can show it). The two other halves — the request Codex sent, and the provider's answer
as it came — go on a second flow next to it, the way mitmproxy shows a replay as a flow of its
own: every mitmweb view, filter and download works on them unchanged. Nothing is held back
from either side to keep them: chunks are referenced as they are forwarded.

BYOK flows are marked by provider shape (🟠 anthropic, 🔵 chat completions, 🟢 responses), the
second flow 🟣; `~marker 🟠` or `~comment codex-shim` isolate them.
"""

from __future__ import annotations

import time
from typing import Any

from mitmproxy import ctx, http

from ..exchange import METADATA_KEY, ByokExchange
from ..kept_body import KeptBody
from .redactor import REDACTED

MARKERS = {"anthropic": ":orange_circle:", "responses": ":green_circle:"}
CHAT_MARKER = ":large_blue_circle:"
HALVES_MARKER = ":purple_circle:"
CODEX_CREDENTIALS = frozenset({"authorization", "cookie", "chatgpt-account-id", "x-api-key", "openai-organization", "openai-project"})


class BothSides:
    def __init__(self) -> None:
        self.cap = 4_000_000

    def load(self, loader: Any) -> None:
        loader.add_option(
            "codex_shim_keep_bytes",
            int,
            4_000_000,
            "Bytes of each BYOK stream kept for mitmweb (the translated one on the flow, the provider's "
            "raw one and Codex's request on the flow beside it); the rest is forwarded, not kept. 0: keep nothing.",
        )

    def configure(self, updated: set[str]) -> None:
        if "codex_shim_keep_bytes" in updated:
            self.cap = max(0, ctx.options.codex_shim_keep_bytes)

    def opened(self, flow: http.HTTPFlow, exchange: ByokExchange) -> None:
        """Before the flow becomes the provider's request: keep Codex's request (without its
        credentials) and start the second flow, if anyone can look at it."""
        flow.marked = MARKERS.get(exchange.route.provider, CHAT_MARKER)
        if self.cap <= 0:
            return
        exchange.codex_request = codex_request_copy(flow.request)
        exchange.sent = KeptBody(self.cap)
        view = ctx.master.addons.get("view")
        if view is None:
            return  # mitmdump: no one to show the other halves to; -w keeps the flow itself
        exchange.raw = KeptBody(self.cap)
        halves = http.HTTPFlow(flow.client_conn, flow.server_conn)
        halves.request = exchange.codex_request
        halves.live = False
        halves.marked = HALVES_MARKER
        halves.comment = f"codex-shim: {exchange.route.model}: the request Codex sent · the provider's answer as it came"
        halves.metadata[METADATA_KEY] = {"route": exchange.route.model, "halves_of": flow.id}
        exchange.halves = halves
        view.add([halves])

    def closed(self, flow: http.HTTPFlow, exchange: ByokExchange, provider_answer: http.Response | None) -> None:
        """The turn is over: the translated stream goes on the flow, the raw one beside it."""
        if exchange.streamed and flow.response is not None and exchange.sent is not None:
            flow.response.content = exchange.sent.value()  # what Codex got (mitmweb showed nothing before)
        halves = exchange.halves
        if halves is None:
            return
        if provider_answer is not None:
            raw = provider_answer.copy()
            if exchange.streamed and exchange.raw is not None:
                raw.content = exchange.raw.value()
            raw.timestamp_end = raw.timestamp_end or (flow.response.timestamp_end if flow.response else None) or time.time()
            halves.response = raw
        elif flow.error is not None:  # the provider never answered: say why
            halves.error = flow.error
        halves.metadata[METADATA_KEY].update({k: v for k, v in flow.metadata.get(METADATA_KEY, {}).items() if k in ("usage", "error", "served_by")})
        view = ctx.master.addons.get("view")
        if view is not None:
            view.update([halves])


def codex_request_copy(request: http.Request) -> http.Request:
    copy = request.copy()
    for name in list(copy.headers.keys()):
        if name.lower() in CODEX_CREDENTIALS:
            copy.headers[name] = REDACTED
    return copy
