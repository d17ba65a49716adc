"""Responses-shaped errors: what Codex can read, retry on, or show the user.

Upstream failures keep their status and the provider's own message, gain the provider and model
that produced them, and get the `code` Codex acts on (context_length_exceeded stops retries,
insufficient_quota is shown, rate_limit_exceeded with "try again in N s" paces the retry).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from . import jsonio

_CONTEXT = re.compile(
    r"context.length|context window|maximum context|context_length|too many tokens|"
    r"prompt is too long|reduce the length|input is too long|exceeds the model",
    re.IGNORECASE,
)
# Money, not pace: a per-minute "quota exceeded for metric" 429 must stay retryable.
_QUOTA = re.compile(r"insufficient.(quota|balance|credits|funds)|out of credits|billing|credit balance", re.IGNORECASE)
_OVERLOADED = re.compile(r"overloaded", re.IGNORECASE)
_STREAMED_CODES = frozenset({"context_length_exceeded", "insufficient_quota", "rate_limit_exceeded", "server_is_overloaded"})


class RequestError(Exception):
    """A request the shim cannot translate; becomes a 400 that says why."""

    def __init__(self, message: str, status: int = 400, code: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class ShimError:
    status: int
    code: str
    message: str
    retry_after: str | None = None

    @property
    def as_stream(self) -> bool:
        """Whether Codex should get this as a `response.failed` event rather than an HTTP status.

        Codex 0.169 discards the body of a 429 or 5xx ("exceeded retry limit, last status: 429")
        but reads `response.failed`: its code decides retry or stop, its message is shown, and
        "try again in N s" paces the retry. Plain 4xx keep their status; Codex shows their body.
        """
        return self.status == 429 or self.status >= 500 or self.code in _STREAMED_CODES

    def body(self) -> bytes:
        return json.dumps(
            {"error": {"type": _error_type(self.status), "code": self.code, "message": self.message, "param": None}}
        ).encode()


def _error_type(status: int) -> str:
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def provider_message(body: bytes) -> tuple[str, str | None]:
    """The provider's own (message, code) out of whatever error body it sent."""
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed: Any = jsonio.loads(text)
    except ValueError:
        return (text[:2000] or "(empty body)"), None
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    if not isinstance(parsed, dict):
        return text[:2000], None
    err = parsed.get("error", parsed)
    if isinstance(err, str):
        return err, None
    if isinstance(err, dict):
        message = err.get("message") or err.get("detail") or parsed.get("message") or json.dumps(err)[:2000]
        code = err.get("code") or err.get("type")
        return str(message), (str(code) if code is not None else None)
    return text[:2000], None


def classify(status: int, message: str, upstream_code: str | None) -> str:
    """The Responses error code Codex acts on for an upstream failure."""
    joined = f"{upstream_code or ''} {message}"
    if _CONTEXT.search(joined) and status in (400, 413, 422):
        return "context_length_exceeded"
    if status == 402 or (status in (400, 403, 429) and _QUOTA.search(joined)):
        return "insufficient_quota"
    if status == 429:
        return "rate_limit_exceeded"
    if status in (503, 529) or _OVERLOADED.search(joined):
        return "server_is_overloaded"
    return upstream_code or ("server_error" if status >= 500 else "upstream_error")


def from_upstream(
    status: int, body: bytes, retry_after: str | None, provider: str, model: str
) -> ShimError:
    message, upstream_code = provider_message(body)
    code = classify(status, message, upstream_code)
    text = f"{provider} ({model}) answered {status}: {message}"
    if code == "rate_limit_exceeded" and retry_after and retry_after.strip().replace(".", "", 1).isdigit():
        text += f" Please try again in {retry_after.strip()}s."
    if status == 401:
        # Codex reads a 401 as its own login failing: it refreshes its ChatGPT token and drops
        # the message. The provider refused *our* key, so say so with a status Codex shows.
        return ShimError(400, "invalid_api_key", text + " (check this route's api_key / api_key_env)", retry_after)
    # A 529 is not an HTTP status Codex knows; 503 carries the same meaning.
    return ShimError(503 if status == 529 else status, code, text, retry_after)


def previous_response_not_found(response_id: str) -> ShimError:
    """A BYOK call that continues a stored response: codex-shim stores none, so it cannot be
    found — said plainly, never answered without the conversation's start."""
    return ShimError(
        400,
        "previous_response_not_found",
        f"codex-shim: previous response {response_id!r} not found: BYOK models keep no responses "
        "(previous_response_id cannot be resolved); send the whole conversation as input instead",
    )


def needs_stored_state(body: dict[str, Any]) -> ShimError | None:
    """A BYOK call that only stored state could answer (codex-shim stores none), refused plainly."""
    if previous := body.get("previous_response_id"):
        return previous_response_not_found(str(previous))
    if body.get("background") is True:
        return ShimError(400, "invalid_request_error", "codex-shim: background responses are not supported for BYOK models "
                         "(nothing is stored to poll later); send the call without background")
    if body.get("conversation"):
        return ShimError(400, "invalid_request_error", "codex-shim: conversations are not supported for BYOK models (nothing is "
                         "stored); send the whole conversation as input instead")
    return None
