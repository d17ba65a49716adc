"""Performance of the codex-shim addon on long streams (run it with `scripts/bench`).

A fake upstream (its own process, 127.0.0.1 only) streams a long answer — thousands of small text
deltas, one SSE event per HTTP chunk — as Chat Completions, Anthropic Messages or a native
Responses stream. Each is fetched directly from the fake and, as Responses SSE, through a real
`mitmdump -s addons/codex_shim.py`; a second, plain mitmdump (stream_large_bodies=1) is the
yardstick for passthrough. mitmdump's CPU time and memory come from /proc.

Two pacings: "paced" sends the deltas at --rate per second (a fast provider; the deltas reach the
proxy one or a few at a time, as in real use) and "burst" sends them as fast as the sockets take
them (the proxy's throughput). Figures come from one run; no assertion, no retries.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shim.sse import SSEDecoder  # noqa: E402
from tests.harness import free_port, wait_for_port  # noqa: E402

SHAPES = ("chat", "anthropic", "responses")
ROUTE = {"chat": "bench-chat", "anthropic": "bench-anthropic", "responses": "bench-responses"}
NATIVE_MODEL = "gpt-bench-native"  # not in models.json: the addon passes it through
KEY = "sk-bench-not-a-real-key"
# Direct fetches: where the shape's first text delta shows in the raw bytes.
DIRECT_MARK = {"chat": b'"delta":{"content":', "anthropic": b'"text_delta"', "responses": b"response.output_text.delta"}
PROXY_MARK = b"response.output_text.delta"
TOKENS = ("The", " quick", " brown", " fox", " —", " jumps", "\n", ' "over"', " the", " lazy", " dög", ".", " 12", "\t")


def answer_deltas(n: int) -> list[str]:
    return [TOKENS[i % len(TOKENS)] for i in range(n)]


# -- the fake upstream (runs in its own process) ------------------------------------------------


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def chat_events(n: int) -> list[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, Any] | None = None) -> bytes:
        body: dict[str, Any] = {
            "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1760000000, "model": "bench-model",
            "system_fingerprint": "fp_bench",
            "choices": [] if usage else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if usage:
            body["usage"] = usage
        return f"data: {_dumps(body)}\n\n".encode()

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    events += [chunk({"content": text}) for text in answer_deltas(n)]
    events.append(chunk({}, finish="stop"))
    events.append(chunk({}, usage={"prompt_tokens": 1200, "completion_tokens": n, "total_tokens": 1200 + n,
                                   "prompt_tokens_details": {"cached_tokens": 1024}}))
    events.append(b"data: [DONE]\n\n")
    return events


def anthropic_events(n: int) -> list[bytes]:
    def ev(name: str, body: dict[str, Any]) -> bytes:
        return f"event: {name}\ndata: {_dumps({'type': name, **body})}\n\n".encode()

    usage = {"input_tokens": 1200, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 1024, "output_tokens": 1}
    events = [
        ev("message_start", {"message": {"id": "msg_bench", "type": "message", "role": "assistant", "model": "bench-model",
                                         "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}}),
        ev("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        ev("ping", {}),
    ]
    events += [ev("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": t}}) for t in answer_deltas(n)]
    events.append(ev("content_block_stop", {"index": 0}))
    events.append(ev("message_delta", {"delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": n}}))
    events.append(ev("message_stop", {}))
    return events


def responses_events(n: int) -> list[bytes]:
    seq = 0

    def ev(name: str, **body: Any) -> bytes:
        nonlocal seq
        data = _dumps({"type": name, "sequence_number": seq, **body})
        seq += 1
        return f"event: {name}\ndata: {data}\n\n".encode()

    text = "".join(answer_deltas(n))
    base = {"id": "resp_bench", "object": "response", "created_at": 1760000000, "model": "bench-model", "output": []}
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    item = {"id": "msg_bench", "type": "message", "status": "completed", "role": "assistant", "content": [part]}
    ids = {"item_id": "msg_bench", "output_index": 0, "content_index": 0}
    events = [
        ev("response.created", response={**base, "status": "in_progress"}),
        ev("response.in_progress", response={**base, "status": "in_progress"}),
        ev("response.output_item.added", output_index=0, item={**item, "status": "in_progress", "content": []}),
        ev("response.content_part.added", part={**part, "text": ""}, **ids),
    ]
    events += [ev("response.output_text.delta", delta=t, logprobs=[], obfuscation="Xq3", **ids) for t in answer_deltas(n)]
    events.append(ev("response.output_text.done", text=text, logprobs=[], **ids))
    events.append(ev("response.content_part.done", part=part, **ids))
    events.append(ev("response.output_item.done", output_index=0, item=item))
    usage = {"input_tokens": 1200, "input_tokens_details": {"cached_tokens": 1024}, "output_tokens": n,
             "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 1200 + n}
    events.append(ev("response.completed", response={**base, "status": "completed", "output": [item], "usage": usage}))
    return events


BUILDERS: dict[str, Callable[[int], list[bytes]]] = {"chat": chat_events, "anthropic": anthropic_events, "responses": responses_events}


def shape_of(path: str) -> str | None:
    path = path.split("?", 1)[0]
    if path.endswith("/chat/completions"):
        return "chat"
    if path.endswith("/messages"):
        return "anthropic"
    if path.endswith("/responses"):
        return "responses"
    return None


async def _serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cache: dict[tuple[str, int], list[bytes]]) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        for _ in range(10_000):  # keep-alive requests on one connection, bounded
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 120)
            except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            body = await reader.readexactly(int(headers.get("content-length") or 0))
            shape = shape_of(path)
            n_match, rate_match = re.search(rb"n=(\d+)", body), re.search(rb"rate=(\d+)", body)
            if shape is None or n_match is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
                continue
            n, rate = int(n_match[1]), int(rate_match[1]) if rate_match else 0
            events = cache.get((shape, n))
            if events is None:
                events = cache[(shape, n)] = BUILDERS[shape](n)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
                         b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n")
            start = time.perf_counter()
            for i, event in enumerate(events):
                writer.write(b"%x\r\n%s\r\n" % (len(event), event))  # one event, one chunk, one send()
                if rate:
                    ahead = start + i / rate - time.perf_counter()
                    if ahead > 0:
                        await asyncio.sleep(ahead)
                if i % 64 == 0:
                    await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        writer.close()


async def _fake_main() -> None:
    cache: dict[tuple[str, int], list[bytes]] = {}
    server = await asyncio.start_server(lambda r, w: _serve_one(r, w, cache), "127.0.0.1", 0, backlog=256)
    print(server.sockets[0].getsockname()[1], flush=True)
    # Ends when the parent closes our stdin (or dies).
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


# The addon's own share: a second addon, loaded after codex_shim, times the stream hook it installed.
HOOK_TIMER = """
import time
from pathlib import Path

