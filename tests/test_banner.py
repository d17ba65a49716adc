"""shim.banner: the start-up text a new user pastes from, on each OS, with and without routes."""

from __future__ import annotations

from pathlib import Path

import pytest

from shim.banner import BannerFacts, banner, proxy_url

CA = Path("/home/me/.mitmproxy/mitmproxy-ca-cert.pem")


def facts(tmp_path: Path, **changes: object) -> BannerFacts:
    base: dict[str, object] = dict(slugs=["deepseek-chat", "or-qwen"], config_path=tmp_path / "models.json", ca_file=CA,
                                   proxy_url="http://127.0.0.1:8080", system="Linux")
    return BannerFacts(**(base | changes))  # type: ignore[arg-type]


def test_the_cli_lines_are_ready_to_paste_and_use_the_first_slug(tmp_path: Path) -> None:
    text = banner(facts(tmp_path))
    lines = text.splitlines()
    assert lines[0] == "codex-shim is ready."
    assert "  proxy    http://127.0.0.1:8080" in lines and f"  CA file  {CA}" in lines
    assert "  export HTTPS_PROXY=http://127.0.0.1:8080" in lines
    assert f"  export CODEX_CA_CERTIFICATE={CA}" in lines
    assert "  codex -m deepseek-chat" in lines
    assert "2 BYOK (the table above): deepseek-chat, or-qwen" in text
    daemon = next(line for line in lines if "codex app-server daemon restart" in line)
    assert lines.index(daemon) < lines.index("  codex -m deepseek-chat")  # restart before the first run
    assert "failed to connect to Responses WebSocket" in text and "Harmless" in text


def test_no_routes_says_where_to_write_models_json(tmp_path: Path) -> None:
    text = banner(facts(tmp_path, slugs=[]))
    assert f"write {tmp_path / 'models.json'}" in text
    assert '"provider": "generic-chat-completion-api"' in text and '"api_key_env": "DEEPSEEK_API_KEY"' in text
    assert "codex -m deepseek-chat   # once that route exists" in text
    (tmp_path / "models.json").write_text('{"models": []}')
    assert f"add an entry to {tmp_path / 'models.json'}" in banner(facts(tmp_path, slugs=[]))


@pytest.mark.parametrize(("system", "expected"), [
    ("Darwin", ["Codex Desktop (macOS):", "  launchctl setenv HTTPS_PROXY http://127.0.0.1:8080",
                f"  launchctl setenv CODEX_CA_CERTIFICATE {CA}", "  codex app-server daemon restart"]),
    ("Windows", ["Codex Desktop (Windows):", "  setx HTTPS_PROXY http://127.0.0.1:8080", f"  setx CODEX_CA_CERTIFICATE {CA}",
                 '  $env:HTTPS_PROXY = "http://127.0.0.1:8080"', f'  $env:CODEX_CA_CERTIFICATE = "{CA}"']),
    ("Linux", ["Codex Desktop (Linux):", f"  Exec=env HTTPS_PROXY=http://127.0.0.1:8080 CODEX_CA_CERTIFICATE={CA} codex-desktop"]),
])
def test_the_desktop_lines_are_for_this_os_and_point_to_the_readme(tmp_path: Path, system: str, expected: list[str]) -> None:
    lines = banner(facts(tmp_path, system=system)).splitlines()
    for line in expected:
        assert line in lines
    assert any('scripts/shim desktop-setup; README, "Point Codex at the proxy"' in line for line in lines)
    others = {"Darwin": "launchctl", "Windows": "setx", "Linux": "Exec=env"}
    for other, word in others.items():
        if other != system:
            assert not any(word in line for line in lines)


def test_mitmweb_shows_its_url_and_no_listener_means_no_codex_lines(tmp_path: Path) -> None:
    assert "  mitmweb  http://127.0.0.1:8081/?token=abc" in banner(facts(tmp_path, web_url="http://127.0.0.1:8081/?token=abc"))
    text = banner(facts(tmp_path, proxy_url=None))
    assert "not listening as an HTTP(S) proxy" in text and "HTTPS_PROXY" not in text


def test_proxy_url_from_the_listen_address() -> None:
    assert proxy_url([("127.0.0.1", 8080)]) == "http://127.0.0.1:8080"
    assert proxy_url([("0.0.0.0", 8899), ("::", 8899)]) == "http://127.0.0.1:8899"
    assert proxy_url([("::1", 8080)]) == "http://[::1]:8080"
    assert proxy_url([]) is None
