"""A relayed response object gets the request's echoed settings spliced in from one rendering
(shim/responses_stream.py, render): the JSON must be the event, field for field, however the
server's object and the echo overlap."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from shim import jsonio
from shim.config import ModelRoute
from shim.event_sinks import FrameSink, WholeAnswerSink
from shim.providers import responses as responses_provider
from shim.providers.responses import ResponsesEventMapper
from shim.response_object import echo_members, request_echo
from shim.responses_stream import ResponseStream, _dumps

TOOLS = [{"type": "function", "name": f"tool_{i}", "description": "é" * 50, "parameters": {"type": "object", "properties": {}}}
         for i in range(40)]  # Codex-sized, and not ASCII
REQUEST = {"model": "slug", "instructions": "Be brief. ✓", "tools": TOOLS, "tool_choice": "auto", "store": False, "stream": True}


@pytest.mark.parametrize("server_fields", [
    {},  # a server that sends only the basics: the whole echo is added and spliced
    {"tools": [], "instructions": None},  # a server that sends some of it: the rest is added, the JSON rendered whole
    {k: v for k, v in request_echo(REQUEST).items()},  # a server that sends all of it: nothing added
])
def test_a_filled_relayed_response_renders_as_the_event_it_is(server_fields: dict[str, Any]) -> None:
    stream = ResponseStream("slug", echo=request_echo(REQUEST))
    for kind in ("response.created", "response.in_progress", "response.completed"):
        event = {"type": kind, "sequence_number": 3,
                 "response": {"id": "resp_1", "object": "response", "created_at": 1, "model": "slug", "output": [], **server_fields}}
        stream.fill_response(event["response"], kind)
        rendered = stream.render(event)
        assert json.loads(rendered) == {**event, "response": {**request_echo(REQUEST), **event["response"]}}
        assert set(json.loads(rendered)["response"]) >= set(request_echo(REQUEST))
        if kind == "response.completed":  # the object a JSON answer's sink keeps is whole too
            assert set(event["response"]) >= set(request_echo(REQUEST))
    echo_text = json.dumps(request_echo(REQUEST)["tools"], separators=(",", ":"))  # the splice; json.dumps would use ", "
    assert (echo_text in rendered) == (server_fields == {})  # spliced only where the whole echo was ours


@pytest.mark.parametrize("server_fields", [{}, request_echo(REQUEST)], ids=["spliced", "rendered whole"])
def test_a_lone_surrogate_a_server_sent_is_relayed_as_it_came(server_fields: dict[str, Any]) -> None:
    stream = ResponseStream("slug", echo=request_echo(REQUEST))
    event = {"type": "response.completed",
             "response": {"id": "r", "output": [{"type": "message", "content": [{"text": "\ud83d"}]}], **server_fields}}
    stream.fill_response(event["response"], "response.completed")
    rendered = stream.render(event)
    assert "\\ud83d" in rendered and json.loads(rendered) == {**event, "response": {**request_echo(REQUEST), **event["response"]}}
    assert rendered.encode("utf-8", "replace").decode() == rendered  # nothing for the encoder to replace


def test_an_anonymous_relay_renders_each_response_object_once_with_an_empty_id() -> None:
    """A socket turn's answer (anonymous: Codex must resend the whole context) from a Responses
    upstream: the id is emptied before the one rendering, not by rendering the event again — the
    splice's ASCII escapes of the echo show it went through the splice, and nothing else."""
    frames: list[str] = []
    stream = ResponseStream("slug", sink=FrameSink(frames.append), anonymous=True, echo=request_echo(REQUEST))
    mapper = ResponsesEventMapper(stream, "upstream-model", "slug")
    base = {"id": "resp_1", "object": "response", "created_at": 1, "model": "upstream-model", "output": []}
    for seq, kind in enumerate(("response.created", "response.in_progress", "response.completed")):
        status = "completed" if kind == "response.completed" else "in_progress"
        mapper.on_event(kind, json.dumps({"type": kind, "sequence_number": seq, "response": {**base, "status": status}}))
    assert len(frames) == 3
    for frame in frames:
        response = json.loads(frame)["response"]
        assert response["id"] == "" and response["model"] == "slug" and response["tools"] == TOOLS
        assert "\\u00e9" in frame and "é" not in frame


