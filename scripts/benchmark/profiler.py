"""--profile: py-spy recording the shim's mitmdump (collapsed stacks), stopped with the bench."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .processes import stop


@contextmanager
def py_spy(pid: int, out: Path | None) -> Iterator[None]:
    """Record `pid` into `out` while the block runs; nothing when `out` is None."""
    if out is None:
        yield
        return
    binary = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(binary).exists():
        raise RuntimeError("--profile needs py-spy (pip install py-spy into the venv)")
    spy = subprocess.Popen([binary, "record", "--pid", str(pid), "--rate", "200", "--format", "raw", "--output", str(out)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # py-spy attaches before the first measured stream
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            spy.wait(20)
        except subprocess.TimeoutExpired:
            stop(spy)
