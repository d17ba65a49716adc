"""Each mitmproxy internal codex-shim relies on, touched once: when a mitmproxy release moves one,
the failing test names it (and the module of ours that must change). pyproject.toml pins the
tested range (README, "The two commands")."""

from __future__ import annotations

import inspect

import pytest
from mitmproxy import contentviews, http
from mitmproxy.addonmanager import traverse
from mitmproxy.addons import clientplayback, mapremote, proxyserver
from mitmproxy.proxy import server
from mitmproxy.proxy.layers.http import _http1
from mitmproxy.proxy.mode_specs import RegularMode
from mitmproxy.test import taddons, tflow
from mitmproxy.tools.main import mitmdump  # noqa: F401 - the entry point scripts/shim runs

from tests.addon_chain import entry_addons


def moved(what: str, ours: str) -> str:
    return f"mitmproxy internal moved: {what} (used by {ours})"


def test_the_content_view_registry_is_keyed_by_name() -> None:
    assert hasattr(contentviews, "add") and hasattr(contentviews, "Contentview"), moved(
        "contentviews.add / Contentview", "shim/addons/content_views.py")
    by_name = getattr(contentviews.registry, "_by_name", None)
    assert isinstance(by_name, dict), moved("contentviews.registry._by_name (removal on script reload)", "shim/addons/content_views.py")
    assert callable(getattr(contentviews.registry, "get", None)), moved("contentviews.registry.get", "shim/addons/content_views.py")


def test_the_proxy_server_exposes_connections_servers_and_listen_addresses() -> None:
    server_addon = proxyserver.Proxyserver()
    assert isinstance(getattr(server_addon, "connections", None), dict), moved("Proxyserver.connections", "shim/addons/idle_cutter.py")
    assert hasattr(server_addon, "servers") and callable(getattr(server_addon.servers, "update", None)), moved(
        "Proxyserver.servers.update", "shim/addons/listen_guard.py")
    assert callable(getattr(server_addon, "setup_servers", None)), moved("Proxyserver.setup_servers", "shim/addons/listen_guard.py")
    assert callable(getattr(server_addon, "listen_addrs", None)), moved("Proxyserver.listen_addrs", "shim/addons/listen_guard.py, banner.py")
    assert RegularMode.parse("regular").type_name == "regular", moved("mode_specs.RegularMode", "shim/addons/banner.py")


def test_connection_handlers_keep_their_transports_by_server_connection() -> None:
    source = inspect.getsource(server.ConnectionHandler)
    assert "self.transports" in source, moved("ConnectionHandler.transports", "shim/addons/idle_cutter.py, shim/replays.py")
    assert "handler" in inspect.signature(server.ConnectionIO).parameters, moved("ConnectionIO.handler (cancelled to cut)", "shim/replays.py")


def test_client_replays_run_a_flow_through_the_addon_chain() -> None:
    params = inspect.signature(clientplayback.ReplayHandler).parameters
    assert list(params)[:2] == ["flow", "options"], moved("ReplayHandler(flow, options)", "shim/replays.py")
    assert inspect.iscoroutinefunction(clientplayback.ReplayHandler.replay), moved("ReplayHandler.replay()", "shim/replays.py")
    assert issubclass(clientplayback.ReplayHandler, server.ConnectionHandler), moved(
        "ReplayHandler is a ConnectionHandler (its transports)", "shim/replays.py")


def test_map_remote_keeps_its_parsed_specs() -> None:
    addon = mapremote.MapRemote()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, map_remote=["|example.com|127.0.0.1:1"])
        (spec,) = addon.replacements
        flow = tflow.tflow()
        flow.request.url = "https://example.com/x"
        assert spec.matches(flow) and spec.subject and spec.replacement == "127.0.0.1:1", moved(
            "MapRemote.replacements (matches, subject, replacement)", "shim/addons/catalog.py")


def test_script_addons_come_before_map_remote_in_the_default_chain() -> None:
    """Our hooks see the host Codex asked for; map_remote rewrites it after (shim/addons/catalog.py)."""
    from mitmproxy.addons import default_addons

    names = [type(addon).__name__ for addon in default_addons()]
    assert names.index("ScriptLoader") < names.index("MapRemote"), moved("ScriptLoader before MapRemote", "shim/addons/catalog.py")


def test_http1_connections_read_the_response_headers_when_a_body_ends() -> None:
    """Why BYOK answers rewrite a copy of the provider's Response (shim/addons/router.py, responseheaders)."""
    source = inspect.getsource(_http1.Http1Connection.mark_done)
    assert "response" in source and "headers" in source, moved("Http1Connection.mark_done reads the response headers",
                                                               "shim/addons/router.py")
    assert "max_conns" in inspect.getsource(server), moved("the per-address connection limit", "shim/addons/router.py")


