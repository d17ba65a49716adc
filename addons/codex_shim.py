"""mitmproxy entry script: `mitmdump -s addons/codex_shim.py`.

Only assembles the addons; everything lives in the `shim` package next to this folder. Order
matters where two addons see the same flow: the Redactor reads the exchange the Router closes,
so it comes first. mitmproxy sees them as one addon (shim/addons/bundle.py), which calls each
hook on them in this order.
"""

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from shim.addons.banner import Banner
from shim.addons.between_turns import BetweenTurns
from shim.addons.both_sides import BothSides
from shim.addons.bundle import Bundle
from shim.addons.catalog import Catalog
from shim.addons.content_views import ContentViews
from shim.addons.fallbacks import Fallbacks
from shim.addons.idle_cutter import IdleCutter
from shim.addons.listen_guard import ListenGuard
from shim.addons.model_profiles import ModelProfiles
from shim.addons.picker import DesktopPicker
from shim.addons.redactor import Redactor
from shim.addons.router import Router
from shim.addons.routes_file import RoutesFile
from shim.addons.scope import Scope
from shim.addons.spend import Spend
from shim.addons.websocket_turns import WebSocketTurns
from shim.state import Shim

shim = Shim()
sides = BothSides()
fallbacks = Fallbacks(shim, sides)
profiles = ModelProfiles(shim)
addons = [Bundle([
    profiles,  # before RoutesFile: its option is parsed before the first routes arrive
    RoutesFile(shim, profiles),
    DesktopPicker(shim),  # before Scope: it says which extra host Scope lets through
    Scope(shim),
    ListenGuard(),
    Redactor(shim),
    Router(shim, fallbacks, sides),
    fallbacks,
    WebSocketTurns(shim, sides),
    IdleCutter(shim),
    Catalog(shim),
    Spend(),
    sides,
    ContentViews(),
    BetweenTurns(),  # the collector's work where no turn waits on it (shim/addons/between_turns.py)
    Banner(shim),  # last: prints the start-up banner once every other addon is up
])]
