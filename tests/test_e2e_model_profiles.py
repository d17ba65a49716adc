"""The real Codex CLI (0.171.0, and 0.169.0 in scripts/test) on current Claude models at the
efforts it offers, against a fake Anthropic API that serves a Models API list and refuses what
the real API refuses for each model (tests/fakes/anthropic_upstream.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.anthropic_upstream import API_KEY, ScriptedAnthropicModel, anthropic_upstream, models_by_id
from tests.harness import Mitmdump, run_codex

pytestmark = pytest.mark.e2e

SLUG = "byok-claude"
# model -> (the thinking form it gets, the levels its catalog entry offers).
MODELS = {
    "claude-sonnet-5": ("adaptive", ["low", "medium", "high", "xhigh", "max"]),  # adaptive only
    "claude-opus-4-6": ("adaptive", ["low", "medium", "high", "max"]),  # both forms, no xhigh
    "claude-haiku-4-5": ("enabled", ["low", "medium", "high"]),  # budget only, no effort parameter
}
BUDGETS = {"low": 4000, "medium": 10000, "high": 24000}
ORDER = ["low", "medium", "high", "xhigh", "max"]


def codex_sends(effort: str, offered: list[str]) -> str:
    """What Codex 0.169/0.171 sends for a configured effort the model's catalog entry does not offer
    (observed): the highest offered level below it; `ultra` (beyond every Claude ladder) as the
    entry's default, medium."""
    if effort in offered:
        return effort
    if effort == "ultra":
        return "medium"
    return [level for level in offered if ORDER.index(level) < ORDER.index(effort)][-1]


def codex_home(tmp_path: Path, effort: str) -> Path:
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    # a summary, as the BYOK catalog entry of a reasoning model asks for it (no catalog here: API-key mode, offline)
    (home / "config.toml").write_text(f'model_reasoning_effort = "{effort}"\nmodel_reasoning_summary = "auto"\n')
    return home


def run(tmp_path: Path, model: ScriptedAnthropicModel, upstream_model: str, effort: str, **mitmdump: Any) -> tuple[Any, Mitmdump]:
    route = {"model": SLUG, "provider": "anthropic", "api_key": API_KEY, "upstream_model": upstream_model}
    with anthropic_upstream(model) as upstream:
        route["base_url"] = f"{upstream.base_url}/v1"
        with Mitmdump(tmp_path, [route], **mitmdump) as proxy:
            if mitmdump.get("model_data"):
                proxy.wait_for_output("model profiles")  # the fake's Models API answer is in
            result = run_codex(proxy, codex_home(tmp_path, effort), SLUG, "Run the marker command, twice.", timeout=90)
    return result, proxy


@pytest.mark.parametrize("effort", ["medium", "xhigh", "max", "ultra"])
@pytest.mark.parametrize("upstream_model", list(MODELS))
def test_codex_finishes_its_tool_loop_on_each_kind_of_claude_model_at_each_effort(tmp_path: Path, upstream_model: str, effort: str) -> None:
    model = ScriptedAnthropicModel(strict_models=True)
    result, proxy = run(tmp_path, model, upstream_model, effort, model_data=True)
    assert result.returncode == 0, result.stderr[-3000:] + "\n--- fake errors: " + repr(model.errors)
    assert model.errors == []  # nothing the real API would refuse
    assert any(path.endswith("/models") for path in model.model_requests)  # the profile came from the provider
    assert "marker-1-42" in result.stdout  # both tool turns ran: thinking blocks came back signed
    form, offered = MODELS[upstream_model]
    sent = codex_sends(effort, offered)
    assert len(model.requests) == 3
    entry = models_by_id()[upstream_model]
    for request in model.requests:
        assert request["thinking"]["type"] == form  # Codex asked for reasoning: never silently none
        if form == "adaptive":
            assert request["output_config"] == {"effort": sent}  # on the model's own ladder
        else:
            assert "output_config" not in request and request["thinking"]["budget_tokens"] == BUDGETS[sent]
        # the model's own limit for the efforts that think longest, 32,000 below them (a key's output rate limit)
        assert request["max_tokens"] == (entry["max_tokens"] if sent in ("xhigh", "max") else 32_000)
    if form == "adaptive":  # Codex asks for a summary: the thinking text is shown, not omitted
        assert model.requests[0]["thinking"]["display"] == "summarized"
    assert "Round 1: run the tool… ✓" in result.stderr


def test_a_stale_profile_is_corrected_by_the_providers_refusals_and_the_turn_still_finishes(tmp_path: Path) -> None:
    """The cache (no fetch: model data off) still says claude-sonnet-5 thinks to a budget and writes 200K
    tokens; the API refuses budget thinking, then (the retry) the output limit. Each refusal is learned, the
    turn is sent again until it is accepted, and later turns start right."""
    stale = json.loads(json.dumps(models_by_id()["claude-sonnet-5"]))
    stale["capabilities"]["thinking"]["types"]["enabled"]["supported"] = True
    stale["capabilities"]["thinking"]["types"]["adaptive"]["supported"] = False
    stale["max_tokens"] = 200_000
    model = ScriptedAnthropicModel(strict_models=True)
    with anthropic_upstream(model) as upstream:
        base_url = f"{upstream.base_url}/v1"
        cache = {"version": 1, "entries": {f"{base_url} claude-sonnet-5": stale}}
        (tmp_path / "profiles-cache.json").write_text(json.dumps(cache))
        route = {"model": SLUG, "provider": "anthropic", "api_key": API_KEY, "upstream_model": "claude-sonnet-5", "base_url": base_url}
        with Mitmdump(tmp_path, [route]) as proxy:
            result = run_codex(proxy, codex_home(tmp_path, "max"), SLUG, "Run the marker command, twice.", timeout=90)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "marker-1-42" in result.stdout
    assert len(model.errors) == 2
    assert model.errors[0].startswith('"thinking.type.enabled" is not supported for this model')
    assert model.errors[1].startswith("max_tokens: 200000 > 128000, which is the maximum allowed number of output tokens")
    refused, refused_again, *served = model.requests
    assert refused["thinking"]["type"] == "enabled" and refused_again["thinking"]["type"] == "adaptive"
    assert [(r["thinking"]["type"], r["max_tokens"]) for r in served] == [("adaptive", 128_000)] * 3  # the last retry, then every later turn
    log = proxy.output()
    assert "refused thinking type enabled refused: adaptive thinking instead; sending the turn once more" in log
    assert API_KEY not in log


