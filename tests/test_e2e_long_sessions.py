"""Long sessions: the real Codex CLI runs a seven-turn tool loop on each route shape.

`codex exec` gets one prompt; the scripted model answers it with six shell commands in a row,
each built from the previous command's output (so no step can run before the last one's output
came back), then a final answer. The fakes keep refusing what the real APIs refuse (tool turns
without their results, foreign reasoning...), and every request they get is checked: it must
carry every earlier call and output, in order, and the outputs must be what the shell printed.
The fake never computes a value: it copies numbers out of tool outputs into the next command,
and only the shell does the arithmetic the test checks against.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import anthropic_upstream as anthropic_fake
from tests.fakes import chat_upstream as chat_fake
from tests.fakes import responses_upstream as responses_fake
from tests.fakes.anthropic_upstream import ScriptedAnthropicModel, block_text, event, merged_turns
from tests.fakes.chat_upstream import ScriptedChatModel, chunk
from tests.fakes.http_server import FakeServer
from tests.fakes.responses_upstream import ScriptedResponsesModel
from tests.harness import Mitmdump, run_codex

pytestmark = pytest.mark.e2e

CALLS = 6  # tool calls; the seventh turn is the final answer
SEED = 5


def chain_values() -> list[int]:
    """What the shell prints at each step: v_k = v_(k-1) * 3 + k, from SEED (computed here, not by the fake)."""
    values = [SEED]
    for step in range(1, CALLS + 1):
        values.append(values[-1] * 3 + step)
    return values[1:]


def command(step: int, previous: int) -> str:
    return f"echo chain-{step}-$(( {previous} * 3 + {step} ))"


EXPECTED_VALUES = chain_values()
EXPECTED_COMMANDS = [command(k, v) for k, v in zip(range(1, CALLS + 1), [SEED, *EXPECTED_VALUES], strict=False)]
FINAL_ANSWER = f"Chain complete: chain-{CALLS}-{EXPECTED_VALUES[-1]} ✓"
PROMPT = "Run the six chained commands, one after the other, then report the last value."


def next_move(outputs: list[str], errors: list[str]) -> tuple[str, str]:
    """("call", command) for the next step, or ("answer", text) once all calls are done.
    The previous value is read from the latest tool output; a missing one is an error."""
    step = len(outputs) + 1
    previous = SEED
    if outputs:
        found = re.search(rf"chain-{step - 1}-(\d+)", outputs[-1])
        if found is None:
            errors.append(f"step {step}: no chain-{step - 1} value in the last output {outputs[-1]!r}")
            return "answer", "MISSING"
        previous = int(found.group(1))
    if step <= CALLS:
        return "call", command(step, previous)
    return "answer", f"Chain complete: chain-{CALLS}-{previous} ✓"


def command_of(arguments: dict[str, Any]) -> str:
    """The command line inside a shell tool call's arguments (exec_command, shell_command or shell)."""
    cmd = arguments.get("cmd", arguments.get("command"))
    return cmd[-1] if isinstance(cmd, list) else str(cmd)


# -- the three scripted models, chained ------------------------------------------------------


