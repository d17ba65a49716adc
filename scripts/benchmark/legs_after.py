"""A probe addon for `scripts/bench --against REF --legs`, loaded with `-s` *after* the addon:
when the request was ready to go upstream (every addon's `request` ran), and at the flow's end a
line "<connected> <sent> <answered>" appended to the file the `bench_legs_out` option names (the
other two from legs_before.py, loaded before the addon).
"""

from __future__ import annotations

import time

from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader

KEY = "bench_legs"


class LegsAfter:
    def load(self, loader: Loader) -> None:
        loader.add_option("bench_legs_out", str, "", "file the per-flow legs are appended to")

    def request(self, flow: http.HTTPFlow) -> None:
        legs = flow.metadata.get(KEY)
        if legs is not None:
            legs["sent"] = time.perf_counter()

    def response(self, flow: http.HTTPFlow) -> None:
        legs = flow.metadata.get(KEY)
        if legs is None or not ctx.options.bench_legs_out:
            return
        with open(ctx.options.bench_legs_out, "a") as out:
            out.write(f"{legs['connected']} {legs.get('sent', 0.0)} {legs.get('answered', 0.0)}\n")


addons = [LegsAfter()]
