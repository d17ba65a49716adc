"""Example policy addon: take secrets out of prompts before they leave the machine.

    mitmdump -s addons/examples/redact_secrets.py -s addons/codex_shim.py

Every Responses call Codex makes (to a BYOK provider or to OpenAI) passes through
`codex_shim_turn` before it is routed: this addon replaces AWS keys, private keys and common
API tokens in the instructions, the messages and the tool outputs (a `cat .env` would otherwise
send them) with a placeholder, and says on the flow how many it removed. Carried state
(`encrypted_content`) is left alone.
"""

from __future__ import annotations

import re
from typing import Any

SECRETS = [
    ("AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("AWS secret key", re.compile(r"(?i)(aws_secret_access_key\s*[=:]\s*)[A-Za-z0-9/+=]{40}")),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL)),
    ("GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("API key", re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}\b")),
    ("Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b")),
]
KEEP = frozenset({"encrypted_content", "id", "call_id", "type", "role"})


def redact(text: str) -> tuple[str, int]:
    """`text` with every secret replaced, and how many were."""
    count = 0
    for name, pattern in SECRETS:
        def placeholder(match: re.Match[str], name: str = name, keeps_prefix: bool = bool(pattern.groups)) -> str:
            prefix = match.group(1) if keeps_prefix else ""
            return f"{prefix}[{name} removed by codex-shim]"

        text, found = pattern.subn(placeholder, text)
        count += found
    return text, count


def scrub(value: Any) -> tuple[Any, int]:
    """Every string in `value` redacted (but the fields codex-shim and Codex need as they are)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        pairs = [scrub(item) for item in value]
        return [item for item, _ in pairs], sum(count for _, count in pairs)
    if isinstance(value, dict):
        total, out = 0, {}
        for key, item in value.items():
            if key in KEEP:
                out[key] = item
                continue
            out[key], count = scrub(item)
            total += count
        return out, total
    return value, 0


class RedactSecrets:
    def codex_shim_turn(self, flow: Any, turn: Any) -> None:
        total = 0
        for field in ("instructions", "input"):
            if field in turn.body:
                turn.body[field], count = scrub(turn.body[field])
                total += count
        if total:
            turn.notes.append(f"redacted {total} secret(s)")


addons = [RedactSecrets()]
