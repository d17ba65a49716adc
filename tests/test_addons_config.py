"""The configuration addons in-process: the routes file, the intercepted hosts, the listen guard."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import pytest
from mitmproxy import exceptions

from shim.addons.listen_guard import listen_problem
from shim.addons.routes_file import RoutesFile
from shim.addons.scope import allow_pattern, parse_hosts
from tests.addon_chain import ROUTES, addon_chain


def test_the_routes_file_fills_the_routes_and_a_bad_one_is_refused_at_start(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        assert list(chain.shim.routes) == ["byok-chat", "byok-claude"]
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"models": [{"model": "x", "provider": "nonsense"}]}))
        with pytest.raises(exceptions.OptionsError, match=r"codex_shim_config: .*models\[0\] \(model 'x'\): provider must be 'openai'"):
            chain.tctx.options.update(codex_shim_config=str(bad))


def test_a_changed_routes_file_is_reloaded_and_a_broken_change_keeps_the_old_routes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with addon_chain(tmp_path) as chain:
        routes_file = next(a for a in chain.addons if isinstance(a, RoutesFile))
        config = tmp_path / "models.json"
        config.write_text(json.dumps({"models": ROUTES[:1]}))
        os.utime(config, (time.time() + 5, time.time() + 5))
        routes_file.reload_if_changed()
        assert list(chain.shim.routes) == ["byok-chat"]
        config.write_text("{broken")
        os.utime(config, (time.time() + 10, time.time() + 10))
        with caplog.at_level(logging.ERROR):
            routes_file.reload_if_changed()
        assert list(chain.shim.routes) == ["byok-chat"]
        assert "keeping the previous routes" in caplog.text


def test_only_the_routed_hosts_are_decrypted(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        # ab.chatgpt.com too, for Codex Desktop's picker allowlist (codex_shim_desktop_picker, on by default)
        assert chain.tctx.options.allow_hosts == [allow_pattern(parse_hosts("api.openai.com,chatgpt.com,ab.chatgpt.com"))]
        chain.tctx.options.update(codex_shim_hosts="chatgpt.com, LOCALHOST:8443", codex_shim_desktop_picker=False)
        assert chain.shim.hosts == frozenset({"chatgpt.com", "localhost:8443"})
        assert chain.tctx.options.allow_hosts == [r"^(chatgpt\.com|localhost)(:\d+)?$"]
        assert chain.tctx.options.connection_strategy == "lazy"


def test_a_remote_listen_address_needs_proxyauth_or_consent(tmp_path: Path) -> None:
    assert listen_problem("127.0.0.1", False, False) is None
    assert listen_problem("::1", False, False) is None
    assert listen_problem("0.0.0.0", True, False) is None
    assert listen_problem("0.0.0.0", False, True) is None
    assert "refuses to listen on '0.0.0.0'" in (listen_problem("0.0.0.0", False, False) or "")
    with addon_chain(tmp_path) as chain:
        assert chain.tctx.options.listen_host == "127.0.0.1"  # mitmproxy's default (every interface) is narrowed
        with pytest.raises(exceptions.OptionsError, match="proxyauth"):
            chain.tctx.options.update(listen_host="192.0.2.10")
