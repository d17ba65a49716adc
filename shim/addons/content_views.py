"""The "codex-shim SSE" content view in mitmproxy / mitmweb, for as long as the addon is loaded.

mitmweb shows a streamed turn as raw `data:` lines, hundreds per answer; this view (shim/sse_view.py)
shows one line per event with the deltas joined. It is registered in `load`, not at import:
mitmproxy re-runs addons/codex_shim.py when it changes, but our package stays imported, so an
import-time registration would not come back after `done` removed it.
"""

from __future__ import annotations

from typing import Any

from mitmproxy import contentviews

from shim import sse_view

_SSE = "text/event-stream"


class SSEContentview(contentviews.Contentview):
    """An event stream, one line per event: auto-selected for SSE whatever the content type says."""

    @property
    def name(self) -> str:
        return "codex-shim SSE"

    def prettify(self, data: bytes, metadata: contentviews.Metadata) -> str:
        return "\n".join(sse_view.render(data))

    def render_priority(self, data: bytes, metadata: contentviews.Metadata) -> float:
        if metadata.content_type == _SSE:
            return 2  # above every built-in view (they stay at or below 1)
        if sse_view.looks_like_sse(data):
            return 1.5  # an SSE body labelled application/json or text/plain: JSON would fail on it
        return 0  # below raw (0.1): never chosen for anything else


class ContentViews:
    """Registers the view while loaded; a reload replaces it under the same name, never twice."""

    def __init__(self) -> None:
        self.view = SSEContentview()

    def load(self, loader: Any) -> None:
        contentviews.add(self.view)  # the registry is keyed by name: a second add replaces the first

    def done(self) -> None:
        # mitmproxy 12 has no public removal (contentviews.remove is a deprecated no-op), so drop
        # it from the registry by name, and only if it is still ours: a newer load may own it.
        key = self.view.name.lower()
        if contentviews.registry.get(key) is self.view:
            del contentviews.registry._by_name[key]