def test_a_relayed_object_without_parallel_tool_calls_gets_the_requests() -> None:
    """A Responses server that leaves `parallel_tool_calls` out: filled as the request set it, not true."""
    route = ModelRoute(model="slug", provider="responses", base_url="http://127.0.0.1:9/v1")
    for asked in (False, True):
        upstream = responses_provider.build({**REQUEST, "input": "hi", "parallel_tool_calls": asked}, route, None)
        translator = upstream.new_translator()
        created = {"type": "response.created", "sequence_number": 0,
                   "response": {"id": "r", "object": "response", "created_at": 1, "model": "slug", "status": "in_progress", "output": []}}
        out = translator.feed(b"event: response.created\ndata: " + json.dumps(created).encode() + b"\n\n")
        (data,) = [line[6:] for line in out.decode().split("\n") if line.startswith("data: ")]
        assert json.loads(data)["response"]["parallel_tool_calls"] is asked


def _created(echo: dict[str, Any]) -> str:
    """response.created of a fresh answer with this echo, as the SSE sink writes it (its data)."""
    stream = ResponseStream("slug", echo=echo)
    stream.start()
    first = stream.drain().decode().split("\n\n")[0]
    return next(line[len("data: "):] for line in first.split("\n") if line.startswith("data: "))


def test_an_answer_reuses_the_last_answers_echo_only_when_it_is_the_same_to_the_type() -> None:
    """The next turn's echo is reused from the last rendering when equal (Codex resends its tools);
    True == 1 == 1.0 in Python, so a cache keyed by == would have written the wrong JSON here."""
    base = request_echo(REQUEST)
    answers = [
        base,
        request_echo(json.loads(json.dumps(REQUEST))),  # equal, parsed afresh: reused
        {**base, "metadata": {"flag": True}},
        {**base, "metadata": {"flag": 1}},  # == the one before, rendered differently
        {**base, "metadata": {"flag": 1.0}},
        {**base, "metadata": {"flag": True}},
        dict(reversed(list(base.items()))),  # the same members in another order: another rendering
    ]
    for echo in answers:
        data = _created(echo)
        assert json.loads(data)["response"] == {**json.loads(data)["response"], **echo}
        assert data.endswith(json.dumps(echo, separators=(",", ":"), ensure_ascii=False)[1:-1] + "}}"), echo.get("metadata")


def test_the_same_echo_in_the_next_answer_is_not_rendered_again() -> None:
    """The reuse itself: the next turn's request, read afresh as the Router reads it, splices the
    very string the first one rendered, also when other requests and a stream's events went through
    the same parser in between (another session's; found in review: a key that followed reference
    counts, marshal version 4, missed there, as pydantic-core's string cache let go of some)."""
    raw = json.dumps(REQUEST).encode()
    first = echo_members(request_echo(jsonio.loads(raw)), _dumps)
    body = jsonio.loads(raw)  # the next turn's request; while its provider is asked, another session's is read
    other_session = {"model": "other", "tools": [{"type": "function", "name": f"t{n}", "description": f"d{n}"} for n in range(2000)]}
    jsonio.loads(json.dumps(other_session))
    for n in range(500):
        jsonio.loads(json.dumps({"type": "response.output_text.delta", "delta": f"word {n}", "item_id": f"msg_{n}"}))
    again = echo_members(request_echo(body), _dumps)
    other = echo_members({**request_echo(jsonio.loads(raw)), "tool_choice": "required"}, _dumps)
    assert again is first and other is not first and '"tool_choice":"required"' in other


def _relayed_texts(texts: list[tuple[str, str]], anonymous: bool = False) -> tuple[list[str], ResponseStream]:
    """(SSE name, data) pairs through the Responses relay: the frames Codex gets, and the stream."""
    frames: list[str] = []
    stream = ResponseStream("slug", sink=FrameSink(frames.append), anonymous=anonymous, echo=request_echo(REQUEST))
    mapper = ResponsesEventMapper(stream, "upstream-model", "slug")
    for name, data in texts:
        mapper.on_event(name, data)
    return frames, stream


