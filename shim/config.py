"""models.json: which model slugs take a BYOK route, and where that route goes.

Accepts the reference codex-shim's file as is (top-level `models` or `customModels`, snake_case
or camelCase fields) plus `api_key_env` and `upstream_model`. Errors name the file, the entry and
the field in plain words, and never echo a value (it may be a key); fields we do not know are
ignored with a warning, so a typo does not pass silently.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

DEFAULT_CONFIG_PATH = Path("~/.codex-shim/models.json")

Effort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max", "ultra"]
CODEX_EFFORTS: tuple[Effort, ...] = ("none", "minimal", "low", "medium", "high", "xhigh", "max", "ultra")
"""Codex 0.171's reasoning efforts, least to most: the scale every model's ladder is placed on."""

ProviderName = Literal["openai", "generic-chat-completion-api", "ollama", "anthropic", "responses"]

DEFAULT_BASE_URLS: dict[str, str] = {
    "openai": "https://api.openai.com/v1",
    "ollama": "http://127.0.0.1:11434/v1",
    "anthropic": "https://api.anthropic.com/v1",
}


class ConfigError(Exception):
    """A models.json that cannot be used; the message is meant for the user as is."""


def _alias(snake: str, camel: str) -> AliasChoices:
    return AliasChoices(snake, camel)


class Prices(BaseModel):
    """What a route costs, in currency units (say USD) per million tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cached_input: float | None = Field(default=None, ge=0, validation_alias=_alias("cached_input", "cachedInput"))
    cache_write: float | None = Field(default=None, ge=0, validation_alias=_alias("cache_write", "cacheWrite"))
    web_search: float | None = Field(default=None, ge=0, validation_alias=_alias("web_search", "webSearch"),
                                     description="Per 1,000 searches the provider runs.")


class ModelRoute(BaseModel):
    """One BYOK model: the slug Codex sends and the upstream that answers it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    model: str = Field(min_length=1)
    provider: ProviderName
    base_url: str = Field(default="", validation_alias=_alias("base_url", "baseUrl"))
    api_key: str | None = Field(default=None, validation_alias=_alias("api_key", "apiKey"), repr=False)
    api_key_env: str | None = Field(default=None, validation_alias=_alias("api_key_env", "apiKeyEnv"))
    upstream_model: str | None = Field(
        default=None, validation_alias=_alias("upstream_model", "upstreamModel")
    )
    display_name: str | None = Field(
        default=None, validation_alias=_alias("display_name", "displayName")
    )
    max_context_limit: int | None = Field(
        default=None, gt=0, validation_alias=_alias("max_context_limit", "maxContextLimit")
    )
    max_output_tokens: int | None = Field(
        default=None, gt=0, validation_alias=_alias("max_output_tokens", "maxOutputTokens")
    )
    no_image_support: bool = Field(
        default=False, validation_alias=_alias("no_image_support", "noImageSupport")
    )
    pdf_input: bool | None = Field(
        default=None,
        validation_alias=_alias("pdf_input", "pdfInput"),
        description="The model reads PDFs (chat: `file` parts; Anthropic: documents); wins over the provider's model data.",
    )
    extra_headers: dict[str, str] = Field(
        default_factory=dict, validation_alias=_alias("extra_headers", "extraHeaders")
    )
    supports_reasoning_effort: bool | None = Field(
        default=None,
        validation_alias=_alias("supports_reasoning_effort", "supportsReasoningEffort"),
        description="Send Codex's reasoning effort upstream; default: only for provider openai.",
    )
    reasoning_efforts: tuple[Effort, ...] | None = Field(
        default=None,
        validation_alias=_alias("reasoning_efforts", "reasoningEfforts"),
        description="The effort levels the model takes (none … max); wins over the provider's model data.",
    )
    auth_header: Literal["x-api-key", "bearer"] = Field(
        default="x-api-key",
        validation_alias=_alias("auth_header", "authHeader"),
        description="How an anthropic route sends its key: x-api-key, or Authorization: Bearer.",
    )
    prompt_caching: bool = Field(
        default=True,
        validation_alias=_alias("prompt_caching", "promptCaching"),
        description="Mark cache_control breakpoints on anthropic routes.",
    )
    drop_fields: tuple[str, ...] = Field(
        default=(),
        validation_alias=_alias("drop_fields", "dropFields"),
        description="Extra top-level request fields a responses upstream rejects.",
    )
    fallbacks: tuple[str, ...] = Field(
        default=(),
        description="Other configured slugs tried in order when this route fails before answering.",
    )
    prices: Prices | None = Field(
        default=None, description="Per million tokens: input, cached_input, cache_write, output; web_search per 1,000 searches."
    )

    @model_validator(mode="after")
    def _base_url_known(self) -> ModelRoute:
        if not self.base_url and self.provider not in DEFAULT_BASE_URLS:
            raise ValueError(f"base_url is required for provider {self.provider!r}")
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return self

    @property
    def url_base(self) -> str:
        return (self.base_url or DEFAULT_BASE_URLS[self.provider]).rstrip("/")

    @property
    def upstream_name(self) -> str:
        return self.upstream_model or self.model

    @property
    def wants_reasoning_effort(self) -> bool:
        if self.supports_reasoning_effort is not None:
            return self.supports_reasoning_effort
        return self.provider == "openai"

    def resolve_key(self, environ: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
        """The key to send upstream: `api_key_env` wins when that variable is set."""
        if self.api_key_env and environ.get(self.api_key_env):
            return environ[self.api_key_env]
        return self.api_key or None


TurnKind = Literal["compaction", "title", "background", "input_tokens_above"]


class Rule(BaseModel):
    """Send a kind of turn to another slug: `{"when": "compaction", "use": "cheap"}`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    when: TurnKind
    use: str = Field(min_length=1)
    tokens: int | None = Field(default=None, gt=0, description="For input_tokens_above: the threshold.")
    only_for: tuple[str, ...] = Field(
        default=(), alias="from", description="The requested slugs it applies to (default: every BYOK slug)."
    )

    @model_validator(mode="after")
    def _tokens_given(self) -> Rule:
        if (self.when == "input_tokens_above") != (self.tokens is not None):
            raise ValueError("'tokens' goes with (and only with) when: input_tokens_above")
        return self


class ModelsFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    models: list[ModelRoute] = Field(
        default_factory=list, validation_alias=_alias("models", "customModels")
    )
    rules: list[Rule] = Field(default_factory=list)


class RouteTable(dict[str, ModelRoute]):
    """The routes by slug (a dict, as everything reads them), the file's rules, and what in the
    file was ignored (`warnings`, for the user: unknown fields)."""

    def __init__(self, routes: dict[str, ModelRoute] | None = None, rules: tuple[Rule, ...] = (),
                 warnings: tuple[str, ...] = ()) -> None:
        super().__init__(routes or {})
        self.rules = rules
        self.warnings = warnings


def parse_config(text: str, source: str) -> RouteTable:
    """Parse models.json text into routes keyed by slug; raise ConfigError naming what is wrong."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{source}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    if isinstance(raw, list):
        raw = {"models": raw}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected an object with a 'models' list")
    warnings = unknown_field_warnings(source, raw)
    try:
        parsed = ModelsFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe_errors(source, raw, exc)) from None
    routes: dict[str, ModelRoute] = {}
    for index, route in enumerate(parsed.models):
        if route.model in routes:
            raise ConfigError(f"{source}: models[{index}] repeats the slug {route.model!r}")
        routes[route.model] = route
    for index, route in enumerate(parsed.models):
        for slug in route.fallbacks:
            if slug not in routes or slug == route.model:
                why = "is the entry itself" if slug == route.model else "is not a configured model"
                raise ConfigError(f"{source}: models[{index}] (model {route.model!r}): fallback {slug!r} {why}")
    for index, rule in enumerate(parsed.rules):
        if rule.use not in routes:
            raise ConfigError(f"{source}: rules[{index}]: use {rule.use!r} is not a configured model")
    return RouteTable(routes, tuple(parsed.rules), warnings)


def load_config(path: Path) -> RouteTable:
    """Read routes from a models.json; a missing file means no BYOK routes."""
    path = path.expanduser()
    if not path.exists():
        return RouteTable()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_config(text, str(path))


def config_path(option_value: str, environ: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    """The option wins, then CODEX_SHIM_CONFIG, then ~/.codex-shim/models.json."""
    chosen = option_value or environ.get("CODEX_SHIM_CONFIG") or str(DEFAULT_CONFIG_PATH)
    return Path(chosen).expanduser()


def unset_key_warnings(routes: dict[str, ModelRoute], environ: dict[str, str] | os._Environ[str] = os.environ) -> list[str]:
    """Routes whose `api_key_env` is not set here: said at start, not first at Codex's first turn."""
    warnings = []
    for slug, route in routes.items():
        if not route.api_key_env or environ.get(route.api_key_env):
            continue
        if route.api_key:
            outcome = "the api_key in models.json is used instead"
        else:
            outcome = "its turns are refused (nothing is sent upstream) until you set it and restart the proxy"
        warnings.append(f"route {slug!r}: ${route.api_key_env} is not set in the proxy's environment; {outcome}")
    return warnings


