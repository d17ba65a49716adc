"""models.json: loaded at start, validated, reloaded when it changes, printed as a table."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from mitmproxy import command, ctx, exceptions

from .. import zero_config
from ..config import ConfigError, ModelRoute, RouteTable, config_path, load_config, unset_key_warnings
from ..profiles import Profiles
from ..state import Shim
from .model_profiles import ModelProfiles

log = logging.getLogger("codex_shim")

RELOAD_EVERY_S = 1.0


class RoutesFile:
    """Owns `shim.routes`: which slugs go where."""

    def __init__(self, shim: Shim, profiles: ModelProfiles | None = None) -> None:
        self.shim = shim
        self.profiles = profiles
        self._stamp: tuple[float, int] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._sources: dict[str, str] = {}  # slug → where its model came from (zero-config)
        self._local_models: list[str] = []
        self._fetched: dict[str, list[zero_config.ModelInfo]] = {}
        self._refresh: asyncio.Task[None] | None = None

    def load(self, loader: Any) -> None:
        loader.add_option(
            "codex_shim_config",
            str,
            "",
            "Path of models.json (BYOK routes). Default: $CODEX_SHIM_CONFIG, else ~/.codex-shim/models.json.",
        )
        loader.add_option(
            "codex_shim_zero_config",
            bool,
            True,
            "Without a models.json, take routes from ANTHROPIC_API_KEY, OPENROUTER_API_KEY, DEEPSEEK_API_KEY "
            "and a local Ollama on 127.0.0.1:11434.",
        )

    def configure(self, updated: set[str]) -> None:
        if {"codex_shim_config", "codex_shim_zero_config"} & updated:
            self.shim.config_path = config_path(ctx.options.codex_shim_config)
            try:
                self._load()
            except ConfigError as exc:
                if self._watcher is None and ctx.master.addons.get("errorcheck") is not None:
                    # Start-up of mitmdump/mitmweb (not yet running; ErrorCheck makes start-up errors
                    # fatal anyway): an OptionsError here would be logged with a traceback, the
                    # listeners would come up, and only then would mitmproxy exit. Say why, and stop.
                    log.error(f"codex-shim: not started: {exc}")
                    raise SystemExit(1) from None
                raise exceptions.OptionsError(f"codex_shim_config: {exc}") from None

    @command.command("codex_shim.routes")
    def list_routes(self) -> str:
        """The BYOK routes in use: slug, provider, upstream, model, where the key comes from."""
        text = routes_table(self.shim.routes, str(self.path), self._sources, self.shim.profiles)
        log.info(text)
        return text

    @command.command("codex_shim.reload")
    def reload(self) -> None:
        """Read models.json again now (it is also re-read whenever it changes)."""
        try:
            self._load()
        except ConfigError as exc:
            log.error(f"codex-shim: keeping the previous routes: {exc}")

    def running(self) -> None:
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    def done(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            self._watcher = None
        if self._refresh is not None:
            self._refresh.cancel()

    async def _watch(self) -> None:
        """Hot reload: a changed models.json replaces the routes; a broken one keeps the old."""
        while True:
            await asyncio.sleep(RELOAD_EVERY_S)
            self.reload_if_changed()

    def reload_if_changed(self) -> None:
        if file_stamp(self.path) == self._stamp:
            return
        try:
            self._load()
        except ConfigError as exc:
            self._stamp = file_stamp(self.path)  # report once per change
            log.error(f"codex-shim: keeping the previous routes: {exc}")

    def _load(self) -> None:
        self._stamp = file_stamp(self.path)
        if self._stamp is not None or not ctx.options.codex_shim_zero_config:
            self.shim.routes = load_config(self.path)
            self._sources = {}
            source = str(self.path)
        else:
            self._local_models = zero_config.ollama_models()
            self._use_environment()
            source = f"the environment ({self.path} not found)"
            self._start_refresh()
        self._profiles_changed()
        log.info(routes_table(self.shim.routes, source, self._sources, self.shim.profiles))
        for warning in (*self.shim.routes.warnings, *unset_key_warnings(self.shim.routes)):
            log.warning(f"codex-shim: {warning}")

    @property
    def path(self) -> Path:
        return self.shim.config_path

    @property
    def cache_path(self) -> Path:
        """The providers' model lists from the last start, next to models.json."""
        return self.path.parent / zero_config.CACHE_NAME

    def _use_environment(self) -> None:
        found = zero_config.environment_routes(
            os.environ, self._local_models, cached=zero_config.read_cache(self.cache_path), fetched=self._fetched
        )
        self.shim.routes = RouteTable(found.routes)
        self._sources = found.sources

    def _start_refresh(self) -> None:
        """Ask the keyed providers' model lists once, in the background: start-up never waits for them."""
        if self._refresh is not None or not zero_config.keyed_providers(os.environ):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (a synchronous test context): the cached or built-in lists stay
        self._refresh = loop.create_task(self.refresh())

    async def refresh(self) -> None:
        """Fetch the lists; what arrives replaces the cached or built-in routes, is cached, and is shown."""
        fetched, failed = await zero_config.fetch_models(os.environ)
        cached = zero_config.read_cache(self.cache_path)
        for name, why in failed.items():
            kept = "cached" if name in cached else "built-in"
            log.warning(f"codex-shim: could not list the {name} models ({why}); keeping the {kept} list")
        if not fetched:
            return
        self._fetched.update(fetched)
        try:
            zero_config.write_cache(self.cache_path, {**cached, **fetched})
        except OSError as exc:
            log.warning(f"codex-shim: cannot write {self.cache_path}: {exc.strerror}")
        if file_stamp(self.path) is not None or not ctx.options.codex_shim_zero_config:
            return  # a models.json appeared meanwhile (or zero-config was turned off): it rules
        self._use_environment()
        self._profiles_changed()
        source = f"the environment ({self.path} not found), updated from the model lists of {', '.join(fetched)}"
        log.info(routes_table(self.shim.routes, source, self._sources, self.shim.profiles))

    def _profiles_changed(self) -> None:
        if self.profiles is not None:
            self.profiles.routes_changed(self.path.parent)


def file_stamp(path: Path) -> tuple[float, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime, info.st_size)


def routes_table(routes: dict[str, ModelRoute], source: str, sources: dict[str, str] | None = None,
                 profiles: Profiles | None = None) -> str:
    """The start-up (and reload) table: what each slug goes to, never the key itself.

    `sources` says where a zero-config route's model came from (fetched, cached, built-in); a
    route it does not name is from models.json. `profile` says where the model's profile came from.
    """
    if not routes:
        return f"codex-shim: no BYOK routes from {source}; all traffic passes through"
    rows = [("slug", "provider", "upstream", "model", "key", "source", "profile")]
    for slug, route in routes.items():
        if route.api_key_env:
            key = f"${route.api_key_env}" + ("" if os.environ.get(route.api_key_env) else " (unset)")
        else:
            key = "models.json" if route.api_key else "none"
        profile = profiles.source(route) if profiles is not None else "-"
        rows.append((slug, route.provider, route.url_base, route.upstream_name, key, (sources or {}).get(slug, "models.json"), profile))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"codex-shim: {len(routes)} BYOK route(s) from {source}:"]
    lines += ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)
