"""FrozenStartup: start-up objects frozen once the addons are up, unfrozen when the script unloads."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from shim.addons.frozen_startup import FrozenStartup


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    """The test process is left as it was found: nothing frozen, the collector as it was."""
    enabled = gc.isenabled()
    gc.unfreeze()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()


def test_running_freezes_what_exists_and_done_lets_it_go() -> None:
    addon = FrozenStartup()
    addon.running()
    assert addon.frozen == gc.get_freeze_count() > 10_000  # the test process's modules, at least
    addon.done()
    assert gc.get_freeze_count() == 0
    assert addon.frozen == 0


def test_garbage_left_by_start_up_is_collected_not_frozen() -> None:
    class Node:
        other: object = None

    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only a collection frees it
    gone = weakref.ref(a)
    del a, b
    addon = FrozenStartup()
    addon.running()
    assert gone() is None  # freed before the freeze, not kept for the life of the process
    addon.done()


def test_a_reloaded_script_unfreezes_then_freezes_afresh() -> None:
    old, new = FrozenStartup(), FrozenStartup()
    old.running()
    old.done()  # mitmproxy unloads the old copy first: what it froze can be collected again
    assert gc.get_freeze_count() == 0
    new.running()
    assert new.frozen == gc.get_freeze_count() > 10_000
    new.done()


def test_a_collector_turned_off_stays_off() -> None:
    gc.disable()
    addon = FrozenStartup()
    addon.running()
    assert gc.get_freeze_count() == 0 and not gc.isenabled()
    addon.done()
