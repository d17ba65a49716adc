"""What the addons share: the routes, the hosts we act on, and the exchange of each turn.

One `Shim` object is created by `addons/codex_shim.py` and handed to every addon; each addon
reads what it needs and only the one that owns a field writes it (RoutesFile the routes,
Scope the hosts, the Router and WebSocketTurns the exchanges, ModelProfiles the profiles).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from mitmproxy import http
from mitmproxy.net.http import url

from .config import RouteTable, config_path
from .exchange import Exchanges
from .profiles import Profiles

DEFAULT_HOSTS = "api.openai.com,chatgpt.com"


@dataclass
class Shim:
    routes: RouteTable = field(default_factory=RouteTable)
    hosts: frozenset[str] = frozenset()
    exchanges: Exchanges = field(default_factory=Exchanges)
    config_path: Path = field(default_factory=lambda: config_path(""))
    """models.json (RoutesFile owns it: codex_shim_config, else $CODEX_SHIM_CONFIG, else the default);
    caches are kept next to it."""
    picker_hosts: frozenset[str] = frozenset()
    """Hosts decrypted for Codex Desktop's picker beyond `hosts` (DesktopPicker owns it, Scope reads it)."""
    profiles: Profiles = field(default_factory=Profiles)
    """What each route's model takes (shim/profiles.py); ModelProfiles keeps it current."""

    def is_our_host(self, request: http.Request) -> bool:
        """Is the request for one of the hosts we route (host, or host:port)?"""
        return is_for(request, self.hosts)


def is_for(request: http.Request, hosts: frozenset[str]) -> bool:
    """Is the request for one of `hosts`, named as host or as host:port?"""
    host = request_host(request)
    return host in hosts or f"{host}:{request.port}" in hosts


def request_host(request: http.Request) -> str:
    """`request.pretty_host`, lowercased: the host of its Host header (HTTP/2: authority), else its own.
    mitmproxy parses and validates the header on every call (~6 µs, on every turn's way upstream);
    here each distinct header is parsed once."""
    authority = request.host_header
    return _authority_host(authority) if authority else request.host.lower()


@lru_cache(maxsize=256)
def _authority_host(authority: str) -> str:
    return url.parse_authority(authority, check=False)[0].lower()
