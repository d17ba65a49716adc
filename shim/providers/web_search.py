"""Web searches a provider runs itself, as Codex's own `web_search_call` items.

Request side: Codex's hosted `web_search` tool (sent on turns where search is on) becomes the
provider's search where the model's profile lists it; `external_web_access: false` (Codex's
cached-only mode) is something no provider here can honour, so such a turn gets no search and
the route says so once. Stream side (`SearchLog`): each search is a `web_search_call` item with
its query and the pages found, in stream order with the text; citations become `url_citation`
annotations. What the provider needs back on later turns (Anthropic: the `server_tool_use` and
`web_search_tool_result` blocks, encrypted content and all) travels in a reasoning item's carrier,
with the sources in plain words for any other route the conversation moves to.
"""

from __future__ import annotations

import logging
from typing import Any

from .. import carrier, jsonio
from ..config import ModelRoute
from ..model_profile import ModelProfile
from ..responses_stream import EventWriter

log = logging.getLogger("codex_shim")

CARRIER_KIND = "anthropic"
ANTHROPIC_TOOL = "web_search_20250305"  # the version every model with web search takes, without code execution blocks
_LOCATION_FIELDS = ("city", "region", "country", "timezone")
_reported: set[str] = set()


def web_search_kind(route: ModelRoute, profile: ModelProfile) -> str | None:
    """How the route's model searches when Codex turns search on (None: it cannot, the tool is dropped)."""
    if route.provider == "anthropic" and "web_search" in profile.server_tools:
        return "Anthropic's web search tool"
    if route.provider == "responses":
        return "passed to the upstream's own web_search tool"
    if route.provider != "anthropic" and "openrouter:web_search" in profile.server_tools:
        return "OpenRouter's web search server tool"
    return None


def codex_tool(tools: list[Any]) -> dict[str, Any] | None:
    """Codex's hosted web search tool in a request's tools, if the turn has search on."""
    return next((t for t in tools if isinstance(t, dict) and t.get("type") in ("web_search", "web_search_preview")), None)


def live(tool: dict[str, Any], route: str) -> bool:
    """Is live search asked for? Codex's cached-only mode cannot be honoured: said once per route."""
    if tool.get("external_web_access") is not False:
        return True
    if route not in _reported:
        _reported.add(route)
        log.warning(f"codex-shim ({route}): Codex asks for cached web search only, which the provider cannot do: "
                    "no search on this route (set web_search = \"live\" in Codex's config to let it search live)")
    return False


def anthropic_server_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """Anthropic's web search tool with Codex's domain filter and approximate location."""
    server: dict[str, Any] = {"type": ANTHROPIC_TOOL, "name": "web_search"}
    filters = _dict(tool.get("filters"))
    domains = filters.get("allowed_domains")
    if isinstance(domains, list) and domains:
        server["allowed_domains"] = [d for d in domains if isinstance(d, str)]
    location = _dict(tool.get("user_location"))
    place = {k: location[k] for k in _LOCATION_FIELDS if isinstance(location.get(k), str) and location[k]}
    if place:
        server["user_location"] = {"type": "approximate", **place}
    return server


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def openrouter_server_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """OpenRouter's web search server tool, with Codex's domain filter, context size and location."""
    parameters: dict[str, Any] = {}
    domains = _dict(tool.get("filters")).get("allowed_domains")
    if isinstance(domains, list) and domains:
        parameters["allowed_domains"] = [d for d in domains if isinstance(d, str)]
    if tool.get("search_context_size") in ("low", "medium", "high"):
        parameters["search_context_size"] = tool["search_context_size"]
    location = _dict(tool.get("user_location"))
    place = {k: location[k] for k in _LOCATION_FIELDS if isinstance(location.get(k), str) and location[k]}
    if place:
        parameters["user_location"] = {"type": "approximate", **place}
    return {"type": "openrouter:web_search", "parameters": parameters}


