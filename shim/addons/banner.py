"""Print the start-up banner once the proxy listens: the lines that point Codex at it."""

from __future__ import annotations

import logging
import platform
from pathlib import Path

from mitmproxy import ctx
from mitmproxy.proxy.mode_specs import RegularMode

from ..banner import BannerFacts, banner, proxy_url
from ..state import Shim

log = logging.getLogger("codex_shim")

CA_FILE_NAME = "mitmproxy-ca-cert.pem"  # what mitmproxy writes into its confdir at start


class Banner:
    """Last in the chain, so its `running` sees the listeners ListenGuard may have rebound."""

    def __init__(self, shim: Shim) -> None:
        self.shim = shim
        self._shown = False

    def running(self) -> None:
        if self._shown:
            return
        self._shown = True
        log.info(banner(self.facts()))

    def facts(self) -> BannerFacts:
        return BannerFacts(
            slugs=list(self.shim.routes),
            config_path=self.shim.config_path,
            ca_file=Path(ctx.options.confdir).expanduser() / CA_FILE_NAME,
            proxy_url=proxy_url(regular_listen_addrs()),
            system=platform.system(),
            web_url=getattr(ctx.master, "web_url", None),
        )


def regular_listen_addrs() -> list[tuple[str, int]]:
    """Where HTTP(S)-proxy clients connect (reverse or transparent listeners are not for Codex)."""
    proxyserver = ctx.master.addons.get("proxyserver")
    if proxyserver is None:
        return []
    return [
        (str(addr[0]), int(addr[1]))
        for server in proxyserver.servers
        if isinstance(server.mode, RegularMode)
        for addr in server.listen_addrs
    ]
