"""The start-up banner: what a new user needs to point Codex at the proxy, ready to paste.

Pure text from plain facts (no mitmproxy), so it is tested directly; shim/addons/banner.py
gathers the facts once the proxy listens and prints it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

README_SECTION = 'README, "Point Codex at the proxy"'
EXAMPLE_SLUG = "deepseek-chat"
EXAMPLE_FILE = """\
  {"models": [{"model": "deepseek-chat", "provider": "generic-chat-completion-api",
               "base_url": "https://api.deepseek.com/v1", "api_key_env": "DEEPSEEK_API_KEY"}]}"""


@dataclass(frozen=True)
class BannerFacts:
    slugs: Sequence[str]  # the BYOK routes, in table order
    config_path: Path  # the models.json in use (it may not exist)
    ca_file: Path  # confdir/mitmproxy-ca-cert.pem
    proxy_url: str | None  # how a local Codex reaches the proxy; None when it listens nowhere
    system: str  # platform.system(): Darwin, Windows, Linux, ...
    web_url: str | None = None  # mitmweb's UI, token included


def banner(facts: BannerFacts) -> str:
    lines = ["codex-shim is ready.", f"  proxy    {facts.proxy_url or 'not listening as an HTTP(S) proxy'}",
             f"  CA file  {facts.ca_file}"]
    if facts.web_url:
        lines.append(f"  mitmweb  {facts.web_url}")
    lines += _routes(facts)
    if facts.proxy_url is None:
        return "\n".join(lines)
    lines += _cli_lines(facts)
    lines += _desktop_lines(facts)
    lines.append(
        "Codex logs 'ERROR ... failed to connect to Responses WebSocket' on BYOK turns: that is the proxy's "
        "426 answer, on purpose; Codex goes on over HTTPS at once. Harmless."
    )
    return "\n".join(lines)


def _routes(facts: BannerFacts) -> list[str]:
    if facts.slugs:
        return [f"  routes   {len(facts.slugs)} BYOK (the table above): {', '.join(facts.slugs)}; everything else passes through"]
    where = "add an entry to" if facts.config_path.exists() else "write"
    return [
        "  routes   none: every request passes through to OpenAI untouched.",
        f"To route a model, {where} {facts.config_path} (re-read while the proxy runs), e.g.:",
        EXAMPLE_FILE,
    ]


def _cli_lines(facts: BannerFacts) -> list[str]:
    url, ca = facts.proxy_url, facts.ca_file
    run = f"  codex -m {facts.slugs[0]}" if facts.slugs else f"  codex -m {EXAMPLE_SLUG}   # once that route exists"
    if facts.system == "Windows":
        exports = [f'  $env:HTTPS_PROXY = "{url}"', f'  $env:CODEX_CA_CERTIFICATE = "{ca}"']
        shell = "PowerShell"
    else:
        exports = [f"  export HTTPS_PROXY={url}", f"  export CODEX_CA_CERTIFICATE={ca}"]
        shell = "the shell"
    return [
        f"Codex CLI, in {shell} you run codex from:",
        *exports,
        "  codex app-server daemon restart   # interactive codex runs on a background app-server that keeps the",
        "                                    # environment of its first start; restart it from here (or: codex --no-daemon)",
        run,
    ]


def _desktop_lines(facts: BannerFacts) -> list[str]:
    url, ca = facts.proxy_url, facts.ca_file
    if facts.system == "Darwin":
        how = [f"  launchctl setenv HTTPS_PROXY {url}", f"  launchctl setenv CODEX_CA_CERTIFICATE {ca}",
               "  codex app-server daemon restart", "  then quit Codex Desktop (Cmd-Q) and open it again"]
    elif facts.system == "Windows":
        how = [f"  setx HTTPS_PROXY {url}", f"  setx CODEX_CA_CERTIFICATE {ca}",
               "  codex app-server daemon restart", "  then sign out and in, and open Codex Desktop"]
    else:
        how = ["  start it from a shell with the two variables above exported, or in its .desktop file:",
               f"  Exec=env HTTPS_PROXY={url} CODEX_CA_CERTIFICATE={ca} codex-desktop"]
    return [
        f"Codex Desktop ({_os_name(facts.system)}):",
        *how,
        f"  every step (system proxy, CA trust, undo): scripts/shim desktop-setup; {README_SECTION}",
    ]


def _os_name(system: str) -> str:
    return {"Darwin": "macOS"}.get(system, system or "this OS")


def proxy_url(listen_addrs: Sequence[tuple[str, int]]) -> str | None:
    """The URL a local Codex uses for the first listen address (a wildcard host means loopback)."""
    if not listen_addrs:
        return None
    host, port = listen_addrs[0][0], listen_addrs[0][1]
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
