"""What mitmproxy, the SDKs and codex-shim build at start-up, kept out of full garbage collections.

Python's full collection walks every object that has survived two younger ones. In a mitmdump
with codex-shim that is ~95,000 objects before the first turn (modules, classes, pydantic
schemas, option tables), which live as long as the process: measured in a live mitmdump, each
full collection took 35-39 ms, and every stream in flight stalls while it runs. Once every addon
is up, this collects what start-up left behind and freezes the rest (`gc.freeze`: moved where no
collection looks); full collections then walk only what came after: 2-3 ms. A frozen object that
becomes garbage in a reference cycle is never collected, so they are unfrozen when the script
unloads (mitmproxy reloads it when it changes) and frozen afresh by the new copy. A user who
turned the collector off keeps it off.
"""

from __future__ import annotations

import gc


class FrozenStartup:
    def __init__(self) -> None:
        self.frozen = 0  # objects frozen at start-up (tests/fakes/between_turns_probe.py reads it)

    def running(self) -> None:
        if not gc.isenabled():
            return
        gc.collect()
        gc.freeze()
        self.frozen = gc.get_freeze_count()

    def done(self) -> None:
        if self.frozen:
            gc.unfreeze()
            self.frozen = 0
