"""A fake provider that serves /v1/responses itself (as OpenRouter, vLLM, Ollama... do).

It refuses what such servers refuse: Codex-only fields, reasoning it did not encrypt, unknown
keys on input items. Its scripted model calls the shell tool, then answers with the output.
"""

from __future__ import annotations

import json
from typing import Any

from . import plain_agent
from .chat_upstream import last_user_text
from .http_server import FakeServer, Reply, ragged

API_KEY = "sk-fake-responses-key-abcdef"
_ALLOWED_TOP = {
    "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "reasoning",
    "include", "stream", "max_output_tokens", "temperature", "top_p", "text", "truncation", "store",
}


class ScriptedResponsesModel:
    def __init__(self, api_key: str = API_KEY, strict: bool = True, total_tokens: bool = False, named: bool = True) -> None:
        self.total_tokens = total_tokens
        self.named = named  # `event:` lines, as OpenAI writes its stream; else data lines only, as OpenRouter's (tests/corpus/openrouter)
        self.api_key = api_key
        self.strict = strict  # OpenAI itself accepts Codex's own fields; other servers refuse them
        self.errors: list[str] = []
        self.issued: set[str] = set()
        self.turn = 0

    def __call__(self, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if not path.endswith("/responses"):
            return Reply.json(404, {"error": {"message": f"no route {path}"}})
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply.json(401, {"error": {"message": "No auth credentials found", "code": 401}})
        request = json.loads(body)
        problem = self.validate(request)
        if problem:
            self.errors.append(problem)
            return Reply.json(400, {"error": {"message": problem, "code": 400}})
        self.turn += 1
        return Reply(200, ragged(self.answer(request)))

    def validate(self, request: dict[str, Any]) -> str | None:
        extra = set(request) - _ALLOWED_TOP
        if extra and self.strict:
            return f"Unrecognized request argument supplied: {sorted(extra)[0]}"
        items = request.get("input") or []
        for item in [] if isinstance(items, str) else items:  # a string is one user message
            if "internal_chat_message_metadata_passthrough" in item and self.strict:
                return "Unrecognized key in input item: internal_chat_message_metadata_passthrough"
            if item.get("type") in ("reasoning", "compaction") and item.get("encrypted_content") not in self.issued:
                return "Invalid 'input[].encrypted_content': could not decrypt reasoning item"
        return None

    def answer(self, request: dict[str, Any]) -> bytes:
        events: list[dict[str, Any]] = []
        seq = 0

        def emit(kind: str, **fields: Any) -> None:
            nonlocal seq
            events.append({"type": kind, "sequence_number": seq, **fields})
            seq += 1

        rid = f"resp_fake_{self.turn}_{id(request)}"
        emit("response.created", response={"id": rid, "object": "response", "status": "in_progress", "output": []})
        enc = f"fake-encrypted-{self.turn}"
        self.issued.add(enc)
        reasoning = {"id": f"rs_{self.turn}", "type": "reasoning", "summary": [{"type": "summary_text", "text": "Planning ✓"}],
            "encrypted_content": enc}
        emit("response.output_item.added", output_index=0, item={**reasoning, "summary": []})
        emit("response.reasoning_summary_text.delta", item_id=reasoning["id"], output_index=0, summary_index=0, delta="Planning ✓")
        emit("response.output_item.done", output_index=0, item=reasoning)
        items = request.get("input") or []
        if isinstance(items, str):
            items = [{"type": "message", "role": "user", "content": items}]
        tools = [(t["name"], t.get("parameters") or {}) for t in request.get("tools") or [] if t.get("type") == "function"]
        plain = plain_agent.is_plain_client({name for name, _ in tools})
        answered = bool(items) and items[-1].get("type") == "function_call_output"
        if plain and (answered or not tools):
            results = [str(i.get("output", "")) for i in items if i.get("type") == "function_call_output"][-2:] if answered else []
            self._message(emit, plain_agent.shaped(plain_agent.final_text(_user_text(items), results), _schema(request)))
        elif plain:
            for n, (name, args) in enumerate(plain_agent.calls_for(tools)):
                call = {"id": f"fc_{self.turn}_{n}", "type": "function_call", "status": "completed", "call_id": f"call_r{self.turn}_{n}",
                        "name": name, "arguments": args}
                emit("response.output_item.added", output_index=1 + n, item={**call, "arguments": "", "status": "in_progress"})
                emit("response.function_call_arguments.delta", item_id=call["id"], output_index=1 + n, delta=args)
                emit("response.output_item.done", output_index=1 + n, item=call)
        elif answered:
            text = "Tool said: " + str(items[-1].get("output", "")).strip().replace("\n", " ") + " — done ✓"
            self._message(emit, plain_agent.shaped(text, _schema(request)))
        else:
            names = {t.get("name") for t in request.get("tools") or []}
            name = "exec_command" if "exec_command" in names else "shell_command"
            args = json.dumps({"cmd" if name == "exec_command" else "command": "echo resp-$((6*7))"})
            call = {"id": f"fc_{self.turn}", "type": "function_call", "status": "completed", "call_id": f"call_r{self.turn}", "name": name,
                "arguments": args}
            emit("response.output_item.added", output_index=1, item={**call, "arguments": "", "status": "in_progress"})
            emit("response.function_call_arguments.delta", item_id=call["id"], output_index=1, delta=args)
            emit("response.output_item.done", output_index=1, item=call)
        usage: dict[str, Any] = {"input_tokens": 500, "output_tokens": 20, "input_tokens_details": {"cached_tokens": 100}}
        if self.total_tokens:  # OpenAI sends it; some other servers do not
            usage["total_tokens"] = 520
        emit("response.completed", response={"id": rid, "object": "response", "status": "completed", "output": [], "usage": usage})
        if not self.named:  # as OpenRouter writes them: compact, type first, no event: line
            return "".join(f"data: {json.dumps(e, ensure_ascii=False, separators=(',', ':'))}\n\n" for e in events).encode()
        return "".join(f"event: {e['type']}\ndata: {json.dumps(e, ensure_ascii=False)}\n\n" for e in events).encode()


    def _message(self, emit: Any, text: str) -> None:
        """A message as OpenAI's API streams one: item, content part, text deltas, then each done."""
        part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
        msg = {"id": f"msg_{self.turn}", "type": "message", "role": "assistant", "status": "completed", "content": [part]}
        at = {"item_id": msg["id"], "output_index": 1, "content_index": 0}
        emit("response.output_item.added", output_index=1, item={**msg, "content": [], "status": "in_progress"})
        emit("response.content_part.added", part={**part, "text": ""}, **at)
        for i in range(0, len(text), 7):
            emit("response.output_text.delta", delta=text[i : i + 7], logprobs=[], **at)
        emit("response.output_text.done", text=text, logprobs=[], **at)
        emit("response.content_part.done", part=part, **at)
        emit("response.output_item.done", output_index=1, item=msg)


def _schema(request: dict[str, Any]) -> Any:
    """The JSON schema the request's text.format asks for (None: plain text)."""
    fmt = (request.get("text") or {}).get("format") or {}
    return fmt.get("schema") if fmt.get("type") == "json_schema" else None


def _user_text(items: list[dict[str, Any]]) -> str:
    for item in reversed(items):
        if item.get("role") == "user":
            content = item.get("content")
            return content if isinstance(content, str) else " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict))
    return ""


def responses_upstream(model: ScriptedResponsesModel) -> FakeServer:
    return FakeServer(model)


__all__ = ["API_KEY", "ScriptedResponsesModel", "responses_upstream", "last_user_text"]
