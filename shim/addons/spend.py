"""Tokens and spend per route: on each BYOK flow's comment, by command, and at exit.

It reads what every BYOK turn reports through our own `codex_shim_outcome` event, as any
policy addon can (shim/policy.py). Prices come from the route's profile (shim/profiles.py):
models.json `prices`, else the provider's own list (OpenRouter), else genai-prices; the cost
says which priced it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from mitmproxy import command, http

from ..responses_stream import Usage

log = logging.getLogger("codex_shim")


@dataclass
class RouteTotals:
    turns: int = 0
    failed: int = 0
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    web_searches: int = 0
    cost: float = 0.0
    priced: bool = False
    priced_by: str = ""

    def add(self, outcome: dict[str, Any]) -> None:
        self.turns += 1
        usage = outcome.get("usage") or {}
        if outcome.get("error") and not usage:
            self.failed += 1
        counts = Usage.from_json(usage)
        self.input_tokens += counts.input_tokens
        self.cached_tokens += counts.cached_tokens
        self.output_tokens += counts.output_tokens
        self.reasoning_tokens += counts.reasoning_tokens
        self.web_searches += counts.web_search_requests
        if isinstance(outcome.get("cost"), int | float):
            self.cost += float(outcome["cost"])
            self.priced = True
            self.priced_by = str(outcome.get("priced_by") or self.priced_by)


def describe(outcome: dict[str, Any]) -> str:
    """One flow's comment: where it went, how long it took, what it used and cost."""
    route = outcome.get("served_by") or outcome.get("route", "?")
    parts = [f"codex-shim: {outcome.get('route')} -> {outcome.get('provider', '')} {outcome.get('upstream_model', route)}".rstrip()]
    if outcome.get("served_by") and outcome.get("served_by") != outcome.get("route"):
        parts[0] += f" (fallback {route})"
    if isinstance(outcome.get("time_to_first_byte_s"), float):
        parts.append(f"first byte {outcome['time_to_first_byte_s']:.2f}s")
    if isinstance(outcome.get("time_to_first_token_s"), float):
        parts.append(f"first token {outcome['time_to_first_token_s']:.2f}s")
    if isinstance(outcome.get("duration_s"), float):
        parts.append(f"{outcome['duration_s']:.2f}s")
    usage = outcome.get("usage")
    if isinstance(usage, dict):
        cached = (usage.get("input_tokens_details") or {}).get("cached_tokens", 0)
        reasoning = (usage.get("output_tokens_details") or {}).get("reasoning_tokens", 0)
        parts.append(f"in {usage.get('input_tokens', 0)} (cached {cached}) out {usage.get('output_tokens', 0)} (reasoning {reasoning})")
    if outcome.get("web_search_requests"):
        parts.append(f"{outcome['web_search_requests']} web search(es)")
    if isinstance(outcome.get("cost"), int | float):
        parts.append(f"${outcome['cost']:.4f}" + (f" (priced by {outcome['priced_by']})" if outcome.get("priced_by") else ""))
    if outcome.get("corrected"):
        parts.append(f"corrected: {outcome['corrected']}")
    if outcome.get("error"):
        parts.append(f"failed: {outcome['error']}")
    return " · ".join(parts)


def summary(totals: dict[str, RouteTotals]) -> str:
    if not totals:
        return "codex-shim: no BYOK turns yet"
    rows: list[tuple[str, ...]] = [("route", "turns", "failed", "input", "cached", "output", "reasoning", "searches", "cost", "priced by")]
    for route, t in sorted(totals.items()):
        cost = f"{t.cost:.4f}" if t.priced else "-"
        counts = (t.turns, t.failed, t.input_tokens, t.cached_tokens, t.output_tokens, t.reasoning_tokens, t.web_searches)
        rows.append((route, *(str(count) for count in counts), cost, t.priced_by or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["codex-shim: usage per route (since start):"]
    lines += ["  " + "  ".join(cell.ljust(w) if i in (0, len(row) - 1) else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]
    return "\n".join(lines)


class Spend:
    def __init__(self) -> None:
        self.totals: dict[str, RouteTotals] = {}

    def codex_shim_outcome(self, flow: http.HTTPFlow, outcome: dict[str, Any]) -> None:
        route = str(outcome.get("served_by") or outcome.get("route") or "?")
        self.totals.setdefault(route, RouteTotals()).add(outcome)
        flow.comment = describe(outcome)

    @command.command("codex_shim.usage")
    def usage(self) -> str:
        """Tokens and cost per BYOK route since the proxy started."""
        text = summary(self.totals)
        log.info(text)
        return text

    def done(self) -> None:
        if self.totals:
            log.info(summary(self.totals))
