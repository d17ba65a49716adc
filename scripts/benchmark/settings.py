"""How long and how hard the bench runs: the full and quick presets, and its time budget."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    deltas: int  # text deltas per answer
    rate: int  # deltas per second of the paced streams
    reps: int  # proxied streams per shape and pacing
    ttfd_reps: int  # short streams per shape for time to first delta
    streams: int  # simultaneous streams of the concurrency run
    stream_deltas: int  # deltas of each concurrent stream
    stream_rate: int  # pace of each concurrent stream
    long_factor: int  # how much longer the memory run's answers are
    time_limit: float  # seconds the whole bench may take


QUICK = Settings(deltas=1000, rate=4000, reps=1, ttfd_reps=7, streams=50, stream_deltas=300, stream_rate=200, long_factor=10, time_limit=90)
FULL = Settings(deltas=5000, rate=2500, reps=2, ttfd_reps=100, streams=50, stream_deltas=1000, stream_rate=250, long_factor=10, time_limit=240)


class Budget:
    """The whole bench's time limit: checked between steps so a slow or stuck run ends."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def check(self) -> None:
        if self.elapsed > self.seconds:
            raise TimeoutError(f"bench exceeded its {self.seconds:.0f}s budget")
