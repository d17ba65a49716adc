"""Which hosts codex-shim acts on, and that only those are decrypted."""

from __future__ import annotations

import re
from typing import Any

from mitmproxy import ctx

from ..state import DEFAULT_HOSTS, Shim
from .picker import OPTION as DESKTOP_PICKER_OPTION


class Scope:
    """Owns `shim.hosts`; narrows mitmproxy's interception to them (allow_hosts)."""

    def __init__(self, shim: Shim) -> None:
        self.shim = shim

    def load(self, loader: Any) -> None:
        loader.add_option(
            "codex_shim_hosts",
            str,
            DEFAULT_HOSTS,
            "Comma-separated hosts (host or host:port) whose POST .../responses calls codex-shim routes.",
        )
        loader.add_option(
            "codex_shim_intercept_only",
            bool,
            True,
            "Decrypt only the codex_shim_hosts (sets allow_hosts); every other host is tunnelled untouched.",
        )

    def configure(self, updated: set[str]) -> None:
        if not {"codex_shim_hosts", "codex_shim_intercept_only", DESKTOP_PICKER_OPTION} & updated:
            return
        self.shim.hosts = parse_hosts(ctx.options.codex_shim_hosts)
        if ctx.options.codex_shim_intercept_only and not ctx.options.ignore_hosts:
            wanted = [allow_pattern(self.shim.hosts | self.shim.picker_hosts)]  # + ab.chatgpt.com for Desktop's picker
            if list(ctx.options.allow_hosts) != wanted:
                ctx.options.update(allow_hosts=wanted)


def parse_hosts(option: str) -> frozenset[str]:
    return frozenset(h.strip().lower() for h in option.split(",") if h.strip())


def allow_pattern(hosts: frozenset[str]) -> str:
    """One allow_hosts regex for the hosts we route (matched against "host:port" or "host")."""
    names = sorted({h.split(":")[0] for h in hosts})
    return r"^(" + "|".join(re.escape(n) for n in names) + r")(:\d+)?$"
