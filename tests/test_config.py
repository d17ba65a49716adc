"""shim.config: models.json parsing, aliases, key resolution and error messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shim.config import ConfigError, ModelRoute, config_path, load_config, parse_config

SOURCE = "/home/me/.codex-shim/models.json"
SECRET = "sk-very-secret-key-0123456789"


def parse(raw: Any) -> dict[str, ModelRoute]:
    return parse_config(json.dumps(raw), SOURCE)


def error_of(raw: Any) -> str:
    with pytest.raises(ConfigError) as info:
        parse(raw)
    return str(info.value)


GENERIC = {"model": "deepseek-v4", "provider": "generic-chat-completion-api", "base_url": "https://api.deepseek.com/v1"}


def test_top_level_models_list():
    routes = parse({"models": [GENERIC]})
    assert list(routes) == ["deepseek-v4"]
    assert routes["deepseek-v4"].url_base == "https://api.deepseek.com/v1"


def test_top_level_custom_models_list():
    routes = parse({"customModels": [GENERIC]})
    assert list(routes) == ["deepseek-v4"]


def test_bare_list_is_accepted():
    assert list(parse([GENERIC])) == ["deepseek-v4"]


def test_camel_case_aliases():
    route = parse(
        {
            "customModels": [
                {
                    "model": "m",
                    "provider": "generic-chat-completion-api",
                    "baseUrl": "http://127.0.0.1:8080/v1/",
                    "apiKey": SECRET,
                    "apiKeyEnv": "MY_KEY",
                    "upstreamModel": "real-name",
                    "displayName": "My Model",
                    "maxContextLimit": 128000,
                    "maxOutputTokens": 8192,
                    "noImageSupport": True,
                    "extraHeaders": {"x-a": "1"},
                    "supportsReasoningEffort": True,
                }
            ]
        }
    )["m"]
    assert route.url_base == "http://127.0.0.1:8080/v1"
    assert route.api_key == SECRET
    assert route.api_key_env == "MY_KEY"
    assert route.upstream_name == "real-name"
    assert route.display_name == "My Model"
    assert route.max_context_limit == 128000
    assert route.max_output_tokens == 8192
    assert route.no_image_support is True
    assert route.extra_headers == {"x-a": "1"}
    assert route.wants_reasoning_effort is True


def test_snake_case_fields():
    route = parse({"models": [{**GENERIC, "api_key": SECRET, "max_output_tokens": 100, "no_image_support": True}]})["deepseek-v4"]
    assert (route.api_key, route.max_output_tokens, route.no_image_support) == (SECRET, 100, True)


def test_unknown_fields_are_ignored():
    assert "deepseek-v4" in parse({"models": [{**GENERIC, "somethingNew": 1}], "version": 2})


def test_upstream_model_defaults_to_the_slug():
    assert parse({"models": [GENERIC]})["deepseek-v4"].upstream_name == "deepseek-v4"
    assert parse({"models": [{**GENERIC, "upstream_model": "deepseek-chat"}]})["deepseek-v4"].upstream_name == "deepseek-chat"


def test_api_key_env_wins_when_the_variable_is_set():
    route = parse({"models": [{**GENERIC, "api_key": "sk-file", "api_key_env": "DS_KEY"}]})["deepseek-v4"]
    assert route.resolve_key({"DS_KEY": "sk-env"}) == "sk-env"


def test_api_key_env_unset_falls_back_to_api_key():
    route = parse({"models": [{**GENERIC, "api_key": "sk-file", "api_key_env": "DS_KEY"}]})["deepseek-v4"]
    assert route.resolve_key({}) == "sk-file"
    assert route.resolve_key({"DS_KEY": ""}) == "sk-file"


def test_no_key_at_all_resolves_to_none():
    route = parse({"models": [{**GENERIC, "api_key_env": "DS_KEY"}]})["deepseek-v4"]
    assert route.resolve_key({}) is None


def test_api_key_is_not_in_the_route_repr():
    route = parse({"models": [{**GENERIC, "api_key": SECRET}]})["deepseek-v4"]
    assert SECRET not in repr(route)


def test_providers_with_defaults_need_no_base_url():
    routes = parse({"models": [{"model": "o", "provider": "openai"}, {"model": "l", "provider": "ollama"}]})
    assert routes["o"].url_base == "https://api.openai.com/v1"
    assert routes["l"].url_base == "http://127.0.0.1:11434/v1"


def test_reasoning_effort_defaults_to_openai_only():
    routes = parse({"models": [{"model": "o", "provider": "openai"}, GENERIC]})
    assert routes["o"].wants_reasoning_effort is True
    assert routes["deepseek-v4"].wants_reasoning_effort is False


# -- errors -----------------------------------------------------------------------------------


def test_bad_entry_error_names_file_index_slug_and_field_without_the_key():
    message = error_of(
        {
            "models": [
                GENERIC,
                {"model": "broken", "provider": "generic-chat-completion-api", "base_url": "http://x/v1", "api_key": SECRET, "max_output_tokens": -5},
            ]
        }
    )
    assert SOURCE in message
    assert "models[1]" in message
    assert "broken" in message
    assert "max_output_tokens" in message
    assert SECRET not in message


def test_bad_provider_error_names_the_field_without_the_key():
    message = error_of({"models": [{"model": "b", "provider": "bogus", "api_key": SECRET}]})
    assert SOURCE in message and "models[0]" in message and "'b'" in message and "provider" in message
    assert SECRET not in message


def test_bad_camel_case_field_error_names_the_field():
    message = error_of({"customModels": [{**GENERIC, "apiKey": SECRET, "maxOutputTokens": "lots"}]})
    assert "maxOutputTokens" in message and "deepseek-v4" in message and "[0]" in message
    assert SECRET not in message


def test_key_of_the_wrong_type_is_never_echoed():
    message = error_of({"models": [{**GENERIC, "api_key": [SECRET]}]})
    assert "api_key" in message
    assert SECRET not in message


def test_header_secret_of_the_wrong_type_is_never_echoed():
    message = error_of({"models": [{**GENERIC, "extra_headers": {"authorization": ["Bearer " + SECRET]}}]})
    assert "extra_headers" in message
    assert SECRET not in message


def test_missing_base_url_for_generic_provider_is_an_error():
    message = error_of({"models": [{"model": "g", "provider": "generic-chat-completion-api", "api_key": SECRET}]})
    assert SOURCE in message and "models[0]" in message and "'g'" in message
    assert "base_url" in message
    assert SECRET not in message


def test_base_url_without_scheme_is_an_error():
    message = error_of({"models": [{**GENERIC, "base_url": "api.deepseek.com"}]})
    assert "base_url" in message and "http" in message


def test_missing_model_slug_is_an_error():
    message = error_of({"models": [{"provider": "openai"}]})
    assert "models[0]" in message and "model" in message


def test_repeated_slug_is_an_error():
    message = error_of({"models": [GENERIC, GENERIC]})
    assert SOURCE in message and "models[1]" in message and "deepseek-v4" in message


def test_invalid_json_error_names_the_file():
    with pytest.raises(ConfigError) as info:
        parse_config('{"models": [', SOURCE)
    message = str(info.value)
    assert SOURCE in message and "JSON" in message and "line 1" in message


def test_invalid_json_error_does_not_echo_the_text():
    with pytest.raises(ConfigError) as info:
        parse_config('{"models": [{"api_key": "' + SECRET + '" oops}]}', SOURCE)
    assert SECRET not in str(info.value)


def test_non_object_top_level_is_an_error():
    with pytest.raises(ConfigError, match="models.json"):
        parse_config('"just a string"', SOURCE)


# -- files ------------------------------------------------------------------------------------


def test_load_config_missing_file_means_no_routes(tmp_path: Path):
    assert load_config(tmp_path / "absent.json") == {}


def test_load_config_reads_a_file_and_errors_name_its_path(tmp_path: Path):
    good = tmp_path / "models.json"
    good.write_text(json.dumps({"models": [GENERIC]}), encoding="utf-8")
    assert list(load_config(good)) == ["deepseek-v4"]
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.json"):
        load_config(bad)


def test_config_path_option_then_env_then_default():
    assert config_path("/a/models.json", {"CODEX_SHIM_CONFIG": "/b.json"}) == Path("/a/models.json")
    assert config_path("", {"CODEX_SHIM_CONFIG": "/b.json"}) == Path("/b.json")
    assert config_path("", {}).name == "models.json"
