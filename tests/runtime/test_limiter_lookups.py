"""Limiter (FIFO, cancellation-safe, lowerable), per-target caps, and AsyncLookup (holds successes briefly,
never errors)."""

from __future__ import annotations

import asyncio

import pytest

from delivery.config.lookups import AsyncLookup
from delivery.gate.limiter import Limiter, TargetLimits, default_target_share


async def test_limiter_bounds_holders_and_serves_in_order() -> None:
    limiter = Limiter(2)
    order: list[int] = []
    peak = 0
    gate = asyncio.Event()

    async def job(i: int) -> None:
        nonlocal peak
        async with limiter:
            peak = max(peak, limiter.in_use)
            order.append(i)
            await gate.wait()

    tasks = [asyncio.create_task(job(i)) for i in range(5)]
    await asyncio.sleep(0)
    assert order == [0, 1]
    gate.set()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]
    assert peak == 2
    assert limiter.in_use == 0


async def test_a_lowered_limit_gives_no_slot_until_holders_are_back_under_it() -> None:
    limiter = Limiter(3)
    for _ in range(3):
        await limiter.acquire()
    limiter.set_limit(1)
    waiter = asyncio.create_task(limiter.acquire())
    limiter.release()
    limiter.release()
    await asyncio.sleep(0)
    assert not waiter.done()  # two releases only brought the holders down to the new limit
    limiter.release()
    await asyncio.wait_for(waiter, 1)
    assert limiter.in_use == 1
    limiter.set_limit(2)
    await asyncio.wait_for(limiter.acquire(), 1)
    assert limiter.in_use == 2


async def test_one_known_target_may_use_the_whole_pool_two_are_capped() -> None:
    limits = TargetLimits(share=3, total=4)
    only = limits.for_target("c", "a")
    assert only.limit == 4  # nobody else to protect
    limits.know("c", ["a", "b"])
    assert (only.limit, limits.for_target("c", "b").limit) == (3, 3)
    assert limits.for_target("other-client", "a") is not only  # keyed by client too
    assert [default_target_share(n) for n in (1, 2, 4, 10, 32)] == [1, 1, 3, 8, 24]


async def test_a_cancelled_waiter_does_not_leak_a_slot() -> None:
    limiter = Limiter(1)
    await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    limiter.release()
    assert limiter.in_use == 0
    await asyncio.wait_for(limiter.acquire(), 1)


async def test_lookup_holds_values_not_errors() -> None:
    now = [0.0]
    calls: list[str] = []
    answers: list[object] = [ValueError("store down"), "v1", "v2"]

    def fetch(key: str) -> str:
        calls.append(key)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    lookup = AsyncLookup(fetch, hold_s=1.0, clock=lambda: now[0])
    with pytest.raises(ValueError, match="store down"):
        await lookup.get("c")
    assert await lookup.get("c") == "v1"
    now[0] = 0.9
    assert await lookup.get("c") == "v1"
    now[0] = 1.1
    assert await lookup.get("c") == "v2"
    assert calls == ["c", "c", "c"]
