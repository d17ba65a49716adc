"""Keeps every route's model profile current (shim/profiles.py): the cache at once, then each
upstream's models endpoint in the background, at start and whenever the routes are reloaded."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mitmproxy import ctx

from .. import prices
from ..config import ModelRoute
from ..profiles import CACHE_NAME, fetch_entries
from ..providers.web_search import web_search_kind
from ..state import Shim

log = logging.getLogger("codex_shim")


class ModelProfiles:
    """Owns `shim.profiles`; RoutesFile tells it when the routes changed."""

    def __init__(self, shim: Shim) -> None:
        self.shim = shim
        self.cache_path: Path | None = None
        self._task: asyncio.Task[None] | None = None
        self._waiting = False  # routes arrived before the event loop ran: fetch in `running`
        self.enabled = True

    def load(self, loader: Any) -> None:
        loader.add_option(
            "codex_shim_model_data",
            bool,
            True,
            "Ask each route's provider for its model data (models endpoint) at start and on reload, in the "
            "background; off: the cached answer, else the snapshot shipped with codex-shim.",
        )

    def configure(self, updated: set[str]) -> None:
        if "codex_shim_model_data" in updated:
            self.enabled = ctx.options.codex_shim_model_data

    def routes_changed(self, config_dir: Path) -> None:
        """New routes (start, reload, zero-config update): forget what refusals taught, read the
        cache for an offline start, and ask the providers again without waiting for them."""
        self.cache_path = config_dir / CACHE_NAME
        self.shim.profiles.reloaded()
        self.shim.profiles.read_cache(self.cache_path)
        prices.look_up_all(self.shim.routes.values())
        self._start()

    def running(self) -> None:
        if self._waiting:
            self._start()

    def done(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _start(self) -> None:
        if not self.shim.routes or not self.enabled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._waiting = True
            return
        self._waiting = False
        if self._task is not None:
            self._task.cancel()
        self._task = loop.create_task(self.refresh())

    async def refresh(self) -> None:
        """Fetch every route's entry; what arrives replaces the cached or built-in profile."""
        routes = dict(self.shim.routes)
        found, failed = await fetch_entries(routes.values(), os.environ)
        if found:
            self.shim.profiles.take(found)
            if self.cache_path is not None:
                try:
                    self.shim.profiles.write_cache(self.cache_path)
                except OSError as exc:
                    log.warning(f"codex-shim: cannot write {self.cache_path}: {exc.strerror}")
        for slug, why in failed.items():
            route = routes[slug]
            log.info(f"codex-shim: no model data for {slug} from {route.url_base}/models ({why}); its profile: {self.shim.profiles.source(route)}")
        log.info(profiles_table(self.shim, routes))


def profiles_table(shim: Shim, routes: Mapping[str, ModelRoute] | None = None) -> str:
    """Each route's profile: where it came from and what it says, one line each."""
    lines = ["codex-shim: model profiles (context / max output / thinking / efforts / web search / prices):"]
    for slug, route in shim.routes.items():
        if routes is not None and slug not in routes:
            continue
        p = shim.profiles.of(route)
        thinking = "/".join(p.thinking) if p.thinking else ("-" if p.thinking == () else "?")
        efforts = ",".join(p.efforts) if p.efforts else ("-" if p.efforts == () else "?")
        price = f"${p.prices.input:g}/${p.prices.output:g} ({p.price_source})" if p.prices else "unpriced"
        search = web_search_kind(route, p) or "none (Codex's web_search tool is dropped)"
        lines.append(f"  {slug}: {p.context_window or '?'} / {p.max_output_tokens or '?'} / {thinking} / {efforts} / {search} / {price}"
                     f"  [{shim.profiles.source(route)}]")
    return "\n".join(lines)
