"""Ending the child processes the bench starts (the fake upstream, py-spy), within a bounded wait."""

from __future__ import annotations

import subprocess
from typing import Any


def stop(proc: subprocess.Popen[Any], grace: float = 10.0) -> None:
    """Terminate, then kill if it lingers: a stuck child must not hang the bench."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
