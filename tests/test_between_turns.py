"""shim/addons/between_turns.py: the youngest generation is collected once no request has been in
flight for QUIET seconds (if it is half full), never while one is, never where Python's own next
collection would be of an older generation, and never with the collector off."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from mitmproxy.test import tflow

from shim.addons.between_turns import ACTIVE, PYTHON_THRESHOLDS, QUIET, YOUNG_THRESHOLD, BetweenTurns

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


# -- start-up frozen out of full collections --------------------------------------------------

FREEZE_AFTER = 0.01  # seconds, for these tests


@pytest.fixture
def quick_freeze(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A process that has not reloaded the addon yet, FREEZE_AFTER shortened; the test process
    left as found: nothing frozen, the collector on."""
    monkeypatch.setattr("shim.addons.between_turns.FREEZE_AFTER", FREEZE_AFTER)
    monkeypatch.setattr("shim.addons.between_turns._reloaded", False)
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.enable()


def started(addon: BetweenTurns, *, in_flight: list[Any] | None = None, end_after: float | None = None, wait: float = FREEZE_AFTER * 5) -> None:
    """`running`, with the flows of `in_flight` open (ended after `end_after` seconds); then `wait` seconds."""
    async def run() -> None:
        for flow in in_flight or ():
            addon.requestheaders(flow)
        addon.running()
        if end_after is not None:
            await asyncio.sleep(end_after)
            for flow in in_flight or ():
                addon.response(flow)
        await asyncio.sleep(wait)

    asyncio.run(run())


def test_start_up_is_frozen_once_running_and_let_go_when_the_script_unloads(quick_freeze: None) -> None:
    addon = BetweenTurns()
    addon.running()
    assert addon.frozen > 10_000 and gc.get_freeze_count() > 10_000  # this process's modules, at least
    addon.done()
    assert gc.get_freeze_count() == 0 and addon.frozen == 0


def test_after_a_reload_later_and_not_while_a_request_is_in_flight(quick_freeze: None) -> None:
    BetweenTurns().done()  # an earlier copy, unloaded
    addon = BetweenTurns()
    started(addon, in_flight=[tflow.tflow()], wait=FREEZE_AFTER * 3)
    assert gc.get_freeze_count() == 0 and addon.frozen == 0
    flow = tflow.tflow(resp=True)
    started(BetweenTurns(), in_flight=[flow], end_after=FREEZE_AFTER * 2.5, wait=FREEZE_AFTER * 3)
    assert gc.get_freeze_count() > 10_000  # tried again once the request was over


def test_garbage_start_up_left_is_collected_not_frozen(quick_freeze: None) -> None:
    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only a collection frees it
    gone = weakref.ref(a)
    del a, b
    addon = BetweenTurns()
    started(addon)
    assert addon.frozen and gone() is None  # freed before the freeze, not kept for the life of the process


def test_a_second_running_or_a_reload_freezes_once(quick_freeze: None) -> None:
    old = BetweenTurns()
    started(old)
    frozen = old.frozen
    started(old)  # `running` again on the same copy: nothing more is frozen
    assert old.frozen == frozen and gc.get_freeze_count() <= frozen
    old.done()  # a reload: the old copy goes first, and what it froze can be collected again
    assert gc.get_freeze_count() == 0

    async def reloaded(new: BetweenTurns) -> None:
        new.running()
        assert gc.get_freeze_count() == 0  # not yet: the old copy's cancelled tasks have not run
        await asyncio.sleep(FREEZE_AFTER * 5)

    new = BetweenTurns()
    asyncio.run(reloaded(new))
    assert new.frozen > 10_000 and gc.get_freeze_count() > 10_000


def test_nothing_is_frozen_with_the_collector_off(quick_freeze: None) -> None:
    gc.disable()
    addon = BetweenTurns()
    started(addon)
    assert gc.get_freeze_count() == 0 and not gc.isenabled()
    addon.done()


def test_an_unloaded_copy_freezes_nothing_later_even_if_running_came_twice(quick_freeze: None) -> None:
    BetweenTurns().done()  # a reload: this copy waits before freezing

    async def unloaded_while_waiting(addon: BetweenTurns) -> None:
        addon.running()
        addon.running()
        addon.done()
        await asyncio.sleep(FREEZE_AFTER * 5)

    asyncio.run(unloaded_while_waiting(BetweenTurns()))
    assert gc.get_freeze_count() == 0


# -- the youngest generation's threshold ------------------------------------------------------


@pytest.fixture
def thresholds() -> Iterator[None]:
    """Python's default thresholds to start from; the test process's own put back after."""
    saved = gc.get_threshold()
    gc.set_threshold(*PYTHON_THRESHOLDS)
    yield
    gc.set_threshold(*saved)


def test_running_raises_the_young_threshold_and_unloading_puts_the_default_back(quick_freeze: None, thresholds: None) -> None:
    """A turn with Codex's request keeps ~700 objects alive until its first delta: at Python 3.12's
    700 the window held a young collection in about half the turns on the Responses routes."""
    addon = BetweenTurns()
    started(addon)
    assert gc.get_threshold() == (YOUNG_THRESHOLD, *PYTHON_THRESHOLDS[1:])
    started(addon)  # `running` again: still raised once, and still put back
    addon.done()
    assert gc.get_threshold() == PYTHON_THRESHOLDS
    BetweenTurns().done()  # a copy that raised nothing puts nothing back
    assert gc.get_threshold() == PYTHON_THRESHOLDS


def test_a_reload_raises_it_again_and_unloading_for_good_puts_it_back(quick_freeze: None, thresholds: None) -> None:
    """mitmproxy reloads a changed script: the old copy's `done`, then the new copy's `running`."""
    old = BetweenTurns()
    started(old)
    old.done()
    assert gc.get_threshold() == PYTHON_THRESHOLDS
    new = BetweenTurns()
    started(new)
    assert gc.get_threshold() == (YOUNG_THRESHOLD, *PYTHON_THRESHOLDS[1:])
    new.done()
    assert gc.get_threshold() == PYTHON_THRESHOLDS


@pytest.mark.parametrize("own", [(5000, 10, 10), (700, 20, 10), (YOUNG_THRESHOLD, 10, 10)])
def test_a_users_own_thresholds_are_kept(own: tuple[int, int, int], quick_freeze: None, thresholds: None) -> None:
    gc.set_threshold(*own)
    addon = BetweenTurns()
    started(addon)
    assert gc.get_threshold() == own
    addon.done()
    assert gc.get_threshold() == own  # (2000 set by the user: not "put back" to 700)


def test_the_threshold_is_left_alone_with_the_collector_off(quick_freeze: None, thresholds: None) -> None:
    gc.disable()
    addon = BetweenTurns()
    started(addon)
    assert gc.get_threshold() == PYTHON_THRESHOLDS
    addon.done()
