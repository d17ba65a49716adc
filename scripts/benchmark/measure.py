"""Readings from /proc: a process's CPU time (all threads) and memory high-water mark."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def cpu_ns(pid: int) -> int:
    """CPU time of every thread of `pid`, in ns (schedstat), or from /proc/PID/stat ticks."""
    try:
        return sum(int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
                   for tid in os.listdir(f"/proc/{pid}/task"))
    except (OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def memory_kb(pid: int, key: str) -> int:
    """A /proc/PID/status figure in kB, e.g. VmHWM (peak resident set)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


class CpuMeter:
    """A process's CPU over a batch, minus its idle rate (timers, housekeeping) measured at start."""

    def __init__(self, pid: int, idle_seconds: float) -> None:
        self.pid = pid
        before, t0 = cpu_ns(pid), time.perf_counter()
        time.sleep(idle_seconds)
        self.idle_rate = (cpu_ns(pid) - before) / (time.perf_counter() - t0)  # ns per s

    def measure(self, batch: Callable[[], T]) -> tuple[float, T]:
        """(CPU ms used by the batch, the batch's result)."""
        before, t0 = cpu_ns(self.pid), time.perf_counter()
        result = batch()
        used = cpu_ns(self.pid) - before - self.idle_rate * (time.perf_counter() - t0)
        return max(used, 0) / 1e6, result

