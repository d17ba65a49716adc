"""The first N bytes of a stream, kept for inspection as it passes (never held back from it)."""

from __future__ import annotations


class KeptBody:
    """Copies references to forwarded chunks up to `cap` bytes; what is past the cap is counted."""

    __slots__ = ("cap", "_parts", "_size", "dropped")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._parts: list[bytes] = []
        self._size = 0
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = self.cap - self._size
        if len(chunk) <= room:
            self._parts.append(chunk)
            self._size += len(chunk)
        else:
            if room > 0:
                self._parts.append(chunk[:room])
                self._size += room
            self.dropped += len(chunk) - max(room, 0)

    def value(self) -> bytes:
        """What was kept, with an SSE comment line saying what was not (parsers skip comments)."""
        body = b"".join(self._parts)
        if self.dropped:
            body += b"\n: codex-shim kept the first %d bytes; %d more were forwarded but not kept (codex_shim_keep_bytes)\n" % (
                self._size, self.dropped)
        return body
