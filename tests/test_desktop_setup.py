"""`scripts/shim desktop-setup` prints the per-OS Codex Desktop setup and runs nothing."""

from __future__ import annotations

import subprocess

import pytest

from tests.harness import ROOT


def setup_text(*args: str) -> str:
    result = subprocess.run([str(ROOT / "scripts" / "shim"), "desktop-setup", *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(("os_name", "expected"), [
    ("macos", ["networksetup -setsecurewebproxy", "security add-trusted-cert", "launchctl setenv HTTPS_PROXY http://127.0.0.1:8899",
               "codex app-server daemon restart"]),
    ("windows", ["ProxyServer '127.0.0.1:8899'", "certutil -user -addstore Root", "setx HTTPS_PROXY http://127.0.0.1:8899",
                 "codex app-server daemon restart"]),
    ("linux", ["gsettings set org.gnome.system.proxy.https port 8899", "certutil -d sql:", "codex app-server daemon restart"]),
])
def test_each_os_gets_proxy_ca_environment_and_daemon_steps(os_name: str, expected: list[str]) -> None:
    text = setup_text("--os", os_name, "-p", "8899")
    for line in expected:
        assert line in text


def test_an_unknown_os_is_refused() -> None:
    result = subprocess.run([str(ROOT / "scripts" / "shim"), "desktop-setup", "--os", "plan9"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "--os must be" in result.stderr