def test_codex_searches_the_web_through_claudes_own_search_and_the_next_request_keeps_what_it_found(tmp_path: Path) -> None:
    """Search on (Codex's default live search for exec): the model searches at Anthropic, Codex shows the
    search, and the tool turn that follows carries the search blocks back exactly as issued."""
    model = ScriptedAnthropicModel(strict_models=True)
    with anthropic_upstream(model) as upstream:
        route = {"model": SLUG, "provider": "anthropic", "api_key": API_KEY, "upstream_model": "claude-opus-4-7",
                 "base_url": f"{upstream.base_url}/v1"}
        with Mitmdump(tmp_path, [route], ["-w", str(tmp_path / "flows")], model_data=True) as proxy:
            proxy.wait_for_output("model profiles")
            home = codex_home(tmp_path, "none")
            result = run_codex(proxy, home, SLUG, "SEARCH the web, then run the marker command.", timeout=90)
    assert result.returncode == 0, result.stderr[-3000:] + "\n--- fake errors: " + repr(model.errors)
    assert model.errors == []  # the search blocks came back unchanged (the fake refuses anything else)
    first, second = model.requests
    assert {"type": "web_search_20250305", "name": "web_search"}.items() <= first["tools"][-1].items()
    replayed = [b for m in second["messages"] if m["role"] == "assistant" for b in m["content"]]
    assert [b["type"] for b in replayed[:2]] == ["server_tool_use", "web_search_tool_result"]
    assert replayed[1]["content"] == model.search_results["srvtoolu_1"]
    assert "codex-shim search 1" in result.stdout + result.stderr  # Codex shows the search it was told of
    assert "marker-0-42" in result.stdout


def test_codex_shows_an_openrouter_models_search(tmp_path: Path) -> None:
    """An OpenRouter route (its profile from the fake's OpenRouter-shaped model list): Codex's search is
    OpenRouter's server tool, and the pages it cites show as a search in Codex."""
    from tests.fakes.chat_upstream import API_KEY as CHAT_KEY
    from tests.fakes.chat_upstream import ScriptedChatModel, chat_upstream

    listing = json.loads((Path(__file__).parent / "fixtures" / "openrouter" / "models.json").read_text())
    model = ScriptedChatModel(models={"data": listing["data"]})
    with chat_upstream(model) as upstream:
        route = {"model": "byok-or", "provider": "generic-chat-completion-api", "base_url": f"{upstream.base_url}/v1",
                 "api_key": CHAT_KEY, "upstream_model": "anthropic/claude-opus-5"}
        with Mitmdump(tmp_path, [route], model_data=True) as proxy:
            proxy.wait_for_output("model profiles")
            result = run_codex(proxy, codex_home(tmp_path, "none"), "byok-or", "SEARCH, then run the marker command.", timeout=90)
            log = proxy.output()
    assert result.returncode == 0, result.stderr[-3000:]
    assert model.errors == []
    first = upstream.json_bodies()[0]
    assert first["tools"][-1]["type"] == "openrouter:web_search"
    assert "web search" in result.stdout + result.stderr and "marker-42" in result.stdout
    assert "OpenRouter's web search server tool" in log  # the profiles table says how the route searches


def test_with_a_chatgpt_login_the_catalog_entry_asks_for_the_effort_and_a_summary_so_claudes_thinking_shows(tmp_path: Path) -> None:
    """Codex Desktop's road: ChatGPT login, the catalog from chatgpt.com with the BYOK entry merged in.
    The entry lists Opus 4.7's own ladder (so xhigh arrives as xhigh) and asks for a summary by default
    (so adaptive thinking, whose text Opus 4.7 omits unless asked, is shown)."""
    from tests.chatgpt_login import bundled_catalog, chatgpt_backend, map_chatgpt_to, run_codex_chatgpt

    model = ScriptedAnthropicModel(strict_models=True)
    with anthropic_upstream(model) as upstream, chatgpt_backend(bundled_catalog(tmp_path / "bundled")) as backend:
        route = {"model": SLUG, "provider": "anthropic", "api_key": API_KEY, "upstream_model": "claude-opus-4-7",
                 "base_url": f"{upstream.base_url}/v1"}
        with Mitmdump(tmp_path, [route], map_chatgpt_to(backend.port), model_data=True) as proxy:
            proxy.wait_for_output("model profiles")
            home = tmp_path / "home"
            home.mkdir()
            (home / "config.toml").write_text('model_reasoning_effort = "xhigh"\n')  # no summary setting: the entry's default
            result = run_codex_chatgpt(proxy, home, SLUG, "Run the marker command, twice.")
    assert result.returncode == 0, result.stderr[-3000:]
    assert model.errors == [] and "marker-1-42" in result.stdout
    assert all(r["thinking"] == {"type": "adaptive", "display": "summarized"} and r["output_config"] == {"effort": "xhigh"}
               for r in model.requests)
    assert "Round 1: run the tool… ✓" in result.stderr  # the thinking text reached Codex
