"""The mitmproxy addon: finds Codex's Responses calls, routes BYOK models, streams the answers.

Requests for a configured slug are rewritten in place into the provider's request (so mitmweb
shows the real upstream exchange) and the provider's stream is translated chunk by chunk in
mitmproxy's streaming hook. Everything else passes through untouched, streamed as it arrives.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import re
import traceback
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from mitmproxy import ctx, exceptions, http

from . import compaction, native_history
from .config import ConfigError, ModelRoute, config_path, load_config
from .errors import RequestError, ShimError, from_upstream
from .idle import IdleWatch, cut_upstream
from .providers import PROVIDERS
from .providers.base import UpstreamRequest
from .responses_stream import ResponseStream
from .zero_config import routes_from_environment

log = logging.getLogger("codex_shim")

DEFAULT_HOSTS = "api.openai.com,chatgpt.com"
_REDACTED = "<redacted by codex-shim>"
# On a BYOK upstream request every other header may carry a secret (extra_headers can hold keys).
_SHOWN_HEADERS = frozenset({"host", "accept", "accept-encoding", "content-type", "content-length", "anthropic-version", "anthropic-beta"})


def is_responses_path(path: str) -> bool:
    return path.split("?", 1)[0].rstrip("/").endswith(("/responses", "/responses/compact"))


def is_legacy_compact(path: str) -> bool:
    """`POST …/responses/compact`: the pre-v2 compaction call, answered with {"output": [items]}."""
    return path.split("?", 1)[0].rstrip("/").endswith("/responses/compact")


def turn_model(headers: http.Headers) -> str | None:
    """The model Codex names in its turn metadata header (sent with the WebSocket upgrade too)."""
    raw = headers.get("x-codex-turn-metadata")
    if not raw:
        return None
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError:
        return None
    model = meta.get("model") if isinstance(meta, dict) else None
    return model if isinstance(model, str) else None


def error_response(error: ShimError) -> http.Response:
    headers = {"content-type": "application/json"}
    if error.retry_after:
        headers["retry-after"] = error.retry_after
    return http.Response.make(error.status, error.body(), headers)


def failed_stream(error: ShimError, model: str) -> http.Response:
    """A 200 SSE answer ending in response.failed: the form whose code and message Codex reads."""
    builder = ResponseStream(model)
    builder.fail(error.code, error.message)
    headers = {"content-type": "text/event-stream; charset=utf-8", "x-codex-shim-upstream-status": str(error.status)}
    if error.retry_after:
        headers["retry-after"] = error.retry_after
    return http.Response.make(200, builder.drain(), headers)


class TurnSink(Protocol):
    """Where a BYOK answer goes when its upstream flow is not Codex's own (a WebSocket turn)."""

    def events(self, sse: bytes) -> None: ...

    def http_error(self, error: ShimError) -> None: ...

    def broken(self, reason: str) -> None: ...

    def cut(self) -> bool: ...


