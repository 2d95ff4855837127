"""An overloaded target (more arrivals than its capped in-flight slots can clear) has its overflow deferred
(``TARGET_BUSY``), not held in memory: the other targets of the same client queue keep being received and
delivered. Real SQS on moto, real HTTPS, real Redis gate; the slow target answers only when the test says.

Unit part: ``Limiter.acquire_within`` / ``busy`` and ``TargetLimits.busy`` (bounded waits, no leaked slots).
"""

from __future__ import annotations

import asyncio

import pytest

from delivery.gate.limiter import Limiter, TargetLimits, default_target_share
from delivery.runtime.settings import Settings, SettingsError
from delivery.verdicts import TARGET_BUSY, target_busy
from tests.runtime.conftest import Stack, envelope, wait_until

CAP = default_target_share(10)  # the default CONCURRENCY_LIMIT (10) split between two known targets
SLOW, FAST = 60, 30  # two slow messages for every fast one: far more than the slow target's cap
WAIT_S = 25
HOLD_S = 110  # < the pytest timeout (120 s): a forgotten release still ends the test


async def test_an_overloaded_target_defers_its_overflow_and_never_stalls_another_target(stack: Stack) -> None:
    slow, fast = stack.add_target(), stack.add_target()
    release = stack.receiver.hold(f"/{slow}", limit_s=HOLD_S)
    stack.sqs.set_queue_attributes(
        QueueUrl=stack.queue.queue_url, Attributes={"VisibilityTimeout": str(2 * HOLD_S)}
    )
    for i in range(FAST):
        await stack.send(
            envelope(slow, f"m-slow-{2 * i}"),
            envelope(slow, f"m-slow-{2 * i + 1}"),
            envelope(fast, f"m-fast-{i}"),
        )

    async def only_slow_left() -> bool:
        return sum(await stack.depth()) == SLOW

    async def overflow_deferred() -> bool:
        return stack.sink.total("DeliveryTargetBusy") >= SLOW - CAP

    async with stack.running(stack.resources(REQUEST_TIMEOUT_MS=str(2 * HOLD_S * 1000))):
        try:  # release the slow target before the worker stops, even when a wait fails
            await stack.receiver.wait_for(FAST, f"/{fast}", timeout_s=WAIT_S)
            await wait_until(only_slow_left, timeout_s=WAIT_S)  # fast ones acked, no slow one lost
            await wait_until(overflow_deferred, timeout_s=WAIT_S)  # the overflow went back to the queue
            await stack.receiver.wait_started(FAST + CAP, timeout_s=WAIT_S)
            assert stack.receiver.started == FAST + CAP  # the slow target never held more than its cap
            assert stack.receiver.requests(f"/{slow}") == []  # ... and has answered nothing yet
            assert await stack.dlq_count() == 0
            assert not release.is_set()
            release.set()
            await stack.receiver.wait_for(SLOW, f"/{slow}", timeout_s=WAIT_S)
            await wait_until(lambda: _empty(stack), timeout_s=WAIT_S)
        finally:
            release.set()
    fast_ids = [s.message_id for s in stack.receiver.requests(f"/{fast}")]
    slow_ids = [s.message_id for s in stack.receiver.requests(f"/{slow}")]
    assert sorted(i or "" for i in fast_ids) == sorted(f"m-fast-{i}" for i in range(FAST))
    assert sorted(i or "" for i in slow_ids) == sorted(f"m-slow-{i}" for i in range(SLOW))  # exactly once
    assert await stack.dlq_count() == 0
    assert stack.sink.total("DeliveryRateLimited") == 0  # busy deferrals are metered as their own reason


async def _empty(stack: Stack) -> bool:
    return await stack.depth() == (0, 0)


