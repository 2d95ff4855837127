"""Target isolation (real SQS on moto, real HTTPS, real Redis gate): a target that does not answer never
holds up another target of the same client queue — neither its deliveries (per-target in-flight cap) nor
their acks and the next receives (each target group is settled as soon as it is decided).

The slow target stays unanswered for as long as the test says, however loaded the machine: its hold, the
request timeout and the queue's visibility timeout all outlast the test's (generous, bounded) waits, so a
slow run can time out a wait but never turn the slow target into an answered or timed-out one early."""

from __future__ import annotations

from tests.runtime.conftest import Stack, envelope, wait_until

SLOW, FAST = 20, 40
WAIT_S = 25  # per wait; four waits stay within HOLD_S
HOLD_S = 110  # < the pytest timeout (120 s): a forgotten release still ends the test


async def test_a_slow_target_does_not_delay_another_targets_deliveries_or_acks(stack: Stack) -> None:
    slow, fast = stack.add_target(), stack.add_target()
    release = stack.receiver.hold(f"/{slow}", limit_s=HOLD_S)  # answers only once the test says so
    stack.sqs.set_queue_attributes(
        QueueUrl=stack.queue.queue_url, Attributes={"VisibilityTimeout": str(2 * HOLD_S)}
    )
    bodies = [envelope(slow, f"m-slow-{i}") for i in range(SLOW)]
    fast_bodies = [envelope(fast, f"m-fast-{i}") for i in range(FAST)]
    for i in range(SLOW):  # one slow message among every two fast ones, in every received batch
        await stack.send(bodies[i], *fast_bodies[2 * i : 2 * i + 2])

    async def only_slow_left() -> bool:
        return sum(await stack.depth()) == SLOW

    try:
        async with stack.running(stack.resources(REQUEST_TIMEOUT_MS=str(2 * HOLD_S * 1000))):
            await stack.receiver.wait_for(FAST, f"/{fast}", timeout_s=WAIT_S)
            await wait_until(only_slow_left, timeout_s=WAIT_S)
            await stack.receiver.wait_started(FAST + 1, timeout_s=WAIT_S)  # the slow target is reached ...
            assert stack.receiver.requests(f"/{slow}") == []  # ... and has answered nothing yet
            assert not release.is_set()
            release.set()
            await stack.receiver.wait_for(SLOW, f"/{slow}", timeout_s=WAIT_S)
            await wait_until(lambda: _empty(stack), timeout_s=WAIT_S)
    finally:
        release.set()
    assert sorted(s.message_id or "" for s in stack.receiver.requests(f"/{fast}")) == sorted(
        f"m-fast-{i}" for i in range(FAST)
    )
    assert len({s.message_id for s in stack.receiver.requests(f"/{slow}")}) == SLOW
    assert await stack.dlq_count() == 0


async def _empty(stack: Stack) -> bool:
    return await stack.depth() == (0, 0)