class CitedSearch:
    """OpenRouter's search in a chat stream: it names no query, only the pages, as url_citation
    annotations (before the text, one per chunk). They become one web_search_call item, closed
    when the text starts, and url_citations over the whole answer at its end."""

    KEY = ("search", "cited")

    def __init__(self, writer: EventWriter) -> None:
        self.writer = writer
        self.open = False
        self.reported = False
        self.urls: list[str] = []
        self.citations: list[dict[str, Any]] = []

    def cited(self, annotations: Any) -> None:
        for annotation in annotations if isinstance(annotations, list) else []:
            cited = _dict(_dict(annotation).get("url_citation"))
            url = cited.get("url")
            if _dict(annotation).get("type") != "url_citation" or not isinstance(url, str) or url in self.urls:
                continue
            if not self.reported and not self.writer.text_offset():  # before any text: the search comes first
                self.writer.search_started(self.KEY)
                self.open = self.reported = True
            self.urls.append(url)
            self.citations.append({"type": "url_citation", "url": url, "title": str(cited.get("title") or "")})

    def close(self) -> None:
        if self.open:
            self.open = False
            self.writer.search_done(self.KEY, query="", sources=list(self.urls))

    def finish(self, searches: int = 0) -> None:
        """At the answer's end: citations over the whole text; pages cited only once the text had
        begun make their search item after it; searches the usage counts but nothing cited (a
        provider's native search) are shown as searches without pages."""
        self.close()
        end = self.writer.text_offset()
        if self.citations and end:
            self.writer.annotate([{**citation, "start_index": 0, "end_index": end} for citation in self.citations])
        if self.urls and not self.reported:
            self.reported = True
            self.writer.search_done(self.KEY, query="", sources=list(self.urls))
        for n in range(searches - int(self.reported)):
            self.writer.search_done(("search", "counted", n), query="", sources=[])


class SearchLog:
    """Anthropic's search blocks in one answer, turned into writer calls as they stream."""

    def __init__(self, writer: EventWriter) -> None:
        self.writer = writer
        self.uses: dict[str, dict[str, Any]] = {}  # server_tool_use id -> the block, input filled in at its stop

    def started(self, use_id: str, block: dict[str, Any]) -> None:
        self.uses[use_id] = {"type": "server_tool_use", "id": use_id, "name": block.get("name"), "input": block.get("input") or {}}
        self.writer.search_started(("search", use_id))

    def asked(self, use_id: str, partial_json: str) -> None:
        try:
            query = jsonio.loads(partial_json) if partial_json.strip() else {}
        except ValueError:
            query = {}
        if use_id in self.uses and isinstance(query, dict) and query:
            self.uses[use_id]["input"] = query

    def result(self, block: dict[str, Any]) -> None:
        """A search's results (they arrive whole): its item is done; the pair is carried for replay."""
        use_id = str(block.get("tool_use_id") or "")
        use = self.uses.pop(use_id, None)
        query = str(((use or {}).get("input") or {}).get("query") or "")
        content = block.get("content")
        results = [r for r in content if isinstance(r, dict) and r.get("type") == "web_search_result"] if isinstance(content, list) else []
        failed = not isinstance(content, list)  # an error is one object: {"type": "web_search_tool_result_error", ...}
        urls = [str(r["url"]) for r in results if isinstance(r.get("url"), str)]
        self.writer.search_done(("search", use_id), query=query, sources=urls, status="failed" if failed else "completed")
        if use is not None:  # a result without its call (the call was in a paused answer) cannot be replayed
            found = [{"url": r.get("url"), "title": r.get("title")} for r in results]
            payload = {"blocks": [use, block], "sources": [{"query": query, "results": found}]}
            self.writer.opaque_reasoning(carrier.wrap(CARRIER_KIND, payload))

    def unanswered(self) -> None:
        """Searches the answer ended without (a paused turn): done as incomplete, never replayed."""
        for use_id, use in list(self.uses.items()):
            query = str((use.get("input") or {}).get("query") or "")
            self.writer.search_done(("search", use_id), query=query, sources=[], status="incomplete")
        self.uses.clear()


def url_citations(citations: list[dict[str, Any]], start: int, end: int) -> list[dict[str, Any]]:
    """Anthropic's web citations of one text block as url_citation annotations over its span."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for citation in citations:
        url = citation.get("url")
        if citation.get("type") != "web_search_result_location" or not isinstance(url, str) or url in seen:
            continue
        seen.add(url)
        out.append({"type": "url_citation", "url": url, "title": str(citation.get("title") or ""),
                    "start_index": start, "end_index": max(start, end)})
    return out


def sources_text(encrypted_content: object) -> str | None:
    """The web sources a carrier holds, in plain words, for a route that cannot replay the provider's blocks."""
    found = carrier.unwrap_any(encrypted_content)
    sources = found[1].get("sources") if found is not None else None
    if not isinstance(sources, list) or not sources:
        return None
    lines = []
    for search in sources:
        if not isinstance(search, dict):
            continue
        lines.append(f"[web search: {search.get('query') or '(no query)'}]")
        for result in search.get("results") or []:
            if isinstance(result, dict) and result.get("url"):
                lines.append(f"- {result.get('title') or result['url']} <{result['url']}>")
    return "\n".join(lines) if lines else None
