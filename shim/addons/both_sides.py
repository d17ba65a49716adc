"""Both sides of every BYOK turn in mitmweb.

A BYOK flow is what mitmproxy really did: the request it sent to the provider, and the answer
it sent to Codex (the translated Responses stream, now kept up to `codex_shim_keep_bytes`, so
mitmweb can show it). The two other halves — the request Codex sent, and the provider's answer
as it came — go on a second flow next to it, the way mitmproxy shows a replay as a flow of its
own: every mitmweb view, filter and download works on them unchanged. Nothing is held back
from either side to keep them: chunks are referenced as they are forwarded.

Bodies are kept only where someone can see them. mitmweb (the `view` addon) gets both flows;
a flow that will be saved (`-w`, i.e. `save_stream_file`, or an addon that sets
`codex_shim_keep_bodies`) gets the translated stream on the flow itself; plain mitmdump keeps
nothing, so memory does not grow with the number of streams.

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
        self.saving = False  # flows go to a file (-w): their own bodies are worth keeping
        self.asked = False  # another addon reads flow bodies (codex_shim_keep_bodies)

    def load(self, loader: Any) -> None:
        loader.add_option(
            "codex_shim_keep_bytes",
            int,
            4_000_000,
            "Bytes of each BYOK stream kept for mitmweb (the translated one on the flow, the provider's "
            "raw one and Codex's request on the flow beside it); the rest is forwarded, not kept. 0: keep nothing.",
        )
        loader.add_option(
            "codex_shim_keep_bodies",
            bool,
            False,
            "Keep each BYOK flow's translated stream even when neither mitmweb nor a save file (-w) would show it: "
            "for an addon that reads flow bodies (it may set this in its own `configure`).",
        )

    def configure(self, updated: set[str]) -> None:
        if "codex_shim_keep_bytes" in updated:
            self.cap = max(0, ctx.options.codex_shim_keep_bytes)
        if "codex_shim_keep_bodies" in updated:
            self.asked = ctx.options.codex_shim_keep_bodies
        if "save_stream_file" in updated:  # mitmproxy's Save addon (-w); absent in some embeddings
            self.saving = bool(getattr(ctx.options, "save_stream_file", None))

    def watched(self) -> bool:
        """Will anyone see a BYOK flow's bodies: mitmweb, a save file, or an addon that asked?"""
        return self.cap > 0 and (self.saving or self.asked or ctx.master.addons.get("view") is not None)

    def opened(self, flow: http.HTTPFlow, exchange: ByokExchange) -> None:
        """Before the flow becomes the provider's request: start keeping what someone will see —
        the translated stream for a saved flow; in mitmweb also Codex's request (without its
        credentials) and the provider's raw stream, on a second flow."""
        flow.marked = MARKERS.get(exchange.route.provider, CHAT_MARKER)
        if not self.watched():
            return  # plain mitmdump: forwarded, nothing kept
        exchange.sent = KeptBody(self.cap)
        view = ctx.master.addons.get("view")
        if view is None:
            return  # mitmdump: no one to show the other halves to; -w keeps the flow itself
        exchange.codex_request = codex_request_copy(flow.request)
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
