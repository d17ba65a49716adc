"""A fake Anthropic Messages API that refuses what the real one refuses.

Its models are a Models API answer (tests/fixtures/anthropic/models.json, the current shape; see
the README there), served at GET /v1/models and /v1/models/{id}, and every request is held to
what the named model's entry publishes, with the real API's wording (sources in
tests/fixtures/anthropic/README.md, "The fake's rules"): an unknown model is a 404; a thinking
type the model does not take, `output_config.effort` on a model without effort or at a level it
does not list, `max_tokens` above its `max_tokens`, `between_tools` above high effort, sampling
settings with thinking on are 400s.

Rules enforced besides (each a 400 `invalid_request_error`, or 401 for the key): `x-api-key` and
`anthropic-version` headers; `max_tokens`; the first message comes from the user (consecutive
same-role turns are merged, as the real API does); every `tool_use` is answered by a
`tool_result` in the next user turn, results first, and every result answers a `tool_use` of
the turn right before; tool names match ^[a-zA-Z0-9_-]{1,64}$; no empty text blocks; at most 4
`cache_control` blocks; with thinking on: budget >= 1024 and < max_tokens, no temperature, no
forced tool choice, and each assistant turn of the open tool loop starts with a thinking or
redacted_thinking block that this fake issued, unmodified.

The "model" is scripted: on a user prompt it calls the shell tool Codex offers (once, or twice in
parallel when the prompt says PARALLEL); with thinking it calls it a second time in sequence,
opening that turn with a redacted_thinking block; then it answers with the tools' outputs. With
thinking and INTERLEAVED in the prompt it makes two calls in one turn, each after its own thinking
block (interleaved thinking), and answers after that one round.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from . import plain_agent
from .http_server import FakeServer, Reply, ragged

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
API_KEY = "sk-ant-fake-key-0123456789"
_SECRET = b"fake-anthropic-signing-key"
MODELS_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "anthropic" / "models.json"
THINKING_ON = ("enabled", "adaptive", "between_tools")


def model_list() -> dict[str, Any]:
    return json.loads(MODELS_FILE.read_text())


def models_by_id(answer: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The entries by id, and by the id without its date (the API takes both)."""
    out: dict[str, dict[str, Any]] = {}
    for entry in (answer or model_list())["data"]:
        out[entry["id"]] = entry
        out.setdefault(re.sub(r"-\d{8}$", "", entry["id"]), entry)
    return out


def _supported(node: Any) -> bool:
    return isinstance(node, dict) and node.get("supported") is True


def capability_problem(request: dict[str, Any], entry: dict[str, Any]) -> str | None:
    """What the real API says when a request asks the model for what its entry does not publish."""
    caps = entry["capabilities"]
    model = entry["id"]
    thinking = request.get("thinking") or {}
    kind = thinking.get("type")
    types = caps["thinking"]["types"]
    if kind is not None and not _supported(types.get(kind)):
        if kind == "adaptive":
            return "adaptive thinking is not supported on this model"
        return (f'"thinking.type.{kind}" is not supported for this model. Use "thinking.type.adaptive" and '
                '"output_config.effort" to control thinking behavior.')
    effort = (request.get("output_config") or {}).get("effort")
    if effort is not None:
        if not caps["effort"]["supported"]:
            return "This model does not support the effort parameter."
        levels = sorted(k for k, v in caps["effort"].items() if isinstance(v, dict) and v.get("supported"))
        if effort not in levels:
            return f"This model does not support effort level '{effort}'. Supported levels: {', '.join(levels)}."
        if kind == "between_tools" and effort in ("xhigh", "max"):
            return f"output_config.effort '{effort}' is not supported with thinking type between_tools. Use effort 'high' or below."
    fmt = (request.get("output_config") or {}).get("format")
    if fmt is not None:
        if not _supported(caps.get("structured_outputs")):
            return "output_config.format: structured outputs are not supported on this model"
        if fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
            return "output_config.format.type: Input should be 'json_schema'"
        if problem := schema_problem(fmt["schema"], "output_config.format.schema"):
            return problem
    if request["max_tokens"] > entry["max_tokens"]:
        return f"max_tokens: {request['max_tokens']} > {entry['max_tokens']}, which is the maximum allowed number of output tokens for {model}"
    if kind in THINKING_ON and request.get("temperature") not in (None, 1):
        return "`temperature` may only be set to 1 when thinking is enabled or in adaptive mode."
    return None


