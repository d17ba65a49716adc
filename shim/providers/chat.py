"""OpenAI Chat Completions providers (OpenAI, DeepSeek, OpenRouter, Ollama, LiteLLM, ...).

Two pieces: `map_request` turns a Responses request into a chat request, and `ChatEventMapper`
turns chat stream chunks into writer calls. DeepSeek-style `reasoning_content` travels through
Codex in the reasoning item's carrier and is put back on the assistant turn that made tool calls.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from .. import carrier
from ..config import ModelRoute
from ..model_profile import OPENAI_EFFORTS, ModelProfile
from ..responses_stream import EventWriter
from ..sse import SSEEvent
from ..tool_names import ToolNames, declared_tools
from . import web_search
from .base import AnswerReader, UpstreamRequest, upstream_headers
from .items import TOOL_OUTPUTS, Image, InputWalker, Part, Pdf, ToolCall, content_parts, image_part

_decode = json.JSONDecoder().decode  # bound once: called for every streamed event

CARRIER_KIND = "chat"

# finish_reason -> why the answer is incomplete; any other reason completes it.
_INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}

log = logging.getLogger("codex_shim")


def build(body: dict[str, Any], route: ModelRoute, api_key: str | None, profile: ModelProfile | None = None) -> UpstreamRequest:
    names = ToolNames()
    request = map_request(body, route, names, profile)
    reader = AnswerReader(
        model=body.get("model") or route.model,
        new_mapper=lambda writer: ChatEventMapper(writer, route.model),
        answer_events=answer_events,
        tool_names=names,
        parallel_tool_calls=bool(body.get("parallel_tool_calls", True)),
    )
    return UpstreamRequest(url=f"{route.url_base}/chat/completions", headers=upstream_headers(route, api_key), body=request, reader=reader)


def answer_events(answer: dict[str, Any]) -> list[SSEEvent]:
    """A non-streamed completion reads like one chunk whose choices carry a whole `message`."""
    return [("", json.dumps(answer))]


# -- request mapping -------------------------------------------------------------------------


def map_request(body: dict[str, Any], route: ModelRoute, names: ToolNames, profile: ModelProfile | None = None) -> dict[str, Any]:
    """A Chat Completions request equivalent to the Responses request `body`, shaped by the model's profile."""
    profile = profile or default_profile(route).with_route_overrides(route)
    tools = _map_tools(body.get("tools") or [], names)
    messages = _MessageMapper(route, names, profile).map(body)
    request: dict[str, Any] = {
        "model": route.upstream_name,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    search = web_search.codex_tool(body.get("tools") or [])
    if search is not None and web_search.web_search_kind(route, profile) and web_search.live(search, route.model):
        tools.append(web_search.openrouter_server_tool(search))  # any model searches at OpenRouter
    if tools:
        request["tools"] = tools
        choice = _map_tool_choice(body.get("tool_choice"), names)
        if choice is not None:
            request["tool_choice"] = choice
        if "parallel_tool_calls" in body:
            request["parallel_tool_calls"] = bool(body["parallel_tool_calls"])
    limit = body.get("max_output_tokens") or route.max_output_tokens
    if limit and profile.max_output_tokens:
        limit = min(int(limit), profile.max_output_tokens)
    if limit:
        request[profile.max_tokens_field] = int(limit)
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            request[key] = body[key]
    effort = (body.get("reasoning") or {}).get("effort")
    level = profile.effort_for(effort) if isinstance(effort, str) and effort else None
    if level is not None:
        if profile.effort_param == "reasoning":  # OpenRouter's unified reasoning parameter
            request["reasoning"] = {"effort": level}
        else:
            request["reasoning_effort"] = level
        if level != effort:
            log.info(f"codex-shim ({route.model}): effort {effort!r} is not among the model's {list(profile.efforts or ())}: sent {level!r}")
    response_format = _map_text_format((body.get("text") or {}).get("format"))
    if response_format:
        request["response_format"] = response_format
    if profile.prompt_cache_key and body.get("prompt_cache_key"):
        request["prompt_cache_key"] = body["prompt_cache_key"]
    return request


def _map_tools(tools: list[dict[str, Any]], names: ToolNames) -> list[dict[str, Any]]:
    mapped = []
    for spec in declared_tools(tools, names):
        function: dict[str, Any] = {"name": spec.name, "parameters": spec.parameters}
        if spec.description:
            function["description"] = spec.description
        if spec.strict:
            function["strict"] = True
        mapped.append({"type": "function", "function": function})
    return mapped


def _map_tool_choice(choice: Any, names: ToolNames) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") in ("function", "custom") and choice.get("name"):
        return {"type": "function", "function": {"name": names.register(choice["name"], choice.get("namespace"))}}
    return None


def _map_text_format(fmt: Any) -> dict[str, Any] | None:
    if not isinstance(fmt, dict):
        return None
    if fmt.get("type") == "json_schema":
        schema: dict[str, Any] = {"name": fmt.get("name") or "output", "schema": fmt.get("schema") or {}}
        if fmt.get("strict") is not None:
            schema["strict"] = bool(fmt["strict"])
        return {"type": "json_schema", "json_schema": schema}
    if fmt.get("type") == "json_object":
        return {"type": "json_object"}
    return None


def default_profile(route: ModelRoute) -> ModelProfile:
    """Without the provider's data: what the route's API takes. OpenAI's Chat Completions API
    documents reasoning_effort none … max, names the output limit max_completion_tokens, takes
    prompt_cache_key, system messages anywhere and PDFs as `file` parts; another endpoint gets effort only when
    models.json says which values (`reasoning_efforts`) or that it takes OpenAI's
    (`supports_reasoning_effort`)."""
    if route.provider == "openai":  # OpenAI's own Chat Completions API, and what it takes beyond the others
        return ModelProfile(efforts=OPENAI_EFFORTS if route.wants_reasoning_effort else (), max_tokens_field="max_completion_tokens",
                            prompt_cache_key=True, system_anywhere=True, pdf_input=True)
    return ModelProfile(efforts=OPENAI_EFFORTS if route.wants_reasoning_effort else ())


class _MessageMapper(InputWalker):
    """Folds Responses input items, in order, into chat messages."""

    provider = "chat"

    def __init__(self, route: ModelRoute, names: ToolNames, profile: ModelProfile) -> None:
        super().__init__(route, names, profile)
        self.messages: list[dict[str, Any]] = []
        self.pending_reasoning: dict[str, Any] = {}  # what the last reasoning item carries for this route
        self.pending_images: list[dict[str, Any]] = []

    def map(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        instructions = body.get("instructions")
        if isinstance(instructions, str) and instructions.strip():
            self.messages.append({"role": "system", "content": instructions})
        self.walk(body)
        self._flush_images()
        return self.messages

    def before_item(self, kind: Any) -> None:
        if kind not in TOOL_OUTPUTS:
            self._flush_images()

    def reasoning(self, item: dict[str, Any]) -> None:
        if (notes := web_search.sources_text(item.get("encrypted_content"))) is not None:
            self._sources(notes)  # what another route's model found on the web, in plain words
            return
        payload = carrier.unwrap(CARRIER_KIND, item.get("encrypted_content")) or {}
        if payload.get("model", self.route.model) != self.route.model:
            payload = {}  # another route's reasoning means nothing (or harm) to this provider
        self.pending_reasoning = payload

    def message(self, item: dict[str, Any]) -> None:
        role = item.get("role", "user")
        if role == "developer":
            role = "system"
        content = item.get("content")
        if role == "assistant":
            text = _plain_text(content)
            last = self.messages[-1] if self.messages else None
            if last and last["role"] == "assistant" and not last.get("tool_calls"):
                last["content"] = (last.get("content") or "") + text
            else:
                last = {"role": "assistant", "content": text}
                self.messages.append(last)
            self._replay_details(last)
            return
        self.pending_reasoning = {}
        if role == "system":
            self._system(self._content(content, role))
            return
        self.messages.append({"role": role, "content": self._content(content, role)})

    def _sources(self, text: str) -> None:
        last = self.messages[-1] if self.messages else None
        if last is not None and last["role"] == "assistant" and not last.get("tool_calls"):
            last["content"] = (last.get("content") or "") + text + "\n\n"
        else:
            self.messages.append({"role": "assistant", "content": text + "\n\n"})

    def _system(self, text: str) -> None:
        """One leading system message: many chat templates (Qwen, Llama on vLLM, gateways)
        refuse a system message anywhere else. Later developer messages (Codex sends them when
        permissions or the model change) become user messages there; OpenAI takes them as is."""
        if all(m["role"] == "system" for m in self.messages):
            if self.messages:
                self.messages[0]["content"] += "\n\n" + text
            else:
                self.messages.append({"role": "system", "content": text})
        elif self.profile.system_anywhere:
            self.messages.append({"role": "system", "content": text})
        else:
            self.messages.append({"role": "user", "content": f"<system>\n{text}\n</system>"})

    def _content(self, content: Any, role: str) -> Any:
        pdfs = role == "user" and self.profile.pdf_input is True  # other roles' content is text: a PDF there is a note
        parts = [_chat_part(part) for part in content_parts(content, self.images, pdfs=pdfs)]
        if role != "user" or all(p["type"] == "text" for p in parts):
            return "\n\n".join(p.get("text", "") for p in parts if p.get("text"))
        return parts

    def tool_call(self, call: ToolCall) -> None:
        """Consecutive calls (and the text before them) form one assistant turn."""
        arguments = json.dumps({"input": call.payload}) if call.custom else call.payload or "{}"
        entry = {"id": call.call_id, "type": "function", "function": {"name": call.name, "arguments": arguments}}
        last = self.messages[-1] if self.messages else None
        if last is None or last["role"] != "assistant":
            last = {"role": "assistant", "content": None}
            self.messages.append(last)
        last.setdefault("tool_calls", []).append(entry)
        if not last.get("content"):
            last["content"] = None
        # Thinking-mode providers want the reasoning of a tool-calling turn back on that turn.
        reasoning_content = self.pending_reasoning.get("reasoning_content")
        if reasoning_content and "reasoning_content" not in last:
            last["reasoning_content"] = reasoning_content
        self._replay_details(last)
        self.pending_reasoning = {}

    def _replay_details(self, assistant: dict[str, Any]) -> None:
        """OpenRouter-style `reasoning_details` (encrypted ones included) go back, unchanged, on
        the assistant message they led to: reasoning models continue from them."""
        details = self.pending_reasoning.get("reasoning_details")
        if isinstance(details, list) and details and "reasoning_details" not in assistant:
            assistant["reasoning_details"] = details

    def tool_output(self, item: dict[str, Any]) -> None:
        output = item.get("output")
        if isinstance(output, str):
            text = output
        elif isinstance(output, list):
            texts: list[str] = []
            for part in output:
                if part.get("type") in ("input_text", "output_text", "text"):
                    texts.append(part.get("text", ""))
                elif part.get("type") == "input_image":
                    self.pending_images.append(_chat_part(image_part(part, self.images)))
                    texts.append("[image attached in the next message]")
            text = "\n".join(texts)
        elif isinstance(output, dict):
            text = json.dumps(output)
        else:
            text = "" if output is None else str(output)
        self.messages.append({"role": "tool", "tool_call_id": item.get("call_id", ""), "content": text})

    def _flush_images(self) -> None:
        """Images returned by tools go in a user message after the whole batch of tool results."""
        if self.pending_images:
            images, self.pending_images = self.pending_images, []
            self.messages.append({"role": "user", "content": [{"type": "text", "text": "Images returned by the tool calls above:"}, *images]})


def _chat_part(part: Part) -> dict[str, Any]:
    """A neutral content part as a chat content part."""
    if isinstance(part, Image):
        image: dict[str, Any] = {"url": part.url}
        if part.detail:
            image["detail"] = part.detail
        return {"type": "image_url", "image_url": image}
    if isinstance(part, Pdf):  # Chat Completions' file part (only where the model's data says it reads them)
        return {"type": "file", "file": {"filename": part.filename, "file_data": f"data:application/pdf;base64,{part.data}"}}
    return {"type": "text", "text": part.text}


def _plain_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        part.get("text") or part.get("refusal") or ""
        for part in content or []
        if isinstance(part, dict)
    )


# -- stream mapping --------------------------------------------------------------------------


class ChatEventMapper:
    """Chat Completions chunks -> writer calls; tolerant of how real providers stream."""

    def __init__(self, writer: EventWriter, route_slug: str | None = None) -> None:
        self.writer = writer
        self.route_slug = route_slug  # whose reasoning the carrier holds: replayed to that route only
        self.finish_reason: str | None = None
        self.done = False
        self._last_key: object = None
        self._keys_by_id: dict[str, object] = {}
        self._ids_by_key: dict[object, str] = {}
        self._latest_by_index: dict[object, object] = {}
        self._anonymous = 0
        self._reasoning: list[str] = []
        self._details = ReasoningDetails()
        self._other_choices_noted = False
        self._search = web_search.CitedSearch(writer)  # OpenRouter's web search, seen only through its citations
        self._searches_counted = 0

    def on_event(self, event: str, data: str) -> None:
        if data == "[DONE]":
            self.done = True
            self._finish()
            return
        if not data:
            return
        chunk = _decode(data)
        if isinstance(chunk, dict):
            self.on_chunk(chunk)

    def on_chunk(self, chunk: dict[str, Any]) -> None:
        writer = self.writer
        error = chunk.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else str(error)
            code = error.get("code") if isinstance(error, dict) else None
            writer.fail(code if isinstance(code, str) and code else "upstream_error", f"provider error: {message}")
            return
        writer.start()
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) != 0:
                if not self._other_choices_noted:
                    self._other_choices_noted = True
                    log.info("codex-shim: the provider streamed more than one choice; Codex is given choice 0")
                continue
            delta = choice.get("delta") or choice.get("message") or {}
            if "reasoning_content" in delta or "reasoning" in delta or "reasoning_details" in delta:
                self._take_reasoning(delta)
            annotations = delta.get("annotations")
            if annotations:
                self._end_reasoning()  # a search item comes after the reasoning, not inside it
                self._search.cited(annotations)
            content = delta.get("content")
            if content and content.__class__ is str:  # the hot path: one text delta
                if self._reasoning or self._details.entries:
                    self._end_reasoning()
                if self._search.open:
                    self._search.close()
                writer.text_delta(content)
            elif isinstance(content, list):
                self._content_parts(content)
            refusal = delta.get("refusal")
            if refusal and isinstance(refusal, str):  # the model declined: Codex shows it as the answer
                self._text(refusal)
            tool_calls = delta.get("tool_calls")
            if tool_calls:
                self._end_reasoning()
                for position, call in enumerate(tool_calls):
                    self._tool_delta(position, call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            counts = usage_counts(usage)
            self._searches_counted = counts["web_search_requests"] or self._searches_counted
            writer.set_usage(**counts)

    def _take_reasoning(self, delta: dict[str, Any]) -> None:
        """Reasoning as a string (`reasoning_content`: DeepSeek, vLLM; `reasoning`: OpenRouter,
        Groq) or as OpenRouter's `reasoning_details` entries, which are kept to be replayed and
        shown only when no plain string says the same."""
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        shown = isinstance(reasoning, str) and bool(reasoning)
        if shown:
            self._reason(str(reasoning))
        details = delta.get("reasoning_details")
        if isinstance(details, list):
            for entry in details:
                text = self._details.add(entry)
                if text and not shown:
                    self._reason(text)

    def _content_parts(self, parts: list[Any]) -> None:
        """Content as a list of parts (Mistral): text, and `thinking` parts holding text chunks."""
        for part in parts:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text" and isinstance(part.get("text"), str):
                self._text(part["text"])
            elif part.get("type") == "thinking":
                thinking = part.get("thinking")
                for chunk in thinking if isinstance(thinking, list) else [thinking]:
                    text = chunk.get("text") if isinstance(chunk, dict) else chunk
                    if isinstance(text, str) and text:
                        self._reason(text)

    def _reason(self, text: str) -> None:
        self._reasoning.append(text)
        self.writer.reasoning_delta(text)

    def _text(self, text: str) -> None:
        if text:
            self._end_reasoning()
            self.writer.text_delta(text)

    def _tool_delta(self, position: int, call: dict[str, Any]) -> None:
        call_id = call.get("id") or None
        function = call.get("function") or {}
        name = function.get("name") or None
        index = call.get("index")
        if index is not None:
            key: object = self._latest_by_index.get(index, ("index", index))
            if call_id and self._ids_by_key.get(key, call_id) != call_id:
                # Parallel calls that all say index 0 but bring their own ids (Gemini's endpoint);
                # id-less argument chunks after such a call belong to it.
                key = self._keys_by_id.get(call_id) or ("index", index, call_id)
            self._latest_by_index[index] = key
        elif call_id and call_id in self._keys_by_id:
            key = self._keys_by_id[call_id]
        elif self._last_key is not None and not name and (call_id is None or self._last_key not in self._ids_by_key):
            key = self._last_key  # a continuation, possibly bringing the id late
        else:
            self._anonymous += 1
            key = ("anon", self._anonymous)
        if call_id:
            self._keys_by_id.setdefault(call_id, key)
            self._ids_by_key.setdefault(key, call_id)
        self._last_key = key
        self.writer.tool_call(key, call_id=call_id, name=name, arguments=function.get("arguments") or "")

    def _end_reasoning(self) -> None:
        """The reasoning so far ends: its item carries the text (and any reasoning_details), for
        the provider to get back."""
        if not self._reasoning and not self._details.entries:
            return
        payload: dict[str, Any] = {}
        if self._reasoning:
            payload["reasoning_content"] = "".join(self._reasoning)
            self._reasoning.clear()
        if self._details.entries:
            payload["reasoning_details"] = self._details.take()
        if self.route_slug:
            payload["model"] = self.route_slug
        self.writer.reasoning_done(carrier.wrap(CARRIER_KIND, payload))

    def _finish(self) -> None:
        self._end_reasoning()
        self._search.finish(self._searches_counted)
        reason = self.finish_reason
        self.writer.complete(_INCOMPLETE_REASONS.get(reason) if isinstance(reason, str) else None)  # may be unhashable

    def close(self) -> None:
        """End of the upstream stream: a stream cut before its finish is a failure, never a completion."""
        if self.writer.finished:
            return
        if self.finish_reason is not None or self.done:
            self._finish()
        else:
            self.writer.fail("stream_truncated", "the provider's stream ended before the answer was finished")


def usage_counts(usage: dict[str, Any]) -> dict[str, int | None]:
    """A chat `usage` as Codex counts it: output is everything generated, reasoning included, and
    total is input + output. Gemini's and xAI's endpoints leave reasoning out of
    completion_tokens but not out of total_tokens: where the total exceeds prompt + completion,
    output is total - prompt. Reasoning is never more than the output it is part of."""
    prompt, completion, total = (_count(usage.get(key)) for key in ("prompt_tokens", "completion_tokens", "total_tokens"))
    prompt_details = usage.get("prompt_tokens_details") or {}
    completion_details = usage.get("completion_tokens_details") or {}
    cached = _count(prompt_details.get("cached_tokens") if isinstance(prompt_details, dict) else None)
    if cached is None:
        cached = _count(usage.get("prompt_cache_hit_tokens"))  # DeepSeek
    reasoning = _count(completion_details.get("reasoning_tokens") if isinstance(completion_details, dict) else None)
    output = completion
    if total is not None and prompt is not None and total > prompt + (completion or 0):
        output = total - prompt
    if reasoning is not None and output is not None:
        reasoning = min(reasoning, output)
    server = usage.get("server_tool_use_details") or usage.get("server_tool_use")  # OpenRouter's searches (both spellings seen)
    searches = _count(server.get("web_search_requests")) if isinstance(server, dict) else None
    return {"input_tokens": prompt, "output_tokens": output, "cached_tokens": cached, "reasoning_tokens": reasoning,
            "web_search_requests": searches}


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class ReasoningDetails:
    """OpenRouter's `reasoning_details`, streamed as partial entries: merged by `index` (text,
    summary and data concatenate; other fields keep their first non-empty value), kept in order."""

    _JOINED = ("text", "summary", "data")

    def __init__(self) -> None:
        self.entries: dict[object, dict[str, Any]] = {}

    def add(self, entry: Any) -> str | None:
        """Merge one streamed entry; the text it adds that is meant to be shown, if any."""
        if not isinstance(entry, dict):
            return None
        index = entry.get("index")
        key: object = index if isinstance(index, int | str) else ("unindexed", len(self.entries))
        merged = self.entries.setdefault(key, {})
        for field, value in entry.items():
            if field in self._JOINED and isinstance(value, str) and isinstance(merged.get(field), str):
                merged[field] += value
            elif merged.get(field) in (None, ""):  # a signature often comes last, after an empty one
                merged[field] = value
        kind = entry.get("type")
        shown = entry.get("text") if kind == "reasoning.text" else entry.get("summary") if kind == "reasoning.summary" else None
        return shown if isinstance(shown, str) else None

    def take(self) -> list[dict[str, Any]]:
        entries = list(self.entries.values())
        self.entries.clear()
        return entries

