"""``Limiter``: at most N holders at once, FIFO, O(1) per acquire/release.

``asyncio.Semaphore`` in Python 3.11 scans every waiter on each ``acquire`` (``locked()``), which costs
tens of microseconds per delivery when a few dozen deliveries queue for the CONCURRENCY_LIMIT. This one
keeps a deque of waiting futures; a cancelled waiter hands its slot on.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType


class Limiter:
    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self.limit = limit
        self._free = limit
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def in_use(self) -> int:
        return self.limit - self._free

    async def acquire(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # the slot was handed to us as we were cancelled
                self.release()
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes straight to the next waiter
                return
        self._free += 1

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
