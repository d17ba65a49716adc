"""shim/jsonio.py reads exactly what json.loads reads (or fails as it does) and writes JSON that
json.loads reads back as the value written: it must be invisible but for its speed."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shim import jsonio

FUZZ = settings(max_examples=400, deadline=None, derandomize=True, database=None)
CODEX_REQUEST = Path(__file__).parent / "fixtures" / "codex" / "codex-0.171-responses-request.json"

# Any text Python can hold, lone surrogates included (what a JSON escape like "\ud800" reads as).
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
SCALARS = st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80) | st.floats(allow_nan=False) | TEXT
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(TEXT, inner, max_size=5), max_leaves=30)


def same(a: Any, b: Any) -> bool:
    """Equal values of equal JSON types (1 and 1.0 differ; so do 0.0 and -0.0)."""
    return json.dumps(a) == json.dumps(b)


@FUZZ
@given(VALUES, st.booleans(), st.sampled_from([None, 1, 2]))
def test_reads_json_text_as_json_does(value: Any, ascii_only: bool, indent: int | None) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    assert same(jsonio.loads(text.encode("utf-8", "surrogatepass")), json.loads(text.encode("utf-8", "surrogatepass")))
    assert same(jsonio.loads(text), json.loads(text))


@FUZZ
@given(st.binary(max_size=60) | st.text(max_size=40).map(str.encode))
def test_refuses_what_json_refuses_with_its_error(data: bytes) -> None:
    try:
        expected = json.loads(data)
    except ValueError as exc:  # JSONDecodeError, or UnicodeDecodeError for bytes that are not UTF-8
        with pytest.raises(type(exc)) as raised:
            jsonio.loads(data)
        assert str(raised.value) == str(exc)  # the message a malformed body's 400 repeats
    else:
        assert same(jsonio.loads(data), expected)


def strictly(written: bytes) -> Any:
    """What an upstream's parser reads: UTF-8 and nothing else (json.loads of bytes would also take
    UTF-16, UTF-32 and a BOM)."""
    assert isinstance(written, bytes)
    return json.loads(written.decode("utf-8"))


@FUZZ
@given(VALUES)
def test_writes_json_that_reads_back_as_the_value(value: Any) -> None:
    assert same(strictly(jsonio.dumps(value)), value)


def test_writes_what_pydantic_core_alone_would_not() -> None:
    deep: Any = []
    for _ in range(300):  # deeper than pydantic-core writes
        deep = [deep]
    assert same(strictly(jsonio.dumps(deep)), deep)
    assert strictly(jsonio.dumps({"a": "\ud800 é"})) == {"a": "\ud800 é"}


@pytest.mark.parametrize(
    ("data", "value"),
    [
        (b'{"a": "\\ud800"}', {"a": "\ud800"}),  # a lone surrogate's escape: pydantic-core refuses it
        (b"[" * 300 + b"]" * 300, json.loads(b"[" * 300 + b"]" * 300)),  # deeper than pydantic-core's 200
        (b'\xef\xbb\xbf{"a": 1}', {"a": 1}),  # a UTF-8 BOM
        (b'{"a": 1, "a": 2}', {"a": 2}),  # the last of a repeated key
        (b'{"n": 123456789012345678901234567890}', {"n": 123456789012345678901234567890}),
    ],
)
def test_reads_what_pydantic_core_alone_would_not_or_otherwise(data: bytes, value: Any) -> None:
    assert same(jsonio.loads(data), value)


def test_writes_a_lone_surrogate_escaped_and_non_finite_numbers_as_json_does() -> None:
    assert jsonio.dumps({"a": "\ud800"}) == b'{"a": "\\ud800"}'
    assert math.isinf(json.loads(jsonio.dumps({"f": float("inf")}))["f"])


def test_codex_request_round_trips() -> None:
    raw = CODEX_REQUEST.read_bytes()
    body = jsonio.loads(raw)
    assert same(body, json.loads(raw))
    assert same(strictly(jsonio.dumps(body)), body)


@pytest.mark.parametrize("data", [b"[" * 100_000, b'{"a": ' * 100_000, "[" * 100_000])
def test_nesting_deeper_than_python_reads_is_a_value_error_where_json_raises_recursion_error(data: bytes | str) -> None:
    with pytest.raises(RecursionError):
        json.loads(data)
    with pytest.raises(ValueError, match="nested deeper than codex-shim can read"):
        jsonio.loads(data)
