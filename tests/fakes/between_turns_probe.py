"""A mitmproxy script for tests: GET http://between-turns.probe/ answers how many young-generation
collections codex-shim's BetweenTurns has made and how many objects FrozenStartup froze, as
"<collections> <frozen>" (loaded after addons/codex_shim.py)."""

from __future__ import annotations

from mitmproxy import ctx, http

from shim.addons.between_turns import BetweenTurns
from shim.addons.frozen_startup import FrozenStartup

HOST = "between-turns.probe"


class BetweenTurnsProbe:
    def request(self, flow: http.HTTPFlow) -> None:
        if flow.request.pretty_host != HOST:
            return
        parts = getattr(ctx.master.addons.get("codex_shim"), "parts", ())
        made = [part.collections for part in parts if isinstance(part, BetweenTurns)]
        frozen = [part.frozen for part in parts if isinstance(part, FrozenStartup)]
        if not made or not frozen:
            flow.response = http.Response.make(200, b"no BetweenTurns or FrozenStartup")
            return
        flow.response = http.Response.make(200, f"{sum(made)} {sum(frozen)}".encode())


addons = [BetweenTurnsProbe()]
