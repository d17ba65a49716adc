"""shim.state.request_host: mitmproxy's own `pretty_host` (lowercased), for every form a request names its host in."""

from __future__ import annotations

import pytest
from mitmproxy import http

from shim.state import Shim, _authority_host, request_host


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    _authority_host.cache_clear()


def _request(url: str, headers: dict[str, str], http_version: str = "HTTP/1.1") -> http.Request:
    request = http.Request.make("POST", url, b"{}")
    request.http_version = http_version
    request.headers.pop("host", None)  # make() writes the URL's: the header is set as the case has it
    request.headers.update(headers)
    return request


@pytest.mark.parametrize(
    ("url", "headers", "http_version"),
    [
        ("http://127.0.0.1:9/v1/responses", {"host": "127.0.0.1:9"}, "HTTP/1.1"),
        ("https://chatgpt.com/backend-api/codex/responses", {"host": "chatgpt.com"}, "HTTP/1.1"),
        ("https://chatgpt.com/backend-api/codex/responses", {"host": "ChatGPT.com:443"}, "HTTP/1.1"),
        ("https://10.0.0.1/v1/responses", {"host": "api.openai.com"}, "HTTP/1.1"),  # transparent mode: the header names it
        ("https://10.0.0.1/v1/responses", {}, "HTTP/1.1"),  # no header: the request's own host
        ("http://[::1]:8080/v1/responses", {"host": "[::1]:8080"}, "HTTP/1.1"),
        ("https://api.openai.com/v1/responses", {"host": "not a host:x"}, "HTTP/1.1"),  # malformed: kept whole, as mitmproxy does
        ("https://api.openai.com/v1/responses", {"host": "b\u00fccher.example"}, "HTTP/1.1"),
        ("https://api.openai.com/v1/responses", {}, "HTTP/2.0"),
    ],
)
def test_is_pretty_host_lowercased(url: str, headers: dict[str, str], http_version: str) -> None:
    request = _request(url, headers, http_version)
    for _ in range(2):  # the second answer comes from the cache
        assert request_host(request) == request.pretty_host.lower()


def test_the_cache_is_of_the_header_alone() -> None:
    """Two requests with the same Host header and different hosts of their own: the header names both."""
    first = _request("https://10.0.0.1/v1/responses", {"host": "api.openai.com"})
    second = _request("https://10.0.0.2:8443/v1/responses", {"host": "api.openai.com"})
    assert request_host(first) == request_host(second) == second.pretty_host == "api.openai.com"
    assert request_host(_request("https://10.0.0.3/v1/responses", {})) == "10.0.0.3"


def test_http2_authority_wins_over_a_host_header() -> None:
    request = _request("https://api.openai.com/v1/responses", {"host": "chatgpt.com"}, "HTTP/2.0")
    request.authority = "Api.OpenAI.com"
    assert request_host(request) == request.pretty_host.lower() == "api.openai.com"


def test_our_host_by_name_or_name_and_port() -> None:
    shim = Shim(hosts=frozenset({"chatgpt.com", "127.0.0.1:9"}))
    assert shim.is_our_host(_request("https://chatgpt.com/backend-api/codex/responses", {"host": "chatgpt.com"}))
    assert shim.is_our_host(_request("http://127.0.0.1:9/v1/responses", {"host": "127.0.0.1:9"}))
    assert not shim.is_our_host(_request("http://127.0.0.1:10/v1/responses", {"host": "127.0.0.1:10"}))
    assert not shim.is_our_host(_request("https://example.com/v1/responses", {"host": "example.com"}))
