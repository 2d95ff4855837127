"""``Limiter``: at most N holders at once, FIFO, O(1) per acquire/release.

``asyncio.Semaphore`` in Python 3.11 scans every waiter on each ``acquire`` (``locked()``), which costs
tens of microseconds per delivery when a few dozen deliveries queue for the CONCURRENCY_LIMIT. This one
keeps a deque of waiting futures; a cancelled waiter hands its slot on.

``TargetLimits`` adds the per-target cap (TARGET_CONCURRENCY_LIMIT): a delivery first takes a slot of its
target, then one of the shared pool, so a target never queues more than its cap on the shared pool.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
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
        if self._free >= 0 and self._hand_over():  # the slot passes straight to the next waiter
            return
        self._free += 1  # (or, above a lowered limit, the slot is gone)

    def set_limit(self, limit: int) -> None:
        """Change the limit; holders above a lowered limit keep their slots until they release them."""
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self._free += limit - self.limit
        self.limit = limit
        while self._free > 0 and self._hand_over():
            self._free -= 1

    def _hand_over(self) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return True
        return False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def default_target_share(limit: int) -> int:
    """The default per-target cap: three quarters of ``limit`` (at least 1), so one slow target always
    leaves a quarter of the deliveries in flight (at least one) to the others."""
    return max(1, limit - max(1, limit // 4))


class TargetLimits:
    """One ``Limiter`` per (client, target): caps what one target holds of the shared CONCURRENCY_LIMIT, so a
    slow target cannot fill it (head-of-line blocking of the other targets).

    While the process knows a single target (from the configs of the clients it serves) there is nobody to
    protect and that target may use the whole pool (``total``); once it knows two or more, every target is
    capped at ``share`` (a limiter already holding more gives no slot until it is back under ``share``)."""

    def __init__(self, share: int, total: int | None = None) -> None:
        if share < 1:
            raise ValueError("limit must be >= 1")
        self.share = share
        self.total = max(share, total or share)
        self._known: set[tuple[str, str]] = set()
        self._limiters: dict[tuple[str, str], Limiter] = {}

    @property
    def limit(self) -> int:
        return self.total if len(self._known) <= 1 else self.share

    def know(self, client_id: str, target_ids: Iterable[str]) -> None:
        """Targets a client may deliver to (its config): from the second known target on, caps apply."""
        before = len(self._known)
        self._known.update((client_id, t) for t in target_ids)
        if before <= 1 < len(self._known):
            for limiter in self._limiters.values():
                limiter.set_limit(self.share)

    def for_target(self, client_id: str, target_id: str) -> Limiter:
        key = (client_id, target_id)
        limiter = self._limiters.get(key)
        if limiter is None:
            self.know(client_id, (target_id,))
            limiter = self._limiters[key] = Limiter(self.limit)
        return limiter


class Once:
    """Calls ``callback`` the first time it is called, never again (a slot freed exactly once); any arguments
    are ignored (usable as a task done-callback)."""

    __slots__ = ("_callback",)

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback: Callable[[], None] | None = callback

    def __call__(self, *_ignored: object) -> None:
        callback, self._callback = self._callback, None
        if callback is not None:
            callback()
