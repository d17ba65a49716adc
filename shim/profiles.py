"""The model profile of every route, and where each one came from.

Asked for every route (configured or zero-config) in the background at start and on reload: each
distinct upstream's models endpoint once (`fetch_entries`), never delaying start or a turn. What
arrives is cached next to models.json (`profiles-cache.json`, the providers' own entries, so a
better reader applies to old answers too) for offline starts; before any answer a Claude model
gets the snapshot shipped in shim/data. Precedence, most important first: what a provider's
refusal taught this run (shim/corrections.py), models.json fields, the fetched answer, the cached one,
the shipped snapshot; prices last of all from the maintained price data (shim/prices.py). A
refusal outranks even models.json: it is what the provider says today.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import prices
from .config import ModelRoute
from .model_profile import CACHED, FETCHED, ModelProfile
from .profile_sources import find_entry, profile_from_entry
from .providers import PROVIDERS
from .providers.base import upstream_headers
from .zero_config import get_json, why_failed

log = logging.getLogger("codex_shim")

CACHE_NAME = "profiles-cache.json"
CACHE_VERSION = 1
FETCH_TIMEOUT_S = 5.0
ANTHROPIC_VERSION = "2023-06-01"


def profile_key(route: ModelRoute) -> str:
    """Routes to the same model at the same endpoint share a profile."""
    return f"{route.url_base} {route.upstream_name}"


@dataclass
class Profiles:
    """Profiles by route: the providers' entries (fetched or cached) plus what this run learned."""

    entries: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)
    """profile_key → (the provider's entry for the model, FETCHED or CACHED)."""
    learned: dict[str, dict[str, Any]] = field(default_factory=dict)
    """route slug → profile fields a provider's 400 corrected (until the next reload)."""
    _memo: dict[int, tuple[ModelRoute, ModelProfile]] = field(default_factory=dict, repr=False)
    """id(route) → its profile, until entries or corrections change (asked once per turn)."""

    def of(self, route: ModelRoute) -> ModelProfile:
        """The profile a request for `route` is shaped by."""
        known = self._memo.get(id(route))
        if known is not None and known[0] is route:
            return known[1]
        profile = self._resolve(route)
        self._memo[id(route)] = (route, profile)
        return profile

    def _resolve(self, route: ModelRoute) -> ModelProfile:
        provider = PROVIDERS.get(route.provider)
        default = provider.default_profile(route) if provider is not None else ModelProfile()
        found = self.entries.get(profile_key(route))
        profile = profile_from_entry(found[0], found[1]).filled_from(default) if found is not None else default
        profile = profile.with_route_overrides(route)
        if learned := self.learned.get(route.model):  # what the provider said this run wins, models.json too
            profile = replace(profile, **learned)
        if profile.prices is None:
            known = prices.lookup(route)
            if known is not None:
                profile = replace(profile, prices=known[0], price_source=known[1])
        return profile

    def by_slug(self, routes: Mapping[str, ModelRoute]) -> dict[str, ModelProfile]:
        return {slug: self.of(route) for slug, route in routes.items()}

    def learn(self, route: ModelRoute, changes: Mapping[str, Any], why: str) -> None:
        """Remember a correction for this route until the routes are reloaded."""
        learned = self.learned.setdefault(route.model, {})
        learned.update(changes)
        learned["corrected"] = (*learned.get("corrected", ()), why)
        self._memo.clear()

    def reloaded(self) -> None:
        self.learned.clear()
        self._memo.clear()

    def source(self, route: ModelRoute) -> str:
        profile = self.of(route)
        text = profile.source
        if profile.corrected:
            text += f", corrected: {'; '.join(profile.corrected)}"
        return text

    def take(self, fetched: Mapping[str, dict[str, Any]], source: str = FETCHED) -> None:
        for key, entry in fetched.items():
            self.entries[key] = (entry, source)
        self._memo.clear()

    # -- cache -------------------------------------------------------------------------------

    def read_cache(self, path: Path) -> None:
        """The entries of the last fetch, for routes not fetched yet in this run."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            entries = raw["entries"] if raw.get("version") == CACHE_VERSION else {}
        except (OSError, ValueError, TypeError, AttributeError, KeyError):
            return
        if isinstance(entries, dict):
            for key, entry in entries.items():
                if isinstance(entry, dict) and key not in self.entries:
                    self.entries[key] = (entry, CACHED)
        self._memo.clear()

    def write_cache(self, path: Path) -> None:
        """Written whole then renamed, so a crash leaves no half file."""
        body = {"version": CACHE_VERSION, "entries": {key: entry for key, (entry, _) in sorted(self.entries.items())}}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, indent=1, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)


# -- fetching ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upstream:
    """One models endpoint and the routes whose models it describes."""

    url_base: str
    headers: tuple[tuple[str, str], ...]
    anthropic: bool
    routes: tuple[ModelRoute, ...]


def upstreams(routes: Iterable[ModelRoute], environ: Mapping[str, str]) -> list[Upstream]:
    """The distinct endpoints (and keys) to ask; a route without a key is asked without one."""
    groups: dict[tuple[str, tuple[tuple[str, str], ...], bool], list[ModelRoute]] = {}
    for route in routes:
        anthropic = route.provider == "anthropic"
        headers = tuple(sorted(_headers(route, environ, anthropic).items()))
        groups.setdefault((route.url_base, headers, anthropic), []).append(route)
    return [Upstream(base, headers, anthropic, tuple(rs)) for (base, headers, anthropic), rs in groups.items()]


def _headers(route: ModelRoute, environ: Mapping[str, str], anthropic: bool) -> dict[str, str]:
    """The route's own key and headers, as its turns send them (providers/base.upstream_headers), asking for JSON."""
    auth = route.auth_header if anthropic else "bearer"
    extra = {"anthropic-version": ANTHROPIC_VERSION} if anthropic else None
    headers = upstream_headers(route, route.resolve_key(environ), auth=auth, extra=extra)  # type: ignore[arg-type]
    for name in ("content-type", "accept"):  # a GET of JSON, not a streamed POST
        headers.pop(name, None)
    return headers


