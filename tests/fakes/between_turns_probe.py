"""A mitmproxy script for tests: GET http://between-turns.probe/ answers how many young-generation
collections codex-shim's BetweenTurns has made and how many start-up objects it froze, as
"<collections> <frozen>" (loaded after addons/codex_shim.py)."""

from __future__ import annotations

from mitmproxy import ctx, http

from shim.addons.between_turns import BetweenTurns

HOST = "between-turns.probe"


class BetweenTurnsProbe:
    def request(self, flow: http.HTTPFlow) -> None:
        if flow.request.pretty_host != HOST:
            return
        parts = getattr(ctx.master.addons.get("codex_shim"), "parts", ())
        ours = [part for part in parts if isinstance(part, BetweenTurns)]
        if not ours:
            flow.response = http.Response.make(200, b"no BetweenTurns")
            return
        flow.response = http.Response.make(200, f"{ours[0].collections} {ours[0].frozen}".encode())


addons = [BetweenTurnsProbe()]
