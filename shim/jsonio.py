"""Request bodies read and written with pydantic-core; with json where it refuses.

Codex resends the whole conversation on every BYOK turn (our answers carry no id to build on), so
a long session's request runs to megabytes, and each turn parses one and writes its translation
upstream before the provider can start. pydantic-core (installed with pydantic) does both in
Rust. Measured on Codex 0.171's own 45 KB request: parsing 0.18 -> 0.15 ms, writing 0.135 ->
0.044 ms; on a 3.2 MB one, 8.2 -> 5.9 ms and 10.7 -> 3.8 ms. Whatever it refuses goes to json:
it reads what pydantic-core does not (a lone surrogate's escape, nesting deeper than 200, a UTF-8
BOM, UTF-16), writes what pydantic-core does not (a lone surrogate, ASCII-escaped; nesting deeper
than ~255) and words the error a malformed body gets, as before.

JSON that Codex or a provider sent is read with `loads`: nesting deeper than Python's recursion
limit is a ValueError like any other unreadable JSON, where json raises RecursionError, so each
caller's "not JSON" answer covers it. Uncaught, it failed the Router's request hook and a BYOK turn went
on to OpenAI as Codex sent it.
"""

from __future__ import annotations

import json
from typing import Any

import pydantic_core

quote = json.encoder.encode_basestring
"""A str as a JSON string, escaped as a compact serializer writes it (non-ASCII as it is): the C encoder."""


def loads(data: bytes | str) -> Any:
    """The JSON value of `data`, exactly as json.loads reads it, or json's error (a ValueError;
    also for nesting too deep to read)."""
    try:
        return pydantic_core.from_json(data)
    except (ValueError, TypeError):  # (TypeError: a str holding a lone surrogate)
        pass
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested deeper than codex-shim can read") from None


def dumps(value: Any) -> bytes:
    """`value`, JSON-shaped (str keys; lists, str, int, float, bool, None: what the providers build
    from a parsed request), as UTF-8 JSON that json.loads reads back as `value`. Other shapes are
    not refused as json.dumps would refuse them: pydantic-core writes a set as a list, a None key
    as "None"."""
    try:
        return pydantic_core.to_json(value)
    except ValueError:  # a lone surrogate, nesting deeper than ~255, a cycle: json writes it, or raises as before
        return json.dumps(value).encode()
