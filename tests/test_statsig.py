"""shim/statsig.py: the availability allowlist in Statsig initialize and bootstrap answers, and the
addon (shim/addons/picker.py) in the real addon chain, with gzip, br and zstd bodies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.net.encoding import encode
from mitmproxy.proxy import layers
from mitmproxy.test import tflow

from shim.exchange import METADATA_KEY
from shim.statsig import (
    AVAILABILITY_CONFIG,
    Unchanged,
    allow_in_payload,
    djb2,
    find_config,
    rewrite_bootstrap,
    rewrite_initialize,
    sha256_key,
)
from tests.addon_chain import ROUTES, addon_chain
from tests.statsig_fixtures import OPENAI_ALLOWED, OTHER_CONFIG, bootstrap_answer, initialize_v1, initialize_v2

KEY = djb2(AVAILABILITY_CONFIG)
SLUGS = [r["model"] for r in ROUTES]


def test_djb2_is_the_statsig_clients() -> None:
    assert djb2(AVAILABILITY_CONFIG) == "107580212"  # the key Codex Desktop asks for
    assert djb2("") == "0"
    assert djb2("a") == "97"
    assert djb2("é✓😀") == "18327085"  # UTF-16 code units, surrogate pairs included (what node computes)


def test_the_config_is_found_by_name_djb2_or_sha256() -> None:
    payload = initialize_v1()
    assert find_config(payload)[0] == KEY
    by_name = {**payload, "hash_used": "none", "dynamic_configs": {AVAILABILITY_CONFIG: payload["dynamic_configs"][KEY]}}
    assert find_config(by_name)[0] == AVAILABILITY_CONFIG
    hashed = sha256_key(AVAILABILITY_CONFIG)
    by_sha = {**payload, "hash_used": "sha256", "dynamic_configs": {hashed: payload["dynamic_configs"][KEY]}}
    assert find_config(by_sha)[0] == hashed


def test_v1_slugs_are_appended_and_nothing_else_changes() -> None:
    payload = initialize_v1()
    before = json.dumps(payload)
    result, key, added = allow_in_payload(payload, ["byok-a", "gpt-5.5", "byok-a", "byok-b"])
    assert json.dumps(payload) == before  # the input is not mutated
    assert (key, added) == (KEY, ["byok-a", "byok-b"])
    value = result["dynamic_configs"][KEY]["value"]
    assert value["available_models"] == [*OPENAI_ALLOWED, "byok-a", "byok-b"]
    assert value["default_model"] == "gpt-6.2-sol" and value["use_hidden_models"] is True
    rest = {k: v for k, v in result.items() if k != "dynamic_configs"}
    assert json.dumps(rest) == json.dumps({k: v for k, v in payload.items() if k != "dynamic_configs"})
    assert json.dumps(result["dynamic_configs"][djb2(OTHER_CONFIG)]) == json.dumps(payload["dynamic_configs"][djb2(OTHER_CONFIG)])


def test_v2_gets_its_own_value_entry_so_a_config_sharing_the_old_one_keeps_it() -> None:
    payload = initialize_v2()
    result, _, added = allow_in_payload(payload, ["byok-a"])
    assert added == ["byok-a"]
    ref = result["dynamic_configs"][KEY]["v"]
    assert ref != "111" and result["values"][ref]["available_models"] == [*OPENAI_ALLOWED, "byok-a"]
    assert result["values"]["111"] == payload["values"]["111"]  # still what the other config reads
    assert result["dynamic_configs"][djb2(OTHER_CONFIG)] == {"r": "rule-o", "v": "111", "i": "userID"}


def test_the_body_keeps_key_order_and_unicode() -> None:
    payload = initialize_v1()
    out = json.loads(rewrite_initialize(json.dumps(payload).encode(), ["byok-a"]).body)
    assert list(out) == list(payload)
    assert out["dynamic_configs"][djb2(OTHER_CONFIG)]["value"]["flag"] == "é ✓"


def test_a_bootstrap_answer_keeps_its_other_fields_and_its_payload_as_text() -> None:
    answer = bootstrap_answer(initialize_v2())
    result = rewrite_bootstrap(json.dumps(answer).encode(), ["byok-a"])
    out = json.loads(result.body)
    assert out["bootstrap_version"] == 3 and isinstance(out["statsigPayload"], str)
    inner = json.loads(out["statsigPayload"])
    assert inner["values"][inner["dynamic_configs"][KEY]["v"]]["available_models"][-1] == "byok-a"
    as_object = {**answer, "statsigPayload": initialize_v1()}
    out = json.loads(rewrite_bootstrap(json.dumps(as_object).encode(), ["byok-a"]).body)
    assert out["statsigPayload"]["dynamic_configs"][KEY]["value"]["available_models"][-1] == "byok-a"


@pytest.mark.parametrize(("payload", "why", "benign"), [
    (b"not json", "not JSON", False),
    ([1, 2], "not a JSON object", False),
    ({"has_updates": False}, "has_updates is not true", True),
    ({"has_updates": True}, "no dynamic_configs object", False),
    ({**initialize_v1(), "dynamic_configs": {}}, "no codex-app-vscode-model-availability config", False),
    (initialize_v1({"use_hidden_models": True, "available_models": "gpt-5.5"}), "available_models is not a list", False),
    (initialize_v1({"use_hidden_models": False}), "no allowlist and use_hidden_models is not true", True),
    (initialize_v1({**initialize_v1()["dynamic_configs"][KEY]["value"], "available_models": [*OPENAI_ALLOWED, "byok-a"]}),
     "already allowed", True),
    ({**initialize_v2(), "values": {}}, "does not name an entry of values", False),
    ({**initialize_v1(), "response_format": "init-v9"}, "unknown response_format", False),
])
def test_what_is_not_understood_is_left_alone(payload: Any, why: str, benign: bool) -> None:
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    with pytest.raises(Unchanged, match=why) as caught:
        rewrite_initialize(content, ["byok-a"])
    assert caught.value.benign is benign


# -- the addon in the chain -------------------------------------------------------------------


def statsig_flow(url: str, payload: Any, encoding: str | None = None, status: int = 200) -> tuple[http.HTTPFlow, http.Response]:
    flow = tflow.tflow(req=http.Request.make("POST", url, b"{}", {"content-type": "application/json"}))
    headers = {"content-type": "application/json"}
    if encoding:
        headers["content-encoding"] = encoding
    answer = http.Response.make(status, json.dumps(payload).encode(), headers)  # encoded as the header says
    assert encoding is None or answer.raw_content == encode(answer.content or b"", encoding)
    return flow, answer


@pytest.mark.parametrize("encoding", [None, "gzip", "br", "zstd"])
def test_the_addon_rewrites_initialize_answers_in_their_own_encoding(tmp_path: Path, encoding: str | None) -> None:
    with addon_chain(tmp_path) as chain:
        flow, answer = statsig_flow("https://ab.chatgpt.com/v1/initialize?k=client-x&st=javascript-client", initialize_v1(), encoding)
        chain.answer(chain.request(flow), answer)
    assert flow.response is not None
    assert flow.response.headers.get("content-encoding") == encoding
    value = json.loads(flow.response.get_content() or b"")["dynamic_configs"][KEY]["value"]
    assert value["available_models"] == [*OPENAI_ALLOWED, *SLUGS]
    assert flow.metadata[METADATA_KEY] == {"route": "desktop-picker", "statsig": "initialize", "answered": "allowlist extended",
                                           "config": KEY, "format": "init-v1", "added": SLUGS}


def test_the_addon_rewrites_the_bootstrap_on_chatgpt_com(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow, answer = statsig_flow("https://chatgpt.com/backend-api/wham/statsig/bootstrap", bootstrap_answer(initialize_v2()), "br")
        chain.answer(chain.request(flow), answer)
    assert flow.response is not None
    inner = json.loads(json.loads(flow.response.get_content() or b"")["statsigPayload"])
    assert inner["values"][inner["dynamic_configs"][KEY]["v"]]["available_models"] == [*OPENAI_ALLOWED, *SLUGS]
    assert flow.metadata[METADATA_KEY]["statsig"] == "bootstrap"


@pytest.mark.parametrize(("url", "status", "payload"), [
    ("https://ab.chatgpt.com/v1/rgstr", 200, initialize_v1()),  # not initialize
    ("https://featureassets.org/v1/initialize", 200, initialize_v1()),  # not Desktop's Statsig host
    ("https://chatgpt.com/backend-api/wham/accounts/check", 200, initialize_v1()),
])
def test_other_calls_pass_untouched(tmp_path: Path, url: str, status: int, payload: Any) -> None:
    with addon_chain(tmp_path) as chain:
        flow, answer = statsig_flow(url, payload, status=status)
        body = answer.content
        chain.answer(chain.request(flow), answer)
    assert flow.response is not None and flow.response.content == body
    assert METADATA_KEY not in flow.metadata


@pytest.mark.parametrize(("status", "payload", "encoding", "why"), [
    (500, initialize_v1(), None, "unchanged: status 500"),
    (200, {"has_updates": True, "dynamic_configs": []}, "gzip", "unchanged: no dynamic_configs object"),
])
def test_an_answer_we_do_not_understand_is_relayed_as_it_came(tmp_path: Path, status: int, payload: Any, encoding: str | None, why: str) -> None:
    with addon_chain(tmp_path) as chain:
        flow, answer = statsig_flow("https://ab.chatgpt.com/v1/initialize", payload, encoding, status)
        raw = answer.raw_content
        chain.answer(chain.request(flow), answer)
    assert flow.response is not None and flow.response.raw_content == raw
    assert flow.metadata[METADATA_KEY]["answered"] == why


def test_a_body_that_does_not_decode_is_relayed_as_it_came(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        flow = tflow.tflow(req=http.Request.make("POST", "https://ab.chatgpt.com/v1/initialize", b"{}"))
        chain.request(flow)
        flow.response = http.Response.make(200, b"", {"content-encoding": "gzip"})
        flow.response.raw_content = b"definitely not gzip"
        chain.run(layers.http.HttpResponseHeadersHook(flow))
        chain.run(layers.http.HttpResponseHook(flow))
    assert flow.response is not None and flow.response.raw_content == b"definitely not gzip"
    assert flow.metadata[METADATA_KEY]["answered"].startswith("unchanged: cannot decode gzip body")


def test_the_option_decides_whether_ab_chatgpt_com_is_decrypted_and_rewritten(tmp_path: Path) -> None:
    with addon_chain(tmp_path) as chain:
        assert "ab\\.chatgpt\\.com" in chain.tctx.options.allow_hosts[0]
        chain.tctx.options.update(codex_shim_desktop_picker=False)
        assert "ab\\.chatgpt\\.com" not in chain.tctx.options.allow_hosts[0]
        assert "chatgpt\\.com" in chain.tctx.options.allow_hosts[0]
        flow, answer = statsig_flow("https://ab.chatgpt.com/v1/initialize", initialize_v1())
        body = answer.content
        chain.answer(chain.request(flow), answer)
    assert flow.response is not None and flow.response.content == body


def test_without_byok_routes_nothing_is_rewritten(tmp_path: Path) -> None:
    with addon_chain(tmp_path, routes=[], codex_shim_zero_config=False) as chain:
        flow, answer = statsig_flow("https://ab.chatgpt.com/v1/initialize", initialize_v1())
        body = answer.content
        chain.answer(chain.request(flow), answer)
    assert flow.response is not None and flow.response.content == body
