"""The real Statsig JS client (npm @statsig/js-client, in node) through mitmdump sees the BYOK slugs allowed.

A fake ab.chatgpt.com on 127.0.0.1 (map_remote) answers `/v1/initialize`, plain or gzip; the client
goes through the proxy (an undici ProxyAgent, the proxy's CA in NODE_EXTRA_CA_CERTS) and asks for
the availability config the way Codex Desktop does (by its djb2 hash) and by name. Everything else
it reads (other configs, gates, layers, the whole answer) is what the fake sent.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shim.statsig import AVAILABILITY_CONFIG, djb2
from tests.fakes.http_server import FakeServer, Reply
from tests.harness import ROOT, Mitmdump, node_modules
from tests.statsig_fixtures import AVAILABILITY, GATE, LAYER, OPENAI_ALLOWED, OTHER_CONFIG, initialize_v1, initialize_v2

pytestmark = pytest.mark.e2e

STATSIG_VERSION = "3.33.5"
UNDICI_VERSION = "6.29.1"
MODULES = ROOT / ".cache" / f"statsig-js-{STATSIG_VERSION}"
PROBE = ROOT / "tests" / "node" / "statsig_probe.mjs"
ROUTES = [
    {"model": "claude-byok", "provider": "anthropic", "api_key": "sk-ant-test"},
    {"model": "ds-byok", "provider": "generic-chat-completion-api", "base_url": "http://127.0.0.1:9/v1", "api_key": "k"},
]
SDK_KEY = "client-codex-shim-test"


def statsig_modules() -> Path:
    """@statsig/js-client and undici from npm, installed once into .cache/."""
    return node_modules(MODULES, (f"@statsig/js-client@{STATSIG_VERSION}", f"undici@{UNDICI_VERSION}"), "@statsig/js-client",
                        "the Statsig client test")


def initialize_server(payload: dict[str, Any], encoding: str | None) -> FakeServer:
    body = json.dumps(payload).encode()

    def handle(path: str, headers: dict[str, str], _: bytes) -> Reply:
        if not path.startswith("/v1/initialize"):
            return Reply.json(404, {"error": "not found"})
        if encoding == "gzip":
            return Reply(200, [gzip.compress(body)], "application/json", {"content-encoding": "gzip"})
        return Reply(200, [body], "application/json")

    return FakeServer(handle)


def run_probe(proxy: Mitmdump | None, api: str, env_extra: dict[str, str] | None = None) -> dict[str, Any]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "STATSIG_PROBE_MODULES": str(statsig_modules()),
           **(env_extra or {})}
    if proxy is not None:
        env |= {"HTTPS_PROXY": proxy.url, "NODE_EXTRA_CA_CERTS": str(proxy.ca)}
    configs = ",".join([djb2(AVAILABILITY_CONFIG), AVAILABILITY_CONFIG, OTHER_CONFIG])
    result = subprocess.run(["node", str(PROBE), SDK_KEY, api, configs, GATE, LAYER], capture_output=True, text=True,
                            timeout=60, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(json.loads(result.stdout))


def map_ab_to(port: int) -> list[str]:
    return ["--map-remote", rf"|^https://ab\.chatgpt\.com(:443)?/|http://127.0.0.1:{port}/"]


def expected_without_proxy(payload: dict[str, Any]) -> dict[str, Any]:
    """What the same client reads from the same answer, fetched directly (no proxy, no rewrite)."""
    with initialize_server(payload, None) as fake:
        return run_probe(None, f"http://127.0.0.1:{fake.port}/v1")


@pytest.mark.parametrize(("fmt", "encoding"), [("init-v1", None), ("init-v1", "gzip"), ("init-v2", "gzip")])
def test_the_statsig_client_sees_the_byok_slugs_allowed(tmp_path: Path, fmt: str, encoding: str | None) -> None:
    payload = initialize_v1() if fmt == "init-v1" else initialize_v2()
    direct = expected_without_proxy(payload)
    assert direct["configs"][djb2(AVAILABILITY_CONFIG)]["available_models"] == OPENAI_ALLOWED

    with initialize_server(payload, encoding) as fake, Mitmdump(tmp_path, ROUTES, map_ab_to(fake.port)) as proxy:
        seen = run_probe(proxy, "https://ab.chatgpt.com/v1")
    assert fake.requests and fake.requests[0]["path"].startswith("/v1/initialize")

    for name in (djb2(AVAILABILITY_CONFIG), AVAILABILITY_CONFIG):  # as Desktop asks (by hash), and by name
        value = seen["configs"][name]
        assert value["available_models"] == [*OPENAI_ALLOWED, "claude-byok", "ds-byok"]  # OpenAI's first, kept
        assert value["use_hidden_models"] is True and value["default_model"] == AVAILABILITY["default_model"]
    assert seen["source"] == "Network:Recognized"
    # Everything else, exactly as the client read it without the proxy.
    assert seen["configs"][OTHER_CONFIG] == direct["configs"][OTHER_CONFIG]
    assert seen["gates"] == direct["gates"] == {GATE: True}
    assert seen["layers"] == direct["layers"]
    for section in ("feature_gates", "layer_configs"):
        assert json.dumps(seen["values"][section]) == json.dumps(direct["values"][section])
    others = {k: v for k, v in seen["values"]["dynamic_configs"].items() if k != djb2(AVAILABILITY_CONFIG)}
    direct_others = {k: v for k, v in direct["values"]["dynamic_configs"].items() if k != djb2(AVAILABILITY_CONFIG)}
    assert json.dumps(others) == json.dumps(direct_others)
    rest = {k: v for k, v in seen["values"].items() if k not in ("dynamic_configs", "values")}
    assert json.dumps(rest) == json.dumps({k: v for k, v in direct["values"].items() if k not in ("dynamic_configs", "values")})
    if fmt == "init-v2":  # the shared value entry stays; the availability config points at a new one
        assert all(seen["values"]["values"][k] == v for k, v in direct["values"]["values"].items())
    assert "allowed claude-byok, ds-byok" in proxy.output()


def test_an_unknown_config_shape_reaches_the_client_unchanged(tmp_path: Path) -> None:
    payload = initialize_v1({"use_hidden_models": True, "allowed": "gpt-5.5"})  # no available_models list
    with initialize_server(payload, "gzip") as fake, Mitmdump(tmp_path, ROUTES, map_ab_to(fake.port)) as proxy:
        seen = run_probe(proxy, "https://ab.chatgpt.com/v1")
    assert seen["configs"][djb2(AVAILABILITY_CONFIG)] == {"use_hidden_models": True, "allowed": "gpt-5.5"}
    assert "passed through unchanged: available_models is not a list of strings" in proxy.output()


def test_with_the_option_off_ab_chatgpt_com_is_not_decrypted(tmp_path: Path) -> None:
    payload = initialize_v1()
    with initialize_server(payload, None) as fake, Mitmdump(
        tmp_path, ROUTES, [*map_ab_to(fake.port), "--set", "codex_shim_desktop_picker=false"]
    ) as proxy:
        result = subprocess.run(
            ["node", str(PROBE), SDK_KEY, "https://ab.chatgpt.com/v1", djb2(AVAILABILITY_CONFIG), "", ""],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
            env={"PATH": os.environ.get("PATH", ""), "STATSIG_PROBE_MODULES": str(statsig_modules()),
                 "HTTPS_PROXY": proxy.url, "NODE_EXTRA_CA_CERTS": str(proxy.ca)},
        )
    # Tunnelled, not decrypted: map_remote never applies, so the fake sees nothing (and there is no internet).
    assert fake.requests == []
    assert result.returncode == 0
    assert json.loads(result.stdout)["configs"][djb2(AVAILABILITY_CONFIG)] == {}
