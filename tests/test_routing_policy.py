"""Routing policy in-process: fallbacks and rules in models.json, the circuit breaker, the events
policy addons get, and spend per route."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.proxy import layers

from shim.addons.spend import Spend
from shim.breaker import CircuitBreaker
from shim.config import ConfigError, parse_config
from shim.exchange import METADATA_KEY
from shim.policy import Turn
from shim.turn_kinds import estimate_input_tokens, turn_kinds
from tests.addon_chain import CHAT_KEY, addon_chain, responses_call
from tests.fakes.chat_upstream import USAGE, chunk
from tests.fakes.chat_upstream import sse as chat_sse

FIXTURES = Path(__file__).parent / "fixtures" / "codex"
MAIN = {"model": "main", "provider": "anthropic", "base_url": "http://127.0.0.1:9/v1", "api_key": "sk-ant-key",
        "prices": {"input": 3, "cached_input": 0.3, "output": 15}}
CHEAP = {"model": "cheap", "provider": "generic-chat-completion-api", "base_url": "http://127.0.0.1:8/v1", "api_key": CHAT_KEY,
         "prices": {"input": 0.27, "output": 1.1}}
USER = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "fix the bug"}]}


def title_request(model: str) -> dict[str, Any]:
    meta = {"model": model, "request_kind": "turn", "thread_source": "thread_title", "sandbox_mode": "read-only"}
    return {"model": model, "input": [USER], "tools": [], "client_metadata": {"x-codex-turn-metadata": json.dumps(meta)}}


# -- models.json ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("models", "rules", "message"), [
    ([{**MAIN, "fallbacks": ["nope"]}], [], "models[0] (model 'main'): fallback 'nope' is not a configured model"),
    ([{**MAIN, "fallbacks": ["main"]}], [], "fallback 'main' is the entry itself"),
    ([MAIN], [{"when": "title", "use": "nope"}], "rules[0]: use 'nope' is not a configured model"),
    ([MAIN], [{"when": "input_tokens_above", "use": "main"}], "rules[0]: 'tokens' goes with (and only with) when: input_tokens_above"),
    ([MAIN], [{"when": "sometimes", "use": "main"}], "rules[0]: when must be 'compaction'"),
])
def test_a_fallback_or_rule_naming_nothing_configured_is_a_start_up_error(models: list[Any], rules: list[Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        parse_config(json.dumps({"models": models, "rules": rules}), "models.json")


def test_fallbacks_prices_and_rules_are_read() -> None:
    table = parse_config(json.dumps({"models": [{**MAIN, "fallbacks": ["cheap"]}, CHEAP],
                                     "rules": [{"when": "compaction", "use": "cheap", "from": ["main", "gpt-5.5"]}]}), "m")
    assert table["main"].fallbacks == ("cheap",)
    assert table["main"].prices is not None and table["main"].prices.cached_input == 0.3
    assert table.rules[0].only_for == ("main", "gpt-5.5")


def test_the_breaker_puts_a_route_that_just_failed_last_until_it_cools_down() -> None:
    breaker = CircuitBreaker(cooldown_s=30)
    breaker.failed("main", now=100)
    assert breaker.order(["main", "cheap"], now=110) == ["cheap", "main"]
    assert breaker.order(["main", "cheap"], now=131) == ["main", "cheap"]
    breaker.failed("main", now=200)
    breaker.succeeded("main")
    assert breaker.order(["main", "cheap"], now=201) == ["main", "cheap"]


# -- what a turn is --------------------------------------------------------------------------------


def test_a_real_codex_turn_is_not_background_and_its_size_is_estimated_as_codex_does() -> None:
    for name in ("codex-0.169-responses-request.json", "codex-0.171-responses-request.json"):
        body = json.loads((FIXTURES / name).read_text())
        assert turn_kinds(body, {}) == frozenset(), name
        assert 1000 < estimate_input_tokens(body) < 60_000


def test_compaction_title_and_background_turns_are_told_apart() -> None:
    assert turn_kinds({"input": [USER, {"type": "compaction_trigger"}]}, {}) == {"compaction", "background"}
    assert turn_kinds({"input": [USER]}, {}, legacy_compact=True) == {"compaction", "background"}
    assert turn_kinds(title_request("main"), {}) == {"title", "background"}
    assert turn_kinds({"input": [USER]}, {"x-openai-subagent": "review"}) == {"background"}
    assert turn_kinds({"input": [USER]}, {"x-codex-turn-metadata": json.dumps({"request_kind": "memory"})}) == {"background"}
    # as the Router asks: mitmproxy's headers, names in any case
    assert turn_kinds({"input": [USER]}, http.Headers([(b"X-Codex-Guardian", b"1"), (b"accept", b"*/*")])) == {"background"}
    assert turn_kinds({"input": [USER]}, http.Headers([(b"x-codex-turn-metadata", b'{"thread_source":"user"}')])) == frozenset()


# -- rules -----------------------------------------------------------------------------------------


def test_rules_send_compaction_and_titles_to_the_cheap_model(tmp_path: Path) -> None:
    rules = [{"when": "compaction", "use": "cheap"}, {"when": "title", "use": "cheap"}]
    with addon_chain(tmp_path, routes=[MAIN, CHEAP], rules=rules) as chain:
        compacting = chain.request(responses_call({"model": "main", "input": [USER, {"type": "compaction_trigger"}]}))
        titling = chain.request(responses_call(title_request("main")))
        working = chain.request(responses_call({"model": "main", "input": [USER]}))
    for flow in (compacting, titling):
        assert flow.request.url == "http://127.0.0.1:8/v1/chat/completions"
        assert flow.metadata[METADATA_KEY]["route"] == "cheap" and flow.metadata[METADATA_KEY]["requested"] == "main"
    assert compacting.metadata[METADATA_KEY]["routed_by"] == "rule compaction"
    assert working.request.url == "http://127.0.0.1:9/v1/messages"


def test_a_big_input_goes_where_the_rule_says_and_rules_apply_only_to_their_slugs(tmp_path: Path) -> None:
    rules = [{"when": "input_tokens_above", "tokens": 1000, "use": "cheap", "from": ["main"]}]
    big = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x" * 8000}]}
    with addon_chain(tmp_path, routes=[MAIN, CHEAP, {**CHEAP, "model": "other"}], rules=rules) as chain:
        assert chain.request(responses_call({"model": "main", "input": [big]})).metadata[METADATA_KEY]["route"] == "cheap"
        assert chain.request(responses_call({"model": "main", "input": [USER]})).metadata[METADATA_KEY]["route"] == "main"
        assert chain.request(responses_call({"model": "other", "input": [big]})).metadata[METADATA_KEY]["route"] == "other"


def test_a_rule_naming_an_openai_model_moves_its_background_work_to_a_byok_model(tmp_path: Path) -> None:
    with addon_chain(tmp_path, routes=[CHEAP], rules=[{"when": "title", "use": "cheap", "from": ["gpt-6-luna"]}]) as chain:
        titling = chain.request(responses_call(title_request("gpt-6-luna")))
        native = chain.request(responses_call({"model": "gpt-6-luna", "input": [USER]}))
    assert titling.request.url == "http://127.0.0.1:8/v1/chat/completions"
    assert native.request.pretty_host == "chatgpt.com"  # its ordinary turns still go to OpenAI


# -- the events policy addons get -----------------------------------------------------------------


class RedactAndReroute:
    """A policy addon as a user would write one (loaded before ours)."""

    def __init__(self) -> None:
        self.outcomes: list[dict[str, Any]] = []

    def codex_shim_turn(self, flow: http.HTTPFlow, turn: Turn) -> None:
        text = json.dumps(turn.body).replace("AKIAABCDEFGHIJKLMNOP", "[aws key removed]")
        turn.body = json.loads(text)
        if "cheap please" in text:
            turn.use = "cheap"
            turn.notes.append("asked for the cheap model")

    def codex_shim_outcome(self, flow: http.HTTPFlow, outcome: dict[str, Any]) -> None:
        self.outcomes.append(outcome)


def said(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


def test_a_policy_addon_changes_the_request_and_chooses_the_route_before_translation(tmp_path: Path) -> None:
    policy = RedactAndReroute()
    with addon_chain(tmp_path, routes=[MAIN, CHEAP], before=[policy]) as chain:
        flow = chain.request(responses_call({"model": "main", "input": [said("key AKIAABCDEFGHIJKLMNOP, cheap please")]}))
        native = chain.request(responses_call({"model": "gpt-5.5", "input": [said("key AKIAABCDEFGHIJKLMNOP")]}))
    sent = json.loads(flow.request.content or b"")
    assert flow.request.url == "http://127.0.0.1:8/v1/chat/completions"
    assert "AKIA" not in json.dumps(sent) and "[aws key removed]" in json.dumps(sent)
    facts = flow.metadata[METADATA_KEY]
    assert facts["routed_by"] == "codex_shim_turn policy" and facts["policy"] == ["asked for the cheap model"]
    assert b"AKIA" not in (native.request.content or b"")  # what goes to OpenAI is the changed request too


def test_an_earlier_addon_may_choose_the_route_by_flow_metadata(tmp_path: Path) -> None:
    class Chooser:
        def request(self, flow: http.HTTPFlow) -> None:
            flow.metadata[METADATA_KEY] = {"use": "cheap"}

    with addon_chain(tmp_path, routes=[MAIN, CHEAP], before=[Chooser()]) as chain:
        flow = chain.request(responses_call({"model": "main", "input": [USER]}))
    assert flow.metadata[METADATA_KEY]["route"] == "cheap"


def test_the_outcome_with_usage_and_cost_reaches_policy_addons_the_comment_and_the_usage_command(tmp_path: Path,
    caplog: pytest.LogCaptureFixture) -> None:
    policy = RedactAndReroute()
    with addon_chain(tmp_path, routes=[MAIN, CHEAP], before=[policy]) as chain:
        flow = chain.request(responses_call({"model": "cheap", "input": [USER]}))
        chain.answer(flow, http.Response.make(200, chat_sse([chunk({"content": "ok"}), chunk(finish="stop"), chunk(usage=USAGE)]),
                                              {"content-type": "text/event-stream"}))
        spend = next(a for a in chain.addons if isinstance(a, Spend))
        with caplog.at_level(logging.INFO, logger="codex_shim"):
            table = spend.usage()
    (outcome,) = policy.outcomes
    # USAGE: 1200 in (1000 cached), 34 out; cheap has no cached price, so cached input costs the input price
    assert outcome["cost"] == pytest.approx((1200 * 0.27 + 34 * 1.1) / 1e6)
    assert "in 1200 (cached 1000) out 34 (reasoning 7)" in flow.comment and "$0.0004" in flow.comment
    assert "cheap" in table and "1200" in table and "usage per route" in caplog.text


def test_a_failed_turn_is_counted_as_failed(tmp_path: Path) -> None:
    from mitmproxy import flow as mflow

    with addon_chain(tmp_path, routes=[MAIN, CHEAP]) as chain:
        flow = chain.request(responses_call({"model": "cheap", "input": [USER]}))
        flow.error = mflow.Error("connection refused")
        chain.run(layers.http.HttpErrorHook(flow))
        spend = next(a for a in chain.addons if isinstance(a, Spend))
    assert spend.totals["cheap"].failed == 1 and "failed: connection refused" in flow.comment


def test_a_route_whose_key_variable_is_unset_answers_codex_and_sends_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEX_SHIM_TEST_UNSET_KEY", raising=False)
    route = {**CHEAP, "api_key": None, "api_key_env": "CODEX_SHIM_TEST_UNSET_KEY"}
    with addon_chain(tmp_path, routes=[route]) as chain:
        flow = chain.request(responses_call({"model": "cheap", "input": [USER]}))
    assert flow.response is not None and flow.response.status_code == 400
    error = json.loads(flow.response.content or b"")["error"]
    assert error["code"] == "invalid_api_key" and "$CODEX_SHIM_TEST_UNSET_KEY is not set" in error["message"]
    assert flow.request.pretty_host == "chatgpt.com"  # never rewritten towards the provider


def test_a_policy_naming_no_configured_slug_is_refused_and_nothing_goes_to_openai(tmp_path: Path) -> None:
    class Typo:
        def codex_shim_turn(self, flow: http.HTTPFlow, turn: Turn) -> None:
            turn.use = "chepa"

    with addon_chain(tmp_path, routes=[MAIN, CHEAP], before=[Typo()]) as chain:
        flow = chain.request(responses_call({"model": "cheap", "input": [USER]}))
    assert flow.response is not None and flow.response.status_code == 400
    assert "'chepa', which is not a configured model" in json.loads(flow.response.content or b"")["error"]["message"]


def test_a_policy_addon_loaded_after_turns_began_is_asked_from_the_next_turn_on(tmp_path: Path) -> None:
    policy = RedactAndReroute()
    with addon_chain(tmp_path, routes=[MAIN, CHEAP]) as chain:
        before = chain.request(responses_call({"model": "main", "input": [said("cheap please")]}))
        chain.tctx.master.addons.add(policy)  # as a script added with the proxy running
        after = chain.request(responses_call({"model": "main", "input": [said("cheap please")]}))
        chain.tctx.master.addons.remove(policy)
        again = chain.request(responses_call({"model": "main", "input": [said("cheap please")]}))
    assert before.request.url == "http://127.0.0.1:9/v1/messages"  # no policy yet: the slug's own route
    assert after.request.url == "http://127.0.0.1:8/v1/chat/completions"  # the policy rerouted it
    assert again.request.url == "http://127.0.0.1:9/v1/messages"  # and once removed, no longer asked


def test_a_policy_that_raises_is_logged_and_the_next_policy_and_the_turn_go_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def codex_shim_turn(self, flow: http.HTTPFlow, turn: Turn) -> None:
            raise RuntimeError("policy bug")

        def codex_shim_outcome(self, flow: http.HTTPFlow, outcome: dict[str, Any]) -> None:
            raise RuntimeError("outcome bug")

    class Reroute:
        def codex_shim_turn(self, flow: http.HTTPFlow, turn: Turn) -> None:
            turn.use = "cheap"

    with caplog.at_level(logging.ERROR), addon_chain(tmp_path, routes=[MAIN, CHEAP], before=[Broken(), Reroute()]) as chain:
        flow = chain.request(responses_call({"model": "main", "input": [USER]}))
        chain.answer(flow, http.Response.make(200, chat_sse([chunk({"content": "ok"}), chunk(finish="stop"), chunk(usage=USAGE)]),
                                              {"content-type": "text/event-stream"}))
        spend = next(a for a in chain.addons if isinstance(a, Spend))
    assert flow.metadata[METADATA_KEY]["route"] == "cheap"  # the second policy ran after the first raised
    assert spend.totals["cheap"].turns == 1  # and our own listener got the outcome after the broken one
    assert "codex_shim_turn failed" in caplog.text and "policy bug" in caplog.text and "outcome bug" in caplog.text


def test_a_policy_may_halt_the_rest_and_an_async_one_is_refused_with_a_logged_error(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from mitmproxy.exceptions import AddonHalt

    class AsyncPolicy:
        async def codex_shim_turn(self, flow: http.HTTPFlow, turn: Turn) -> None:
            turn.use = "main"

    class Halt:
        def codex_shim_turn(self, flow: http.HTTPFlow, turn: Turn) -> None:
            raise AddonHalt()

    class Reroute:
        def codex_shim_turn(self, flow: http.HTTPFlow, turn: Turn) -> None:
            turn.use = "cheap"

    with caplog.at_level(logging.ERROR), addon_chain(tmp_path, routes=[MAIN, CHEAP], before=[AsyncPolicy(), Halt(), Reroute()]) as chain:
        flow = chain.request(responses_call({"model": "main", "input": [USER]}))
    assert flow.metadata[METADATA_KEY]["route"] == "main"  # the async one did nothing, Halt stopped Reroute (as mitmproxy's trigger does)
    assert "is async" in caplog.text


def test_policies_reordered_by_the_scripts_option_are_asked_in_the_new_order(tmp_path: Path) -> None:
    """mitmproxy reorders its script loader's list when `scripts` changes order, registering nothing anew."""
    from mitmproxy.addons import script

    order: list[str] = []

    class Policy:
        def __init__(self, name: str) -> None:
            self.label = name

        def codex_shim_turn(self, flow: http.HTTPFlow, turn: Turn) -> None:
            order.append(self.label)

    loader = script.ScriptLoader()
    with addon_chain(tmp_path, routes=[MAIN, CHEAP], before=[loader]) as chain:
        first, second = Policy("a"), Policy("b")
        loader.addons = [first, second]
        chain.request(responses_call({"model": "main", "input": [USER]}))
        loader.addons = [second, first]
        chain.request(responses_call({"model": "main", "input": [USER]}))
    assert order == ["a", "b", "b", "a"]
