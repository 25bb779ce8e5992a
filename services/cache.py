"""A process-local memo for reference data (regions, categories) that changes rarely.

Safe to keep per replica: it only saves reads of rows the seed or an admin writes, and every
entry either never changes (region names) or expires after a short TTL (categories).
"""

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    def __init__(self, *, ttl_seconds: float | None, max_entries: int = 200_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The cached value, else `load()`; a missing value (None) is never cached, so a row
        added later is found."""
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and (self.ttl is None or now - hit[0] < self.ttl):
            return hit[1]
        value = await load()
        if value is not None:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # crude, and fine: the whole set fits far below the cap
            self._entries[key] = (now, value)
        return value

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