async def test_a_bounded_wait_gives_up_without_taking_or_leaking_a_slot() -> None:
    limiter = Limiter(1)
    assert await limiter.acquire_within(0.01)
    assert not limiter.busy(60.0)  # all slots held, but nobody waits and nobody gave up yet
    assert not await limiter.acquire_within(0.01)
    assert (limiter.in_use, limiter.waiting) == (1, 0)
    assert limiter.busy(60.0)  # a waiter just gave up unserved
    assert not limiter.busy(0.0)  # ... but not within a zero bound
    waiter = asyncio.create_task(limiter.acquire_within(None))
    await asyncio.sleep(0)
    assert limiter.waiting == 1
    limiter.release()
    assert await waiter  # the slot passed straight on
    limiter.release()
    assert (limiter.in_use, limiter.waiting) == (0, 0)
    assert not limiter.busy(60.0)  # a free slot: never busy


async def test_waiters_alone_do_not_make_a_limiter_busy_and_cancelling_one_is_no_give_up() -> None:
    limiter = Limiter(2)
    for _ in range(2):
        await limiter.acquire()
    waiters = [asyncio.create_task(limiter.acquire()) for _ in range(3)]
    await asyncio.sleep(0)
    assert limiter.waiting == 3
    assert not limiter.busy(60.0)  # a queue longer than the cap may clear in milliseconds (fast target)
    waiters[0].cancel()
    await asyncio.gather(waiters[0], return_exceptions=True)
    assert limiter.waiting == 2
    assert not limiter.busy(60.0)  # a cancelled waiter (drain) did not give up on the target
    for _ in range(2):
        limiter.release()
    await asyncio.gather(*waiters[1:])
    for _ in range(2):
        limiter.release()
    assert (limiter.in_use, limiter.waiting) == (0, 0)


async def test_target_limits_bound_waits_only_once_targets_are_capped() -> None:
    limits = TargetLimits(1, 2, queue_wait_s=0.01)
    limiter = limits.for_target("c", "a")
    assert limits.wait_bound_s is None  # one known target: it holds up nobody, waits as long as it takes
    await limiter.acquire()
    await limiter.acquire()
    assert not await limiter.acquire_within(0.001)
    assert not limits.busy("c", "a")
    limits.know("c", ["b"])
    assert limits.wait_bound_s == 0.01
    assert not limits.busy("c", "b")  # never used: free
    assert not await limiter.acquire_within(limits.wait_bound_s)
    assert limits.busy("c", "a")
    with pytest.raises(ValueError, match="queue_wait_s"):
        TargetLimits(1, queue_wait_s=0)


def test_target_busy_defers_within_the_window_and_dead_letters_past_it() -> None:
    outcome = target_busy(first_receive_ms=0, now_ms=1000, max_retry_s=3600, wait_bound_ms=500, rand=0.0)
    assert (outcome.disposition.value, outcome.reason, outcome.delay_s) == ("defer", TARGET_BUSY, 1)
    late = target_busy(first_receive_ms=0, now_ms=3_599_500, max_retry_s=3600, wait_bound_ms=500, rand=0.0)
    assert late.disposition.value == "dead_letter"


def test_target_queue_wait_is_a_setting() -> None:
    assert Settings.from_env({}).target_queue_wait_s == 1.0
    assert Settings.from_env({"TARGET_QUEUE_WAIT_MS": "250"}).target_queue_wait_s == 0.25
    with pytest.raises(SettingsError, match="TARGET_QUEUE_WAIT_MS"):
        Settings.from_env({"TARGET_QUEUE_WAIT_MS": "0"})


async def test_target_queue_wait_reaches_the_worker_resources(stack: Stack) -> None:
    resources = stack.resources(TARGET_QUEUE_WAIT_MS="250")
    try:
        assert resources.target_limits is not None
        assert resources.target_limits.queue_wait_s == 0.25
    finally:
        await resources.close()


async def test_concurrency_limit_is_per_client(stack: Stack) -> None:
    """CONCURRENCY_LIMIT is per client (per client Lambda in the reference): clients served by one process
    never share one pool of deliveries in flight."""
    resources = stack.resources(CONCURRENCY_LIMIT="3")
    try:
        first, second = resources.in_flight_for("client-a"), resources.in_flight_for("client-b")
        assert first is resources.in_flight_for("client-a")
        assert first is not second
        assert first.limit == second.limit == 3
    finally:
        await resources.close()
