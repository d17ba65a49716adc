"""--against REF: the given git ref checked out in a temporary worktree for the bench's run.

A detached `git worktree` of this repository (nothing is built: mitmdump runs the worktree's
addons/codex_shim.py from this checkout's venv, and that script imports the worktree's own
`shim`). The worktree is removed when the bench ends, also when it fails.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.harness import ROOT


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], check=True, capture_output=True, text=True).stdout.strip()


@contextmanager
def checked_out(ref: str) -> Iterator[tuple[Path, str]]:
    """(the worktree's root, the ref's short commit id) while the block runs."""
    commit = git("rev-parse", "--short", f"{ref}^{{commit}}")
    path = Path(tempfile.mkdtemp(prefix=f"codex-shim-bench-{commit}-"))
    git("worktree", "add", "--detach", "--quiet", str(path), commit)
    try:
        if not (path / "addons" / "codex_shim.py").exists():
            raise RuntimeError(f"{ref} ({commit}) has no addons/codex_shim.py to run")
        yield path, commit
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], capture_output=True)
