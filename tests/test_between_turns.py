"""shim/addons/between_turns.py: the youngest generation is collected once a flow is over (if it
is half full), after the hook, once however many flows end together; never if GC is off."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mitmproxy.test import tflow

from shim.addons.between_turns import BetweenTurns

THRESHOLD = 10_000  # high, so no automatic collection interferes


@contextmanager
def young_collections() -> Iterator[list[int]]:
    """The generations collected while inside (gen-0 threshold raised to THRESHOLD)."""
    collected: list[int] = []

    def seen(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collected.append(info["generation"])

    saved, was_enabled = gc.get_threshold(), gc.isenabled()
    gc.collect()
    gc.set_threshold(THRESHOLD, *saved[1:])
    gc.callbacks.append(seen)
    try:
        yield collected
    finally:
        gc.callbacks.remove(seen)
        gc.set_threshold(*saved)
        (gc.enable if was_enabled else gc.disable)()


def end_flows(addon: BetweenTurns, count: int, collected: list[int], error: bool = False) -> None:
    async def flows_end() -> None:
        for _ in range(count):
            (addon.error if error else addon.response)(tflow.tflow(resp=True))
        assert collected == []  # not in the hook: once mitmproxy has sent the end of the answer
        await asyncio.sleep(0)

    asyncio.run(flows_end())


def test_a_half_full_young_generation_is_collected_once_after_flows_end() -> None:
    with young_collections() as collected:
        held = [[] for _ in range(THRESHOLD // 2 + 500)]
        end_flows(BetweenTurns(), 5, collected)
        assert collected == [0] and gc.get_count()[0] < 100
        del held


def test_a_flow_that_failed_counts_too() -> None:
    with young_collections() as collected:
        held = [[] for _ in range(THRESHOLD // 2 + 500)]
        end_flows(BetweenTurns(), 1, collected, error=True)
        assert collected == [0]
        del held


def test_nothing_is_collected_below_half_nor_with_the_collector_off() -> None:
    with young_collections() as collected:
        end_flows(BetweenTurns(), 3, collected)
        assert collected == []
        gc.disable()
        held = [[] for _ in range(THRESHOLD // 2 + 500)]
        end_flows(BetweenTurns(), 3, collected)
        assert collected == [] and not gc.isenabled()
        gc.enable()
        gc.set_threshold(0)  # the other way to turn automatic collection off
        end_flows(BetweenTurns(), 3, collected)
        assert collected == []
        del held
