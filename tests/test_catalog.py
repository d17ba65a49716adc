"""The catalog injector: BYOK entries Codex 0.169 can decode, honest ETags, an offline answer."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.addons.mapremote import MapRemote
from mitmproxy.test import taddons, tflow

from shim.addons.catalog import Catalog, effective_address
from shim.catalog import (
    FALLBACK_TEMPLATE,
    body_etag,
    build_entry,
    context_window,
    is_catalog_path,
    merge_catalog,
    merged_etag,
    reference_entry,
)
from shim.config import ModelRoute
from shim.model_profile import ModelProfile
from shim.profiles import Profiles, profile_key
from tests.harness import free_port

FIXTURE = Path(__file__).parent / "fixtures" / "codex" / "codex-0.169-model-entry.json"
# Optional in 0.169 (absent from entries of its own bundled catalog or decoded with a default).
OPTIONAL_KEYS = {"model_messages", "comp_hash"}
EFFORTS = {"none", "minimal", "low", "medium", "high", "xhigh", "max", "ultra"}


def fixture_entry() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())["models"][0]


def route(**fields: Any) -> ModelRoute:
    base: dict[str, Any] = {"model": "byok", "provider": "generic-chat-completion-api", "base_url": "http://127.0.0.1:9/v1"}
    return ModelRoute.model_validate(base | fields)


ROUTES = {
    "claude-byok": route(model="claude-byok", provider="anthropic", api_key="k", display_name="Claude (BYOK)"),
    "ds": route(model="ds", upstream_model="deepseek-chat", no_image_support=True),
    "big": route(model="big", provider="openai", upstream_model="gpt-4.1", max_context_limit=64000),
}


def upstream_models() -> list[dict[str, Any]]:
    default = fixture_entry() | {"slug": "gpt-default", "priority": 1, "base_instructions": "CODEX PROMPT"}
    other = fixture_entry() | {"slug": "gpt-other", "priority": 5, "base_instructions": "OTHER PROMPT"}
    hidden = fixture_entry() | {"slug": "gpt-hidden", "priority": 0, "visibility": "hide", "base_instructions": "HIDDEN"}
    return [other, hidden, default]


class Source:
    def __init__(self, routes: dict[str, ModelRoute], config_path: Path = Path("/nonexistent/models.json")) -> None:
        self.routes = routes
        self.profiles = Profiles()
        self.hosts = frozenset({"chatgpt.com", "api.openai.com"})
        self.config_path = config_path  # RoutesFile's, in real use


def assert_decodes_like_the_fixture(entry: dict[str, Any]) -> None:
    """The checks Codex's serde decoding makes: same keys as a real entry, same types, known enums."""
    real = fixture_entry()
    assert set(entry) <= set(real), set(entry) - set(real)
    assert set(real) - set(entry) <= OPTIONAL_KEYS
    for key, value in entry.items():
        if real[key] is not None and value is not None and key not in OPTIONAL_KEYS:
            assert type(value) is type(real[key]), key
    assert entry["visibility"] in {"list", "hide", "none"}
    assert entry["shell_type"] in {"default", "local", "unified_exec", "disabled", "shell_command"}
    assert entry["apply_patch_tool_type"] in {"freeform", "function"}
    assert entry["truncation_policy"]["mode"] in {"bytes", "tokens"}
    assert set(entry["input_modalities"]) <= {"text", "image"} and "text" in entry["input_modalities"]
    assert entry["default_reasoning_level"] in {lvl["effort"] for lvl in entry["supported_reasoning_levels"]}
    assert all(lvl["effort"] in EFFORTS and isinstance(lvl["description"], str) for lvl in entry["supported_reasoning_levels"])
    assert entry["base_instructions"]


@pytest.mark.parametrize("template", [fixture_entry(), FALLBACK_TEMPLATE], ids=["upstream-entry", "built-in"])
@pytest.mark.parametrize("slug", list(ROUTES))
def test_every_byok_entry_has_the_shape_of_a_real_entry(template: dict[str, Any], slug: str) -> None:
    entry = build_entry(ROUTES[slug], template, 50)
    assert_decodes_like_the_fixture(entry)
    assert entry["slug"] == slug and entry["visibility"] == "list" and entry["priority"] == 50
    assert entry["context_window"] == entry["max_context_window"] == context_window(Profiles().of(ROUTES[slug]))


