"""Codex Desktop's picker allowlist: the Statsig answers that decide which models it shows.

Desktop filters the app-server's `model/list` with the Statsig dynamic config
`codex-app-vscode-model-availability` (value: `available_models`, `use_hidden_models`,
`default_model`; with `use_hidden_models` true only slugs in `available_models` are shown). Its
Statsig client gets that config in an initialize answer, from one of two places:

- `POST https://ab.chatgpt.com/v1/initialize` — the answer is an initialize response;
- `POST https://chatgpt.com/backend-api/wham/statsig/bootstrap` — `{"statsigPayload": "<JSON
  text of an initialize response>", …}`.

An initialize response keys its configs by the name hashed as `hash_used` says (`djb2`: the
Statsig client's 32-bit djb2 over UTF-16 code units, as an unsigned decimal string; `sha256`:
base64 of the digest; `none`: the name itself); the client looks a config up by the name it is
given and then by its djb2 hash, and Desktop asks by the hash already ("107580212"). Two formats:
`init-v1` (`dynamic_configs[key].value` is the value) and `init-v2` (`dynamic_configs[key].v`
names an entry of the top-level `values`, which several configs may share).

`allow_models` adds slugs to that allowlist and changes nothing else: in init-v2 the config is
pointed at a new `values` entry, so another config sharing the old one keeps it. The client
checks no signature on these answers; only a delta answer (`is_delta`) carries a checksum
(`checksumV2`, djb2 over the merged gates and configs), and a mismatch makes the client fetch
the full answer again — which is rewritten the same way.

Pure: no mitmproxy here (the hooks are shim/addons/picker.py; mitmproxy decodes and re-encodes
gzip, br and zstd bodies itself).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from . import jsonio

AVAILABILITY_CONFIG = "codex-app-vscode-model-availability"
INITIALIZE_HOSTS = frozenset({"ab.chatgpt.com"})
BOOTSTRAP_PATH = "/backend-api/wham/statsig/bootstrap"


class Unchanged(Exception):
    """The answer is left as it came; the message says why. `benign`: nothing was wrong with it."""

    def __init__(self, why: str, benign: bool = False) -> None:
        super().__init__(why)
        self.benign = benign


@dataclass
class Rewrite:
    body: bytes
    added: list[str]
    config_key: str
    response_format: str
    delta: bool = False
    notes: list[str] = field(default_factory=list)


def djb2(value: str) -> str:
    """The Statsig JS client's `_DJB2`: 32-bit signed arithmetic over UTF-16 code units, unsigned result."""
    units = value.encode("utf-16-le")
    h = 0
    for i in range(0, len(units), 2):
        h = ((h << 5) - h + int.from_bytes(units[i : i + 2], "little")) & 0xFFFFFFFF
    return str(h)


def sha256_key(value: str) -> str:
    return base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()


def config_keys(name: str, hash_used: object) -> list[str]:
    """Keys under which an answer may hold `name`: the client's lookups first, then the one `hash_used` names."""
    keys = [name, djb2(name)]
    if hash_used == "sha256":
        keys.append(sha256_key(name))
    return keys


def is_initialize_path(path: str) -> bool:
    return path.split("?", 1)[0].rstrip("/").endswith("/initialize")


def is_bootstrap_path(path: str) -> bool:
    return path.split("?", 1)[0].rstrip("/") == BOOTSTRAP_PATH


def find_config(payload: dict[str, Any], name: str = AVAILABILITY_CONFIG) -> tuple[str, dict[str, Any]]:
    configs = payload.get("dynamic_configs")
    if not isinstance(configs, dict):
        raise Unchanged("no dynamic_configs object")
    for key in config_keys(name, payload.get("hash_used")):
        entry = configs.get(key)
        if entry is not None:
            if not isinstance(entry, dict):
                raise Unchanged(f"config {key} is not an object")
            return key, entry
    raise Unchanged(f"no {name} config (hash_used={payload.get('hash_used')!r})")


def _with_slugs(value: object, slugs: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    if not isinstance(value, dict):
        raise Unchanged("config value is not an object")
    listed = value.get("available_models")
    if listed is None and value.get("use_hidden_models") is not True:
        raise Unchanged("no allowlist and use_hidden_models is not true: nothing hides a listed model", benign=True)
    if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
        raise Unchanged("available_models is not a list of strings")
    added = [s for s in dict.fromkeys(slugs) if s not in listed]
    return {**value, "available_models": [*listed, *added]}, added


def allow_in_payload(payload: dict[str, Any], slugs: Iterable[str]) -> tuple[dict[str, Any], str, list[str]]:
    """A copy of an initialize response whose availability config also allows `slugs`.

    Returns (payload, config key, slugs added); raises Unchanged when nothing is to be done."""
    if payload.get("has_updates") is not True:
        raise Unchanged("has_updates is not true (no news)", benign=True)
    key, entry = find_config(payload)
    fmt = payload.get("response_format") or "init-v1"
    if fmt == "init-v2":
        values = payload.get("values")
        ref = entry.get("v")
        if not isinstance(values, dict) or not isinstance(ref, str) or ref not in values:
            raise Unchanged("init-v2 config does not name an entry of values")
        new_value, added = _with_slugs(values[ref], slugs)
        if not added:
            raise Unchanged("every BYOK slug is already allowed", benign=True)
        new_ref = "codex-shim-" + djb2(json.dumps(new_value, sort_keys=True))
        new_entry = {**entry, "v": new_ref}
        new_values = {**values, new_ref: new_value}
        result = {**payload, "values": new_values, "dynamic_configs": {**payload["dynamic_configs"], key: new_entry}}
    elif fmt == "init-v1":
        new_value, added = _with_slugs(entry.get("value"), slugs)
        if not added:
            raise Unchanged("every BYOK slug is already allowed", benign=True)
        result = {**payload, "dynamic_configs": {**payload["dynamic_configs"], key: {**entry, "value": new_value}}}
    else:
        raise Unchanged(f"unknown response_format {fmt!r}")
    return result, key, added


def _loads(content: bytes) -> Any:
    try:
        return jsonio.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unchanged(f"not JSON ({exc})") from None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def rewrite_initialize(content: bytes, slugs: Iterable[str]) -> Rewrite:
    """An ab.chatgpt.com `/v1/initialize` answer (decoded) with the slugs allowed."""
    payload = _loads(content)
    if not isinstance(payload, dict):
        raise Unchanged("not a JSON object")
    result, key, added = allow_in_payload(payload, slugs)
    fmt = str(payload.get("response_format") or "init-v1")
    return Rewrite(_dumps(result).encode(), added, key, fmt, delta=payload.get("is_delta") is True)


def rewrite_bootstrap(content: bytes, slugs: Iterable[str]) -> Rewrite:
    """A `/wham/statsig/bootstrap` answer: `statsigPayload` (JSON text, or an object) rewritten, the rest kept."""
    outer = _loads(content)
    if not isinstance(outer, dict) or "statsigPayload" not in outer:
        raise Unchanged("no statsigPayload")
    inner = outer["statsigPayload"]
    as_text = isinstance(inner, str)
    payload = _loads(inner.encode()) if as_text else inner
    if not isinstance(payload, dict):
        raise Unchanged("statsigPayload is not a JSON object")
    result, key, added = allow_in_payload(payload, slugs)
    fmt = str(payload.get("response_format") or "init-v1")
    new_outer = {**outer, "statsigPayload": _dumps(result) if as_text else result}
    return Rewrite(_dumps(new_outer).encode(), added, key, fmt)
