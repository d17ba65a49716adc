"""Performance of the codex-shim addon on long streams (run it with `scripts/bench`).

A fake upstream (its own process, 127.0.0.1 only) streams a long answer — thousands of small text
deltas, one SSE event per HTTP chunk — as Chat Completions, Anthropic Messages or a native
Responses stream. Each is fetched directly from the fake and, as Responses SSE, through a real
`mitmdump -s addons/codex_shim.py`; a second, plain mitmdump (stream_large_bodies=1) is the
yardstick for passthrough. mitmdump's CPU time and memory come from /proc; the addon's own share
comes from a probe addon loaded after it (hook_timer.py).

Two pacings: "paced" sends the deltas at --rate per second (a fast provider; the deltas reach the
proxy one or a few at a time, as in real use) and "burst" sends them as fast as the sockets take
them (the proxy's throughput). Figures come from one run; no assertion, no retries.

Modules: answers (the long answer in each provider shape), upstream (the fake provider process),
proxies (the two mitmdumps), hook_timer (the probe addon), client (timed raw-socket fetches),
measure (/proc readings), scenarios (what is measured), run (one whole bench), report (the table),
codex_loop (the real Codex CLI's agent loop), soak (many turns: connections and memory stay flat),
compare and worktree (--against REF: another git ref's addon side by side), hook_costs (--hooks: the
addon's hooks alone, in process), __main__ (the command line).
"""
