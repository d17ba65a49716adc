"""mitmproxy entry script: `mitmdump -s addons/codex_shim.py`.

Only assembles the addons; everything lives in the `shim` package next to this folder.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from shim.addon import CodexShim
from shim.catalog import CatalogInjector
from shim.websocket import WebSocketTurns

_shim = CodexShim()
addons = [_shim, CatalogInjector(_shim), WebSocketTurns(_shim)]
