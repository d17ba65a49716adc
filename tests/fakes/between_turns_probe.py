"""A mitmproxy script for tests: GET http://between-turns.probe/ answers how many young-generation
collections codex-shim's BetweenTurns has made (loaded after addons/codex_shim.py)."""

from __future__ import annotations

from mitmproxy import ctx, http

from shim.addons.between_turns import BetweenTurns

HOST = "between-turns.probe"


class BetweenTurnsProbe:
    def request(self, flow: http.HTTPFlow) -> None:
        if flow.request.pretty_host != HOST:
            return
        bundle = ctx.master.addons.get("codex_shim")
        made = [part.collections for part in getattr(bundle, "parts", ()) if isinstance(part, BetweenTurns)]
        flow.response = http.Response.make(200, str(sum(made)).encode() if made else b"no BetweenTurns")


addons = [BetweenTurnsProbe()]