class CodexShim:
    """Routes Codex's Responses requests: BYOK slugs to their provider, the rest untouched."""

    def __init__(self) -> None:
        self.routes: dict[str, ModelRoute] = {}
        self.hosts: frozenset[str] = frozenset()
        self._upstreams: dict[str, UpstreamRequest] = {}
        self._idle = IdleWatch()
        self._sinks: dict[str, TurnSink] = {}
        self._config_path = config_path("")
        self._config_stamp: tuple[float, int] | None = None
        self._watchdog: asyncio.Task[None] | None = None

    def load(self, loader: Any) -> None:
        loader.add_option(
            "codex_shim_config",
            str,
            "",
            "Path of models.json (BYOK routes). Default: $CODEX_SHIM_CONFIG, else ~/.codex-shim/models.json.",
        )
        loader.add_option(
            "codex_shim_hosts",
            str,
            DEFAULT_HOSTS,
            "Comma-separated hosts (host or host:port) whose POST .../responses calls codex-shim routes.",
        )
        loader.add_option(
            "codex_shim_zero_config",
            bool,
            True,
            "Without a models.json, take routes from ANTHROPIC_API_KEY, OPENROUTER_API_KEY, DEEPSEEK_API_KEY "
            "and a local Ollama on 127.0.0.1:11434.",
        )
        loader.add_option(
            "codex_shim_idle_timeout",
            int,
            120,
            "Seconds a BYOK upstream may stay silent (before or during its answer) before codex-shim "
            "cuts it so that Codex retries. 0 disables.",
        )
        loader.add_option(
            "codex_shim_intercept_only",
            bool,
            True,
            "Decrypt only the codex_shim_hosts (sets allow_hosts); every other host is tunnelled untouched.",
        )
        loader.add_option(
            "codex_shim_allow_remote",
            bool,
            False,
            "Allow listening on a non-loopback address without proxyauth. Anyone who can reach the "
            "port could then spend your BYOK keys.",
        )

    def configure(self, updated: set[str]) -> None:
        if "codex_shim_config" in updated or "codex_shim_zero_config" in updated:
            self._config_path = config_path(ctx.options.codex_shim_config)
            try:
                self._load_routes()
            except ConfigError as exc:
                raise exceptions.OptionsError(f"codex_shim_config: {exc}") from None
        if "codex_shim_hosts" in updated or "codex_shim_intercept_only" in updated:
            self.hosts = frozenset(h.strip().lower() for h in ctx.options.codex_shim_hosts.split(",") if h.strip())
            if ctx.options.codex_shim_intercept_only and not ctx.options.ignore_hosts:
                wanted = [allow_pattern(self.hosts)]
                if list(ctx.options.allow_hosts) != wanted:
                    ctx.options.update(allow_hosts=wanted)
        if {"listen_host", "proxyauth", "codex_shim_allow_remote"} & updated:
            self._check_listen_address()
        if "connection_strategy" in updated or "codex_shim_config" in updated:
            # Eager CONNECT dials OpenAI before we see the request: BYOK must work without it.
            if ctx.options.connection_strategy != "lazy":
                ctx.options.update(connection_strategy="lazy")

    def _check_listen_address(self) -> None:
        host = ctx.options.listen_host
        if host == "":
            # mitmproxy's default is every interface; a key-spending proxy belongs on loopback.
            ctx.options.update(listen_host="127.0.0.1")
            log.info("codex-shim: listening on 127.0.0.1 (pass --listen-host to choose another address)")
        elif not is_loopback(host) and not ctx.options.proxyauth and not ctx.options.codex_shim_allow_remote:
            raise exceptions.OptionsError(
                f"listen_host: codex-shim refuses to listen on {host!r} without proxyauth: anyone who "
                "reaches the port could spend your BYOK keys. Set --proxyauth USER:PASS, or "
                "--set codex_shim_allow_remote=true if the network is yours."
            )

    async def running(self) -> None:
        if self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().create_task(self._every_second())
        # mitmdump may bring its listeners up before a script's configure ran: rebind if needed.
        proxyserver = ctx.master.addons.get("proxyserver")
        if proxyserver is not None and is_loopback(ctx.options.listen_host):
            if any(not is_loopback(addr[0]) for addr in proxyserver.listen_addrs()):
                await proxyserver.servers.update([])
                await proxyserver.setup_servers()

    def done(self) -> None:
        for flow in self._idle.flows():  # `-w` writes in-flight flows at exit, after this hook
            redact(flow)
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    async def _every_second(self) -> None:
        """Housekeeping: reload a changed models.json, cut upstreams silent past the idle limit."""
        while True:
            await asyncio.sleep(1)
            self._reload_if_changed()
            limit = ctx.options.codex_shim_idle_timeout
            if limit <= 0 or not len(self._idle):
                continue
            for flow in self._idle.expired(limit):
                reason = f"codex-shim: the provider sent nothing for {limit}s; connection closed so Codex retries"
                sink = self._sinks.get(flow.id)
                if (sink.cut() if sink is not None else cut_upstream(flow, reason)):
                    log.warning(f"{reason} ({flow.request.pretty_host})")
                    self._idle.forget(flow)
                elif not flow.live:
                    self._idle.forget(flow)  # already over; nothing left to cut

    def _load_routes(self) -> None:
        """(Re)read models.json, or the environment when there is none; print the table."""
        path = self._config_path
        self._config_stamp = _stamp(path)
        if self._config_stamp is not None or not ctx.options.codex_shim_zero_config:
            self.routes = load_config(path)
            source = str(path)
        else:
            self.routes = routes_from_environment()
            source = f"the environment ({path} not found)"
        log.info(routes_table(self.routes, source))

    def _reload_if_changed(self) -> None:
        if _stamp(self._config_path) == self._config_stamp:
            return
        try:
            self._load_routes()
        except ConfigError as exc:
            self._config_stamp = _stamp(self._config_path)  # report once per change
            log.error(f"codex-shim: keeping the previous routes: {exc}")

    # -- request side --------------------------------------------------------------------

    def forget(self, flow: http.HTTPFlow) -> None:
        """Drop what we hold for an upstream flow that will never reach response/error."""
        self._upstreams.pop(flow.id, None)
        self._sinks.pop(flow.id, None)
        self._idle.forget(flow)

    def intercepted(self, flow: http.HTTPFlow) -> bool:
        """Is this a call to a Responses URL on one of the hosts we route?"""
        req = flow.request
        host = req.pretty_host.lower()
        return (host in self.hosts or f"{host}:{req.port}" in self.hosts) and is_responses_path(req.path)

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.response or flow.error or not flow.live or flow.id in self._upstreams or not self.intercepted(flow):
            return
        if flow.request.method == "GET" and flow.request.headers.get("upgrade", "").lower() == "websocket":
            self._websocket_upgrade(flow)
            return
        if flow.request.method != "POST":
            return
        try:
            body = json.loads(flow.request.get_content(strict=True) or b"")
        except (ValueError, json.JSONDecodeError) as exc:
            if self.routes.get(turn_model(flow.request.headers) or ""):
                self._answer(flow, ShimError(400, "invalid_request_error", f"codex-shim: request body is not valid JSON: {exc}"))
            return  # not ours to judge: pass through
        model = body.get("model") if isinstance(body, dict) else None
        route = self.routes.get(model) if isinstance(model, str) else None
        if route is None:
            flow.metadata["codex_shim"] = {"route": "passthrough", "model": model}
            if native_history.carries_ours(flow.request.content or b""):
                flow.request.headers.pop("content-encoding", None)
                flow.request.content = json.dumps(native_history.scrub(body)).encode()
                flow.metadata["codex_shim"]["scrubbed"] = "BYOK reasoning/compaction items made OpenAI-safe"
            return
        if is_legacy_compact(flow.request.path):
            items = body.get("input")
            if isinstance(items, str):
                items = [{"type": "message", "role": "user", "content": items}]
            body = {**body, "stream": True, "input": [*(items or []), {"type": "compaction_trigger"}]}
            flow.metadata["codex_shim_legacy_compact"] = True
        try:
            self.prepare_upstream(flow, body, route)
        except RequestError as exc:
            self._answer(flow, ShimError(exc.status, exc.code, f"codex-shim ({route.model}): {exc}"))
        except Exception as exc:
            log.exception("codex-shim: failed to translate a request")
            flow.metadata["codex_shim"] = {"route": route.model, "traceback": traceback.format_exc()}
            self._answer(flow, ShimError(500, "server_error", f"codex-shim ({route.model}): internal error: {exc!r}"))

    def prepare_upstream(
        self, flow: http.HTTPFlow, body: dict[str, Any], route: ModelRoute, sink: TurnSink | None = None
    ) -> None:
        """Turn `flow`'s request into the provider's request and remember how to read its answer."""
        provider = PROVIDERS.get(route.provider)
        if provider is None:
            raise RequestError(f"provider {route.provider!r} is not supported by this version of codex-shim")
        compacting = compaction.is_compaction_request(body)
        body = compaction.prepare_request(body, compacting)
        upstream = provider.build(body, route, route.resolve_key())
        if compacting:
            make, convert = upstream.new_translator, upstream.convert_json
            upstream.new_translator = lambda: compaction.CompactionTranslator(make())
            if convert is not None:
                upstream.convert_json = lambda answer: compaction.rewrite_answer(convert(answer))
            flow.metadata["codex_shim_compaction"] = True
        # Serialise first: nothing that can fail comes after the key is on the flow. ASCII-escaped,
        # so any string (a lone surrogate too) makes valid JSON.
        content = json.dumps(upstream.body).encode()
        req = flow.request
        req.method = "POST"
        req.url = upstream.url
        fields = [(b"host", urlsplit(upstream.url).netloc.encode()), (b"accept-encoding", b"identity")]
        fields += [(k.encode(), v.encode()) for k, v in upstream.headers.items() if k.lower() != "host"]
        req.headers = http.Headers(fields)  # nothing of Codex's (auth, cookies, ids) survives
        req.content = content
        self._upstreams[flow.id] = upstream
        if sink is not None:
            self._sinks[flow.id] = sink
        self._idle.touch(flow)
        flow.metadata["codex_shim"] = {
            "route": route.model,
            "provider": route.provider,
            "upstream": upstream.url,
            "upstream_model": route.upstream_name,
        }
        flow.comment = f"codex-shim: {route.model} -> {route.provider} {route.upstream_name}"

    def _websocket_upgrade(self, flow: http.HTTPFlow) -> None:
        """BYOK turns go over HTTPS: a 426 makes Codex fall back at once instead of retrying."""
        model = turn_model(flow.request.headers)
        if model in self.routes or (model is None and self.routes):
            flow.response = http.Response.make(
                426,
                ShimError(426, "websocket_not_supported", "codex-shim serves BYOK models over HTTPS").body(),
                {"content-type": "application/json"},
            )
            flow.metadata["codex_shim"] = {"route": "websocket-fallback", "model": model}
        else:
            # Remember now: map_remote may rewrite the host before the socket's messages flow.
            flow.metadata["codex_shim"] = {"route": "websocket", "model": model}

    def _answer(self, flow: http.HTTPFlow, error: ShimError) -> None:
        model = flow.metadata.get("codex_shim", {}).get("route", "")
        streamed = error.as_stream and "codex_shim_legacy_compact" not in flow.metadata  # that endpoint wants JSON
        flow.response = failed_stream(error, model) if streamed else error_response(error)
        flow.metadata.setdefault("codex_shim", {})["error"] = error.message

    # -- response side -------------------------------------------------------------------

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        assert flow.response is not None
        upstream = self._upstreams.get(flow.id)
        if upstream is None:
            if flow.metadata.get("codex_shim", {}).get("route") == "passthrough":
                flow.response.stream = True  # Codex reads SSE as it arrives
            return
        redact(flow)
        resp = flow.response
        is_sse = "text/event-stream" in resp.headers.get("content-type", "")
        streamable = is_sse and "content-encoding" not in resp.headers and "codex_shim_legacy_compact" not in flow.metadata
        if 200 <= resp.status_code < 300 and streamable:
            translator = upstream.new_translator()
            resp.http_version = "HTTP/1.1"
            resp.headers = http.Headers(
                content_type="text/event-stream; charset=utf-8",
                cache_control="no-cache",
                transfer_encoding="chunked",
            )

            idle = self._idle
            sink = self._sinks.get(flow.id)

            def stream(chunk: bytes) -> list[bytes]:
                if chunk:
                    idle.touch(flow)
                else:
                    idle.forget(flow)
                out = translator.feed(chunk)
                if sink is not None:
                    if out:
                        sink.events(out)
                    return []
                return [out] if out else []

            resp.stream = stream
            flow.metadata["codex_shim"]["streamed"] = True

    def response(self, flow: http.HTTPFlow) -> None:
        self._idle.forget(flow)
        upstream = self._upstreams.pop(flow.id, None)
        sink = self._sinks.pop(flow.id, None)
        if upstream is None or flow.response is None:
            return
        resp = flow.response
        if flow.metadata.get("codex_shim", {}).get("streamed"):
            return
        route = flow.metadata["codex_shim"]
        content_type = resp.headers.get("content-type", "")
        try:
            if 200 <= resp.status_code < 300:
                content = resp.get_content(strict=False) or b""
                if "text/event-stream" in content_type:
                    translator = upstream.new_translator()
                    sse = translator.feed(content) + translator.feed(b"")
                else:
                    if upstream.convert_json is None:
                        raise ValueError("this provider has no non-streaming conversion")
                    sse = upstream.convert_json(json.loads(content))
                if sink is not None:
                    sink.events(sse)
                    return
                if flow.metadata.get("codex_shim_legacy_compact"):
                    flow.response = compaction.legacy_answer(sse)
                    return
                flow.response = http.Response.make(200, sse, {"content-type": "text/event-stream; charset=utf-8"})
                return
            error = from_upstream(
                resp.status_code,
                resp.get_content(strict=False) or b"",
                resp.headers.get("retry-after"),
                f"{route['provider']} at {flow.request.pretty_host}",
                route["upstream_model"],
            )
        except Exception as exc:  # noqa: BLE001
            error = ShimError(502, "upstream_protocol_error", f"codex-shim: unreadable answer from {flow.request.pretty_host}: {exc!r}")
        if sink is not None:
            sink.http_error(error)
            return
        self._answer(flow, error)

    def error(self, flow: http.HTTPFlow) -> None:
        self._idle.forget(flow)
        sink = self._sinks.pop(flow.id, None)
        if self._upstreams.pop(flow.id, None) is not None:
            redact(flow)
        if sink is not None:
            reason = flow.error.msg if flow.error else "connection lost"
            sink.broken(f"codex-shim: the provider at {flow.request.pretty_host} failed: {reason}")