def _written(event: dict[str, Any]) -> str:
    """An event as OpenAI and OpenRouter write theirs: compact, type first, number last."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def _relayed(events: list[dict[str, Any]], anonymous: bool = False, named: bool = True) -> list[dict[str, Any]]:
    """`events` through the Responses relay as a server writes them (`named`: with `event:` lines,
    as OpenAI; else data only, as OpenRouter), as Codex reads them."""
    frames, _ = _relayed_texts([(event["type"] if named else "", _written(event)) for event in events], anonymous)
    return [json.loads(frame) for frame in frames]


def _announcing(kind: str, number: int, **changes: Any) -> dict[str, Any]:
    response = {"id": "resp_1", "object": "response", "created_at": 1, "model": "upstream-model", "status": "in_progress",
                "output": [], **request_echo(REQUEST), **changes}
    return {"type": kind, "response": response, "sequence_number": number}


@pytest.mark.parametrize("named", [True, False], ids=["named", "data-only"])
@pytest.mark.parametrize("anonymous", [False, True])
def test_an_in_progress_event_repeating_created_goes_out_as_created_did_with_its_own_type_and_number(anonymous: bool, named: bool) -> None:
    """OpenAI and OpenRouter send the same object twice: the second is not read again, and reads
    as the first went out (the slug, the filled fields, the emptied id) under its own type and number."""
    created, in_progress = _relayed([_announcing("response.created", 0), _announcing("response.in_progress", 1)], anonymous, named)
    assert (created["type"], created["sequence_number"]) == ("response.created", 0)
    assert (in_progress["type"], in_progress["sequence_number"]) == ("response.in_progress", 1)
    assert in_progress["response"] == created["response"]
    assert created["response"]["model"] == "slug" and created["response"]["id"] == ("" if anonymous else "resp_1")
    assert created["response"]["tools"] == TOOLS and created["response"]["error"] is None  # filled: the server left `error` out


@pytest.mark.parametrize("named", [True, False], ids=["named", "data-only"])
@pytest.mark.parametrize("changes", [{"status": "queued"}, {"model": "other-model"}, {"id": "resp_2"}, {"metadata": {"n": 1}}])
def test_an_in_progress_event_that_differs_from_created_is_read_for_itself(changes: dict[str, Any], named: bool) -> None:
    created, in_progress = _relayed([_announcing("response.created", 0), _announcing("response.in_progress", 1, **changes)], named=named)
    expected = {**created["response"], **changes, "model": "slug"}
    assert in_progress["response"] == expected and in_progress["sequence_number"] == 1


@pytest.mark.parametrize("number", ["01", "9" * 5000])
def test_an_in_progress_event_whose_number_is_not_jsons_goes_out_as_it_came(number: str) -> None:
    """Found in review: these passed the shortcut's check (a leading zero; digits past int()'s
    limit, which then raised and failed the answer), where the full path cannot read the event and
    relays it untouched."""
    bad = _written(_announcing("response.in_progress", 1))[: -len("1}")] + number + "}"
    frames, stream = _relayed_texts([("response.created", _written(_announcing("response.created", 0))), ("response.in_progress", bad)])
    assert frames[-1] == bad and not stream.finished


def test_an_event_with_a_second_type_member_is_read_for_itself() -> None:
    """Found in review: `{"type":"response.in_progress","type":"response.created",…}` is a created
    event to a reader (the last member wins); the shortcut must not call it in_progress."""
    created = _written(_announcing("response.created", 0))
    twice = '{"type":"x",' + created[1:]
    frames, _ = _relayed_texts([("response.created", twice),
                                ("response.in_progress", '{"type":"response.in_progress",' + created[1:].replace(':0}', ':1}'))])
    assert [json.loads(frame)["type"] for frame in frames] == ["response.created", "response.created"]


def _reads_relaying(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], bytes]:
    """The event texts the Responses relay parsed while relaying the SSE body `raw`, and its output."""
    reads: list[str] = []
    real = jsonio.loads

    def counted(data: bytes | str) -> Any:
        reads.append(data if isinstance(data, str) else data.decode())
        return real(data)

    route = ModelRoute(model="slug", provider="responses", base_url="http://127.0.0.1:1/v1")
    translator = responses_provider.build({"model": "slug", "input": "hi"}, route, "sk-test").new_translator()
    with monkeypatch.context() as patched:
        patched.setattr(jsonio, "loads", counted)
        out = translator.feed(raw) + translator.feed(b"")
    return reads, out


def test_a_data_only_stream_is_read_no_more_than_a_named_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenRouter's Responses stream has no `event:` lines (tests/corpus/openrouter). Its events
    are named by the type they are written with first, unparsed, so the relay reads what it
    reads of OpenAI's: response.created, finished items and the end, not the deltas and not an
    in_progress that repeats created. It parsed every event before, 26 % more time per delta."""
    raw = (Path(__file__).parent / "corpus" / "openrouter" / "responses-reasoning-text.sse").read_bytes()
    named = re.sub(rb'(?m)^data: (\{"type":"([a-z_.]+)")', rb"event: \2\ndata: \1", raw)
    assert named.count(b"event: ") == raw.count(b'data: {"type":"') > 30
    data_only_reads, data_only_out = _reads_relaying(raw, monkeypatch)
    named_reads, named_out = _reads_relaying(named, monkeypatch)
    types_read = [json.loads(text)["type"] for text in data_only_reads]
    assert types_read == ["response.created", "response.output_item.done", "response.output_item.done", "response.completed"]
    assert data_only_reads == named_reads and data_only_out == named_out