def unknown_field_warnings(source: str, raw: dict[str, Any]) -> tuple[str, ...]:
    """Fields no model of ours reads (ModelRoute and ModelsFile ignore them): name each, with the
    field it was probably meant to be."""
    warnings = [_unknown(source, "top level", key, _TOP_LEVEL_KEYS) for key in raw if key not in _TOP_LEVEL_KEYS]
    entries = raw.get("models", raw.get("customModels"))
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, dict):
            where = _entry_name(entries, index)
            warnings += [_unknown(source, where, key, _ROUTE_KEYS) for key in entry if key not in _ROUTE_KEYS]
    return tuple(warnings)


def _accepted_keys(model: type[BaseModel]) -> frozenset[str]:
    """Every key a model reads: field names and their aliases (snake_case and camelCase)."""
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        keys.add(info.alias or name)
        if isinstance(info.validation_alias, AliasChoices):
            keys.update(choice for choice in info.validation_alias.choices if isinstance(choice, str))
        elif isinstance(info.validation_alias, str):
            keys.add(info.validation_alias)
    return frozenset(keys)


_ROUTE_KEYS = _accepted_keys(ModelRoute)
_TOP_LEVEL_KEYS = _accepted_keys(ModelsFile)


def _unknown(source: str, where: str, key: str, known: frozenset[str]) -> str:
    guess = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.7)
    hint = f" (did you mean {guess[0]!r}?)" if guess else ""
    return f"{source}: {where}: unknown field {key!r} ignored{hint}"


def _entry_name(entries: object, index: int) -> str:
    """`models[2] (model 'x')`: the index, and the slug when the entry has one."""
    slug = None
    if isinstance(entries, list) and index < len(entries) and isinstance(entries[index], dict):
        slug = entries[index].get("model")
    return f"models[{index}]" + (f" (model {slug!r})" if isinstance(slug, str) and slug else "")


def _describe_errors(source: str, raw: dict[str, object], exc: ValidationError) -> str:
    """pydantic's errors in a person's words: where (entry and field) and what was expected."""
    entries = raw.get("models", raw.get("customModels"))
    problems = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = "top level"
        if len(loc) >= 2 and loc[0] in ("models", "customModels") and isinstance(loc[1], int):
            where, loc = _entry_name(entries, loc[1]), loc[2:]
        elif len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            where, loc = f"rules[{loc[1]}]", loc[2:]
        problems.append(f"{where}: {_plain_words(err, _field_path(loc))}")
    if len(problems) == 1:
        return f"{source}: {problems[0]}"
    return f"{source}: {len(problems)} problems:\n" + "\n".join(f"  {problem}" for problem in problems)


def _field_path(loc: list[int | str]) -> str:
    """('extra_headers', 'x-a') -> extra_headers.x-a; ('drop_fields', 0) -> drop_fields[0]."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


_EXPECTED = {
    "string_type": "text (a string in quotes)",
    "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
    "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "dict_type": "an object ({...})", "model_type": "an object ({...})", "model_attributes_type": "an object ({...})",
    "list_type": "a list ([...])", "tuple_type": "a list ([...])",
}


def _plain_words(err: Any, field: str) -> str:
    """One pydantic error as a sentence about `field` ("" for the entry itself). Never the input's
    value (it may be a key), only what kind of value it was."""
    kind, context = err["type"], err.get("ctx") or {}
    subject = field or "the entry"
    if kind == "value_error":  # our own validators: their message already names the field
        return str(context.get("error", err["msg"])).removeprefix("Value error, ")
    if kind == "missing":
        return f"{subject} is required"
    if kind == "literal_error":
        return f"{subject} must be {context.get('expected', 'one of the documented values')}"
    if kind in _EXPECTED:
        got = "a fraction" if kind == "int_from_float" else _kind_of(err.get("input"))
        return f"{subject} must be {_EXPECTED[kind]}, not {got}"
    if kind == "greater_than":
        return f"{subject} must be greater than {context.get('gt')}"
    if kind == "greater_than_equal":
        return f"{subject} must be {context.get('ge')} or more"
    if kind == "string_too_short":
        return f"{subject} must not be empty"
    if kind == "extra_forbidden":
        return f"{subject} is not a known field"
    return f"{subject}: {err['msg'][:1].lower()}{err['msg'][1:]}"


def _kind_of(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__