def test_entry_names_the_provider_and_upstream_model() -> None:
    entry = build_entry(ROUTES["ds"], fixture_entry(), 1)
    assert entry["display_name"] == "ds"  # no display_name: the slug
    assert "deepseek-chat" in entry["description"] and "generic-chat-completion-api" in entry["description"]
    assert build_entry(ROUTES["claude-byok"], fixture_entry(), 1)["display_name"] == "Claude (BYOK)"


def test_openai_only_features_are_not_copied_to_byok_entries() -> None:
    template = fixture_entry() | {"tool_mode": "code_mode_only", "multi_agent_version": "v2",
                                  "experimental_supported_tools": ["clock"]}
    entry = build_entry(ROUTES["ds"], template, 1)
    assert "tool_mode" not in entry and "multi_agent_version" not in entry
    assert entry["upgrade"] is None and entry["service_tiers"] == [] and entry["additional_speed_tiers"] == []
    assert entry["experimental_supported_tools"] == []


def test_context_window_comes_from_the_models_profile_never_from_its_name() -> None:
    profiles = Profiles()
    assert context_window(profiles.of(ROUTES["big"])) == 64000  # models.json's max_context_limit wins
    claude = route(provider="anthropic", api_key="k", upstream_model="claude-opus-4-7")
    assert context_window(profiles.of(claude)) == 1_000_000  # the Models API snapshot shipped in shim/data
    qwen = route(upstream_model="Qwen3-Coder-480B")
    assert context_window(profiles.of(qwen)) == 128_000  # nothing published: the default, whatever the name
    profiles.take({profile_key(qwen): {"id": "Qwen3-Coder-480B", "object": "model", "max_model_len": 262_144}})  # vLLM's list
    assert context_window(profiles.of(qwen)) == 262_144


def test_text_only_models_do_not_offer_images() -> None:
    assert build_entry(ROUTES["ds"], fixture_entry(), 1)["input_modalities"] == ["text"]
    assert build_entry(ROUTES["claude-byok"], fixture_entry(), 1)["input_modalities"] == ["text", "image"]


def levels_of(entry: dict[str, Any]) -> list[str]:
    return [level["effort"] for level in entry["supported_reasoning_levels"]]


def test_reasoning_levels_follow_what_the_provider_acts_on() -> None:
    levels = {s: levels_of(build_entry(r, fixture_entry(), 1)) for s, r in ROUTES.items()}
    assert levels["big"] == ["none", "minimal", "low", "medium", "high", "xhigh", "max"]  # OpenAI's reasoning_effort values
    assert levels["claude-byok"] == ["low", "medium", "high"]  # unknown to the Models API: codex-shim's thinking budgets
    assert levels["ds"] == ["medium"]  # a chat provider that ignores effort gets one level


@pytest.mark.parametrize(("model", "expected", "default"), [
    ("claude-opus-4-7", ["low", "medium", "high", "xhigh", "max"], "medium"),
    ("claude-opus-4-6", ["low", "medium", "high", "max"], "medium"),  # no xhigh, as published
    ("claude-opus-4-5-20251101", ["low", "medium", "high"], "medium"),  # its ladder stops at high
    ("claude-haiku-4-5", ["low", "medium", "high"], "medium"),  # no effort parameter: the budgets
])
def test_the_picker_offers_each_claude_models_own_ladder(model: str, expected: list[str], default: str) -> None:
    entry = build_entry(route(provider="anthropic", api_key="k", upstream_model=model), fixture_entry(), 1)
    assert levels_of(entry) == expected and entry["default_reasoning_level"] == default
    assert_decodes_like_the_fixture(entry)


def test_a_ladder_without_medium_defaults_to_its_middle_level() -> None:
    profile = ModelProfile(efforts=("low", "high", "max"))
    entry = build_entry(route(), fixture_entry(), 1, profile)
    assert levels_of(entry) == ["low", "high", "max"] and entry["default_reasoning_level"] == "high"


