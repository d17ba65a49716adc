"""Codex Desktop's picker: the BYOK slugs put on the Statsig allowlist Desktop filters `model/list` with.

Two answers carry that allowlist (see shim/statsig.py): ab.chatgpt.com's `POST /v1/initialize`
and chatgpt.com's `POST /backend-api/wham/statsig/bootstrap`. With `codex_shim_desktop_picker`
on (the default) Scope also decrypts ab.chatgpt.com, and this addon rewrites those two answers
only; everything else on ab.chatgpt.com passes untouched. An answer that is not what we expect
(an error status, undecodable, no such config, an unknown shape) is relayed as it came and the
reason logged once per reason. mitmproxy decodes the body (gzip, br, zstd, deflate) and
`set_content` encodes the new one the same way.

Flows are recognised in `requestheaders`, before map_remote (in tests) can rewrite the host.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from mitmproxy import ctx, http

from ..config import ModelRoute
from ..exchange import METADATA_KEY
from ..state import request_host
from ..statsig import INITIALIZE_HOSTS, Rewrite, Unchanged, is_bootstrap_path, is_initialize_path, rewrite_bootstrap, rewrite_initialize

log = logging.getLogger("codex_shim.picker")

BOOTSTRAP_HOSTS = frozenset({"chatgpt.com"})
OPTION = "codex_shim_desktop_picker"


class RoutesAndHosts(Protocol):
    routes: dict[str, ModelRoute]
    hosts: frozenset[str]
    picker_hosts: frozenset[str]


class DesktopPicker:
    def __init__(self, shim: RoutesAndHosts) -> None:
        self.shim = shim
        self.enabled = False  # the option, parsed in `configure`
        self._calls: dict[str, str] = {}  # flow id -> "initialize" | "bootstrap"
        self._logged: set[str] = set()

    def load(self, loader: Any) -> None:
        loader.add_option(
            OPTION,
            bool,
            True,
            "Add the BYOK slugs to Codex Desktop's model allowlist (the Statsig config "
            "codex-app-vscode-model-availability); decrypts ab.chatgpt.com for that alone.",
        )

    def configure(self, updated: set[str]) -> None:
        if OPTION in updated:
            self.enabled = bool(getattr(ctx.options, OPTION))
            # the Statsig host is decrypted while the option is on (Scope, which comes after, narrows interception)
            self.shim.picker_hosts = INITIALIZE_HOSTS if self.enabled else frozenset()

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if not self.enabled or not self.shim.routes or flow.response or not flow.live:
            return
        req = flow.request
        if req.method != "POST":
            return
        path = req.path  # looked at before the host: every Responses call comes by here, none of them for us
        initialize, bootstrap = is_initialize_path(path), is_bootstrap_path(path)
        if not (initialize or bootstrap):
            return
        host = request_host(req)
        if initialize and host in INITIALIZE_HOSTS:
            self._calls[flow.id] = "initialize"
        elif bootstrap and (host in BOOTSTRAP_HOSTS or host in self.shim.hosts):
            self._calls[flow.id] = "bootstrap"

    def error(self, flow: http.HTTPFlow) -> None:
        self._calls.pop(flow.id, None)

    def response(self, flow: http.HTTPFlow) -> None:
        kind = self._calls.pop(flow.id, None)
        resp = flow.response
        if kind is None or resp is None:
            return
        slugs = list(self.shim.routes)
        try:
            result = self._rewrite(kind, resp, slugs)
        except Unchanged as why:
            self._passed(flow, kind, str(why), why.benign)
            return
        resp.set_content(result.body)
        meta: dict[str, Any] = {
            "route": "desktop-picker",
            "statsig": kind,
            "answered": "allowlist extended",
            "config": result.config_key,
            "format": result.response_format,
            "added": result.added,
        }
        if result.delta:
            meta["delta"] = True
        flow.metadata[METADATA_KEY] = meta
        flow.comment = f"codex-shim: {len(result.added)} BYOK model(s) added to Codex Desktop's model allowlist"
        log.info(f"codex-shim: Statsig {kind} answer: allowed {', '.join(result.added)} in Codex Desktop's picker")

    def _rewrite(self, kind: str, resp: http.Response, slugs: list[str]) -> Rewrite:
        if resp.status_code == 204:
            raise Unchanged("204: no updates", benign=True)
        if resp.status_code != 200:
            raise Unchanged(f"status {resp.status_code}")
        try:
            content = resp.get_content(strict=True)
        except ValueError as exc:
            raise Unchanged(f"cannot decode {resp.headers.get('content-encoding')} body ({exc})") from None
        if not content:
            raise Unchanged("empty body")
        return rewrite_initialize(content, slugs) if kind == "initialize" else rewrite_bootstrap(content, slugs)

    def _passed(self, flow: http.HTTPFlow, kind: str, why: str, benign: bool) -> None:
        flow.metadata[METADATA_KEY] = {"route": "desktop-picker", "statsig": kind, "answered": f"unchanged: {why}"}
        key = f"{kind}: {why}"
        if key not in self._logged:  # the app refreshes often; say each reason once
            self._logged.add(key)
            (log.info if benign else log.warning)(f"codex-shim: Statsig {kind} answer passed through unchanged: {why}")