async def fetch_entries(
    routes: Iterable[ModelRoute], environ: Mapping[str, str], timeout: float = FETCH_TIMEOUT_S
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Every route's entry from its upstream's models endpoint: (profile_key → entry, slug → why not)."""
    groups = upstreams(routes, environ)
    answers = await asyncio.gather(*(_fetch_group(group, timeout) for group in groups), return_exceptions=True)
    found: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    for group, answer in zip(groups, answers, strict=True):
        if isinstance(answer, BaseException):
            for route in group.routes:
                failed[route.model] = why_failed(answer, timeout)
            continue
        for route in group.routes:
            entry = answer.get(route.upstream_name)
            if entry is None:
                failed[route.model] = f"{route.upstream_name} is not in {group.url_base}/models"
            else:
                found[profile_key(route)] = entry
    return found, failed


async def _fetch_group(group: Upstream, timeout: float) -> dict[str, dict[str, Any]]:
    """model id → entry, for the group's models: the list, then (Anthropic) one call per alias it lacks."""
    headers = dict(group.headers)
    url = f"{group.url_base}/models" + ("?limit=1000" if group.anthropic else "")
    answer = await asyncio.wait_for(asyncio.to_thread(get_json, url, headers, timeout), timeout)
    entries = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(entries, list):
        raise ValueError("no 'data' list in the answer")
    entries = [e for e in entries if isinstance(e, dict)]
    out: dict[str, dict[str, Any]] = {}
    for route in group.routes:
        entry = find_entry(entries, route.upstream_name)
        if entry is None and group.anthropic:  # an alias the list spells another way: ask for it by name
            one = f"{group.url_base}/models/{quote(route.upstream_name, safe='')}"
            try:
                got = await asyncio.wait_for(asyncio.to_thread(get_json, one, headers, timeout), timeout)
            except Exception:  # noqa: BLE001 - the model is then simply not described
                got = None
            entry = got if isinstance(got, dict) and isinstance(got.get("id"), str) else None
        if entry is not None:
            out[route.upstream_name] = dict(entry)
    return out
