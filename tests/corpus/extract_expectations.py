"""Independent reference decoder for the recorded provider streams in this folder.

It reads each ``*.sse`` file named in ``manifest.json``, decodes the provider's
own events (Chat Completions chunks, Anthropic Messages events, or Responses
events) with nothing but the standard library, and derives the short facts
stored under each entry's ``expect`` key: the text, the reasoning, the tool
calls with their joined argument strings, the stop reason, the usage the
provider reported, and any error the stream carried.

It deliberately shares no code with ``shim/``: the point is a second opinion
that the translators' tests can compare against.

    python tests/corpus/extract_expectations.py           # check manifest.json
    python tests/corpus/extract_expectations.py --write   # rewrite its expect keys
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def sse_events(raw: str) -> list[tuple[str | None, str]]:
    """Split an SSE body into (event name, data) pairs; comment lines are dropped."""
    events: list[tuple[str | None, str]] = []
    name: str | None = None
    data: list[str] = []
    for line in raw.replace("\r\n", "\n").split("\n"):
        if line == "":
            if data:
                events.append((name, "\n".join(data)))
            name, data = None, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if data:
        events.append((name, "\n".join(data)))
    return events


def chat_facts(events: list[tuple[str | None, str]]) -> dict[str, Any]:
    text: list[str] = []
    reasoning: list[str] = []
    details: dict[str, list[str]] = {}
    signatures = 0
    calls: list[dict[str, str]] = []
    by_index: dict[int, dict[str, str]] = {}
    stop = None
    usage = None
    errors = []
    done = False
    cited: list[str] = []
    for _, data in events:
        if data == "[DONE]":
            done = True
            continue
        chunk = json.loads(data)
        if chunk.get("error"):
            errors.append(chunk["error"])
        if chunk.get("usage"):
            usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str):
                text.append(content)
            elif isinstance(content, list):  # Mistral: typed parts
                for part in content:
                    if part.get("type") == "text":
                        text.append(part.get("text", ""))
                    elif part.get("type") == "thinking":
                        reasoning.extend(t.get("text", "") for t in part.get("thinking") or [])
            if isinstance(delta.get("reasoning_content"), str):
                reasoning.append(delta["reasoning_content"])
            elif isinstance(delta.get("reasoning"), str):
                reasoning.append(delta["reasoning"])
            for d in delta.get("reasoning_details") or []:
                kind = d.get("type", "?")
                piece = d.get("text") or d.get("summary") or d.get("data") or ""
                details.setdefault(kind, []).append(piece)
                if d.get("signature"):
                    signatures += 1
            for tc in delta.get("tool_calls") or []:
                fn = tc.get("function") or {}
                if "index" in tc:
                    call = by_index.get(tc["index"])
                    if call is None:
                        call = by_index[tc["index"]] = {"id": "", "name": "", "arguments": ""}
                        calls.append(call)
                elif tc.get("id") or not calls:  # index-less: a new id opens a new call
                    call = {"id": "", "name": "", "arguments": ""}
                    calls.append(call)
                else:
                    call = calls[-1]
                if tc.get("id"):
                    call["id"] = tc["id"]
                if fn.get("name"):
                    call["name"] += fn["name"]
                if fn.get("arguments"):
                    call["arguments"] += fn["arguments"]
            for annotation in delta.get("annotations") or []:
                if annotation.get("type") == "url_citation":
                    cited.append(annotation["url_citation"]["url"])
            if choice.get("finish_reason"):
                stop = choice["finish_reason"]
    facts: dict[str, Any] = {"text": "".join(text)}
    if cited:
        facts["cited_urls"] = sorted(set(cited))
    searches = ((usage or {}).get("server_tool_use_details") or {}).get("web_search_requests")
    if searches:
        facts["web_search_requests"] = searches
    if reasoning:
        facts["reasoning"] = "".join(reasoning)
    if details:
        facts["reasoning_details"] = {k: "".join(v) for k, v in details.items()}
    if signatures:
        facts["reasoning_signatures"] = signatures
    if calls:
        facts["tool_calls"] = calls
    facts["stop"] = stop
    if usage is not None:
        facts["usage"] = {k: usage[k] for k in ("prompt_tokens", "completion_tokens", "total_tokens") if k in usage}
        rt = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
        if rt is not None:
            facts["usage"]["reasoning_tokens"] = rt
    if errors:
        facts["errors"] = errors
    facts["done_sentinel"] = done
    return facts


def anthropic_facts(events: list[tuple[str | None, str]]) -> dict[str, Any]:
    blocks: dict[int, dict[str, Any]] = {}
    order: list[int] = []
    stop = None
    usage: dict[str, Any] = {}
    errors = []
    for name, data in events:
        ev = json.loads(data)
        kind = ev.get("type")
        if name is not None and name != kind:
            raise ValueError(f"event line {name!r} disagrees with data type {kind!r}")
        if kind == "message_start":
            u = ev["message"].get("usage") or {}
            usage["input_tokens"] = u.get("input_tokens")
            usage["output_tokens"] = u.get("output_tokens")
        elif kind == "content_block_start":
            cb = ev["content_block"]
            blocks[ev["index"]] = {"type": cb["type"], "start": cb, "text": "", "json": "", "sig": "", "cited": []}
            order.append(ev["index"])
        elif kind == "content_block_delta":
            b, d = blocks[ev["index"]], ev["delta"]
            if d["type"] == "text_delta":
                b["text"] += d["text"]
            elif d["type"] == "thinking_delta":
                b["text"] += d["thinking"]
            elif d["type"] == "signature_delta":
                b["sig"] += d["signature"]
            elif d["type"] == "input_json_delta":
                b["json"] += d["partial_json"]
            elif d["type"] == "citations_delta" and d["citation"].get("type") == "web_search_result_location":
                b["cited"].append(d["citation"]["url"])
        elif kind == "message_delta":
            stop = ev["delta"].get("stop_reason") or stop
            u = ev.get("usage") or {}
            if "input_tokens" in u:
                usage["input_tokens"] = u["input_tokens"]
            if "output_tokens" in u:
                usage["output_tokens"] = u["output_tokens"]
        elif kind == "error":
            errors.append(ev.get("error"))
    text = "".join(blocks[i]["text"] for i in order if blocks[i]["type"] == "text")
    facts: dict[str, Any] = {"text": text}
    thinking = "".join(blocks[i]["text"] for i in order if blocks[i]["type"] == "thinking")
    if thinking:
        facts["reasoning"] = thinking
    sigs = [blocks[i]["sig"] for i in order if blocks[i]["type"] == "thinking" and blocks[i]["sig"]]
    if sigs:
        facts["thinking_signatures"] = len(sigs)
    redacted = [i for i in order if blocks[i]["type"] == "redacted_thinking"]
    if redacted:
        facts["redacted_thinking_blocks"] = len(redacted)
    calls = [
        {"kind": blocks[i]["type"], "id": blocks[i]["start"]["id"], "name": blocks[i]["start"]["name"], "arguments": blocks[i]["json"]}
        for i in order
        if blocks[i]["type"] in ("tool_use", "server_tool_use")
    ]
    if calls:
        facts["tool_calls"] = calls
    searches = []
    for i in order:  # each web search: its query, and its results (a count) or its error code
        if blocks[i]["type"] == "server_tool_use" and blocks[i]["start"].get("name") == "web_search":
            query = json.loads(blocks[i]["json"]).get("query", "") if blocks[i]["json"].strip() else ""
            result = next((blocks[j]["start"] for j in order if blocks[j]["type"] == "web_search_tool_result"
                           and blocks[j]["start"].get("tool_use_id") == blocks[i]["start"]["id"]), None)
            content = result.get("content") if result is not None else None
            found = len(content) if isinstance(content, list) else (content or {}).get("error_code", "no result")
            searches.append({"query": query, "results": found})
    if searches:
        facts["web_searches"] = searches
    cited = sorted({url for i in order for url in blocks[i]["cited"]})
    if cited:
        facts["cited_urls"] = cited
    facts["block_types"] = [blocks[i]["type"] for i in order]
    facts["stop"] = stop
    facts["usage"] = usage
    if errors:
        facts["errors"] = errors
    return facts


def responses_facts(events: list[tuple[str | None, str]]) -> dict[str, Any]:
    text: list[str] = []
    reasoning: list[str] = []
    calls: dict[str, dict[str, str]] = {}
    order: list[str] = []
    status = None
    usage = None
    errors = []
    done = False
    for name, data in events:
        if data == "[DONE]":
            done = True
            continue
        ev = json.loads(data)
        kind = ev.get("type")
        if name is not None and name != kind:
            raise ValueError(f"event line {name!r} disagrees with data type {kind!r}")
        if kind == "response.output_text.delta":
            text.append(ev["delta"])
        elif kind in ("response.reasoning_text.delta", "response.reasoning_summary_text.delta"):
            reasoning.append(ev["delta"])
        elif kind == "response.output_item.added" and ev["item"]["type"] == "function_call":
            item = ev["item"]
            calls[item["id"]] = {"call_id": item["call_id"], "name": item["name"], "arguments": item.get("arguments", "")}
            order.append(item["id"])
        elif kind == "response.function_call_arguments.delta":
            calls[ev["item_id"]]["arguments"] += ev["delta"]
        elif kind == "error":
            errors.append(ev.get("error"))
        elif kind in ("response.completed", "response.failed", "response.incomplete"):
            status = ev["response"]["status"]
            usage = ev["response"].get("usage")
    facts: dict[str, Any] = {"text": "".join(text)}
    if reasoning:
        facts["reasoning"] = "".join(reasoning)
    if order:
        facts["tool_calls"] = [calls[i] for i in order]
    facts["stop"] = status
    if usage:
        facts["usage"] = {k: usage[k] for k in ("input_tokens", "output_tokens", "total_tokens") if k in usage}
        rt = (usage.get("output_tokens_details") or {}).get("reasoning_tokens")
        if rt is not None:
            facts["usage"]["reasoning_tokens"] = rt
    if errors:
        facts["errors"] = errors
    facts["done_sentinel"] = done
    return facts


DECODERS = {"chat": chat_facts, "anthropic": anthropic_facts, "responses": responses_facts}


def facts_for(entry: dict[str, Any]) -> dict[str, Any]:
    raw = (HERE / entry["file"]).read_text(encoding="utf-8")
    return DECODERS[entry["shape"]](sse_events(raw))


def main(argv: list[str]) -> int:
    manifest_path = HERE / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if "--write" in argv:
        for entry in manifest:
            entry["expect"] = facts_for(entry)
        manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote expect for {len(manifest)} entries")
        return 0
    bad = [e["file"] for e in manifest if facts_for(e) != e["expect"]]
    for f in bad:
        print(f"MISMATCH {f}")
    print(f"{len(manifest) - len(bad)} passed, {len(bad)} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
