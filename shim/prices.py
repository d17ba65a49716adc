"""Default prices from maintained price data: the `genai-prices` package (pydantic's, used by
pydantic-ai), whose snapshot ships inside the package, so a lookup never touches the network.

The provider is found from the route's endpoint (`provider_api_url`), else from the model name
alone (genai-prices' own matching rules); a model it does not know has no default price.

The data is ~3 MiB once loaded, and a turn needs only its route's two or three numbers: each time
the routes change every route's price is looked up (`look_up_all`) and the data let go of again.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

from .config import ModelRoute, Prices

log = logging.getLogger("codex_shim")


@cache
def data_source() -> str:
    try:
        return f"genai-prices {version('genai-prices')}"
    except PackageNotFoundError:
        return "genai-prices"


def look_up_all(routes: Iterable[ModelRoute]) -> None:
    """Look up each route's price (remembered per model and endpoint), then release the data."""
    for route in routes:
        lookup(route)
    release_data()


def release_data() -> None:
    """Drop genai-prices' loaded snapshot (its ~3 MiB of models): a lookup not made yet loads it again."""
    snapshots = sys.modules.get("genai_prices.data_snapshot")
    bundled = getattr(snapshots, "_bundled_snapshot", None)
    if bundled is None or not hasattr(bundled, "cache_clear"):
        return  # not loaded, or a genai-prices that keeps its data another way: leave it
    bundled.cache_clear()
    sys.modules.pop("genai_prices.data", None)
    package = sys.modules.get("genai_prices")
    if package is not None and hasattr(package, "data"):
        delattr(package, "data")


def lookup(route: ModelRoute) -> tuple[Prices, str] | None:
    """(prices per million tokens, where they came from) for the route's model, or None."""
    return _lookup(route.upstream_name, route.url_base)


@cache
def _lookup(model: str, url_base: str) -> tuple[Prices, str] | None:
    if _self_hosted(url_base):
        # A self-hosted model shares a name with a cloud's, not its price, and genai-prices knows
        # clouds' endpoints only: nothing there to find, so the data is not even loaded.
        return None
    try:
        from genai_prices.data_snapshot import get_snapshot
    except ImportError:  # pragma: no cover - a dependency; without it routes simply have no default price
        return None
    snapshot = get_snapshot()
    found = None
    for provider_api_url in (url_base, None):  # by endpoint, else by the model's name alone
        try:
            found = snapshot.find_provider_model(model, None, None, provider_api_url)
            break
        except LookupError:
            continue
    if found is None:
        return None
    try:
        price = found[1].get_prices(datetime.now(UTC))
    except Exception:  # noqa: BLE001 - price data we cannot read is no price, not a failed turn
        log.debug(f"codex-shim: no readable price for {model} in {data_source()}")
        return None
    input_price, output_price = _base(price.input_mtok), _base(price.output_mtok)
    if input_price is None or output_price is None:
        return None
    prices = Prices(input=input_price, output=output_price, cached_input=_base(price.cache_read_mtok),
                    cache_write=_base(price.cache_write_mtok), web_search=_base(getattr(price, "web_searches_kcount", None)))
    return prices, f"{data_source()} ({found[0].id} {found[1].id})"


def _self_hosted(url_base: str) -> bool:
    host = urlsplit(url_base).hostname or ""
    if host == "localhost" or host.endswith((".local", ".internal", ".lan")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def _base(value: Any) -> float | None:
    """A price per million tokens; tiered prices count at their base tier."""
    value = getattr(value, "base", value)
    return float(value) if isinstance(value, Decimal | int | float) else None
