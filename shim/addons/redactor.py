"""Keys must not linger on BYOK flows once the request is sent.

mitmweb shows, and `-w` saves, the request as it went upstream: with the provider's key in it.
Once the provider answers or fails (and at exit, for calls still running) every upstream
header but a few harmless ones is replaced, so keys put in `extra_headers` go too.
"""

from __future__ import annotations

from mitmproxy import http

from ..state import Shim

REDACTED = "<redacted by codex-shim>"
_REDACTED = REDACTED.encode()
SHOWN_HEADERS = frozenset(
    {"host", "accept", "accept-encoding", "content-type", "content-length", "anthropic-version", "anthropic-beta"}
)


class Redactor:
    """Must come before the Router in the addon list: the Router closes the exchange it reads."""

    def __init__(self, shim: Shim) -> None:
        self.shim = shim

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if self.shim.exchanges.byok(flow) is not None:
            redact(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        if self.shim.exchanges.byok(flow) is not None:
            redact(flow)

    def done(self) -> None:
        for flow, _ in self.shim.exchanges.byok_flows():  # `-w` writes in-flight flows at exit, after this hook
            redact(flow)


def redact(flow: http.HTTPFlow) -> None:
    """Every value of every header but the harmless ones replaced: one new header list, built once
    (setting headers one by one rebuilds mitmproxy's list each time, on every turn's way to Codex)."""
    flow.request.headers = http.Headers(
        [(name, value if name.decode("latin-1").lower() in SHOWN_HEADERS else _REDACTED) for name, value in flow.request.headers.fields]
    )