class ChainChatModel(ScriptedChatModel):
    def answer(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        outputs = [chat_content(m) for m in request["messages"] if m["role"] == "tool"]
        kind, value = next_move(outputs, self.errors)
        out = [chunk({"role": "assistant", "content": ""})]
        if kind == "call":
            name, args = chat_fake.shell_call(request, value)
            call_id = f"call_chain_{len(outputs) + 1}"
            out.append(chunk({"tool_calls": [{"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}]}))
            out.extend(chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[i : i + 6]}}]}) for i in range(0, len(args), 6))
            out.append(chunk(finish="tool_calls"))
        else:
            out.extend(chunk({"content": value[i : i + 8]}) for i in range(0, len(value), 8))
            out.append(chunk(finish="stop"))
        out.append(chunk(usage=chat_fake.USAGE))
        return out


class ChainAnthropicModel(ScriptedAnthropicModel):
    def answer(self, request: dict[str, Any]) -> list[bytes]:
        outputs = [block_text(b) for t in merged_turns(request["messages"]) if t["role"] == "user"
                   for b in t["content"] if b.get("type") == "tool_result"]
        kind, value = next_move(outputs, self.errors)
        out = [event("message_start", message={
            "id": f"msg_chain_{self.turn}", "type": "message", "role": "assistant", "content": [],
            "model": request["model"], "stop_reason": None, "stop_sequence": None, "usage": anthropic_fake.USAGE_START,
        }), event("ping")]
        if kind == "call":
            name, tool_input = anthropic_fake.shell_call(request, value)
            block, stop = anthropic_fake._tool_block(f"toolu_chain_{len(outputs) + 1}", name, tool_input), "tool_use"
        else:
            block, stop = anthropic_fake._text_block(value), "end_turn"
        out.extend(piece.replace(b'"index": -1', b'"index": 0') for piece in block)
        out.append(event("message_delta", delta={"stop_reason": stop, "stop_sequence": None}, usage={"output_tokens": 34}))
        out.append(event("message_stop"))
        return out


class ChainResponsesModel(ScriptedResponsesModel):
    def answer(self, request: dict[str, Any]) -> bytes:
        items = request.get("input") or []
        outputs = [str(i.get("output", "")) for i in items if i.get("type") == "function_call_output"]
        kind, value = next_move(outputs, self.errors)
        rid = f"resp_chain_{self.turn}"
        enc = f"fake-encrypted-{self.turn}"
        self.issued.add(enc)  # the fake refuses reasoning it did not issue: replaying it is checked
        reasoning = {"id": f"rs_{self.turn}", "type": "reasoning", "summary": [{"type": "summary_text", "text": f"Step {self.turn} ✓"}],
                     "encrypted_content": enc}
        if kind == "call":
            names = {t.get("name") for t in request.get("tools") or []}
            name = "exec_command" if "exec_command" in names else "shell_command"
            args = json.dumps({"cmd" if name == "exec_command" else "command": value})
            item: dict[str, Any] = {"id": f"fc_{self.turn}", "type": "function_call", "status": "completed",
                                    "call_id": f"call_chain_{len(outputs) + 1}", "name": name, "arguments": args}
        else:
            item = {"id": f"msg_{self.turn}", "type": "message", "role": "assistant", "status": "completed",
                    "content": [{"type": "output_text", "text": value, "annotations": []}]}
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": {"id": rid, "object": "response", "status": "in_progress", "output": []}},
            {"type": "response.output_item.added", "output_index": 0, "item": {**reasoning, "summary": []}},
            {"type": "response.output_item.done", "output_index": 0, "item": reasoning},
            {"type": "response.output_item.added", "output_index": 1, "item": item},
            {"type": "response.output_item.done", "output_index": 1, "item": item},
            {"type": "response.completed", "response": {"id": rid, "object": "response", "status": "completed", "output": [],
                                                        "usage": {"input_tokens": 500, "output_tokens": 20, "total_tokens": 520,
                                                                  "input_tokens_details": {"cached_tokens": 100}}}},
        ]
        return "".join(f"event: {e['type']}\ndata: {json.dumps({**e, 'sequence_number': n}, ensure_ascii=False)}\n\n"
                       for n, e in enumerate(events)).encode()


# -- what each request carried -----------------------------------------------------------------

History = tuple[list[tuple[str, str]], list[tuple[str, str]]]  # ([(call id, command)], [(call id, output)])


def chat_content(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content or [] if isinstance(p, dict))


