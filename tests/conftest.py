"""Says which Codex CLI the real-Codex tests drive, so the runs of scripts/test can be told apart."""

from __future__ import annotations

from tests.harness import CODEX_CACHE, CODEX_VERSION


def pytest_report_header() -> str:
    return f"codex-shim: real-Codex tests use @openai/codex@{CODEX_VERSION} from {CODEX_CACHE}"