OUT = Path(__file__).with_suffix(".out")


class HookTimer:
    def __init__(self):
        self.ns = 0

    def responseheaders(self, flow):
        inner = flow.response.stream
        if not callable(inner):
            return

        def timed(chunk):
            start = time.perf_counter_ns()
            try:
                return inner(chunk)
            finally:
                self.ns += time.perf_counter_ns() - start

        flow.response.stream = timed

    def response(self, flow):
        OUT.write_text(str(self.ns))


addons = [HookTimer()]
"""


def hook_ns(workdir: Path) -> int:
    """Nanoseconds spent in codex_shim's stream hooks so far (written at the end of every flow)."""
    try:
        return int((workdir / "hook_timer.out").read_text())
    except (OSError, ValueError):
        return 0


# -- processes and /proc ---------------------------------------------------------------------------


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def cpu_ns(pid: int) -> int:
    """CPU time of every thread of `pid`, in ns (schedstat), or from /proc/PID/stat ticks."""
    try:
        return sum(int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
                   for tid in os.listdir(f"/proc/{pid}/task"))
    except (OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def memory_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


class Proxy:
    """A mitmdump on a free loopback port; `addon=False` is plain mitmdump that streams bodies."""

    def __init__(self, workdir: Path, name: str, addon: bool, extra: list[str]) -> None:
        self.port = free_port()
        confdir = workdir / f"{name}-conf"
        confdir.mkdir()
        mitmdump = Path(sys.executable).parent / "mitmdump"
        args = [str(mitmdump), "--listen-host", "127.0.0.1", "-p", str(self.port), "--set", f"confdir={confdir}"]
        args += ["-s", str(ROOT / "addons" / "codex_shim.py")] if addon else ["--set", "stream_large_bodies=1"]
        self.log = workdir / f"{name}.log"
        self._logfile = self.log.open("wb")
        self.proc = subprocess.Popen([*args, *extra], stdout=self._logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            wait_for_port(self.port, self.proc)
        except Exception:
            stop(self.proc)
            raise RuntimeError(f"mitmdump did not start:\n{self.log.read_text(errors='replace')}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def close(self) -> None:
        stop(self.proc)
        self._logfile.close()


# -- the client ------------------------------------------------------------------------------------


@dataclass
class Fetch:
    status: int
    ttfd: float | None  # seconds from sending the request to the first text delta
    total: float  # seconds from sending the request to the end of the body
    body: bytes  # de-chunked


def fetch(port: int, target: str, host: str, payload: bytes, mark: bytes, timeout: float = 60.0) -> Fetch:
    """POST with a raw socket, timing the first delta and the end without parsing on the way."""
    request = (f"POST {target} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
               f"accept: text/event-stream\r\ncontent-length: {len(payload)}\r\nconnection: close\r\n\r\n").encode()
    start = time.perf_counter()
    deadline = start + timeout
    parts: list[bytes] = []
    ttfd: float | None = None
    tail = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request + payload)
        while True:
            data = sock.recv(1 << 18)
            now = time.perf_counter()
            if not data:
                break
            parts.append(data)
            window = tail + data[:64]
            if ttfd is None and (mark in data or mark in window):
                ttfd = now - start
            tail = (tail + data)[-64:] if len(data) < 64 else data[-64:]
            if tail.endswith(b"\r\n0\r\n\r\n"):  # the last chunk: no need to wait for the close
                break
            if now > deadline:
                raise TimeoutError(f"{target}: no end after {timeout}s")
    total = time.perf_counter() - start
    raw = b"".join(parts)
    head, _, rest = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    chunked = b"transfer-encoding: chunked" in head.lower()
    return Fetch(status, ttfd, total, dechunk(rest) if chunked else rest)


def dechunk(data: bytes) -> bytes:
    out, pos = [], 0
    while pos < len(data):
        eol = data.index(b"\r\n", pos)
        size = int(data[pos:eol].split(b";")[0], 16)
        if size == 0:
            break
        out.append(data[eol + 2 : eol + 2 + size])
        pos = eol + 2 + size + 2
    return b"".join(out)


def provider_payload(shape: str, n: int, rate: int) -> tuple[str, bytes]:
    """The request a client would send the provider itself (the fake reads only n= and rate=)."""
    prompt = f"n={n} rate={rate}"
    if shape == "chat":
        body: dict[str, Any] = {"model": "bench-model", "messages": [{"role": "user", "content": prompt}], "stream": True}
        return "/v1/chat/completions", json.dumps(body).encode()
    if shape == "anthropic":
        body = {"model": "bench-model", "max_tokens": 64000, "messages": [{"role": "user", "content": prompt}], "stream": True}
        return "/v1/messages", json.dumps(body).encode()
    body = {"model": "bench-model", "input": prompt, "stream": True}
    return "/v1/responses", json.dumps(body).encode()


def responses_payload(model: str, n: int, rate: int) -> bytes:
    """What Codex sends: a Responses request (trimmed to what matters here)."""
    return json.dumps({
        "model": model, "instructions": "You are a benchmark.", "stream": True, "store": False,
        "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"n={n} rate={rate}"}]}],
        "tools": [], "tool_choice": "auto", "parallel_tool_calls": False,
    }).encode()


class Bench:
    def __init__(self, fake_port: int, shim: Proxy) -> None:
        self.fake_port = fake_port
        self.shim = shim
        self.host = f"127.0.0.1:{fake_port}"

    def direct(self, shape: str, n: int, rate: int) -> Fetch:
        path, payload = provider_payload(shape, n, rate)
        return fetch(self.fake_port, path, self.host, payload, DIRECT_MARK[shape])

    def via(self, proxy: Proxy, model: str, n: int, rate: int) -> Fetch:
        return fetch(proxy.port, f"http://{self.host}/v1/responses", self.host, responses_payload(model, n, rate), PROXY_MARK)

    def proxied(self, shape: str, n: int, rate: int) -> Fetch:
        return self.via(self.shim, ROUTE[shape], n, rate)


def check_responses(result: Fetch, n: int) -> str | None:
    """Why `result` is not a whole Responses stream of the expected answer, or None."""
    if result.status != 200:
        return f"status {result.status}"
    decoder = SSEDecoder()
    events = decoder.feed(result.body) + decoder.close()
    try:
        parsed = [json.loads(data) for _, data in events]
    except json.JSONDecodeError as exc:
        return f"bad JSON event: {exc}"
    if not parsed or parsed[-1].get("type") != "response.completed":
        return f"last event is {parsed[-1].get('type') if parsed else None}"
    text = "".join(e["delta"] for e in parsed if e.get("type") == "response.output_text.delta")
    if text != "".join(answer_deltas(n)):
        return f"text differs ({len(text)} chars, expected {len(''.join(answer_deltas(n)))})"
    return None


class CpuMeter:
    """mitmdump's CPU over a batch, minus the idle rate measured at start."""

    def __init__(self, pid: int, idle_seconds: float) -> None:
        self.pid = pid
        before, t0 = cpu_ns(pid), time.perf_counter()
        time.sleep(idle_seconds)
        self.idle_rate = (cpu_ns(pid) - before) / (time.perf_counter() - t0)  # ns per s

    def measure(self, batch: Callable[[], Any]) -> tuple[float, Any]:
        """(CPU ms used by the batch, the batch's result)."""
        before, t0 = cpu_ns(self.pid), time.perf_counter()
        result = batch()
        used = cpu_ns(self.pid) - before - self.idle_rate * (time.perf_counter() - t0)
        return max(used, 0) / 1e6, result


# -- the run ---------------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    value: str
    target: str
    ok: bool | None
    note: str = ""


@dataclass
class Settings:
    deltas: int
    rate: int
    reps: int
    ttfd_reps: int
    streams: int
    stream_deltas: int
    stream_rate: int
    long_factor: int
    time_limit: float


QUICK = Settings(deltas=1000, rate=4000, reps=1, ttfd_reps=7, streams=50, stream_deltas=300, stream_rate=200, long_factor=10, time_limit=90)
FULL = Settings(deltas=5000, rate=2500, reps=2, ttfd_reps=15, streams=50, stream_deltas=1000, stream_rate=250, long_factor=10, time_limit=240)


@dataclass
class Figures:
    rows: list[Row] = field(default_factory=list)
    detail: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.detail.append(line)
        print(line, flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run(settings: Settings, workdir: Path, profile: Path | None, scripts: list[Path]) -> Figures:
    figures = Figures()
    started = time.monotonic()

    def on_time() -> None:
        if time.monotonic() - started > settings.time_limit:
            raise TimeoutError(f"bench exceeded its {settings.time_limit:.0f}s budget")

    fake = subprocess.Popen([sys.executable, __file__, "--fake-upstream"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    procs: list[Proxy] = []
    spy: subprocess.Popen[bytes] | None = None
    try:
        assert fake.stdout is not None
        fake_port = int(fake.stdout.readline())
        base = f"http://127.0.0.1:{fake_port}/v1"
        models = [
            {"model": ROUTE["chat"], "provider": "generic-chat-completion-api", "base_url": base, "api_key": KEY},
            {"model": ROUTE["anthropic"], "provider": "anthropic", "base_url": base, "api_key": KEY},
            {"model": ROUTE["responses"], "provider": "responses", "base_url": base, "api_key": KEY},
        ]
        config = workdir / "models.json"
        config.write_text(json.dumps({"models": models}))
        (workdir / "hook_timer.py").write_text(HOOK_TIMER)
        extra = [arg for script in scripts for arg in ("-s", str(script))]
        shim = Proxy(workdir, "shim", True, [*extra, "-s", str(workdir / "hook_timer.py"), "--set", f"codex_shim_config={config}",
                                             "--set", f"codex_shim_hosts=127.0.0.1:{fake_port}"])
        procs.append(shim)
        plain = Proxy(workdir, "plain", False, [])
        procs.append(plain)
        bench = Bench(fake_port, shim)

        for shape in SHAPES:  # warm up both paths (imports, first connections)
            problem = check_responses(bench.proxied(shape, 50, 0), 50)
            if problem:
                raise RuntimeError(f"{shape} through the proxy is broken: {problem}\n{shim.log.read_text(errors='replace')[-3000:]}")
            bench.direct(shape, 50, 0)
        bench.via(plain, NATIVE_MODEL, 50, 0)
        bench.via(shim, NATIVE_MODEL, 50, 0)

        if profile is not None:
            spy = subprocess.Popen(["py-spy" if shutil.which("py-spy") else str(Path(sys.executable).parent / "py-spy"),
                                    "record", "--pid", str(shim.pid), "--rate", "200", "--format", "raw",
                                    "--output", str(profile)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)

        meter = CpuMeter(shim.pid, 1.0 if settings.reps < 2 else 2.0)
        plain_meter = CpuMeter(plain.pid, 1.0)
        figures.say(f"mitmdump idle CPU: {meter.idle_rate / 1e6:.2f} ms/s with the addon, {plain_meter.idle_rate / 1e6:.2f} ms/s plain "
                    "(subtracted from every batch)")
        n, rate = settings.deltas, settings.rate

        # 1. Time to first delta: short streams, alternating direct and proxied.
        overheads: list[float] = []
        for shape in SHAPES:
            direct, proxied = [], []
            for _ in range(settings.ttfd_reps):
                d, p = bench.direct(shape, 200, 0), bench.proxied(shape, 200, 0)
                if d.ttfd is not None and p.ttfd is not None:
                    direct.append(d.ttfd * 1e3)
                    proxied.append(p.ttfd * 1e3)
            overhead = median(proxied) - median(direct)
            overheads.append(overhead)
            figures.say(f"TTFD {shape:<10} direct {median(direct):6.2f} ms  via shim {median(proxied):6.2f} ms  overhead {overhead:+6.2f} ms")
        # The yardstick: plain mitmdump relaying a native stream, against the same stream fetched directly.
        direct, relayed = [], []
        for _ in range(settings.ttfd_reps):
            d, p = bench.direct("responses", 200, 0), bench.via(plain, NATIVE_MODEL, 200, 0)
            if d.ttfd is not None and p.ttfd is not None:
                direct.append(d.ttfd * 1e3)
                relayed.append(p.ttfd * 1e3)
        floor = median(relayed) - median(direct)
        figures.say(f"TTFD plain mitmdump (native stream): overhead {floor:+6.2f} ms")
        on_time()
        worst = max(overheads)
        figures.rows.append(Row("time-to-first-delta overhead (median, worst shape)", f"{worst:.2f} ms", "<= 5 ms", worst <= 5,
                                f"plain mitmdump alone: {floor:.2f} ms"))

        # 2. Paced and burst streams: total-time ratio and CPU per 1,000 deltas.
        for pacing, r in (("paced", rate), ("burst", 0)):
            ratios, cpus, hooks = [], [], []
            for shape in SHAPES:
                direct = [bench.direct(shape, n, r).total for _ in range(settings.reps)]

                def batch() -> list[Fetch]:
                    return [bench.proxied(shape, n, r) for _ in range(settings.reps)]

                hook_before = hook_ns(workdir)
                cpu_ms, results = meter.measure(batch)
                hook_per_k = (hook_ns(workdir) - hook_before) / 1e6 / (n * settings.reps / 1000)
                hooks.append(hook_per_k)
                for result in results:
                    problem = check_responses(result, n)
                    if problem:
                        raise RuntimeError(f"{shape} {pacing}: {problem}")
                ratio = median([f.total for f in results]) / median(direct)
                per_k = cpu_ms / (n * settings.reps / 1000)
                ratios.append(ratio)
                cpus.append(per_k)
                figures.say(f"{pacing:<5} {shape:<10} {n} deltas{f' @{r}/s' if r else ''}: direct {median(direct) * 1e3:7.1f} ms  "
                            f"via shim {median([f.total for f in results]) * 1e3:7.1f} ms  ratio {ratio:5.2f}  "
                            f"mitmdump CPU {per_k:6.2f} ms/1k deltas, of which the addon's stream hook {hook_per_k:5.2f}")
                on_time()
            # The yardstick: plain mitmdump streaming the native Responses stream at the same pace.
            direct = [bench.direct("responses", n, r).total for _ in range(settings.reps)]
            plain_cpu, relayed = plain_meter.measure(lambda: [bench.via(plain, NATIVE_MODEL, n, r) for _ in range(settings.reps)])
            plain_ratio = median([f.total for f in relayed]) / median(direct)
            plain_per_k = plain_cpu / (n * settings.reps / 1000)
            figures.say(f"{pacing:<5} plain mitmdump, native stream: ratio {plain_ratio:5.2f}  mitmdump CPU {plain_per_k:6.2f} ms/1k deltas")
            pace = f"@{rate} deltas/s" if r else "as fast as the sockets go"
            figures.rows.append(Row(f"total-time ratio, {pacing} (worst shape)", f"{max(ratios):.2f}", "<= 1.5", max(ratios) <= 1.5,
                                    f"{pace}; plain mitmdump {plain_ratio:.2f}"))
            figures.rows.append(Row(f"mitmdump CPU per 1,000 deltas, {pacing} (worst shape)", f"{max(cpus):.2f} ms", "<= 8 ms",
                                    max(cpus) <= 8, ", ".join(f"{s} {c:.1f}" for s, c in zip(SHAPES, cpus))
                                    + f"; plain mitmdump {plain_per_k:.1f}"))
            figures.rows.append(Row(f"  of which codex-shim's stream hook, {pacing} (worst shape)", f"{max(hooks):.2f} ms", "<= 8 ms",
                                    max(hooks) <= 8, ", ".join(f"{s} {h:.1f}" for s, h in zip(SHAPES, hooks))))
            on_time()

        # 3. Memory: peak RSS after the 1x streams vs after streams 10x longer (burst: the most buffering).
        hwm_short = memory_kb(shim.pid, "VmHWM")
        long_n = n * settings.long_factor
        for shape in SHAPES:
            t0 = time.perf_counter()
            problem = check_responses(bench.proxied(shape, long_n, 0), long_n)
            if problem:
                raise RuntimeError(f"{shape} {long_n} deltas: {problem}")
            figures.say(f"long  {shape:<10} {long_n} deltas in {time.perf_counter() - t0:.2f} s; VmHWM {memory_kb(shim.pid, 'VmHWM') / 1024:.1f} MiB")
            on_time()
        hwm_long = memory_kb(shim.pid, "VmHWM")
        growth = (hwm_long - hwm_short) / hwm_short * 100
        figures.rows.append(Row("mitmdump peak RSS (VmHWM), 1x answers", f"{hwm_short / 1024:.1f} MiB", "-", None))
        figures.rows.append(Row(f"peak RSS growth at {settings.long_factor}x answer length", f"{growth:+.1f} %", "< 10 %", growth < 10,
                                f"{hwm_long / 1024:.1f} MiB after {long_n} deltas"))

        # 4. Concurrency: N simultaneous streams, shapes mixed, each checked whole.
        results: list[Fetch | BaseException | None] = [None] * settings.streams
        gate = threading.Barrier(settings.streams, timeout=30)
        sn, sr = settings.stream_deltas, settings.stream_rate

        def one(i: int) -> None:
            try:
                gate.wait()
                results[i] = bench.proxied(SHAPES[i % len(SHAPES)], sn, sr)
            except BaseException as exc:  # noqa: BLE001 - reported below
                results[i] = exc

        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(settings.streams)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(1.0, 120 - (time.perf_counter() - t0)))
        wall = time.perf_counter() - t0
        whole = sum(1 for r in results if isinstance(r, Fetch) and check_responses(r, sn) is None)
        failures = [r if not isinstance(r, Fetch) else check_responses(r, sn) for r in results]
        failures = [f for f in failures if f is not None]
        slowest = max((r.total for r in results if isinstance(r, Fetch)), default=float("nan"))
        figures.say(f"concurrency: {whole}/{settings.streams} whole, {sn} deltas each @{sr}/s (nominal {sn / sr:.1f} s), "
                    f"slowest {slowest:.2f} s, wall {wall:.2f} s{'; first failure: ' + repr(failures[0]) if failures else ''}")
        figures.rows.append(Row(f"{settings.streams} concurrent streams arrive whole", f"{whole}/{settings.streams}",
                                f"{settings.streams}/{settings.streams}", whole == settings.streams,
                                f"slowest {slowest:.2f} s vs nominal {sn / sr:.1f} s"))
        on_time()

        # 5. Passthrough: an unrouted model's native stream, addon vs plain mitmdump.
        shim_times, plain_times, shim_cpu, plain_cpu = [], [], 0.0, 0.0
        for _ in range(max(4, settings.reps * 4)):
            cpu, f = plain_meter.measure(lambda: bench.via(plain, NATIVE_MODEL, n, 0))
            plain_times.append(f.total)
            plain_cpu += cpu
            cpu, f = meter.measure(lambda: bench.via(shim, NATIVE_MODEL, n, 0))
            problem = check_responses(f, n)
            if problem:
                raise RuntimeError(f"passthrough: {problem}")
            shim_times.append(f.total)
            shim_cpu += cpu
        ratio = median(shim_times) / median(plain_times)
        figures.say(f"passthrough {n} deltas burst: plain mitmdump {median(plain_times) * 1e3:.1f} ms ({plain_cpu / len(plain_times):.0f} ms CPU), "
                    f"with addon {median(shim_times) * 1e3:.1f} ms ({shim_cpu / len(shim_times):.0f} ms CPU)")
        figures.rows.append(Row("passthrough total-time ratio (addon / plain mitmdump)", f"{ratio:.3f}", "<= 1.05", ratio <= 1.05,
                                f"CPU ratio {shim_cpu / plain_cpu:.2f}" if plain_cpu else ""))
        figures.rows.append(Row("mitmdump peak RSS (VmHWM), end of run", f"{memory_kb(shim.pid, 'VmHWM') / 1024:.1f} MiB", "-", None))
        figures.say(f"bench took {time.monotonic() - started:.0f} s")
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            try:
                spy.wait(20)
            except subprocess.TimeoutExpired:
                spy.kill()
        for proc in procs:
            proc.close()
        if fake.stdin:
            fake.stdin.close()
        stop(fake)
    return figures


def print_table(figures: Figures) -> None:
    width = max(len(r.name) for r in figures.rows)
    print()
    print(f"{'figure':<{width}}  {'measured':>12}  {'target':>9}  ok    note")
    for r in figures.rows:
        ok = "-" if r.ok is None else ("yes" if r.ok else "NO")
        print(f"{r.name:<{width}}  {r.value:>12}  {r.target:>9}  {ok:<4}  {r.note}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a short run (1,000 deltas, fewer repetitions)")
    parser.add_argument("--deltas", type=int, help="text deltas per answer (default 5000; quick 1000)")
    parser.add_argument("--rate", type=int, help="deltas per second of the paced streams (default 2500; quick 4000)")
    parser.add_argument("--reps", type=int, help="proxied streams per shape and pacing (default 2; quick 1)")
    parser.add_argument("--streams", type=int, help="simultaneous streams of the concurrency run (default 50)")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="record the addon's mitmdump with py-spy (collapsed stacks into FILE); needs py-spy, skews the figures")
    parser.add_argument("--script", type=Path, action="append", default=[], metavar="FILE",
                        help="load another mitmproxy script into the addon's mitmdump (to try a change side by side)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (mitmdump logs, models.json)")
    parser.add_argument("--codex-loop", action="store_true",
                        help="only time the real Codex CLI's two-request agent loop: direct vs through the proxy")
    parser.add_argument("--fake-upstream", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fake_upstream:
        asyncio.run(_fake_main())
        return 0
    if args.codex_loop:
        from scripts.bench_codex_loop import codex_loop

        for figure, seconds, note in codex_loop(args.reps or 3):
            print(f"{figure:<48} {seconds:6.2f} s   {note}")
        return 0
    overrides = {k: v for k in ("deltas", "rate", "reps", "streams") if (v := getattr(args, k)) is not None}
    for name, value in overrides.items():
        if value < 1:
            parser.error(f"--{name} must be at least 1")
    settings = dataclasses.replace(QUICK if args.quick else FULL, **overrides)
    workdir = Path(tempfile.mkdtemp(prefix="codex-shim-bench-"))
    try:
        figures = run(settings, workdir, args.profile, [p.resolve() for p in args.script])
    finally:
        if args.keep:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