def test_byok_entries_copy_the_default_models_prompt_and_come_after_it() -> None:
    merged = merge_catalog(upstream_models(), ROUTES)["models"]
    assert [m["slug"] for m in merged] == ["gpt-other", "gpt-hidden", "gpt-default", "claude-byok", "ds", "big"]
    byok = merged[3:]
    assert all(m["base_instructions"] == "CODEX PROMPT" for m in byok)  # listed, lowest priority
    assert [m["priority"] for m in byok] == [6, 7, 8]  # never ahead of the upstream default


def test_a_byok_slug_replaces_the_upstream_entry_of_the_same_name() -> None:
    merged = merge_catalog(upstream_models(), {"gpt-other": route(model="gpt-other")})["models"]
    assert [m["slug"] for m in merged].count("gpt-other") == 1
    assert "BYOK" in merged[-1]["description"]


def test_reference_entry_skips_entries_without_a_prompt() -> None:
    models = [{"slug": "a", "priority": 0, "visibility": "list", "base_instructions": ""}, *upstream_models()]
    assert reference_entry(models)["slug"] == "gpt-default"
    assert reference_entry([]) is None


def test_catalog_path_matches_any_query_string() -> None:
    assert is_catalog_path("/backend-api/codex/models?client_version=0.169.0")
    assert is_catalog_path("/backend-api/codex/models")
    assert not is_catalog_path("/backend-api/codex/responses")


# -- ETags ------------------------------------------------------------------------------------


def test_merged_etag_changes_with_the_upstream_catalog_and_with_the_routes() -> None:
    assert merged_etag('"v1"', ROUTES) == merged_etag('"v1"', dict(ROUTES))
    assert merged_etag('"v1"', ROUTES) != merged_etag('"v2"', ROUTES)
    assert merged_etag('"v1"', ROUTES) != merged_etag('"v1"', {"ds": ROUTES["ds"]})
    renamed = {**ROUTES, "ds": route(model="ds", upstream_model="deepseek-chat", display_name="DeepSeek")}
    assert merged_etag('"v1"', ROUTES) != merged_etag('"v1"', renamed)