def test_addon_traversal_and_the_commands_we_call() -> None:
    addons = entry_addons()
    with taddons.context(*addons) as tctx:
        assert list(traverse(tctx.master.addons.chain)), moved("addonmanager.traverse", "shim/addons/router.py")
        assert tctx.master.addons.get("errorcheck") is None  # a name lookup that answers None, not raises
        registered = tuple(tctx.master.addons.lookup.values())
        assert registered and all(addon in registered for addon in addons), moved(
            "AddonManager.lookup (every registered addon; the listener cache's key)", "shim/addons/router.py")
    assert "inject.websocket" in inspect.getsource(proxyserver.Proxyserver), moved(
        "the inject.websocket command", "shim/addons/websocket_turns.py")


@pytest.mark.parametrize(("module", "cls", "name"), [
    ("mitmproxy.addons.view", "View", "view"),  # mitmweb's flow list: shim/addons/both_sides.py
    ("mitmproxy.addons.proxyserver", "Proxyserver", "proxyserver"),
    ("mitmproxy.addons.errorcheck", "ErrorCheck", "errorcheck"),  # mitmdump/mitmweb start-up: routes_file.py, listen_guard.py
    ("mitmproxy.addons.mapremote", "MapRemote", "mapremote"),
])
def test_the_addons_we_look_up_by_name_are_known_by_that_name(module: str, cls: str, name: str) -> None:
    import importlib

    from mitmproxy.addonmanager import _get_name

    addon_class = getattr(importlib.import_module(module), cls, None)
    assert addon_class is not None, moved(f"{module}.{cls}", "shim/addons")
    assert _get_name(addon_class.__new__(addon_class)) == name, moved(f"the addon name {name!r}", "shim/addons")


def test_responses_can_be_made_streamed_and_copied() -> None:
    response = http.Response.make(200, b"", {"content-type": "text/event-stream"})
    copy = response.copy()
    copy.stream = lambda chunk: [chunk]
    assert response.stream is not copy.stream, moved("Response.copy / Response.stream", "shim/addons/router.py")


@pytest.mark.parametrize("upstream", ["https://api.anthropic.com/v1/messages", "http://127.0.0.1:8080/v1/chat/completions",
                                      "https://openrouter.ai:443/api/v1/chat/completions", "https://h.example:8443/v1/x?q=1"])
@pytest.mark.parametrize(("codex_url", "authority", "version"), [("https://api.openai.com/v1/responses", b"", b"HTTP/1.1"),
                                                                 ("https://chatgpt.com/backend-api/codex/responses", b"chatgpt.com", b"HTTP/2.0")])
def test_the_provider_request_is_what_mitmproxys_url_setter_would_make(upstream: str, codex_url: str, authority: bytes, version: bytes) -> None:
    """shim/byok_call.py builds the provider's request whole (a copy and the `url` setter cost the first
    delta): it must hold what a copy of Codex's request with its url set would."""
    from shim.byok_call import send_upstream
    from shim.config import ModelRoute
    from shim.exchange import open_exchange

    flow = tflow.tflow()
    flow.request.url = codex_url
    flow.request.data.authority, flow.request.data.http_version = authority, version
    route = ModelRoute(model="m", provider="generic-chat-completion-api", base_url=upstream.rsplit("/", 1)[0], api_key="k")
    exchange = open_exchange({"model": "m", "input": "hi"}, route)
    exchange.upstream.url = upstream
    expected = flow.request.copy()
    send_upstream(flow, exchange)
    expected.url, expected.method, expected.headers, expected.content = upstream, "POST", flow.request.headers.copy(), flow.request.content
    fields = ("host", "port", "scheme", "authority", "path", "http_version", "method", "content", "timestamp_start", "timestamp_end")
    assert {f: getattr(flow.request.data, f) for f in fields} == {f: getattr(expected.data, f) for f in fields}, moved(
        "Request's fields or its url setter", "shim/byok_call.py")
    assert flow.request.headers["content-length"] == str(len(flow.request.content or b""))


def test_messages_built_without_the_debug_check_are_what_the_constructors_make() -> None:
    """shim/messages.py skips MessageData's __debug__ type check: the objects must be the same, field for field."""
    from dataclasses import fields

    from shim import messages

    headers = http.Headers([(b"host", b"h.example"), (b"content-length", b"2")])
    ours = messages.request("h.example", 8443, b"POST", b"https", b"h.example:8443", b"/v1/x", b"HTTP/1.1", headers, b"{}", 1.5, 2.5)
    theirs = http.Request("h.example", 8443, b"POST", b"https", b"h.example:8443", b"/v1/x", b"HTTP/1.1", headers, b"{}", None, 1.5, 2.5)
    answer = messages.response(b"HTTP/1.1", 201, b"Created", headers, None, 3.0, None)
    made = http.Response(b"HTTP/1.1", 201, b"Created", headers, None, None, 3.0, None)
    for built, constructed in ((ours, theirs), (answer, made)):
        assert type(built) is type(constructed) and type(built.data) is type(constructed.data)
        names = [f.name for f in fields(constructed.data)]
        assert vars(built.data) == vars(constructed.data) and list(vars(built.data)) == names, moved(
            f"{type(constructed.data).__name__}'s fields", "shim/messages.py")
        assert vars(built) == vars(constructed), moved(f"what {type(constructed).__name__}.__init__ sets", "shim/messages.py")
        assert built.get_state() == constructed.get_state() and built.stream is False