def chat_history(request: dict[str, Any]) -> History:
    calls = [(c["id"], command_of(json.loads(c["function"]["arguments"])))
             for m in request["messages"] if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    outputs = [(m["tool_call_id"], chat_content(m)) for m in request["messages"] if m["role"] == "tool"]
    return calls, outputs


def anthropic_history(request: dict[str, Any]) -> History:
    turns = merged_turns(request["messages"])
    calls = [(b["id"], command_of(b["input"])) for t in turns if t["role"] == "assistant" for b in t["content"] if b["type"] == "tool_use"]
    outputs = [(b["tool_use_id"], block_text(b)) for t in turns if t["role"] == "user" for b in t["content"] if b["type"] == "tool_result"]
    return calls, outputs


def responses_history(request: dict[str, Any]) -> History:
    items = request["input"]
    calls = [(i["call_id"], command_of(json.loads(i["arguments"]))) for i in items if i.get("type") == "function_call"]
    outputs = [(i["call_id"], str(i["output"])) for i in items if i.get("type") == "function_call_output"]
    return calls, outputs


def assert_every_turn_carried_the_whole_loop(requests: list[dict[str, Any]], history: Any) -> None:
    assert len(requests) == CALLS + 1, f"{len(requests)} requests for a {CALLS + 1}-turn loop"
    for turn, request in enumerate(requests):
        calls, outputs = history(request)
        assert [c for _, c in calls] == EXPECTED_COMMANDS[:turn], f"turn {turn + 1}: calls {calls}"
        assert [i for i, _ in outputs] == [i for i, _ in calls], f"turn {turn + 1}: every call answered, in order"
        for step, (_, output) in enumerate(outputs, start=1):
            # the real command output (the shell computed it), not the command line
            assert re.search(rf"(?m)^chain-{step}-{EXPECTED_VALUES[step - 1]}$", output), f"turn {turn + 1}, output {step}: {output!r}"


def assert_upstream_got_plain_requests(upstream: FakeServer) -> None:
    """Codex 0.171 asks for `zstd,gzip`; a BYOK upstream is asked for an uncompressed answer."""
    assert all(r["headers"].get("accept-encoding") == "identity" for r in upstream.requests)


def run_loop(tmp_path: Path, route: dict[str, Any], slug: str) -> Any:
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('model_reasoning_effort = "none"\n')  # no Anthropic thinking: one tool call per turn
    with Mitmdump(tmp_path, [route]) as proxy:
        result = run_codex(proxy, home, slug, PROMPT, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert FINAL_ANSWER in result.stdout  # the final answer reached Codex's output
    return result


def test_a_seven_turn_tool_loop_on_a_chat_route(tmp_path: Path) -> None:
    model = ChainChatModel()
    with FakeServer(model) as upstream:
        route = {"model": "byok-chat", "provider": "generic-chat-completion-api", "base_url": f"{upstream.base_url}/v1",
                 "api_key": chat_fake.API_KEY}
        run_loop(tmp_path, route, "byok-chat")
    assert model.errors == []
    assert_every_turn_carried_the_whole_loop(upstream.json_bodies(), chat_history)
    assert_upstream_got_plain_requests(upstream)


def test_a_seven_turn_tool_loop_on_an_anthropic_route(tmp_path: Path) -> None:
    model = ChainAnthropicModel()
    with FakeServer(model) as upstream:
        route = {"model": "byok-claude", "provider": "anthropic", "base_url": f"{upstream.base_url}/v1",
                 "api_key": anthropic_fake.API_KEY, "upstream_model": "claude-sonnet-4-5"}
        run_loop(tmp_path, route, "byok-claude")
    assert model.errors == []
    assert all(r["thinking"] == {"type": "disabled"} for r in model.requests)  # effort none: thinking off, as the model allows
    assert_every_turn_carried_the_whole_loop(model.requests, anthropic_history)
    assert_upstream_got_plain_requests(upstream)


def test_a_seven_turn_tool_loop_on_a_responses_route(tmp_path: Path) -> None:
    model = ChainResponsesModel()  # strict: Codex-only fields and foreign reasoning are refused
    with FakeServer(model) as upstream:
        route = {"model": "byok-resp", "provider": "responses", "base_url": f"{upstream.base_url}/v1",
                 "api_key": responses_fake.API_KEY}
        run_loop(tmp_path, route, "byok-resp")
    assert model.errors == []
    requests = upstream.json_bodies()
    assert_every_turn_carried_the_whole_loop(requests, responses_history)
    for turn, request in enumerate(requests):  # each earlier turn's reasoning came back, as issued
        replayed = [i["encrypted_content"] for i in request["input"] if i.get("type") == "reasoning"]
        assert replayed == [f"fake-encrypted-{n}" for n in range(1, turn + 1)], f"turn {turn + 1}: {replayed}"
    assert_upstream_got_plain_requests(upstream)
