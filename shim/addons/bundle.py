"""codex-shim's addons shown to mitmproxy as one addon.

mitmproxy hands every event (a connection opened, a next-layer decision, each HTTP hook, four
`update`s per flow...) to every addon it knows, walking nested `addons` lists and looking each
one's hook up by name (AddonManager._iter_hooks). Fifteen addons of ours made that walk about a
quarter of a millisecond of every turn's first delta, on events none of them handle. The bundle
keeps the addons as they are, one concern each, and answers mitmproxy's lookup itself: for each
hook some addon of ours handles, one attribute that calls them in their order (the addon itself
when it is the only one); for every other event, nothing to find. Their commands are collected
from the bundle as mitmproxy would from each of them.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any

# Imported for the hooks they declare: mitmproxy's registry (hooks.all_hooks) holds the events
# an addon can handle once the modules declaring them are loaded, ours (shim.policy) included.
import mitmproxy.addonmanager  # noqa: F401 - load
import mitmproxy.log  # noqa: F401 - add_log
import mitmproxy.proxy.layer  # noqa: F401 - next_layer
import mitmproxy.proxy.layers  # noqa: F401 - http, websocket, tcp, udp, tls, dns, quic
import mitmproxy.proxy.server_hooks  # noqa: F401 - client_connected, server_connect, ...
from mitmproxy import hooks
from mitmproxy.exceptions import AddonHalt, OptionsError

from .. import policy  # noqa: F401 - codex_shim_turn, codex_shim_outcome

Hook = Callable[..., Any]
log = logging.getLogger("codex_shim")


class Bundle:
    """One addon for mitmproxy, the given addons inside, each hook called on them in order."""

    name = "codex_shim"

    def __init__(self, parts: Sequence[Any]) -> None:
        self.parts = tuple(parts)
        for event in sorted(hooks.all_hooks):
            handlers = [getattr(part, event) for part in self.parts if callable(getattr(part, event, None))]
            if handlers:
                setattr(self, event, handlers[0] if len(handlers) == 1 else in_order(handlers))
        paths: set[str] = set()
        for part in self.parts:
            for attribute, command in commands_of(part):
                path = command.command_name  # type: ignore[attr-defined]
                if hasattr(self, attribute) or path in paths:
                    raise ValueError(f"two codex-shim addons offer {attribute!r} / {path!r}: {type(part).__name__} and another")
                paths.add(path)
                setattr(self, attribute, command)

    def __repr__(self) -> str:
        return f"Bundle({', '.join(type(part).__name__ for part in self.parts)})"


def in_order(handlers: list[Hook]) -> Hook:
    """One hook calling `handlers` in turn. Async if any of them is, awaiting each before the next
    (as mitmproxy's invoke_addon does); plain otherwise, so sync-only events (load, configure, an
    addon's `trigger`) can still call it. Each runs as mitmproxy runs an addon's hook
    (addonmanager.safecall): one that raises is logged and the next still runs (a `done` that
    fails must not keep the others from letting go of what they hold); AddonHalt stops the rest,
    an OptionsError fails the option change. A try statement rather than safecall itself: that is
    a generator-based context manager, ~1 µs a handler, and these run on every turn's way to its
    first delta."""
    if any(inspect.iscoroutinefunction(handler) for handler in handlers):
        async def each_awaited(*args: Any) -> None:
            for handler in handlers:
                try:
                    result = handler(*args)
                    if inspect.isawaitable(result):
                        await result
                except (AddonHalt, OptionsError):
                    raise
                except Exception as exc:
                    log.error(f"Addon error: {exc}", exc_info=True)

        return each_awaited

    def each(*args: Any) -> None:
        for handler in handlers:
            try:
                result = handler(*args)
            except (AddonHalt, OptionsError):
                raise
            except Exception as exc:
                log.error(f"Addon error: {exc}", exc_info=True)
                continue
            if result is not None:  # an awaitable mitmproxy would have awaited: say so, never drop it silently
                if inspect.iscoroutine(result):
                    result.close()
                raise TypeError(f"{handler!r} returned a value; codex-shim's hooks are plain or `async def`")

    return each


def commands_of(part: Any) -> list[tuple[str, Hook]]:
    """The bound methods of `part` that mitmproxy would register as commands (CommandManager.collect_commands)."""
    found: list[tuple[str, Hook]] = []
    for attribute in dir(type(part)):
        member = getattr(part, attribute, None)
        if not attribute.startswith("__") and callable(member) and isinstance(getattr(member, "command_name", None), str):
            found.append((attribute, member))
    return found
