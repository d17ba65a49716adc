"""models.json: which model slugs take a BYOK route, and where that route goes.

Accepts the reference codex-shim's file as is (top-level `models` or `customModels`, snake_case
or camelCase fields) plus `api_key_env` and `upstream_model`. Errors name the file, the entry and
the field, and never echo a key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

DEFAULT_CONFIG_PATH = Path("~/.codex-shim/models.json")

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
    extra_headers: dict[str, str] = Field(
        default_factory=dict, validation_alias=_alias("extra_headers", "extraHeaders")
    )
    supports_reasoning_effort: bool | None = Field(
        default=None,
        validation_alias=_alias("supports_reasoning_effort", "supportsReasoningEffort"),
        description="Send Codex's reasoning effort upstream; default: only for provider openai.",
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
    prices: Prices | None = Field(default=None, description="Per million tokens: input, cached_input, output.")

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
    """The routes by slug (a dict, as everything reads them) and the file's rules."""

    def __init__(self, routes: dict[str, ModelRoute] | None = None, rules: tuple[Rule, ...] = ()) -> None:
        super().__init__(routes or {})
        self.rules = rules


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
    return RouteTable(routes, tuple(parsed.rules))


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


def _describe_errors(source: str, raw: dict[str, object], exc: ValidationError) -> str:
    entries = raw.get("models", raw.get("customModels"))
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = "top level"
        if len(loc) >= 2 and loc[0] in ("models", "customModels") and isinstance(loc[1], int):
            index = loc[1]
            slug = None
            if isinstance(entries, list) and index < len(entries) and isinstance(entries[index], dict):
                slug = entries[index].get("model")
            where = f"models[{index}]" + (f" (model {slug!r})" if isinstance(slug, str) else "")
            loc = loc[2:]
        elif len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
            where, loc = f"rules[{loc[1]}]", loc[2:]
        field = ".".join(str(part) for part in loc) or "entry"
        # Never echo the input: it may be a key.
        lines.append(f"{source}: {where}: field '{field}': {err['msg']}")
    return "\n".join(lines)
