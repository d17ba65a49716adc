"""A circuit breaker per route: a provider that just failed is not asked again for a while.

Pure bookkeeping (no clock of its own), so a test can say what time it is.
"""

from __future__ import annotations

from collections.abc import Sequence


class CircuitBreaker:
    def __init__(self, cooldown_s: float = 30.0) -> None:
        self.cooldown_s = cooldown_s
        self._open_until: dict[str, float] = {}

    def failed(self, slug: str, now: float) -> None:
        self._open_until[slug] = now + self.cooldown_s

    def succeeded(self, slug: str) -> None:
        self._open_until.pop(slug, None)

    def cooling(self, slug: str, now: float) -> bool:
        until = self._open_until.get(slug)
        if until is None:
            return False
        if now >= until:
            del self._open_until[slug]
            return False
        return True

    def order(self, slugs: Sequence[str], now: float) -> list[str]:
        """The slugs to try, in order: those not cooling down first; the cooling ones last, so
        that a turn still has somewhere to go when every provider failed a moment ago."""
        warm = [slug for slug in slugs if not self.cooling(slug, now)]
        return warm + [slug for slug in slugs if slug not in warm]
