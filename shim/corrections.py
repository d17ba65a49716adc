"""A provider's 400 about a parameter codex-shim chose, read as a correction of the model's profile.

Profiles go stale (a model loses budget thinking, an effort level, output room) and a compatible
endpoint may publish nothing at all; the provider's refusal then says what it takes. Each rule
below matches one refusal, in the wording the provider uses (sources in the comments), and
returns the profile fields that make the next request acceptable. Only parameters codex-shim
chose are corrected (thinking, effort, max_tokens, reasoning_effort, the form of a JSON answer); anything else Codex sent
stays Codex's to hear about.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import jsonio
from .model_profile import ModelProfile, ordered

_THINKING_ON_ADAPTIVE = re.compile(r'"?thinking\.type\.(enabled|disabled)"? is not supported for this model')
_NO_ADAPTIVE = re.compile(r"adaptive thinking is not supported on this model")
_BETWEEN_TOOLS = re.compile(r'send "thinking": \{"type": "between_tools"\} instead of \{"type": "disabled"\}')
_NO_EFFORT = re.compile(r"does not support the effort parameter")
_EFFORT_LEVELS = re.compile(r"does not support effort level '(\w+)'\. Supported levels: ([\w, ]+)")
_MAX_TOKENS = re.compile(r"max_tokens: \d+ > (\d+), which is the maximum allowed number of output tokens")
_CHAT_EFFORT_VALUES = re.compile(r"'reasoning_effort' does not support '(\w+)'.*?Supported values are: (.+?)\.?$", re.DOTALL)
_CHAT_NO_EFFORT = re.compile(r"(Unrecognized request argument supplied|Unsupported parameter|not supported)\W+'?reasoning_effort", re.I)
_CHAT_MAX_TOKENS = re.compile(r"max_tokens is too large: \d+\. This model supports at most (\d+) completion tokens")
_WORD = re.compile(r"'?(\w+)'?")
_FORMAT_WORDS = r"(output_config\.format|output_format|output format|structured outputs?)"
_REFUSED_WORDS = r"(not supported|does not support|not available|not compatible|unsupported|not permitted)"
_NO_FORMAT = re.compile(rf"{_FORMAT_WORDS}.{{0,80}}?{_REFUSED_WORDS}|{_REFUSED_WORDS}.{{0,80}}?{_FORMAT_WORDS}"
                        r"|output_config: Extra inputs are not permitted", re.I)


@dataclass(frozen=True, slots=True)
class Correction:
    """Profile fields to change, and why (for the log, the flow and the route table)."""

    changes: dict[str, Any]
    why: str


def refusal_message(body: bytes) -> str:
    """The message of an Anthropic or OpenAI-style error body ("" when there is none)."""
    try:
        payload = jsonio.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        return ""
    error = payload.get("error") if isinstance(payload, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) else ""


def correction_for(message: str, profile: ModelProfile) -> Correction | None:
    """The correction a refusal asks for, or None if it names nothing codex-shim chose."""
    for rule in _RULES:
        found = rule(message, profile)
        if found is not None:
            return found
    return None


def _forms(profile: ModelProfile) -> tuple[str, ...]:
    return profile.thinking if profile.thinking is not None else ("enabled", "disabled")


def _thinking_form_refused(message: str, profile: ModelProfile) -> Correction | None:
    # Anthropic, adaptive-only models: '"thinking.type.enabled" is not supported for this model. Use
    # "thinking.type.adaptive" and "output_config.effort" …' (and the same for "disabled" on models
    # that always think); docs, thinking troubleshooting.
    found = _THINKING_ON_ADAPTIVE.search(message)
    if not found:
        return None
    refused = found.group(1)
    forms = tuple(f for f in _forms(profile) if f != refused)
    forms = forms if "adaptive" in forms else ("adaptive", *forms)
    return Correction({"thinking": forms}, f"thinking type {refused} refused: adaptive thinking instead")


def _adaptive_refused(message: str, profile: ModelProfile) -> Correction | None:
    # Anthropic, budget-only models (Haiku 4.5, Sonnet 4.5, Opus 4.5): "adaptive thinking is not supported on this model".
    if not _NO_ADAPTIVE.search(message):
        return None
    forms = tuple(f for f in _forms(profile) if f != "adaptive")
    forms = forms if "enabled" in forms else ("enabled", *forms)
    return Correction({"thinking": forms}, "adaptive thinking refused: a thinking budget instead")


def _between_tools(message: str, profile: ModelProfile) -> Correction | None:
    # Anthropic, Sonnet 5.5: 'To turn thinking off on this model, send "thinking": {"type": "between_tools"} instead of {"type": "disabled"}.'
    if not _BETWEEN_TOOLS.search(message):
        return None
    forms = tuple(f for f in _forms(profile) if f != "disabled")
    return Correction({"thinking": (*forms, "between_tools")}, "thinking type disabled refused: between_tools instead")


def _effort_refused(message: str, profile: ModelProfile) -> Correction | None:
    # Anthropic: "This model does not support the effort parameter." (Haiku 4.5) and "This model does
    # not support effort level 'max'. Supported levels: high, low, medium." (Opus 4.5).
    if _NO_EFFORT.search(message):
        return Correction({"efforts": ()}, "effort parameter refused: none sent")
    found = _EFFORT_LEVELS.search(message)
    if not found:
        return None
    levels = ordered([level.strip() for level in found.group(2).split(",")])
    return Correction({"efforts": levels}, f"effort {found.group(1)!r} refused: the model takes {', '.join(levels)}")


def _max_tokens_refused(message: str, profile: ModelProfile) -> Correction | None:
    # Anthropic: "max_tokens: 128001 > 64000, which is the maximum allowed number of output tokens for …";
    # OpenAI: "max_tokens is too large: 200000. This model supports at most 128000 completion tokens …".
    found = _MAX_TOKENS.search(message) or _CHAT_MAX_TOKENS.search(message)
    if not found:
        return None
    return Correction({"max_output_tokens": int(found.group(1))}, f"max_tokens above the model's limit: {found.group(1)}")


def _chat_effort_refused(message: str, profile: ModelProfile) -> Correction | None:
    # OpenAI: "Unsupported value: 'reasoning_effort' does not support 'xhigh' with this model.
    # Supported values are: 'low', 'medium', and 'high'."; and a server without the parameter.
    found = _CHAT_EFFORT_VALUES.search(message)
    if found:
        levels = ordered(_WORD.findall(found.group(2).replace(" and ", ",")))
        return Correction({"efforts": levels}, f"reasoning_effort {found.group(1)!r} refused: the model takes {', '.join(levels)}")
    if _CHAT_NO_EFFORT.search(message):
        return Correction({"efforts": ()}, "reasoning_effort refused: none sent")
    return None


def _format_refused(message: str, profile: ModelProfile) -> Correction | None:
    # Anthropic, a model without structured outputs (its refusal's exact wording is not on record:
    # any 400 naming output_config.format, the output format or structured outputs as unsupported,
    # or a compatible endpoint's "output_config: Extra inputs are not permitted"): answer through
    # a tool instead (shim/providers/anthropic_format.py). A correction that changes nothing in
    # the request (no format asked for) is not applied (Router._correction).
    if profile.structured_outputs is False or not _NO_FORMAT.search(message):
        return None
    return Correction({"structured_outputs": False}, "structured outputs refused: the JSON answer comes through a tool")


_RULES: tuple[Callable[[str, ModelProfile], Correction | None], ...] = (
    _thinking_form_refused, _adaptive_refused, _between_tools, _effort_refused, _max_tokens_refused, _chat_effort_refused,
    _format_refused,
)
