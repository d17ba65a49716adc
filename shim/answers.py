"""The HTTP answers codex-shim writes itself: errors, failed streams, finished SSE bodies
and the JSON answers of calls that did not ask for a stream."""

from __future__ import annotations

import json
from typing import Any

from mitmproxy import http

from .errors import ShimError
from .responses_stream import ResponseStream

SSE_TYPE = "text/event-stream; charset=utf-8"


def error_response(error: ShimError) -> http.Response:
    """A Responses-shaped JSON error with the status Codex should see."""
    headers = {"content-type": "application/json"}
    if error.retry_after:
        headers["retry-after"] = error.retry_after
    return http.Response.make(error.status, error.body(), headers)


def failed_stream_response(error: ShimError, events: bytes) -> http.Response:
    """A 200 SSE answer ending in response.failed: the form whose code and message Codex reads."""
    headers = {"content-type": SSE_TYPE, "x-codex-shim-upstream-status": str(error.status)}
    if error.retry_after:
        headers["retry-after"] = error.retry_after
    return http.Response.make(200, events, headers)


def failed_stream(error: ShimError, model: str) -> http.Response:
    """`failed_stream_response` for a turn that has no stream of its own yet."""
    stream = ResponseStream(model)
    stream.fail(error.code, error.message)
    return failed_stream_response(error, stream.drain())


def sse_response(events: bytes) -> http.Response:
    return http.Response.make(200, events, {"content-type": SSE_TYPE})


FAILED_STATUS = {"rate_limit_exceeded": 429, "insufficient_quota": 429, "context_length_exceeded": 400,
                 "invalid_prompt": 400, "invalid_request_error": 400, "server_error": 500, "server_is_overloaded": 503}
"""A failed answer's HTTP status for a caller that asked for JSON; any other code failed upstream (502)."""


def json_response(response: dict[str, Any] | None) -> http.Response:
    """A non-streamed call's answer: the final response object, or, when it failed, the error with
    the status a client acts on (the openai SDK retries a 429 or 5xx, shows the rest)."""
    if response is None:
        response = {"status": "failed", "error": {"code": "upstream_protocol_error",
                                                  "message": "codex-shim: the provider's answer ended before it was complete"}}
    if response.get("status") == "failed":
        error = response.get("error") or {}
        code = str(error.get("code") or "server_error")
        return error_response(ShimError(FAILED_STATUS.get(code, 502), code, str(error.get("message") or "the provider failed the request")))
    return http.Response.make(200, json.dumps(response).encode(), {"content-type": "application/json"})


def compacted_response(response: dict[str, Any] | None) -> http.Response:
    """`POST …/responses/compact`'s answer: the compacted output with the answer's id, time and
    usage (the SDK's CompactedResponse), or the failure's error."""
    if response is None or response.get("status") != "completed":
        error = (response or {}).get("error") or {"code": "server_error", "message": "compaction failed"}
        return http.Response.make(502, json.dumps({"error": error}).encode(), {"content-type": "application/json"})
    answer = {"id": response.get("id"), "object": "response.compaction", "created_at": response.get("created_at"),
              "output": response.get("output") or [], "usage": response.get("usage")}
    return http.Response.make(200, json.dumps(answer).encode(), {"content-type": "application/json"})