# What structured outputs check (docs, "JSON Schema limitations"; the anthropic SDK's
# transform_schema keeps exactly these and moves every other keyword into the description).
_SCHEMA_KEYWORDS = frozenset({"type", "enum", "const", "anyOf", "allOf", "description", "title", "properties",
                              "additionalProperties", "required", "format", "items", "minItems", "$defs", "$ref", "default"})


def schema_problem(schema: Any, where: str) -> str | None:
    """Why the API refuses a structured-output schema (the wording is this fake's: not on record)."""
    if not isinstance(schema, dict):
        return None
    for key in schema:
        if key not in _SCHEMA_KEYWORDS:
            return f"{where}: the keyword '{key}' is not supported in structured output schemas"
    if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
        return f"{where}: objects must set 'additionalProperties' to false"
    if schema.get("minItems") not in (None, 0, 1):
        return f"{where}: minItems above 1 is not supported"
    children = [*(schema.get("properties") or {}).items(), *(schema.get("$defs") or {}).items()]
    children += [(f"anyOf.{i}", s) for i, s in enumerate(schema.get("anyOf") or [])]
    children += [(f"allOf.{i}", s) for i, s in enumerate(schema.get("allOf") or [])]
    if "items" in schema:
        children.append(("items", schema["items"]))
    for name, child in children:
        if problem := schema_problem(child, f"{where}.{name}"):
            return problem
    return None


def sign(text: str) -> str:
    return "sig_" + hashlib.sha256(_SECRET + text.encode()).hexdigest()


