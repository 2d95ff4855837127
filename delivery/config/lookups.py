"""``AsyncLookup``: the blocking config/app-map caches, called from the event loop without a thread hop per
batch.

``CachedConfigs`` / ``CachedAppMap`` may do I/O (S3, SSM, disk) on a miss, so they run in a worker thread.
Their answer is then held here for ``hold_s`` (1 s, far below their own TTL), so a busy worker asks them —
and pays for the thread hop — about once a second instead of twice per batch. Only successes are held;
errors are raised every time (a fixed config is picked up on the next batch).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
DEFAULT_HOLD_S = 1.0


class AsyncLookup(Generic[T]):
    def __init__(
        self,
        fetch: Callable[[str], T],
        *,
        hold_s: float = DEFAULT_HOLD_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._hold_s = hold_s
        self._clock = clock
        self._held: dict[str, tuple[T, float]] = {}

    async def get(self, key: str) -> T:
        now_s = self._clock()
        held = self._held.get(key)
        if held is not None and held[1] > now_s:
            return held[0]
        value = await asyncio.to_thread(self._fetch, key)
        self._held[key] = (value, now_s + self._hold_s)
        return value
