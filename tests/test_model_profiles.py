"""Model profiles: Codex's efforts on each model's own ladder, Anthropic requests every current
Claude model accepts at every effort, and where a profile's facts come from."""

from __future__ import annotations

import gc
import json
import sys
import weakref
from pathlib import Path
from typing import Any

import pytest
from anthropic.types import ModelInfo

from shim import prices
from shim.addons.model_profiles import ModelProfiles
from shim.config import CODEX_EFFORTS, ModelRoute, Prices, RouteTable
from shim.model_profile import BUILT_IN, CACHED, FETCHED, ModelProfile, nearest_effort
from shim.prices import release_data
from shim.profile_sources import built_in_entries, built_in_profile, profile_from_entry
from shim.profiles import Profiles, profile_key
from shim.providers import PROVIDERS
from shim.state import Shim
from tests.fakes.anthropic_upstream import Validator, model_list, models_by_id

FIXTURES = Path(__file__).parent / "fixtures"
RECORDED = json.loads((FIXTURES / "anthropic" / "models-recorded-2026-04.json").read_text())
OPENROUTER = json.loads((FIXTURES / "openrouter" / "models.json").read_text())
LADDERS = {
    "opus-4.7": ("low", "medium", "high", "xhigh", "max"),
    "opus-4.6": ("low", "medium", "high", "max"),
    "opus-4.5": ("low", "medium", "high"),
    "openai": ("none", "minimal", "low", "medium", "high", "xhigh", "max"),
    "deepseek": ("low", "high", "max"),
    "kimi": ("low", "high", "max"),
}
# Codex level -> the level sent, per ladder (ties go to the lower level: never more than asked).
EXPECTED = {
    "opus-4.7": {"none": "low", "minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "max", "ultra": "max"},
    "opus-4.6": {"none": "low", "minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "max", "ultra": "max"},
    "opus-4.5": {"none": "low", "minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "high", "max": "high", "ultra": "high"},
    "openai": {"none": "none", "minimal": "minimal", "low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "max",
        "ultra": "max"},
    "deepseek": {"none": "low", "minimal": "low", "low": "low", "medium": "low", "high": "high", "xhigh": "high", "max": "max", "ultra": "max"},
    "kimi": {"none": "low", "minimal": "low", "low": "low", "medium": "low", "high": "high", "xhigh": "high", "max": "max", "ultra": "max"},
}


@pytest.mark.parametrize("ladder", list(LADDERS))
@pytest.mark.parametrize("asked", CODEX_EFFORTS)
def test_every_codex_effort_lands_on_the_nearest_level_of_every_ladder(ladder: str, asked: str) -> None:
    assert nearest_effort(asked, LADDERS[ladder]) == EXPECTED[ladder][asked]


def test_a_model_without_a_ladder_takes_no_effort() -> None:
    assert all(nearest_effort(asked, ()) is None for asked in CODEX_EFFORTS)


# -- what the Models API says ---------------------------------------------------------------------


def test_the_shipped_snapshot_and_the_fake_list_have_the_sdk_models_current_shape() -> None:
    for entry in [*built_in_entries(), *model_list()["data"]]:
        ModelInfo.model_validate(entry)  # every key the SDK requires today, with its type


def test_a_recorded_models_api_answer_reads_as_published() -> None:
    """A real answer of April 2026 (before `xhigh`, `server_tools`, `thinking.types.disabled`)."""
    profiles = {e["id"]: profile_from_entry(e, FETCHED) for e in RECORDED["data"]}
    assert profiles["claude-opus-4-7"].thinking == ("adaptive", "disabled")  # adaptive only: budget thinking is a 400
    assert profiles["claude-opus-4-6"].thinking == ("adaptive", "enabled", "disabled")
    assert profiles["claude-opus-4-5-20251101"].efforts == ("low", "medium", "high")  # stops at high
    assert profiles["claude-haiku-4-5-20251001"].efforts == ()  # takes no effort parameter
    assert profiles["claude-opus-4-6"].max_output_tokens == 128_000 and profiles["claude-opus-4-6"].context_window == 1_000_000
    assert profiles["claude-haiku-4-5-20251001"].max_output_tokens == 64_000


def test_an_unknown_claude_model_gets_what_all_of_its_line_takes_until_the_api_answers() -> None:
    profile = built_in_profile("claude-opus-9")
    assert profile is not None and profile.source == f"{BUILT_IN} (opus line: what all its models take)"
    assert profile.thinking is None  # no form every Opus takes: the budget form, corrected if refused
    assert profile.efforts == ("low", "medium", "high") and profile.max_output_tokens == 64_000
    assert built_in_profile("kimi-k2") is None  # no line, no guess


@pytest.mark.parametrize("cloud_id", ["us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5@20250929"])
def test_a_clouds_spelling_of_a_claude_id_finds_its_own_entry(cloud_id: str) -> None:
    profile = built_in_profile(cloud_id)
    assert profile is not None and profile.source == BUILT_IN and profile.thinking == ("enabled", "disabled")
    assert profile.context_window == 200_000  # Sonnet 4.5: 200K (its 1M window is a beta)


# -- Anthropic requests for every current model at every effort --------------------------------------


def anthropic_request(model: str, effort: str, summary: str | None = "auto", **body: Any) -> dict[str, Any]:
    route = ModelRoute(model="slug", provider="anthropic", upstream_model=model, api_key="k")
    profile = profile_from_entry(models_by_id()[model], FETCHED)
    reasoning = {"effort": effort, **({"summary": summary} if summary else {})}
    return PROVIDERS["anthropic"].build({"model": "slug", "input": "hi", "reasoning": reasoning, **body}, route, "k", profile).body


CURRENT = [entry["id"] for entry in model_list()["data"]]


@pytest.mark.parametrize("model", CURRENT)
@pytest.mark.parametrize("effort", CODEX_EFFORTS)
def test_every_current_claude_model_accepts_every_codex_effort(model: str, effort: str) -> None:
    request = anthropic_request(model, effort)
    problem = Validator({}, set(), models_by_id()).problem(request)
    assert problem is None, problem
    profile = profile_from_entry(models_by_id()[model], FETCHED)
    thinking = request.get("thinking", {}).get("type")
    if effort in ("none", "minimal"):
        assert thinking in ("disabled", "between_tools") or "disabled" not in (profile.thinking or ())
    else:  # Codex asked for reasoning: never silently none
        assert thinking in ("adaptive", "enabled")
        assert thinking == "adaptive" if "adaptive" in (profile.thinking or ()) else thinking == "enabled"
    if profile.efforts:
        assert request.get("output_config", {}).get("effort") in profile.efforts or effort == "none"
    else:
        assert "output_config" not in request


def test_adaptive_thinking_asks_for_a_summary_only_when_codex_does() -> None:
    assert anthropic_request("claude-opus-4-7", "high")["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert anthropic_request("claude-opus-4-7", "high", summary=None)["thinking"] == {"type": "adaptive"}
    assert anthropic_request("claude-opus-4-7", "high", summary="none")["thinking"] == {"type": "adaptive"}


@pytest.mark.parametrize(("model", "effort", "sent"), [
    ("claude-opus-4-7", "xhigh", "xhigh"), ("claude-opus-4-7", "ultra", "max"),
    ("claude-opus-4-6", "xhigh", "high"), ("claude-sonnet-4-6", "max", "max"),
    ("claude-opus-4-5-20251101", "max", "high"),
])
def test_codex_effort_goes_on_the_models_own_ladder(model: str, effort: str, sent: str) -> None:
    assert anthropic_request(model, effort)["output_config"] == {"effort": sent}


def test_budget_only_models_get_the_budget_form_below_their_limit() -> None:
    request = anthropic_request("claude-haiku-4-5-20251001", "max")
    assert request["thinking"] == {"type": "enabled", "budget_tokens": 64_000 - 1024} and request["max_tokens"] == 64_000
    opus45 = anthropic_request("claude-opus-4-5-20251101", "medium")
    assert opus45["thinking"] == {"type": "enabled", "budget_tokens": 10_000} and opus45["output_config"] == {"effort": "medium"}


def test_models_that_always_think_get_their_lowest_level_for_none() -> None:
    fable = anthropic_request("claude-fable-5-1", "none")
    assert fable["thinking"]["type"] == "adaptive" and fable["output_config"] == {"effort": "low"}
    sonnet55 = anthropic_request("claude-sonnet-5-5", "minimal")  # its "off" is between_tools, at low … high
    assert sonnet55["thinking"] == {"type": "between_tools"} and sonnet55["output_config"] == {"effort": "low"}


def test_no_effort_from_codex_sends_no_thinking_settings() -> None:
    route = ModelRoute(model="slug", provider="anthropic", upstream_model="claude-opus-4-7", api_key="k")
    request = PROVIDERS["anthropic"].build({"model": "slug", "input": "hi"}, route, "k").body
    assert "thinking" not in request and "output_config" not in request


def test_the_fake_refuses_what_the_real_api_refuses() -> None:
    """The fake's rules, each with the real API's wording (sources: tests/fixtures/anthropic/README.md)."""
    base = {"model": "claude-opus-4-7", "max_tokens": 1000, "messages": [{"role": "user", "content": "hi"}]}
    check = Validator({}, set(), models_by_id()).problem
    assert check({**base, "thinking": {"type": "enabled", "budget_tokens": 2000}}).startswith('"thinking.type.enabled" is not supported')
    assert check({**base, "model": "claude-haiku-4-5", "thinking": {"type": "adaptive"}}) == "adaptive thinking is not supported on this model"
    assert check({**base, "model": "claude-haiku-4-5", "output_config": {"effort": "low"}}) == "This model does not support the effort parameter."
    assert check({**base, "model": "claude-opus-4-6", "output_config": {"effort": "xhigh"}}) == (
        "This model does not support effort level 'xhigh'. Supported levels: high, low, max, medium.")
    assert check({**base, "max_tokens": 128_001}).startswith("max_tokens: 128001 > 128000, which is the maximum")
    assert check({**base, "model": "claude-fable-5-1", "thinking": {"type": "disabled"}}).startswith('"thinking.type.disabled" is not supported')
    assert check(base) is None


# -- chat routes ----------------------------------------------------------------------------------------


def chat_request(route: ModelRoute, profile: ModelProfile | None, effort: str) -> dict[str, Any]:
    return PROVIDERS[route.provider].build({"model": route.model, "input": "hi", "reasoning": {"effort": effort}}, route, "k", profile).body


def openrouter_profile(model_id: str) -> ModelProfile:
    entry = next(e for e in OPENROUTER["data"] if e["id"] == model_id)
    return profile_from_entry(entry, FETCHED)


def test_openrouter_models_get_the_reasoning_object_on_their_own_ladder() -> None:
    route = ModelRoute(model="or", provider="generic-chat-completion-api", base_url="https://openrouter.ai/api/v1", upstream_model="x")
    opus = openrouter_profile("anthropic/claude-opus-5")
    assert opus.efforts == ("low", "medium", "high", "xhigh", "max") and opus.context_window == 1_000_000
    assert opus.max_output_tokens == 128_000 and opus.image_input is True
    assert opus.prices == Prices(input=5, output=25, cached_input=0.5, cache_write=6.25, web_search=10)  # $0.01 a search
    request = chat_request(route, opus, "ultra")
    assert request["reasoning"] == {"effort": "max"} and "reasoning_effort" not in request
    luna = openrouter_profile("openai/gpt-5.6-luna")
    assert chat_request(route, luna, "minimal")["reasoning"] == {"effort": "none"}  # its ladder: none, low, …


def test_chat_routes_send_only_the_efforts_the_route_takes() -> None:
    plain = ModelRoute(model="ds", provider="generic-chat-completion-api", base_url="https://api.example/v1")
    assert "reasoning_effort" not in chat_request(plain, None, "high")  # nothing says it takes one
    listed = plain.model_copy(update={"reasoning_efforts": ("low", "high", "max")})
    assert chat_request(listed, None, "xhigh")["reasoning_effort"] == "high"
    assert chat_request(listed, None, "ultra")["reasoning_effort"] == "max"
    openai = ModelRoute(model="o", provider="openai")
    assert chat_request(openai, None, "ultra")["reasoning_effort"] == "max"  # OpenAI's API takes none … max


# -- precedence and the cache -----------------------------------------------------------------------------


def claude_route(**fields: Any) -> ModelRoute:
    return ModelRoute.model_validate({"model": "c", "provider": "anthropic", "upstream_model": "claude-opus-4-6", "api_key": "k", **fields})


def test_corrections_win_then_models_json_then_fetched_then_cached_then_built_in(tmp_path: Path) -> None:
    profiles = Profiles()
    route = claude_route()
    assert profiles.of(route).source == BUILT_IN
    entry = dict(models_by_id()["claude-opus-4-6"], max_tokens=100_000)
    cache = tmp_path / "profiles-cache.json"
    Profiles(entries={profile_key(route): (entry, FETCHED)}).write_cache(cache)
    profiles.read_cache(cache)
    assert (profiles.of(route).source, profiles.of(route).max_output_tokens) == (CACHED, 100_000)
    profiles.take({profile_key(route): dict(entry, max_tokens=110_000)})
    assert (profiles.of(route).source, profiles.of(route).max_output_tokens) == (FETCHED, 110_000)
    assert profiles.of(claude_route(max_output_tokens=5_000)).max_output_tokens == 5_000  # models.json
    profiles.learn(route, {"max_output_tokens": 90_000}, "max_tokens 90000 (the provider's limit)")
    assert profiles.of(route).max_output_tokens == 90_000 and "corrected" in profiles.source(route)
    assert profiles.of(claude_route(max_output_tokens=100_000)).max_output_tokens == 90_000  # the refusal, over models.json
    profiles.reloaded()
    assert profiles.of(route).max_output_tokens == 110_000


def test_prices_come_from_models_json_else_the_providers_data_else_genai_prices() -> None:
    profiles = Profiles()
    default = profiles.of(claude_route())
    assert default.prices == Prices(input=5, output=25, cached_input=0.5, cache_write=6.25, web_search=10)
    assert default.price_source is not None and default.price_source.startswith("genai-prices")
    own = profiles.of(claude_route(prices={"input": 1, "output": 2}))
    assert (own.prices, own.price_source) == (Prices(input=1, output=2), "models.json")
    unknown = profiles.of(ModelRoute(model="q", provider="ollama", upstream_model="qwen3-coder:30b"))
    assert unknown.prices is None


def test_once_the_routes_are_priced_the_price_data_is_let_go(tmp_path: Path) -> None:
    """~3 MiB a proxy would otherwise keep for its whole life, to answer two or three numbers."""
    from genai_prices.data_snapshot import get_snapshot

    prices._lookup.cache_clear()  # earlier tests in this process may have priced this model already
    loaded = weakref.ref(get_snapshot())
    route = claude_route(upstream_model="claude-sonnet-4-5")  # not priced by an earlier test
    shim = Shim(routes=RouteTable({"c": route}))
    ModelProfiles(shim).routes_changed(tmp_path)  # what a start or a reload of models.json does
    gc.collect()
    assert loaded() is None and "genai_prices.data" not in sys.modules
    assert shim.profiles.of(route).prices is not None  # looked up before the data went
    assert "genai_prices.data" not in sys.modules  # and not loaded again to answer


def test_supports_reasoning_effort_true_wins_over_a_list_that_names_no_reasoning() -> None:
    route = ModelRoute(model="or", provider="generic-chat-completion-api", base_url="https://openrouter.ai/api/v1",
                       upstream_model="x/y", supports_reasoning_effort=True)
    profiles = Profiles()
    profiles.take({profile_key(route): {"id": "x/y", "context_length": 100_000, "supported_parameters": ["tools"]}})
    assert profiles.of(route).efforts == ("none", "minimal", "low", "medium", "high", "xhigh", "max")


def test_only_openrouters_own_list_brings_its_search_tool() -> None:
    gateway = profile_from_entry({"id": "m", "object": "model", "context_length": 131_072}, FETCHED)
    assert gateway.server_tools == () and gateway.context_window == 131_072
    openrouter = profile_from_entry(next(e for e in OPENROUTER["data"] if e["id"] == "anthropic/claude-opus-5"), FETCHED)
    assert openrouter.server_tools == ("openrouter:web_search",)


def test_thinking_published_without_its_types_is_unknown_not_off() -> None:
    assert profile_from_entry({"id": "x", "capabilities": {"thinking": {"supported": True}}}, FETCHED).thinking is None


def test_a_self_hosted_model_is_not_priced_by_a_clouds_name() -> None:
    prices._lookup.cache_clear()
    release_data()
    local = ModelRoute(model="l", provider="generic-chat-completion-api", base_url="http://127.0.0.1:8000/v1", upstream_model="deepseek-chat")
    assert Profiles().of(local).prices is None
    assert "genai_prices.data" not in sys.modules  # nothing to find for this machine's endpoint: not even loaded
    cloud = ModelRoute(model="c", provider="generic-chat-completion-api", base_url="https://api.deepseek.com/v1", upstream_model="deepseek-chat")
    assert Profiles().of(cloud).prices is not None


def test_a_responses_route_counts_the_usage_its_upstream_reports() -> None:
    route = ModelRoute(model="r", provider="responses", base_url="https://api.example/v1", upstream_model="m")
    translator = PROVIDERS["responses"].build({"model": "r", "input": "hi"}, route, "k").new_translator()
    done = {"type": "response.completed", "response": {"id": "x", "model": "m", "status": "completed", "output": [],
                                                       "usage": {"input_tokens": 1000, "output_tokens": 500}}}
    translator.feed(f"event: response.completed\ndata: {json.dumps(done)}\n\n".encode())
    usage = translator.stream.usage
    assert (usage.input_tokens, usage.output_tokens) == (1000, 500)