def merged_turns(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive same-role messages as one turn, with string content as a text block."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])
        if turns and turns[-1]["role"] == message.get("role"):
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": message.get("role"), "content": blocks})
    return turns


def count_cache_controls(value: Any) -> int:
    if isinstance(value, dict):
        return int("cache_control" in value) + sum(count_cache_controls(v) for v in value.values())
    if isinstance(value, list):
        return sum(count_cache_controls(v) for v in value)
    return 0


def is_tool_results(turn: dict[str, Any]) -> bool:
    return turn["role"] == "user" and all(b.get("type") == "tool_result" for b in turn["content"])


class Validator:
    """The real API's 400 rules, with the signatures this fake has issued; with `models`, also the
    named model's published capabilities (a model it does not list passes those unchecked)."""

    def __init__(self, issued: dict[str, str], redacted: set[str], models: dict[str, dict[str, Any]] | None = None,
                 searches: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.issued = issued
        self.redacted = redacted
        self.models = models or {}
        self.searches = searches or {}

    def problem(self, request: dict[str, Any]) -> str | None:
        for check in (self._top_level, self._capabilities, self._tools, self._turns, self._thinking):
            found = check(request)
            if found:
                return found
        return None

    def _top_level(self, request: dict[str, Any]) -> str | None:
        if not isinstance(request.get("max_tokens"), int):
            return "max_tokens: Field required"
        if not request.get("messages"):
            return "messages: at least one message is required"
        if count_cache_controls(request) > 4:
            return f"A maximum of 4 blocks with cache_control may be provided. Found {count_cache_controls(request)}."
        return None

    def _capabilities(self, request: dict[str, Any]) -> str | None:
        entry = self.models.get(request.get("model", ""))
        return capability_problem(request, entry) if entry is not None else None

    def _tools(self, request: dict[str, Any]) -> str | None:
        for i, tool in enumerate(request.get("tools") or []):
            if str(tool.get("type", "")).startswith("web_search_"):  # a server tool: no schema of its own
                if tool["type"] != "web_search_20250305" or tool.get("name") != "web_search":
                    return f"tools.{i}: unknown server tool {tool.get('type')!r}"
                continue
            if not TOOL_NAME.match(tool.get("name", "")):
                return f"tools.{i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
            if (tool.get("input_schema") or {}).get("type") != "object":
                return f"tools.{i}.custom.input_schema.type: Input should be 'object'"
        return None

    def _turns(self, request: dict[str, Any]) -> str | None:
        turns = merged_turns(request["messages"])
        if turns[0]["role"] != "user":
            return "messages: first message must use the \"user\" role"
        open_ids: list[str] = []
        for i, turn in enumerate(turns):
            for block in turn["content"]:
                if block.get("type") == "text" and not block.get("text"):
                    return f"messages.{i}: text content blocks must be non-empty"
            if turn["role"] == "assistant":
                if open_ids:
                    return f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {open_ids[0]}"
                found = self._assistant(i, turn)
                if found:
                    return found
                open_ids = [b["id"] for b in turn["content"] if b.get("type") == "tool_use"]
                continue
            found = self._user(i, turn, open_ids)
            if found:
                return found
            open_ids = []
        if open_ids:
            return f"`tool_use` ids were found without `tool_result` blocks immediately after: {open_ids[0]}"
        return None

    def _assistant(self, i: int, turn: dict[str, Any]) -> str | None:
        for block in turn["content"]:
            if block.get("type") == "tool_use":
                if not TOOL_NAME.match(block.get("name", "")) or not isinstance(block.get("input"), dict):
                    return f"messages.{i}: invalid tool_use block"
                if not re.match(r"^[a-zA-Z0-9_-]+$", block.get("id", "")):
                    return f"messages.{i}.content: tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
            elif block.get("type") == "thinking":
                if self.issued.get(block.get("signature", "")) != block.get("thinking"):
                    return f"messages.{i}.content: Invalid `signature` in `thinking` block"
            elif block.get("type") == "redacted_thinking" and block.get("data") not in self.redacted:
                return f"messages.{i}.content: Invalid `data` in `redacted_thinking` block"
        return self._search_blocks(i, turn["content"])

    def _search_blocks(self, i: int, blocks: list[dict[str, Any]]) -> str | None:
        """Search blocks must come back exactly as issued, each call followed by its results (Anthropic's
        web search docs: pass them back unchanged, encrypted_content included)."""
        for n, block in enumerate(blocks):
            if block.get("type") == "server_tool_use":
                following = blocks[n + 1] if n + 1 < len(blocks) else {}
                if following.get("type") != "web_search_tool_result" or following.get("tool_use_id") != block.get("id"):
                    return f"messages.{i}.content.{n}: `server_tool_use` without its `web_search_tool_result` right after it"
            elif block.get("type") == "web_search_tool_result":
                if self.searches.get(block.get("tool_use_id", "")) != block.get("content"):
                    return f"messages.{i}.content.{n}: invalid `encrypted_content` in `web_search_tool_result`"
        return None

    def _user(self, i: int, turn: dict[str, Any], open_ids: list[str]) -> str | None:
        seen_other = False
        for block in turn["content"]:
            if block.get("type") != "tool_result":
                seen_other = True
                continue
            if seen_other:
                return f"messages.{i}: tool_result blocks must come first in the user message"
            if block.get("tool_use_id") not in open_ids:
                return (
                    f"messages.{i}.content: unexpected `tool_use_id` found in `tool_result` blocks: "
                    f"{block.get('tool_use_id')}. Each `tool_result` block must have a corresponding "
                    "`tool_use` block in the previous message."
                )
        answered = {b.get("tool_use_id") for b in turn["content"] if b.get("type") == "tool_result"}
        missing = [x for x in open_ids if x not in answered]
        if missing:
            return f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {missing[0]}"
        return None

    def _thinking(self, request: dict[str, Any]) -> str | None:
        thinking = request.get("thinking")
        forced = (request.get("tool_choice") or {}).get("type") in ("any", "tool")
        if thinking and thinking.get("type") == "adaptive" and forced:  # docs: tool use with extended thinking
            return "Thinking may not be enabled when tool_choice forces tool use."
        if not thinking or thinking.get("type") != "enabled":
            return None
        budget = thinking.get("budget_tokens", 0)
        if budget < 1024 or budget >= request["max_tokens"]:
            return "`max_tokens` must be greater than `thinking.budget_tokens`"
        if request.get("temperature") not in (None, 1) or request.get("top_k") is not None:
            return "`temperature` may only be set to 1 when thinking is enabled"
        if (request.get("tool_choice") or {}).get("type") in ("any", "tool"):
            return "Thinking may not be enabled when tool_choice forces tool use."
        turns = merged_turns(request["messages"])
        for turn in reversed(turns):
            if turn["role"] == "user" and not is_tool_results(turn):
                break
            uses_tools = any(b.get("type") == "tool_use" for b in turn["content"])
            if turn["role"] == "assistant" and uses_tools and turn["content"][0].get("type") not in ("thinking", "redacted_thinking"):
                return (
                    "messages: Expected `thinking` or `redacted_thinking`, but found `"
                    f"{turn['content'][0].get('type')}`. When `thinking` is enabled, a final `assistant` message "
                    "must start with a thinking block."
                )
        return None


# -- the scripted model ----------------------------------------------------------------------


def shell_call(request: dict[str, Any], command: str) -> tuple[str, dict[str, Any]]:
    """(tool name, input) running `command` with whichever shell tool Codex offered."""
    names = {t.get("name") for t in request.get("tools") or []}
    if "exec_command" in names:
        return "exec_command", {"cmd": command}
    if "shell_command" in names:
        return "shell_command", {"command": command}
    if "shell" in names:
        return "shell", {"command": ["bash", "-lc", command]}
    raise AssertionError(f"no shell tool offered; tools: {sorted(n for n in names if n)}")


def block_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    return " ".join(b.get("text", "") for b in content or [] if b.get("type") == "text")


def event(kind: str, **fields: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **fields}, ensure_ascii=False)}\n\n".encode()


