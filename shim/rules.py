"""Routing rules from models.json: a kind of turn goes to another slug, no code needed.

`{"when": "compaction" | "title" | "background", "use": "<slug>"}` or
`{"when": "input_tokens_above", "tokens": N, "use": "<slug>"}`, with an optional
`"from": ["<slug>", ...]` naming the requested models a rule applies to (default: every BYOK
slug; name an OpenAI model there to move its background work to a BYOK model). The first rule
that matches wins.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence

from .config import Rule


def route_by_rules(
    rules: Sequence[Rule], model: str | None, byok: Container[str], kinds: frozenset[str], input_tokens: Callable[[], int]
) -> Rule | None:
    """The rule that decides where a turn for `model` of these `kinds` goes, if any."""
    for rule in rules:
        applies = model in rule.only_for if rule.only_for else model in byok
        if not applies:
            continue
        if rule.when == "input_tokens_above":
            if rule.tokens is not None and input_tokens() > rule.tokens:
                return rule
        elif rule.when in kinds:
            return rule
    return None
