"""A mitmproxy script for tests: makes the chat provider raise, as an addon bug would."""

from shim.providers import PROVIDERS


class _Broken:
    @staticmethod
    def build(body, route, api_key):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("simulated addon bug")


PROVIDERS["ollama"] = _Broken  # type: ignore[assignment]
addons: list[object] = []
