"""shim/addons/between_turns.py: the youngest generation is collected once no request has been in
flight for QUIET seconds (if it is half full), never while one is, never where Python's own next
collection would be of an older generation, and never with the collector off."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from mitmproxy.test import tflow

from shim.addons.between_turns import ACTIVE, QUIET, BetweenTurns

THRESHOLD = 10_000  # high, so no automatic collection interferes

pytestmark = pytest.mark.skipif(not ACTIVE, reason="BetweenTurns stands down on this Python's collector")


@contextmanager
def collections_seen() -> Iterator[list[int]]:
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


def run_turns(addon: BetweenTurns, collected: list[int], *, ended: int = 1, still_open: int = 0, error: bool = False) -> None:
    """`ended` flows start and end, `still_open` start and do not; then QUIET passes, twice over."""
    async def turns() -> None:
        open_flows = [tflow.tflow() for _ in range(still_open)]
        for flow in open_flows:
            addon.requestheaders(flow)
        for _ in range(ended):
            flow = tflow.tflow(resp=True)
            addon.requestheaders(flow)
            (addon.error if error else addon.response)(flow)
        assert collected == []  # never in the hook itself
        await asyncio.sleep(QUIET * 20)

    asyncio.run(turns())


def test_a_half_full_young_generation_is_collected_once_nothing_is_in_flight() -> None:
    with collections_seen() as collected:
        held = [[] for _ in range(THRESHOLD // 2 + 500)]
        run_turns(BetweenTurns(), collected, ended=5)
        assert collected == [0] and gc.get_count()[0] < 100
        del held


def test_a_flow_that_failed_counts_too() -> None:
    with collections_seen() as collected:
        held = [[] for _ in range(THRESHOLD // 2 + 500)]
        run_turns(BetweenTurns(), collected, error=True)
        assert collected == [0]
        del held


def test_nothing_is_collected_while_another_request_is_in_flight() -> None:
    with collections_seen() as collected:
        held = [[] for _ in range(THRESHOLD // 2 + 500)]
        run_turns(BetweenTurns(), collected, ended=3, still_open=1)
        assert collected == []
        del held


def test_the_collection_that_would_take_the_next_generation_too_is_left_to_python() -> None:
    """Python collects the middle generation once the young collections since its last one pass its
    threshold: collecting only the youngest for ever, it never came (and every dead turn stayed).
    So the collection after that is Python's."""
    with collections_seen() as collected:
        for _ in range(gc.get_threshold()[1] + 1):
            gc.collect(0)  # as if that many young collections had happened since the middle one
        collected.clear()
        held = [[] for _ in range(THRESHOLD // 2 + 500)]
        run_turns(BetweenTurns(), collected)
        assert collected == []
        del held


def test_nothing_is_collected_below_half_nor_with_the_collector_off() -> None:
    with collections_seen() as collected:
        run_turns(BetweenTurns(), collected)
        assert collected == []
        gc.disable()
        held = [[] for _ in range(THRESHOLD // 2 + 500)]
        run_turns(BetweenTurns(), collected)
        assert collected == [] and not gc.isenabled()
        gc.enable()
        gc.set_threshold(0)  # the other way to turn automatic collection off
        run_turns(BetweenTurns(), collected)
        assert collected == []
        del held