@pytest.mark.parametrize(("data", "named"), [
    ('{"type":"response.output_text.delta","delta":"a"}', "response.output_text.delta"),
    ('{"type":"response.done"}', "response.done"),
    ('{"type":"response.out\\u0070ut_text.delta","delta":"a"}', ""),  # an escape: read by the parser
    ('{"delta":"a","type":"response.output_text.delta"}', ""),  # not written type first
    ('{"type":1}', ""),
    ('{"type":"x"', ""),
    ('{"type":"', ""),
])
def test_a_data_only_event_is_named_unparsed_only_when_its_type_comes_first_plainly(data: str, named: str) -> None:
    assert responses_provider._leading_type(data) == named


@pytest.mark.parametrize("named", [True, False], ids=["named", "data-only"])
def test_a_queued_response_gets_the_slug_too(named: bool) -> None:
    """Found in review: response.queued (a background response's first event) carries a response
    object, which went out with the provider's model name."""
    queued = _announcing("response.queued", 0, status="queued")
    [out] = _relayed([queued], named=named)
    assert out["response"]["model"] == "slug" and out["response"]["status"] == "queued" and out["type"] == "response.queued"


@pytest.mark.parametrize("event_line", [
    'event: message\ndata: {"type":"response.completed",',  # named otherwise than its data says
    'data: {"type":"response.output_text.done","type":"response.completed",',  # data only, two types: the last is its type
])
def test_a_json_answer_keeps_the_final_response_however_its_event_is_named(event_line: str) -> None:
    """Found in review: the JSON answer's sink kept the terminal event by its SSE name, which a
    relayed event may not share with its data; the stream ended (the writer goes by the data) and
    the answer had no response object."""
    completed = _written(_announcing("response.completed", 1, status="completed")).removeprefix('{"type":"response.completed",')
    raw = (f"data: {_written(_announcing('response.created', 0))}\n\n{event_line}{completed}\n\n").encode()
    route = ModelRoute(model="slug", provider="responses", base_url="http://127.0.0.1:1/v1")
    sink = WholeAnswerSink()
    translator = responses_provider.build({"model": "slug", "input": "hi"}, route, "sk-test").new_translator(sink=sink)
    translator.feed(raw)
    translator.feed(b"")
    response = sink.response()
    assert response is not None and response["status"] == "completed" and response["model"] == "slug"


def _in_order(text: str) -> Any:
    """JSON with every object as its list of members: equal only when the members come in the same order."""
    return json.loads(text, object_pairs_hook=list)


def _frames_both_ways(events: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, anonymous: bool = False) -> tuple[list[str], list[str]]:
    """The frames Codex gets for `events` as a server writes them (compact, non-ASCII escaped, as
    json.dumps does by default), with changes written into the server's text where the relay can,
    and with every changed event rendered whole."""
    texts = [(event["type"], json.dumps(event, separators=(",", ":"))) for event in events]
    written, _ = _relayed_texts(texts, anonymous)
    with monkeypatch.context() as patched:
        patched.setattr(responses_provider, "_spliced", lambda *args: None)
        rendered, _ = _relayed_texts(texts, anonymous)
    return written, rendered


