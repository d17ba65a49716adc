"""A proxy that spends your keys listens on loopback unless you say otherwise."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Any

from mitmproxy import ctx, exceptions

log = logging.getLogger("codex_shim")


class ListenGuard:
    """Loopback by default (also under a plain `mitmdump -s`); remote only with proxyauth or consent."""

    def load(self, loader: Any) -> None:
        loader.add_option(
            "codex_shim_allow_remote",
            bool,
            False,
            "Allow listening on a non-loopback address without proxyauth. Anyone who can reach the "
            "port could then spend your BYOK keys.",
        )

    def configure(self, updated: set[str]) -> None:
        if not {"listen_host", "proxyauth", "codex_shim_allow_remote"} & updated:
            return
        host = ctx.options.listen_host
        if host == "":
            # mitmproxy's default is every interface; a key-spending proxy belongs on loopback.
            ctx.options.update(listen_host="127.0.0.1")
            log.info("codex-shim: listening on 127.0.0.1 (pass --listen-host to choose another address)")
            return
        problem = listen_problem(host, bool(ctx.options.proxyauth), ctx.options.codex_shim_allow_remote)
        if problem:
            if not self._running and ctx.master.addons.get("errorcheck") is not None:
                log.error(f"codex-shim: not started: {problem}")  # at start-up: the reason, no traceback
                raise SystemExit(1)
            raise exceptions.OptionsError(problem)

    def __init__(self) -> None:
        self._running = False

    def running(self) -> None:
        self._running = True
        # mitmdump may bring its listeners up before a script's configure ran: rebind if needed.
        # Sync, starting a task: mitmproxy calls `running` from sync code on a script reload.
        proxyserver = ctx.master.addons.get("proxyserver")
        if proxyserver is not None and is_loopback(ctx.options.listen_host):
            if any(not is_loopback(addr[0]) for addr in proxyserver.listen_addrs()):
                # kept on self: the event loop holds tasks only weakly
                self._rebinding = asyncio.get_running_loop().create_task(self._rebind(proxyserver))

    async def _rebind(self, proxyserver: Any) -> None:
        await proxyserver.servers.update([])
        await proxyserver.setup_servers()


def listen_problem(host: str, has_proxyauth: bool, allow_remote: bool) -> str | None:
    """Why listening on `host` is refused, or None."""
    if is_loopback(host) or has_proxyauth or allow_remote:
        return None
    return (
        f"listen_host: codex-shim refuses to listen on {host!r} without proxyauth: anyone who "
        "reaches the port could spend your BYOK keys. Set --proxyauth USER:PASS, or "
        "--set codex_shim_allow_remote=true if the network is yours."
    )


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