def catalog_flow(status: int | None = None, models: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> http.HTTPFlow:
    flow = tflow.tflow()
    flow.request = http.Request.make(
        "GET", "https://chatgpt.com/backend-api/codex/models?client_version=0.169.0",
        headers={"if-none-match": '"stale"', "version": "0.169.0"},
    )
    if status is not None:
        body = json.dumps({"models": models}).encode() if models is not None else b""
        flow.response = http.Response.make(status, body, {"content-type": "application/json", **(headers or {})})
    return flow


def run_hooks(addon: Catalog, flow: http.HTTPFlow, status: int, models: list[dict[str, Any]] | None,
              headers: dict[str, str] | None = None) -> http.Response:
    addon.requestheaders(flow)
    answer = catalog_flow(status, models, headers).response
    assert answer is not None
    flow.response = answer
    addon.responseheaders(flow)
    addon.response(flow)
    return flow.response


def test_a_stale_if_none_match_never_reaches_upstream() -> None:
    addon, flow = Catalog(Source(ROUTES)), catalog_flow()
    addon.requestheaders(flow)
    assert "if-none-match" not in flow.request.headers


def test_the_merged_answer_carries_an_etag_derived_from_upstream_and_routes() -> None:
    addon = Catalog(Source(ROUTES))
    resp = run_hooks(addon, catalog_flow(), 200, upstream_models(), {"etag": '"v1"'})
    assert resp.headers["etag"] == merged_etag('"v1"', ROUTES)
    assert [m["slug"] for m in resp.json()["models"]][-3:] == list(ROUTES)


def test_x_models_etag_on_a_responses_answer_matches_the_catalog_etag() -> None:
    addon = Catalog(Source(ROUTES))
    flow = tflow.tflow(resp=True)
    flow.response.headers["x-models-etag"] = '"v1"'
    addon.responseheaders(flow)
    catalog = run_hooks(addon, catalog_flow(), 200, upstream_models(), {"etag": '"v1"'})
    assert flow.response.headers["x-models-etag"] == catalog.headers["etag"]  # unchanged: no refresh


def test_an_upstream_without_etag_gets_one_from_the_merged_body() -> None:
    resp = run_hooks(Catalog(Source(ROUTES)), catalog_flow(), 200, upstream_models())
    assert resp.headers["etag"] == body_etag(resp.content or b"")


@pytest.mark.parametrize("status", [304, 500, 502, 503])
def test_a_304_or_5xx_still_lists_the_byok_models_and_the_last_upstream_ones(status: int) -> None:
    addon = Catalog(Source(ROUTES))
    run_hooks(addon, catalog_flow(), 200, upstream_models())
    resp = run_hooks(addon, catalog_flow(), status, None)
    assert resp.status_code == 200
    slugs = [m["slug"] for m in resp.json()["models"]]
    assert slugs == ["gpt-other", "gpt-hidden", "gpt-default", "claude-byok", "ds", "big"]


def test_without_routes_the_catalog_passes_untouched() -> None:
    addon, flow = Catalog(Source({})), catalog_flow()
    resp = run_hooks(addon, flow, 200, upstream_models(), {"etag": '"v1"'})
    assert resp.headers["etag"] == '"v1"' and len(resp.json()["models"]) == 3
    assert "if-none-match" in flow.request.headers


def test_other_paths_and_hosts_are_not_touched() -> None:
    addon = Catalog(Source(ROUTES))
    flow = catalog_flow()
    flow.request.url = "https://example.com/backend-api/codex/models"
    resp = run_hooks(addon, flow, 200, upstream_models())
    assert len(resp.json()["models"]) == 3


def test_an_unreachable_catalog_host_is_answered_locally() -> None:
    addon, flow = Catalog(Source(ROUTES)), catalog_flow()
    addon.requestheaders(flow)  # Codex asks chatgpt.com; map_remote then points elsewhere
    flow.request.url = f"http://127.0.0.1:{free_port()}/backend-api/codex/models"
    asyncio.run(addon.request(flow))
    assert flow.response is not None and flow.response.status_code == 200
    slugs = [m["slug"] for m in flow.response.json()["models"]]
    assert slugs == list(ROUTES)  # nothing seen upstream yet: the BYOK models on the built-in template
    assert all(m["base_instructions"] for m in flow.response.json()["models"])


def test_the_probe_dials_where_map_remote_will_send_the_flow() -> None:
    async def run() -> tuple[str, int]:
        mapremote = MapRemote()
        with taddons.context(mapremote) as tctx:
            tctx.configure(mapremote, map_remote=[r"|^https://chatgpt\.com/|http://127.0.0.1:4321/"])
            return effective_address(catalog_flow())

    assert asyncio.run(run()) == ("127.0.0.1", 4321)


def test_the_last_upstream_catalog_survives_a_restart(tmp_path: Path) -> None:
    async def start() -> Catalog:
        addon = Catalog(Source(ROUTES, tmp_path / "models.json"))
        with taddons.context(addon) as tctx:
            tctx.configure(addon, codex_shim_catalog_cache="")
        return addon

    first = asyncio.run(start())
    run_hooks(first, catalog_flow(), 200, upstream_models())
    assert (tmp_path / "catalog-cache.json").exists()
    second = asyncio.run(start())
    assert second.last_upstream is not None and len(second.last_upstream) == 3


def test_byok_entries_come_before_hidden_entries_so_desktops_first_page_holds_them() -> None:
    # Desktop reads one model/list page of 100, hidden entries included, sorted by priority.
    listed = [fixture_entry() | {"slug": f"gpt-{i}", "priority": i, "base_instructions": "P"} for i in range(1, 51)]
    hidden = [fixture_entry() | {"slug": f"old-{i}", "priority": 100 + i, "visibility": "hide"} for i in range(60)]
    merged = merge_catalog([*hidden, *listed], ROUTES)["models"]
    first_page = sorted(merged, key=lambda m: m["priority"])[:100]
    assert set(ROUTES) <= {m["slug"] for m in first_page}
    byok = [m for m in merged if m["slug"] in ROUTES]
    assert [m["priority"] for m in byok] == [51, 52, 53]  # after every listed entry, before the hidden ones