@pytest.mark.parametrize(("server", "written_in"), [
    ({}, True),  # the slug for their model, what they left out appended: OpenRouter's created leaves out usage and completed_at
    ({"error": None, "incomplete_details": None, "usage": None, "completed_at": None}, True),  # OpenAI's has those: the slug only
    ({"model": "slug"}, True),  # already the slug: only appended
    ({"model": None}, False),  # a model that is not a name: rendered
    ({"model": "up\u00e9"}, False),  # spelled otherwise than a compact serializer writes it here (escaped): not found, rendered
    ({"metadata": {"default": {"model": "upstream-model"}}}, False),  # the same member nested too: which is whose is not told, rendered
    ({"tools": TOOLS[:2]}, False),  # under 4 KB: rendering costs less
], ids=["appended", "slug-only", "no-swap", "null-model", "escaped-model", "nested-model", "small"])
def test_changes_to_an_announced_object_are_written_into_the_servers_text_as_rendering_would_write_them(
        server: dict[str, Any], written_in: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The created object a server sends with Codex's tools is ~19 KB: the slug and the members it
    left out are written into its text instead of rendering the event again. Codex must read the
    same members in the same order either way; where the relay cannot tell where its model is,
    or the object is small, the event is rendered whole."""
    created = _announcing("response.created", 0, **server)
    for field in ("error", "incomplete_details", "usage", "completed_at"):
        if field not in server:
            created["response"].pop(field, None)
    in_progress = {**created, "type": "response.in_progress", "sequence_number": 1}
    written, rendered = _frames_both_ways([created, in_progress], monkeypatch)
    assert [_in_order(frame) for frame in written] == [_in_order(frame) for frame in rendered]
    assert json.loads(written[0])["response"]["model"] == "slug" and json.loads(written[0])["response"]["usage"] is None
    assert ("\\u00e9" in written[0]) == written_in  # the server's spelling (escaped) kept, or the whole rendered (pydantic-core: é)
    assert written[1] == written[0].replace('"response.created"', '"response.in_progress"', 1)[: -len("0}")] + "1}"


def test_an_object_without_a_model_gets_the_slug_appended(monkeypatch: pytest.MonkeyPatch) -> None:
    created = _announcing("response.created", 0)
    del created["response"]["model"]
    written, rendered = _frames_both_ways([created], monkeypatch)
    assert _in_order(written[0]) == _in_order(rendered[0]) and "\\u00e9" in written[0]
    assert json.loads(written[0])["response"]["model"] == "slug"


@pytest.mark.parametrize("anonymous", [False, True])
def test_a_written_in_object_keeps_the_servers_other_members_as_it_wrote_them(anonymous: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """An anonymous turn empties the id: rendered whole (the id is not written in), the same JSON either way."""
    written, rendered = _frames_both_ways([_announcing("response.created", 0)], monkeypatch, anonymous)
    assert [_in_order(frame) for frame in written] == [_in_order(frame) for frame in rendered]
    assert ('"id":""' in written[0]) == anonymous and ("\\u00e9" in written[0]) != anonymous


@pytest.mark.parametrize(("repeat_number", "ours"), [(1, 51), (70, 71)])
def test_an_in_progress_repeat_leaves_the_next_number_after_the_largest_the_server_wrote(repeat_number: int, ours: int) -> None:
    """A repeat of created is not searched for numbers: any other it holds was in created, and
    counted. The relay's own closing event is numbered after all of them, the nested one and the
    repeat's own (found in review: a repeat numbered past the nested one is the case that tells)."""
    created = _announcing("response.created", 0, metadata={"sequence_number": 50})
    repeat = {**created, "type": "response.in_progress", "sequence_number": repeat_number}
    frames, stream = _relayed_texts([("response.created", _written(created)), ("response.in_progress", _written(repeat))])
    stream.fail("stream_truncated", "ended")  # as the relay's close() does
    assert [json.loads(frame)["sequence_number"] for frame in frames] == [0, repeat_number, ours]
    assert frames[1] == frames[0].replace('"response.created"', '"response.in_progress"', 1)[: -len("0}")] + f"{repeat_number}}}"  # a repeat


def test_an_event_with_a_member_after_its_response_object_is_rendered_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in review: `{"type":…,"response":{…},"extra":{…},"sequence_number":n}` ends its
    middle with the other object's brace; what the server left out went into `extra`."""
    created = _announcing("response.created", 0)  # (no usage: filled in)
    event = {"type": "response.created", "response": created["response"], "extra": {"x": 1}, "sequence_number": 0}
    written, rendered = _frames_both_ways([event], monkeypatch)
    assert _in_order(written[0]) == _in_order(rendered[0])
    assert json.loads(written[0])["extra"] == {"x": 1} and json.loads(written[0])["response"]["usage"] is None
