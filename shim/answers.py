"""The HTTP answers codex-shim writes itself: errors, failed streams and finished SSE bodies."""

from __future__ import annotations

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