USAGE_START = {"input_tokens": 200, "cache_creation_input_tokens": 300, "cache_read_input_tokens": 1000, "output_tokens": 1}


class ScriptedAnthropicModel:
    """The fake provider's behaviour; every request is parsed and kept in `requests`.

    `models`: the Models API answer it serves and holds requests to (default: the fixture);
    `strict_models=False` lets a model it does not list through (the older tests' slugs)."""

    def __init__(self, models: dict[str, Any] | None = None, strict_models: bool = False) -> None:
        self.errors: list[str] = []
        self.requests: list[dict[str, Any]] = []
        self.model_requests: list[str] = []
        self.issued: dict[str, str] = {}
        self.redacted: set[str] = set()
        self.turn = 0
        self.models = models or model_list()
        self.by_id = models_by_id(self.models)
        self.strict_models = strict_models
        self.shown = True  # whether this answer's thinking text is shown (see `answer`)
        self.search_results: dict[str, list[dict[str, Any]]] = {}  # server_tool_use id -> the results issued
        self.searches_run = 0
        self.answer_tool_calls = 0  # final answers given through a tool the system prompt named

    def __call__(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if headers.get("x-api-key") != API_KEY:
            return self._error(401, "authentication_error", "invalid x-api-key")
        if not headers.get("anthropic-version"):
            return self._error(400, "invalid_request_error", "anthropic-version: header is required")
        route = path.split("?", 1)[0]
        if not body and (route.endswith("/models") or "/models/" in route):
            return self._models(route)
        if not route.endswith("/messages"):
            return self._error(404, "not_found_error", f"no route {path}")
        request = json.loads(body)
        self.requests.append(request)
        if self.strict_models and request.get("model") not in self.by_id:
            return self._error(404, "not_found_error", f"model: {request.get('model')}")
        problem = Validator(self.issued, self.redacted, self.by_id, self.search_results).problem(request)
        if problem:
            return self._error(400, "invalid_request_error", problem)
        self.turn += 1
        return Reply(200, ragged(b"".join(self.answer(request))))

    def _models(self, route: str) -> Reply:
        """GET /v1/models (the whole list) or /v1/models/{id} (one entry, by id or undated alias)."""
        self.model_requests.append(route)
        if route.endswith("/models"):
            return Reply.json(200, self.models)
        wanted = route.rsplit("/models/", 1)[1]
        entry = self.by_id.get(wanted)
        if entry is None:
            return Reply.json(404, {"type": "error", "error": {"type": "not_found_error", "message": f"model: {wanted}"}})
        return Reply.json(200, entry)

    def _error(self, status: int, kind: str, message: str) -> Reply:
        self.errors.append(message)
        return Reply.json(status, {"type": "error", "error": {"type": kind, "message": message}})

    def answer(self, request: dict[str, Any]) -> list[bytes]:
        turns = merged_turns(request["messages"])
        config = request.get("thinking") or {}
        thinking = config.get("type") in ("enabled", "adaptive")
        # Adaptive thinking's text is "omitted" unless asked for (the default of Opus 4.7 and later);
        # the block, its signature and its place in the turn stay.
        self.shown = config.get("type") == "enabled" or config.get("display") == "summarized"
        rounds = sum(1 for t in _open_loop(turns) if t["role"] == "assistant")
        out = [event("message_start", message={
            "id": f"msg_fake_{self.turn}", "type": "message", "role": "assistant", "content": [],
            "model": request["model"], "stop_reason": None, "stop_sequence": None, "usage": USAGE_START,
        }), event("ping")]
        blocks: list[list[bytes]] = []
        prompt = " ".join(block_text({"content": t["content"]}) for t in turns if t["role"] == "user")
        fmt = (request.get("output_config") or {}).get("format")
        answer_tool = _answer_tool(request)  # the JSON answer asked for in the system prompt
        client_tools = [(t["name"], t["input_schema"]) for t in request.get("tools") or [] if "input_schema" in t]
        if plain_agent.is_plain_client({name for name, _ in client_tools}):
            return self._plain(out, request, turns, prompt, thinking, client_tools)
        interleaved = thinking and "INTERLEAVED" in prompt
        if thinking and not interleaved:
            if rounds == 1:
                blocks.append(self._redacted())
            blocks.append(self._thinking(f"Round {rounds + 1}: run the tool… ✓"))
        done = is_tool_results(turns[-1]) and (rounds >= 2 or not thinking or interleaved)
        if done:
            results = [block_text(b) for b in turns[-1]["content"]]
            text = "Tool said: " + " | ".join(r.strip().replace("\n", " ") for r in results) + " — done ✓"
            blocks.append(self._final(text, request))
            stop = "tool_use" if answer_tool and not fmt else "end_turn"
        else:
            if "SEARCH" in prompt and rounds == 0 and any(t.get("name") == "web_search" for t in request.get("tools") or []):
                blocks.extend(self._search(f"codex-shim search {self.turn}"))
            two = "PARALLEL" in prompt or interleaved
            commands = ["echo first-$((6*7))", "echo second-$((7*8))"] if two else [f"echo marker-{rounds}-$((6*7))"]
            for n, command in enumerate(commands):
                if interleaved:
                    blocks.append(self._thinking(f"Step {n + 1}: {command.split()[1].split('-')[0]} ✓"))
                name, tool_input = shell_call(request, command)
                blocks.append(_tool_block(f"toolu_{self.turn}_{n}", name, tool_input))
            stop = "tool_use"
        for index, pieces in enumerate(blocks):
            out.extend(p.replace(b'"index": -1', b'"index": %d' % index) for p in pieces)
        usage: dict[str, Any] = {"output_tokens": 34}
        if self.searches_run:
            usage["server_tool_use"] = {"web_search_requests": self.searches_run}
            self.searches_run = 0
        out.append(event("message_delta", delta={"stop_reason": stop, "stop_sequence": None}, usage=usage))
        out.append(event("message_stop"))
        return out

    def _plain(self, out: list[bytes], request: dict[str, Any], turns: list[dict[str, Any]], prompt: str, thinking: bool,
               client_tools: list[tuple[str, dict[str, Any]]]) -> list[bytes]:
        """A client that is not Codex (tests/fakes/plain_agent.py): its own tools, then the answer."""
        fmt = (request.get("output_config") or {}).get("format")
        answer_tool = _answer_tool(request)
        blocks: list[list[bytes]] = [self._thinking("Plain client: plan ✓")] if thinking else []
        offered = [(name, schema) for name, schema in client_tools if name != answer_tool]
        if is_tool_results(turns[-1]) or not offered:
            results = [block_text(b) for b in turns[-1]["content"]] if is_tool_results(turns[-1]) else []
            blocks.append(self._final(plain_agent.final_text(prompt, results), request))
            stop = "tool_use" if answer_tool and not fmt else "end_turn"
        else:
            for n, (name, arguments) in enumerate(plain_agent.calls_for(offered)):
                blocks.append(_tool_block(f"toolu_{self.turn}_{n}", name, json.loads(arguments)))
            stop = "tool_use"
        for index, pieces in enumerate(blocks):
            out.extend(p.replace(b'"index": -1', b'"index": %d' % index) for p in pieces)
        out.append(event("message_delta", delta={"stop_reason": stop, "stop_sequence": None}, usage={"output_tokens": 34}))
        out.append(event("message_stop"))
        return out

    def _final(self, text: str, request: dict[str, Any]) -> list[bytes]:
        """The last answer: text, JSON of the asked schema, or (told so in the system prompt) the
        answer tool called with that JSON."""
        fmt = (request.get("output_config") or {}).get("format")
        if fmt is not None:
            return _text_block(json.dumps(plain_agent.sample(fmt.get("schema"), text), ensure_ascii=False))
        answer_tool = _answer_tool(request)
        if answer_tool:
            self.answer_tool_calls += 1
            schema = next((t.get("input_schema") for t in request.get("tools") or [] if t.get("name") == answer_tool), {})
            return _tool_block(f"toolu_{self.turn}_answer", answer_tool, plain_agent.sample(schema, text))
        return _text_block(text)

    def _search(self, query: str) -> list[list[bytes]]:
        """A web search run at "Anthropic": the call, its results (encrypted content this fake
        issued, which must come back unchanged), and text citing the first result."""
        use_id = f"srvtoolu_{self.turn}"
        results = [{"type": "web_search_result", "title": f"Result {n} ✓", "url": f"https://example.org/{self.turn}/{n}",
                    "encrypted_content": sign(f"{use_id}/{n}"), "page_age": None} for n in (1, 2)]
        self.search_results[use_id] = results
        self.searches_run += 1
        query_json = json.dumps({"query": query})
        use = [event("content_block_start", index=-1, content_block={"type": "server_tool_use", "id": use_id, "name": "web_search", "input": {}}),
               event("content_block_delta", index=-1, delta={"type": "input_json_delta", "partial_json": ""}),
               event("content_block_delta", index=-1, delta={"type": "input_json_delta", "partial_json": query_json[:9]}),
               event("content_block_delta", index=-1, delta={"type": "input_json_delta", "partial_json": query_json[9:]}),
               event("content_block_stop", index=-1)]
        result = [event("content_block_start", index=-1, content_block={"type": "web_search_tool_result", "tool_use_id": use_id, "content": results}),
                  event("content_block_stop", index=-1)]
        citation = {"type": "web_search_result_location", "url": results[0]["url"], "title": results[0]["title"],
                    "cited_text": "the first result", "encrypted_index": sign(f"{use_id}/cite")}
        cited = [event("content_block_start", index=-1, content_block={"type": "text", "text": "", "citations": []}),
                 event("content_block_delta", index=-1, delta={"type": "citations_delta", "citation": citation}),
                 event("content_block_delta", index=-1, delta={"type": "text_delta", "text": "The web says: found ✓"}),
                 event("content_block_stop", index=-1)]
        return [use, result, cited]

    def _thinking(self, text: str) -> list[bytes]:
        if not self.shown:
            text = ""
        signature = sign(text + str(len(self.issued)))
        self.issued[signature] = text
        half = len(text) // 2
        return [
            event("content_block_start", index=-1, content_block={"type": "thinking", "thinking": "", "signature": ""}),
            event("content_block_delta", index=-1, delta={"type": "thinking_delta", "thinking": text[:half]}),
            event("content_block_delta", index=-1, delta={"type": "thinking_delta", "thinking": text[half:]}),
            event("content_block_delta", index=-1, delta={"type": "signature_delta", "signature": signature}),
            event("content_block_stop", index=-1),
        ]

    def _redacted(self) -> list[bytes]:
        data = f"redacted-{self.turn}-" + sign(str(self.turn))[4:20]
        self.redacted.add(data)
        return [
            event("content_block_start", index=-1, content_block={"type": "redacted_thinking", "data": data}),
            event("content_block_stop", index=-1),
        ]


def _answer_tool(request: dict[str, Any]) -> str:
    """The tool the system prompt says to give the final answer with ("" if none): a model follows
    its instructions."""
    system = request.get("system") or []
    text = system if isinstance(system, str) else " ".join(b.get("text", "") for b in system)
    found = re.search(r"call the `([^`]+)` tool", text)
    return found.group(1) if found else ""


def _open_loop(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The turns after the last real user prompt: the tool loop in progress."""
    for i in range(len(turns) - 1, -1, -1):
        if turns[i]["role"] == "user" and not is_tool_results(turns[i]):
            return turns[i + 1 :]
    return turns


def _text_block(text: str) -> list[bytes]:
    pieces = [event("content_block_start", index=-1, content_block={"type": "text", "text": ""})]
    pieces += [event("content_block_delta", index=-1, delta={"type": "text_delta", "text": text[i : i + 9]}) for i in range(0, len(text), 9)]
    return [*pieces, event("content_block_stop", index=-1)]


def _tool_block(tool_id: str, name: str, tool_input: dict[str, Any]) -> list[bytes]:
    args = json.dumps(tool_input)
    pieces = [event("content_block_start", index=-1, content_block={"type": "tool_use", "id": tool_id, "name": name, "input": {}})]
    pieces.append(event("content_block_delta", index=-1, delta={"type": "input_json_delta", "partial_json": ""}))
    pieces += [event("content_block_delta", index=-1, delta={"type": "input_json_delta", "partial_json": args[i : i + 5]}) for i in range(0,
        len(args), 5)]
    return [*pieces, event("content_block_stop", index=-1)]


def anthropic_upstream(model: ScriptedAnthropicModel) -> FakeServer:
    return FakeServer(model)
