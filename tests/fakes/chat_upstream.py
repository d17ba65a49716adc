"""A fake Chat Completions provider that refuses what the real APIs refuse.

Rules enforced (each a 400 with the provider's wording, like OpenAI/DeepSeek answer):
tool names match ^[a-zA-Z0-9_-]{1,64}$; every assistant tool_call is answered by `tool`
messages right after it, and a `tool` message only follows such a call; in thinking mode, an
assistant turn that made tool calls must carry its `reasoning_content` back.

The "model" is scripted: on a user turn it calls the shell tool Codex offers (once, or twice in
parallel when the prompt says PARALLEL); on a tool turn it answers with the tools' outputs.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import plain_agent
from .http_server import FakeServer, Reply, ragged

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
API_KEY = "sk-fake-chat-key-0123456789"


def validate(request: dict[str, Any], thinking: bool) -> str | None:
    """The reason a real provider would refuse `request`, or None."""
    for tool in request.get("tools") or []:
        if tool.get("type") == "openrouter:web_search":  # OpenRouter's server tool (docs: web search server tool)
            if not isinstance(tool.get("parameters", {}), dict):
                return "Invalid 'tools[].parameters' for openrouter:web_search"
            continue
        name = tool.get("function", {}).get("name", "")
        if not TOOL_NAME.match(name):
            return f"Invalid 'tools[].function.name': string does not match pattern. Got {name!r}"
    messages = request.get("messages") or []
    if not messages:
        return "'messages' must contain at least one message"
    open_calls: list[str] = []
    for i, msg in enumerate(messages):
        role = msg.get("role")
        if role == "tool":
            if msg.get("tool_call_id") not in open_calls:
                return (
                    f"Invalid parameter: messages with role 'tool' must be a response to a preceeding "
                    f"message with 'tool_calls' (messages[{i}])."
                )
            open_calls.remove(msg["tool_call_id"])
            continue
        if open_calls:
            return (
                "An assistant message with 'tool_calls' must be followed by tool messages responding "
                f"to each 'tool_call_id'. The following tool_call_ids did not have response messages: {open_calls[0]}"
            )
        if role == "assistant" and msg.get("tool_calls"):
            for call in msg["tool_calls"]:
                if not TOOL_NAME.match(call.get("function", {}).get("name", "")):
                    return "Invalid tool call name in messages"
            open_calls = [c["id"] for c in msg["tool_calls"]]
            if thinking and not msg.get("reasoning_content"):
                return (
                    "Missing `reasoning_content` field in the assistant message at message index "
                    f"{i}. For more information, please refer to the thinking mode tool call docs."
                )
        elif role == "assistant" and msg.get("content") is None:
            return f"messages[{i}]: assistant message needs content or tool_calls"
    if open_calls:
        return f"tool_call_ids did not have response messages: {open_calls[0]}"
    return None


def shell_call(request: dict[str, Any], command: str) -> tuple[str, str]:
    """(tool name, JSON arguments) running `command` with whichever shell tool Codex offered."""
    names = {t.get("function", {}).get("name") for t in request.get("tools") or []}
    if "exec_command" in names:
        return "exec_command", json.dumps({"cmd": command})
    if "shell_command" in names:
        return "shell_command", json.dumps({"command": command})
    if "shell" in names:
        return "shell", json.dumps({"command": ["bash", "-lc", command]})
    raise AssertionError(f"no shell tool offered; tools: {sorted(n for n in names if n)}")


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for msg in reversed(messages):
        if msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, str):
                return content
            return " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict))
    return ""


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, usage: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "fake",
        "choices": [] if delta is None and finish is None else [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
    return body


def sse(chunks: list[dict[str, Any]], done: bool = True) -> bytes:
    text = "".join(f"data: {json.dumps(c, ensure_ascii=False)}\n\n" for c in chunks)
    if done:
        text += "data: [DONE]\n\n"
    return text.encode()


USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 34,
    "total_tokens": 1234,
    "prompt_tokens_details": {"cached_tokens": 1000},
    "completion_tokens_details": {"reasoning_tokens": 7},
}


class ScriptedChatModel:
    """The fake provider's behaviour; `thinking` turns on DeepSeek-style reasoning_content."""

    def __init__(self, thinking: bool = False, reasoning: bool = False, growing_usage: bool = False,
                 models: dict[str, Any] | None = None) -> None:
        self.growing_usage = growing_usage  # prompt tokens grow with each tool result in the history
        self.models = models  # a models list to serve at GET /models (e.g. OpenRouter's shape)
        self.searched = 0
        self.thinking = thinking
        self.reasoning = reasoning or thinking
        self.errors: list[str] = []
        self.turn = 0

    def __call__(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if self.models is not None and not body and path.split("?")[0].endswith("/models"):
            return Reply.json(200, self.models)
        if not path.endswith("/chat/completions"):
            return Reply.json(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})
        if headers.get("authorization") != f"Bearer {API_KEY}":
            return Reply.json(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}})
        request = json.loads(body)
        problem = validate(request, self.thinking)
        if problem:
            self.errors.append(problem)
            return Reply.json(400, {"error": {"message": problem, "type": "invalid_request_error", "param": None, "code": None}})
        self.turn += 1
        return Reply(200, ragged(sse(self.answer(request))))

    def answer(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        messages = request["messages"]
        out: list[dict[str, Any]] = [chunk({"role": "assistant", "content": ""})]
        if self.reasoning:
            for piece in ("Thinking ", "about the ", "task… ✓"):
                out.append(chunk({"reasoning_content": piece}))
        tools = [(t["function"]["name"], t["function"].get("parameters") or {}) for t in request.get("tools") or [] if "function" in t]
        if request.get("tool_choice") == "none":  # e.g. a compaction summary: text only
            summary = "SUMMARY: the user asked to run commands; the last output was marker-42. ✓"
            out.extend(chunk({"content": summary[i : i + 11]}) for i in range(0, len(summary), 11))
            out.append(chunk(finish="stop"))
        elif plain_agent.is_plain_client({name for name, _ in tools}):
            out.extend(self._plain(request, tools))
        elif messages[-1]["role"] == "tool":
            results = [m["content"] for m in messages if m["role"] == "tool"]
            text = "Tool said: " + " | ".join(r.strip().replace("\n", " ") for r in results[-2:]) + " — done ✓"
            text = plain_agent.shaped(text, _schema(request))
            for i in range(0, len(text), 9):
                out.append(chunk({"content": text[i : i + 9]}))
            out.append(chunk(finish="stop"))
        else:
            prompt = last_user_text(messages)
            if "PATCH" in prompt:  # edit a file with Codex's freeform apply_patch tool
                patch = "*** Begin Patch\n*** Add File: hello.txt\n+hello from a BYOK model ✓\n*** End Patch\n"
                args = json.dumps({"input": patch})
                name = next(t["function"]["name"] for t in request["tools"] if t["function"]["name"] == "apply_patch")
                out.append(chunk({"tool_calls": [{"index": 0, "id": f"call_p{self.turn}", "type": "function", "function": {"name": name,
                    "arguments": ""}}]}))
                out.extend(chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[i : i + 7]}}]}) for i in range(0, len(args), 7))
                out.append(chunk(finish="tool_calls"))
                out.append(chunk(usage=USAGE))
                return out
            if "SEARCH" in prompt and any(t.get("type") == "openrouter:web_search" for t in request.get("tools") or []):
                # OpenRouter's search as it streams it: one url_citation per chunk, no query, before the text
                self.searched += 1
                out.extend(chunk({"content": "", "annotations": [{"type": "url_citation", "url_citation": {
                    "url": f"https://example.org/page-{n}", "title": f"Page {n} ✓", "start_index": 0, "end_index": 0,
                    "content": "…"}}]}) for n in (1, 2))
                out.append(chunk({"content": "Found pages ✓. "}))
            commands = ["echo first-$((6*7))", "echo second-$((7*8))"] if "PARALLEL" in prompt else ["echo marker-$((6*7))"]
            for index, command in enumerate(commands):
                name, args = shell_call(request, command)
                call_id = f"call_{self.turn}_{index}"
                out.append(chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]}))
                for i in range(0, len(args), 5):
                    out.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": args[i : i + 5]}}]}))
            out.append(chunk(finish="tool_calls"))
        usage = dict(USAGE)
        if self.searched:
            usage["server_tool_use_details"] = {"web_search_requests": self.searched}
            self.searched = 0
        if self.growing_usage:
            usage["prompt_tokens"] = 1000 + 500 * sum(1 for m in messages if m["role"] == "tool")
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            usage["prompt_tokens_details"] = {"cached_tokens": 0}
        out.append(chunk(usage=usage))
        return out


    def _plain(self, request: dict[str, Any], tools: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """A client that is not Codex (tests/fakes/plain_agent.py): its own tools, then the answer."""
        messages = request["messages"]
        out: list[dict[str, Any]] = []
        if messages[-1]["role"] == "tool" or not tools:
            results = [str(m["content"]) for m in messages if m["role"] == "tool"][-2:] if messages[-1]["role"] == "tool" else []
            text = plain_agent.final_text(last_user_text(messages), results)
            text = plain_agent.shaped(text, _schema(request))
            out.extend(chunk({"content": text[i : i + 9]}) for i in range(0, len(text), 9))
            out.append(chunk(finish="stop"))
            return out
        for index, (name, args) in enumerate(plain_agent.calls_for(tools)):
            out.append(chunk({"tool_calls": [{"index": index, "id": f"call_{self.turn}_{index}", "type": "function",
                                              "function": {"name": name, "arguments": ""}}]}))
            out.extend(chunk({"tool_calls": [{"index": index, "function": {"arguments": args[i : i + 5]}}]}) for i in range(0, len(args), 5))
        out.append(chunk(finish="tool_calls"))
        return out


def _schema(request: dict[str, Any]) -> Any:
    """The JSON schema the request's response_format asks for (None: plain text)."""
    fmt = request.get("response_format") or {}
    return (fmt.get("json_schema") or {}).get("schema") if fmt.get("type") == "json_schema" else None


def chat_upstream(model: ScriptedChatModel) -> FakeServer:
    return FakeServer(model)
