"""A JSON schema made acceptable to Anthropic's structured outputs.

The API checks a subset of JSON Schema (docs, "JSON Schema limitations"): every object closed
(`additionalProperties: false`), `oneOf` read as `anyOf`, only some string formats, `minItems` 0
or 1. Whatever else a schema says (numeric ranges, lengths, patterns…) is moved into its
description, so the model still reads it. This is the rule the anthropic SDK's
`transform_schema` applies; tests/test_any_client.py holds the two to the same output. It is
not imported from the SDK because importing `anthropic` costs mitmdump ~55 MiB.
"""

from __future__ import annotations

from typing import Any

TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})
STRING_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"})


def for_anthropic(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` in the form Anthropic's structured outputs accept (raises ValueError for a node
    that says nothing of its type)."""
    rest = dict(schema)
    out: dict[str, Any] = {}
    defs = rest.pop("$defs", None)
    if defs is not None:
        out["$defs"] = {name: for_anthropic(sub) for name, sub in defs.items()}
    ref = rest.pop("$ref", None)
    if ref is not None:  # a reference says nothing more
        out["$ref"] = ref
        if "description" in rest:
            out["description"] = rest["description"]
        return out
    kind = rest.pop("type", None)
    if isinstance(kind, list) and len(kind) > 1 and any(k in ("object", "array") for k in kind):
        # ["object", "null"] (OpenAI's way to say optional): one typed node per type, so the object keeps its shape
        shared: dict[str, Any] = {k: rest.pop(k) for k in ("description", "title") if k in rest}
        return {"anyOf": [for_anthropic({**rest, "type": k}) if k in ("object", "array") else {"type": k} for k in kind], **shared}
    variants = {key: rest.pop(key, None) for key in ("anyOf", "oneOf", "allOf")}
    literal = _take_literals(rest, out)
    if isinstance(variants["anyOf"], list):
        out["anyOf"] = [for_anthropic(v) for v in variants["anyOf"]]
    elif isinstance(variants["oneOf"], list):
        out["anyOf"] = [for_anthropic(v) for v in variants["oneOf"]]
    elif isinstance(variants["allOf"], list):
        out["allOf"] = [for_anthropic(v) for v in variants["allOf"]]
    elif not literal:
        if kind is None:
            raise ValueError("a schema node needs a 'type', 'anyOf', 'oneOf', 'allOf', 'const' or a non-empty 'enum'")
        out["type"] = kind
    kind = None if literal else kind
    for key in ("description", "title"):
        if key in rest:
            out[key] = rest.pop(key)
    _typed(kind, rest, out)
    if rest:  # what the API does not check: said in words, for the model to follow
        words = "{" + ", ".join(f"{key}: {value}" for key, value in rest.items()) + "}"
        out["description"] = f"{out['description']}\n\n{words}" if out.get("description") is not None else words
    return out


def _take_literals(rest: dict[str, Any], out: dict[str, Any]) -> bool:
    """Move a primitive `enum` or `const` across; whether the node is a literal."""
    enum = rest.get("enum")
    if isinstance(enum, list) and enum and all(_primitive(v) for v in enum):
        out["enum"] = list(rest.pop("enum"))
    if "const" in rest and _primitive(rest["const"]):
        out["const"] = rest.pop("const")
    return "enum" in out or "const" in out


def _typed(kind: Any, rest: dict[str, Any], out: dict[str, Any]) -> None:
    """What each type keeps."""
    if kind == "object":
        out["properties"] = {name: for_anthropic(sub) for name, sub in rest.pop("properties", {}).items()}
        rest.pop("additionalProperties", None)
        out["additionalProperties"] = False
        if "required" in rest:
            required = rest.pop("required")
            out["required"] = list(required) if isinstance(required, list) else required
    elif kind == "string" and rest.get("format") in STRING_FORMATS:
        out["format"] = rest.pop("format")
    elif kind == "array":
        if "items" in rest:
            out["items"] = for_anthropic(rest.pop("items"))
        if rest.get("minItems") in (0, 1) and not isinstance(rest.get("minItems"), bool):
            out["minItems"] = rest.pop("minItems")
    elif kind is not None and not all(isinstance(k, str) and k in TYPES for k in (kind if isinstance(kind, list) else [kind])):
        raise ValueError(f"unsupported schema type {kind!r}")  # a list of types (["string", "null"]) passes as it is


def _primitive(value: object) -> bool:
    return value is None or isinstance(value, str | int | float | bool)
