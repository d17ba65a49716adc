"""mitmproxy requests and responses made from fields that are already of the right types.

mitmproxy's message constructors check every field's type against its annotation when Python
runs without -O (MessageData.__post_init__, under `if __debug__`): about 25 µs a message, and
every BYOK turn makes two (the provider's request, Codex's response) on the way to its first
delta. These build the same objects without that check; the callers pass exactly the types the
constructor takes, and tests/test_mitmproxy_internals.py holds each to what the constructor makes.
"""

from __future__ import annotations

from typing import Any

from mitmproxy import http


def request(host: str, port: int, method: bytes, scheme: bytes, authority: bytes, path: bytes, http_version: bytes,
            headers: http.Headers, content: bytes | None, timestamp_start: float, timestamp_end: float | None) -> http.Request:
    """http.Request(..., trailers=None, ...) built without the debug-mode field check."""
    return _message(http.Request, http.RequestData, http_version=http_version, headers=headers, content=content, trailers=None,
                    timestamp_start=timestamp_start, timestamp_end=timestamp_end,
                    host=host, port=port, method=method, scheme=scheme, authority=authority, path=path)


def response(http_version: bytes, status_code: int, reason: bytes, headers: http.Headers, content: bytes | None,
             timestamp_start: float, timestamp_end: float | None) -> http.Response:
    """http.Response(..., trailers=None, ...) built without the debug-mode field check."""
    return _message(http.Response, http.ResponseData, http_version=http_version, headers=headers, content=content, trailers=None,
                    timestamp_start=timestamp_start, timestamp_end=timestamp_end, status_code=status_code, reason=reason)


def _message[M: http.Message](cls: type[M], data_cls: type[http.MessageData], **fields: Any) -> M:
    """What the constructor does: a data object holding the fields (in the dataclass's order), and
    the message holding it."""
    data = object.__new__(data_cls)
    data.__dict__.update(fields)
    message = object.__new__(cls)
    message.data = data
    return message
