"""codex-shim's addons reach mitmproxy as one (shim/addons/bundle.py): every hook, in order, and the commands."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from mitmproxy import command, hooks
from mitmproxy.addonmanager import traverse
from mitmproxy.exceptions import AddonHalt, OptionsError
from mitmproxy.test import taddons

from shim.addons.bundle import Bundle
from tests.addon_chain import entry_addons


class Recorder:
    def __init__(self, name: str, calls: list[str]) -> None:
        self.label, self.calls = name, calls

    def configure(self, updated: set[str]) -> None:
        self.calls.append(f"{self.label}.configure")

    def request(self, flow: Any) -> None:
        self.calls.append(f"{self.label}.request")

    def plan(self) -> None:  # a method that is not a mitmproxy event
        raise AssertionError("not a hook")


class AsyncRecorder(Recorder):
    async def request(self, flow: Any) -> None:
        await asyncio.sleep(0)
        self.calls.append(f"{self.label}.request")

    @command.command("test.bundle.hello")
    def hello(self) -> str:
        return f"hello from {self.label}"


def test_each_hook_reaches_the_addons_that_handle_it_in_their_order() -> None:
    calls: list[str] = []
    first, second, third = Recorder("a", calls), AsyncRecorder("b", calls), Recorder("c", calls)
    with taddons.context(Bundle([first, second, third])) as tctx:
        calls.clear()
        tctx.master.addons.trigger(hooks.ConfigureHook(set()))  # a sync-only call: still works
        tctx.master.event_loop.run_until_complete(tctx.master.addons.trigger_event(_request_hook()))
        assert calls == ["a.configure", "b.configure", "c.configure", "a.request", "b.request", "c.request"]
        assert tctx.master.commands.execute("test.bundle.hello") == "hello from b"


def test_an_event_no_addon_handles_finds_nothing_and_a_lone_handler_is_itself() -> None:
    calls: list[str] = []
    only = Recorder("only", calls)
    bundle = Bundle([only, object()])
    assert not hasattr(bundle, "responseheaders") and not hasattr(bundle, "plan")
    assert bundle.request == only.request  # nothing between mitmproxy and the one handler
    assert not inspect.iscoroutinefunction(Bundle([Recorder("x", calls), Recorder("y", calls)]).request)
    assert inspect.iscoroutinefunction(Bundle([Recorder("x", calls), AsyncRecorder("y", calls)]).request)


def test_two_addons_offering_the_same_command_name_are_refused() -> None:
    with pytest.raises(ValueError, match="hello"):
        Bundle([AsyncRecorder("a", []), AsyncRecorder("b", [])])


def test_mitmproxy_sees_one_addon_of_ours_with_every_hook_and_command_of_its_parts() -> None:
    (bundle,) = entry_addons()
    with taddons.context(bundle) as tctx:
        ours = [a for a in traverse(tctx.master.addons.chain) if a is bundle or a in bundle.parts]
        assert ours == [bundle]
        for event in hooks.all_hooks:
            handlers = [part for part in bundle.parts if callable(getattr(part, event, None))]
            assert hasattr(bundle, event) == bool(handlers), event
        for path in ("codex_shim.usage", "codex_shim.routes", "codex_shim.reload"):
            assert path in tctx.master.commands.commands, path


def _request_hook() -> hooks.Hook:
    from mitmproxy.proxy.layers.http import HttpRequestHook
    from mitmproxy.test import tflow

    return HttpRequestHook(tflow.tflow())


def test_a_plain_hook_that_returns_something_is_an_error_not_dropped() -> None:
    class ReturnsAwaitable:
        def request(self, flow: Any) -> Any:
            return asyncio.sleep(0)

    bundle = Bundle([ReturnsAwaitable(), Recorder("x", [])])
    with pytest.raises(TypeError, match="returned a value"):
        bundle.request(None)


def test_two_methods_under_one_command_path_are_refused() -> None:
    class Other:
        @command.command("test.bundle.hello")
        def greet(self) -> str:
            return "hi"

    with pytest.raises(ValueError, match="test.bundle.hello"):
        Bundle([AsyncRecorder("a", []), Other()])


class Fails(Recorder):
    def done(self) -> None:
        self.calls.append(f"{self.label}.done")
        raise RuntimeError("boom")

    async def request(self, flow: Any) -> None:
        self.calls.append(f"{self.label}.request")
        raise RuntimeError("boom")


class Halts(Recorder):
    def done(self) -> None:
        self.calls.append(f"{self.label}.done")
        raise AddonHalt


class Lets(Recorder):
    def done(self) -> None:
        self.calls.append(f"{self.label}.done")


def test_a_part_that_raises_is_logged_and_the_next_still_runs_as_mitmproxy_runs_addons(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []
    bundle = Bundle([Fails("a", calls), Lets("b", calls), Halts("c", calls), Lets("d", calls)])
    with caplog.at_level("ERROR"):
        with pytest.raises(AddonHalt):
            bundle.done()  # sync: mitmproxy's own trigger stops the chain at AddonHalt
        asyncio.run(bundle.request(None))
    assert calls == ["a.done", "b.done", "c.done", "a.request", "b.request", "c.request", "d.request"]
    assert [r.getMessage() for r in caplog.records] == ["Addon error: boom", "Addon error: boom"]


def test_an_options_error_still_fails_the_option_change() -> None:
    class Refuses(Recorder):
        def configure(self, updated: set[str]) -> None:
            raise OptionsError("no")

    calls: list[str] = []
    with pytest.raises(OptionsError):
        Bundle([Refuses("a", calls), Recorder("b", calls)]).configure(set())
    assert calls == []
