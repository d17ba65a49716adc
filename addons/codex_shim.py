"""mitmproxy entry script: `mitmdump -s addons/codex_shim.py`.

Only assembles the addons; everything lives in the `shim` package next to this folder.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from shim.addon import CodexShim  # noqa: E402
from shim.catalog import CatalogInjector  # noqa: E402
from shim.websocket import WebSocketTurns  # noqa: E402

_shim = CodexShim()
addons = [_shim, CatalogInjector(_shim), WebSocketTurns(_shim)]
