"""A mitmproxy script for tests: makes the chat provider raise, as an addon bug would."""

from shim.model_profile import ModelProfile
from shim.providers import PROVIDERS


class _Broken:
    @staticmethod
    def build(body, route, api_key, profile=None):  # type: ignore[no-untyped-def]
        raise ZeroDivisionError("simulated addon bug")

    @staticmethod
    def default_profile(route):  # type: ignore[no-untyped-def]
        return ModelProfile()


PROVIDERS["ollama"] = _Broken  # type: ignore[assignment]
addons: list[object] = []
