"""models.json problems in a person's words: where (entry, slug, field) and what was expected, never
a value; unknown fields and unset key variables are warnings, not errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from shim.config import ConfigError, RouteTable, parse_config, unset_key_warnings
from tests.addon_chain import addon_chain

SOURCE = "/home/me/.codex-shim/models.json"
SECRET = "sk-very-secret-key-0123456789"
OPENAI = {"model": "o", "provider": "openai"}


def error_of(raw: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(json.dumps(raw), SOURCE)
    return str(info.value)


def table(raw: Any) -> RouteTable:
    return parse_config(json.dumps(raw), SOURCE)


def test_a_missing_base_url_reads_as_a_sentence() -> None:
    message = error_of({"models": [OPENAI, {**OPENAI, "model": "p"}, {"model": "x", "provider": "generic-chat-completion-api"}]})
    assert message == f"{SOURCE}: models[2] (model 'x'): base_url is required for provider 'generic-chat-completion-api'"


@pytest.mark.parametrize(("entry", "expected"), [
    ({"maxOutputTokens": "lots"}, "maxOutputTokens must be a whole number, not text"),
    ({"max_context_limit": 1.5}, "max_context_limit must be a whole number, not a fraction"),
    ({"no_image_support": "maybe"}, "no_image_support must be true or false, not text"),
    ({"api_key": [SECRET]}, "api_key must be text (a string in quotes), not a list"),
    ({"extra_headers": {"authorization": ["Bearer " + SECRET]}}, "extra_headers.authorization must be text (a string in quotes), not a list"),
    ({"extra_headers": SECRET}, "extra_headers must be an object ({...}), not text"),
    ({"drop_fields": [1]}, "drop_fields[0] must be text (a string in quotes), not a number"),
    ({"max_output_tokens": -5}, "max_output_tokens must be greater than 0"),
    ({"provider": "bogus"}, "provider must be 'openai', 'generic-chat-completion-api', 'ollama', 'anthropic' or 'responses'"),
    ({"auth_header": "basic"}, "auth_header must be 'x-api-key' or 'bearer'"),
    ({"model": ""}, "model must not be empty"),
    ({"prices": {"input": 1}}, "prices.output is required"),
    ({"prices": {"input": 1, "output": 2, "cache": 3}}, "prices.cache is not a known field"),
    ({"base_url": "api.deepseek.com"}, "base_url must start with http:// or https://"),
])
def test_each_kind_of_bad_value_says_what_was_expected(entry: dict[str, Any], expected: str) -> None:
    message = error_of({"models": [{**OPENAI, **entry}]})
    assert message.startswith(f"{SOURCE}: models[0]")
    assert message.endswith(expected)
    assert SECRET not in message and "Input should" not in message and "Value error" not in message


def test_a_missing_slug_and_a_non_object_entry() -> None:
    assert error_of({"models": [{"provider": "openai"}]}) == f"{SOURCE}: models[0]: model is required"
    assert error_of({"models": [5]}) == f"{SOURCE}: models[0]: the entry must be an object ({{...}}), not a number"
    assert error_of({"models": {"o": OPENAI}}) == f"{SOURCE}: top level: models must be a list ([...]), not an object"


def test_several_problems_are_listed_one_a_line() -> None:
    message = error_of({"models": [{"model": "x", "provider": "openai", "max_output_tokens": 0, "no_image_support": 3}]})
    assert message.splitlines() == [
        f"{SOURCE}: 2 problems:",
        "  models[0] (model 'x'): max_output_tokens must be greater than 0",
        "  models[0] (model 'x'): no_image_support must be true or false, not a number",
    ]


def test_rules_are_named_by_index() -> None:
    message = error_of({"models": [OPENAI], "rules": [{"when": "sometimes", "use": "o"}]})
    assert message == f"{SOURCE}: rules[0]: when must be 'compaction', 'title', 'background' or 'input_tokens_above'"


def test_a_typo_is_a_warning_naming_the_entry_and_the_likely_field() -> None:
    routes = table({"models": [{"model": "g", "provider": "generic-chat-completion-api", "base_url": "http://h/v1", "base_ulr": "x"}]})
    assert list(routes) == ["g"]
    assert routes.warnings == (f"{SOURCE}: models[0] (model 'g'): unknown field 'base_ulr' ignored (did you mean 'base_url'?)",)


def test_a_top_level_typo_is_a_warning_too() -> None:
    routes = table({"modles": [OPENAI]})
    assert routes == {}
    assert routes.warnings == (f"{SOURCE}: top level: unknown field 'modles' ignored (did you mean 'models'?)",)


def test_every_field_we_and_the_reference_read_is_known() -> None:
    entry = {
        "model": "m", "provider": "anthropic", "base_url": "http://h/v1", "baseUrl": "http://h/v1", "api_key": "k", "apiKey": "k",
        "api_key_env": "E", "apiKeyEnv": "E", "upstream_model": "u", "upstreamModel": "u", "display_name": "d", "displayName": "d",
        "max_context_limit": 1, "maxContextLimit": 1, "max_output_tokens": 1, "maxOutputTokens": 1,
        "no_image_support": True, "noImageSupport": True, "extra_headers": {}, "extraHeaders": {},
        "supports_reasoning_effort": True, "supportsReasoningEffort": True, "auth_header": "bearer", "authHeader": "bearer",
        "prompt_caching": False, "promptCaching": False, "drop_fields": [], "dropFields": [],
        "fallbacks": [], "prices": {"input": 1, "output": 2, "cachedInput": 0.5},
    }
    assert table({"customModels": [entry], "rules": []}).warnings == ()
    assert table({"models": [entry]}).warnings == ()


def test_an_unset_key_variable_is_named_with_its_route() -> None:
    routes = table({"models": [{**OPENAI, "api_key_env": "MY_OPENAI_KEY"},
                               {**OPENAI, "model": "p", "api_key_env": "OTHER_KEY", "api_key": SECRET},
                               {**OPENAI, "model": "q", "api_key_env": "SET_KEY"}]})
    warnings = unset_key_warnings(routes, {"SET_KEY": "sk-1", "OTHER_KEY": ""})
    assert warnings == [
        "route 'o': $MY_OPENAI_KEY is not set in the proxy's environment; its turns are refused (nothing is sent upstream) "
        "until you set it and restart the proxy",
        "route 'p': $OTHER_KEY is not set in the proxy's environment; the api_key in models.json is used instead",
    ]
    assert SECRET not in "".join(warnings)


def test_the_routes_file_logs_both_warnings_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEX_SHIM_TEST_UNSET_KEY", raising=False)
    route = {**OPENAI, "api_key_env": "CODEX_SHIM_TEST_UNSET_KEY", "upstreamModle": "gpt-4.1"}
    with caplog.at_level(logging.WARNING), addon_chain(tmp_path, [route]):
        pass
    assert "models[0] (model 'o'): unknown field 'upstreamModle' ignored (did you mean 'upstreamModel'?)" in caplog.text
    assert "route 'o': $CODEX_SHIM_TEST_UNSET_KEY is not set in the proxy's environment" in caplog.text
