"""Limiter (FIFO, cancellation-safe) and AsyncLookup (holds successes briefly, never errors)."""

from __future__ import annotations

import asyncio

import pytest

from delivery.limiter import Limiter
from delivery.lookups import AsyncLookup


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
