"""The addons of addons/codex_shim.py in one mitmproxy test context, for in-process hook tests.

The chain is loaded from the entry script itself (so a test sees the real order and wiring), its
options configured as a user would, and flows are driven through every addon's hooks in order.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mitmproxy import hooks, http
from mitmproxy.addons.proxyauth import ProxyAuth
from mitmproxy.addons.proxyserver import Proxyserver as ProxyServer
from mitmproxy.proxy import layers
from mitmproxy.test import taddons, tflow

from shim.state import Shim
from tests.harness import ROOT

CHAT_KEY = "sk-byok-chat-key"
ROUTES = [
    {"model": "byok-chat", "provider": "generic-chat-completion-api", "base_url": "http://127.0.0.1:9/v1", "api_key": CHAT_KEY},
    {"model": "byok-claude", "provider": "anthropic", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-ant-key"},
]
CODEX_TOKEN = "Bearer chatgpt-access-token"


class Chain:
    def __init__(self, tctx: taddons.context, addons: list[Any]) -> None:
        self.tctx = tctx
        self.addons = [part for addon in addons for part in getattr(addon, "parts", [addon])]  # ours, unbundled
        self.shim: Shim = next(a.shim for a in self.addons if isinstance(getattr(a, "shim", None), Shim))

    def run(self, hook: hooks.Hook) -> None:
        self.tctx.master.event_loop.run_until_complete(self.tctx.master.addons.trigger_event(hook))

    def request(self, flow: http.HTTPFlow) -> http.HTTPFlow:
        self.run(layers.http.HttpRequestHeadersHook(flow))
        self.run(layers.http.HttpRequestHook(flow))
        return flow

    def answer(self, flow: http.HTTPFlow, response: http.Response) -> http.HTTPFlow:
        """The upstream answers: responseheaders, the stream (if one was set), response."""
        body = response.content or b""
        flow.response = response
        self.run(layers.http.HttpResponseHeadersHook(flow))
        stream = flow.response.stream
        if callable(stream):
            out = b"".join(b"".join(stream(body[i : i + 7])) for i in range(0, len(body), 7)) + b"".join(stream(b""))
            flow.response.content = out
        self.run(layers.http.HttpResponseHook(flow))
        return flow


@contextmanager
def addon_chain(
    tmp_path: Path, routes: list[dict[str, Any]] = ROUTES, *, rules: list[dict[str, Any]] | None = None,
    before: list[Any] = (), **options: Any,
) -> Iterator[Chain]:
    """`before`: addons loaded ahead of ours, as `-s policy.py -s addons/codex_shim.py` would."""
    config = tmp_path / "models.json"
    config.write_text(json.dumps({"models": routes, "rules": rules or []}))
    with taddons.context(ProxyServer(), ProxyAuth()) as tctx:  # they declare options we read
        for addon in before:
            tctx.master.addons.add(addon)
        addons = entry_addons()
        for addon in addons:
            tctx.master.addons.add(addon)
        # no model data from providers: routes here may name real hosts, and no test reaches the internet
        tctx.options.update(codex_shim_config=str(config), codex_shim_catalog_cache="off", codex_shim_model_data=False, **options)
        for addon in addons:  # as a script's addons are configured when mitmdump loads it
            tctx.master.addons.invoke_addon_sync(addon, hooks.ConfigureHook(set(tctx.options.keys())))
        yield Chain(tctx, addons)


def entry_addons() -> list[Any]:
    """A fresh `addons` list from the entry script, as `mitmdump -s` loads it (one Bundle)."""
    return list(runpy.run_path(str(ROOT / "addons" / "codex_shim.py"))["addons"])


def responses_call(body: dict[str, Any] | bytes, path: str = "/backend-api/codex/responses", host: str = "chatgpt.com") -> http.HTTPFlow:
    """A Responses call as Codex makes it: streamed, unless `body` says `"stream": false`."""
    if isinstance(body, dict) and not path.endswith("/compact"):
        body = {"stream": True, **body}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = http.Request.make(
        "POST", f"https://{host}{path}", content,
        {"authorization": CODEX_TOKEN, "chatgpt-account-id": "acct-1", "content-type": "application/json", "cookie": "session=1"},
    )
    return tflow.tflow(req=request)


def sse(*events: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
