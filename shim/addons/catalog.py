"""The model catalog hooks: the BYOK models in Codex's own picker (see shim/catalog.py).

Unreachable catalog host. With `connection_strategy=lazy` mitmproxy dials the upstream only after
the `request` hook; a failed dial becomes `flow.error` plus a 502 that mitmproxy writes itself
(`HttpStream.make_server_connection` → `handle_protocol_error`): by the `error` hook it is too late
to answer. So the `request` hook (async) first probes the host with a plain TCP connect (short
timeout, skipped behind an upstream proxy) and answers the catalog itself when that fails. A 5xx,
a 304 or an undecodable body from a reachable host is replaced in the `response` hook. Either way
Codex gets 200 with the last good upstream catalog (kept in memory and in
`codex_shim_catalog_cache`, so it survives a restart; else no OpenAI entries and a small built-in
template for the BYOK ones) plus the BYOK entries. Residual gap: a host that accepts the probe but fails the real
connection still yields mitmproxy's 502; Codex retries and keeps its cached catalog.

Map-remote. In mitmproxy 12.3 script addons sit in the ScriptLoader, which comes *before*
MapRemote in the default addon chain: our hooks see the host Codex asked for, and map_remote
rewrites it afterwards. The catalog flow is recognised in `requestheaders` (which runs for every
addon before any `request` hook, so this holds whatever the order) and marked in
`flow.metadata`; the reachability probe dials the address map_remote *will* produce, computed
with map_remote's own specs (`effective_address`), not the original host.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mitmproxy import ctx, http

from ..catalog import body_etag, decode_models, is_catalog_path, merge_catalog, merged_etag, read_cache, write_cache
from ..config import ModelRoute
from ..exchange import METADATA_KEY
from ..profiles import Profiles
from ..state import is_for

log = logging.getLogger("codex_shim.catalog")

CATALOG_HOSTS = frozenset({"chatgpt.com"})
PROBE_TIMEOUT = 3.0


class RoutesAndHosts(Protocol):
    routes: dict[str, ModelRoute]
    hosts: frozenset[str]
    profiles: Profiles
    config_path: Path


@dataclass
class CatalogCall:
    """A catalog request we recognised before map_remote could rewrite its host."""

    host: str
    answered: str | None = None  # "merged", or "offline: why"


class Catalog:
    """Adds one catalog entry per BYOK route to Codex's `/backend-api/codex/models` answer."""

    def __init__(self, shim: RoutesAndHosts) -> None:
        self.shim = shim
        self.last_upstream: list[dict[str, Any]] | None = None  # last good upstream catalog
        self.cache_path: Path | None = None
        self._calls: dict[str, CatalogCall] = {}

    def load(self, loader: Any) -> None:
        loader.add_option(
            "codex_shim_catalog_cache",
            str,
            "",
            "File keeping the last model catalog fetched from chatgpt.com, so that the picker (and the "
            "BYOK models' copy of Codex's prompt) survives a proxy restart while offline. "
            "Default: catalog-cache.json next to models.json; 'off' disables it.",
        )

    def configure(self, updated: set[str]) -> None:
        if not {"codex_shim_catalog_cache", "codex_shim_config"} & updated:
            return
        value = ctx.options.codex_shim_catalog_cache
        if value == "off":
            self.cache_path = None
            return
        self.cache_path = Path(value).expanduser() if value else self.shim.config_path.parent / "catalog-cache.json"
        if self.last_upstream is None:
            self.last_upstream = read_cache(self.cache_path)

    @property
    def routes(self) -> dict[str, ModelRoute]:
        return self.shim.routes

    def _is_catalog(self, req: http.Request) -> bool:
        if req.method != "GET" or not is_catalog_path(req.path):  # the cheap tests first: every Responses call is asked
            return False
        return is_for(req, CATALOG_HOSTS | self.shim.hosts)

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        # Runs before map_remote's `request` hook: the host is still the one Codex asked for.
        if flow.response or flow.error or not flow.live or not self.routes or not self._is_catalog(flow.request):
            return
        self._calls[flow.id] = CatalogCall(flow.request.pretty_host)
        for name in ("if-none-match", "if-modified-since"):
            flow.request.headers.pop(name, None)

    async def request(self, flow: http.HTTPFlow) -> None:
        call = self._calls.get(flow.id)
        if flow.response or flow.error or not flow.live or call is None:
            return
        if flow.server_conn.via is not None:
            return  # behind an upstream proxy: its reachability is not ours to probe
        address = effective_address(flow)
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(*address), PROBE_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            self._answer_offline(flow, call, f"{address[0]}:{address[1]} unreachable ({exc or type(exc).__name__})")
            return
        writer.close()

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        resp = flow.response
        assert resp is not None
        etag = resp.headers.get("x-models-etag")
        routes = self.routes
        call = self._calls.get(flow.id)
        if etag and routes and (call is None or call.answered is None):
            resp.headers["x-models-etag"] = merged_etag(etag, routes, self.shim.profiles.by_slug(routes))

    def error(self, flow: http.HTTPFlow) -> None:
        self._calls.pop(flow.id, None)

    def response(self, flow: http.HTTPFlow) -> None:
        call = self._calls.pop(flow.id, None)
        resp = flow.response
        if call is None or resp is None or call.answered:
            return
        models = decode_models(resp.get_content(strict=False)) if resp.status_code == 200 else None
        if models is None:
            self._answer_offline(flow, call, f"upstream answered {resp.status_code}")
            return
        if models != self.last_upstream:
            self.last_upstream = models
            if self.cache_path is not None:
                write_cache(self.cache_path, models)
        routes = self.routes
        profiles = self.shim.profiles.by_slug(routes)
        body = json.dumps(merge_catalog(models, routes, profiles), ensure_ascii=False).encode()
        upstream_etag = resp.headers.get("etag")
        resp.headers.pop("content-encoding", None)
        resp.headers.pop("content-length", None)
        resp.content = body
        resp.headers["content-type"] = "application/json"
        resp.headers["etag"] = merged_etag(upstream_etag, routes, profiles) if upstream_etag else body_etag(body)
        self._answered(flow, call, "merged")
        flow.comment = f"codex-shim: catalog + {len(routes)} BYOK model(s)"

    def _answer_offline(self, flow: http.HTTPFlow, call: CatalogCall, why: str) -> None:
        routes = self.routes
        catalog = merge_catalog(self.last_upstream, routes, self.shim.profiles.by_slug(routes))
        body = json.dumps(catalog, ensure_ascii=False).encode()
        flow.response = http.Response.make(
            200, body, {"content-type": "application/json", "etag": body_etag(body), "cache-control": "no-cache"}
        )
        self._answered(flow, call, f"offline: {why}")
        flow.comment = f"codex-shim: catalog answered locally ({why})"
        cached = "last upstream catalog" if self.last_upstream else "built-in template"
        log.info(f"codex-shim: model catalog answered locally from the {cached} + {len(routes)} BYOK model(s): {why}")

    def _answered(self, flow: http.HTTPFlow, call: CatalogCall, how: str) -> None:
        call.answered = how
        flow.metadata[METADATA_KEY] = {"route": "catalog", "byok_models": len(self.routes), "answered": how}


def effective_address(flow: http.HTTPFlow) -> tuple[str, int]:
    """Where mitmproxy will connect for this flow once map_remote (which runs after us) is applied."""
    req = flow.request
    mapremote = ctx.master.addons.get("mapremote") if hasattr(ctx, "master") else None
    url = req.pretty_url
    for spec in getattr(mapremote, "replacements", ()):
        if spec.matches(flow):
            url = re.sub(spec.subject, spec.replacement, url)
    if url == req.pretty_url:
        return req.host, req.port
    probe = http.Request.make("GET", url)
    return probe.host, probe.port
