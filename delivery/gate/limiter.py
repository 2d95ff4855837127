"""``Limiter``: at most N holders at once, FIFO, O(1) per acquire/release.

``asyncio.Semaphore`` in Python 3.11 scans every waiter on each ``acquire`` (``locked()``), which costs
tens of microseconds per delivery when a few dozen deliveries queue for the CONCURRENCY_LIMIT. This one
keeps a deque of waiting futures; a cancelled waiter hands its slot on.

``TargetLimits`` adds the per-target cap (TARGET_CONCURRENCY_LIMIT): a delivery first takes a slot of its
target, then one of the shared pool, so a target never queues more than its cap on the shared pool. Once caps
apply, a delivery waits at most TARGET_QUEUE_WAIT_MS for its target's slot (``acquire_within``), and a target
whose slots are all held while one of its waiters gave up within that bound is ``busy``: the pipeline defers
its records before admission instead of holding them in memory. (The signal is time-based on purpose: a
queue as long as the cap clears in milliseconds at a fast target, so a waiter count alone would defer the
bursts of healthy targets.)
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType


class Limiter:
    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self.limit = limit
        self._free = limit
        self._waiters: deque[asyncio.Future[bool]] = deque()  # done ones (expired, cancelled) are skipped
        self._waiting = 0  # live waiters
        self._gave_up_at_s = -math.inf  # loop time of the last waiter that stopped waiting unserved

    @property
    def in_use(self) -> int:
        return self.limit - self._free

    @property
    def waiting(self) -> int:
        return self._waiting

    async def acquire(self) -> None:
        await self.acquire_within(None)

    async def acquire_within(self, timeout_s: float | None) -> bool:
        """Take a slot, waiting at most ``timeout_s`` (``None``: as long as it takes); False if none came."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(waiter)
        self._waiting += 1
        timer = None if timeout_s is None else loop.call_later(timeout_s, self._expire, waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if not waiter.done() or waiter.cancelled():
                self._waiting -= 1
            elif waiter.result():  # the slot was handed to us as we were cancelled
                self.release()
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def busy(self, within_s: float) -> bool:
        """Every slot is held and a waiter gave up unserved within the last ``within_s`` seconds: a newcomer
        would not start within the bound either."""
        if self._free > 0:
            return False
        return asyncio.get_running_loop().time() - self._gave_up_at_s < within_s

    def _expire(self, waiter: asyncio.Future[bool]) -> None:
        if not waiter.done():
            waiter.set_result(False)
            self._gave_up()

    def _gave_up(self) -> None:
        self._waiting -= 1
        self._gave_up_at_s = asyncio.get_running_loop().time()

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
                waiter.set_result(True)
                self._waiting -= 1
                return True
        return False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


DEFAULT_TARGET_QUEUE_WAIT_S = 1.0


def default_target_share(limit: int) -> int:
    """The default per-target cap: three quarters of ``limit`` (at least 1), so one slow target always
    leaves a quarter of the deliveries in flight (at least one) to the others."""
    return max(1, limit - max(1, limit // 4))


class TargetLimits:
    """One ``Limiter`` per (client, target): caps what one target holds of the shared CONCURRENCY_LIMIT, so a
    slow target cannot fill it (head-of-line blocking of the other targets).

    While the process knows a single target (from the configs of the clients it serves) there is nobody to
    protect and that target may use the whole pool (``total``); once it knows two or more, every target is
    capped at ``share`` (a limiter already holding more gives no slot until it is back under ``share``), a
    delivery waits at most ``queue_wait_s`` for its target's slot (``wait_bound_s``) and an overloaded target
    is ``busy``. A single target keeps waiting as long as it takes: it holds up nobody else."""

    def __init__(
        self, share: int, total: int | None = None, *, queue_wait_s: float = DEFAULT_TARGET_QUEUE_WAIT_S
    ) -> None:
        if share < 1:
            raise ValueError("limit must be >= 1")
        if queue_wait_s <= 0:
            raise ValueError("queue_wait_s must be > 0")
        self.share = share
        self.total = max(share, total or share)
        self.queue_wait_s = queue_wait_s
        self._known: set[tuple[str, str]] = set()
        self._limiters: dict[tuple[str, str], Limiter] = {}

    @property
    def limit(self) -> int:
        return self.total if len(self._known) <= 1 else self.share

    @property
    def capped(self) -> bool:
        return len(self._known) > 1

    @property
    def wait_bound_s(self) -> float | None:
        """How long a delivery may wait for its target's slot (``None``: no bound while uncapped)."""
        return self.queue_wait_s if self.capped else None

    def busy(self, client_id: str, target_id: str) -> bool:
        """The target cannot start a newcomer within the bound (``Limiter.busy``); never while uncapped."""
        if not self.capped:
            return False
        limiter = self._limiters.get((client_id, target_id))
        return limiter is not None and limiter.busy(self.queue_wait_s)

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