def _stamp(path: Path) -> tuple[float, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_mtime, info.st_size)


def routes_table(routes: dict[str, ModelRoute], source: str) -> str:
    """The start-up (and reload) table: what each slug goes to, never the key itself."""
    if not routes:
        return f"codex-shim: no BYOK routes from {source}; all traffic passes through"
    rows = [("slug", "provider", "upstream", "model", "key")]
    for slug, route in routes.items():
        if route.api_key_env:
            key = f"${route.api_key_env}" + ("" if os.environ.get(route.api_key_env) else " (unset)")
        else:
            key = "models.json" if route.api_key else "none"
        rows.append((slug, route.provider, route.url_base, route.upstream_name, key))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [f"codex-shim: {len(routes)} BYOK route(s) from {source}:"]
    lines += ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def allow_pattern(hosts: frozenset[str]) -> str:
    """One allow_hosts regex for the hosts we route (matched against "host:port" or "host")."""
    names = sorted({h.split(":")[0] for h in hosts})
    return r"^(" + "|".join(re.escape(n) for n in names) + r")(:\d+)?$"


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def redact(flow: http.HTTPFlow) -> None:
    """Keys must not linger in what mitmweb shows or `-w` saves once the request is sent."""
    for name in list(flow.request.headers.keys()):
        if name.lower() not in _SHOWN_HEADERS:
            flow.request.headers[name] = _REDACTED
