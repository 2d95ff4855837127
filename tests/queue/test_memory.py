"""InMemoryQueue behaves like SQS where the runtime relies on it."""

from __future__ import annotations

import asyncio

from delivery.queue.memory import InMemoryQueue
from delivery.queue.seam import OutgoingMessage


class FakeClock:
    def __init__(self) -> None:
        self.now_ms = 1_000_000

    def __call__(self) -> int:
        return self.now_ms


async def test_receive_hides_and_counts_receives() -> None:
    clock = FakeClock()
    queue = InMemoryQueue(visibility_timeout_s=30, clock_ms=clock)
    await queue.send([OutgoingMessage("a", {"K": "v"})])
    [first] = await queue.receive(10, wait_s=0)
    assert (first.body, first.receive_count, first.attributes) == ("a", 1, (("K", "v"),))
    assert await queue.receive(10, wait_s=0) == []
    clock.now_ms += 30_000
    [again] = await queue.receive(10, wait_s=0)
    assert again.receive_count == 2
    assert again.first_receive_ms == first.first_receive_ms
    assert again.receipt_handle != first.receipt_handle


async def test_stale_receipt_handle_fails_and_current_one_deletes() -> None:
    clock = FakeClock()
    queue = InMemoryQueue(visibility_timeout_s=1, clock_ms=clock)
    await queue.send_body("a")
    [old] = await queue.receive(wait_s=0)
    clock.now_ms += 1_000
    [new] = await queue.receive(wait_s=0)
    assert await queue.delete([old]) == [old.message_id]
    assert await queue.change_visibility([(old, 5)]) == [old.message_id]
    assert await queue.delete([new]) == []
    assert queue.stored() == []


async def test_change_visibility_delays_the_next_receive() -> None:
    clock = FakeClock()
    queue = InMemoryQueue(clock_ms=clock)
    await queue.send_body("a")
    [msg] = await queue.receive(wait_s=0)
    await queue.change_visibility([(msg, 7)])
    clock.now_ms += 6_999
    assert await queue.receive(wait_s=0) == []
    clock.now_ms += 1
    assert [m.body for m in await queue.receive(wait_s=0)] == ["a"]


async def test_long_poll_returns_as_soon_as_a_message_arrives() -> None:
    queue = InMemoryQueue()
    waiter = asyncio.create_task(queue.receive(10, wait_s=10))
    await asyncio.sleep(0)
    await queue.send_body("late")
    got = await asyncio.wait_for(waiter, timeout=2)
    assert [m.body for m in got] == ["late"]


async def test_receive_returns_at_most_ten_and_depth_counts() -> None:
    queue = InMemoryQueue()
    await queue.send([OutgoingMessage(str(i)) for i in range(12)])
    got = await queue.receive(50, wait_s=0)
    assert len(got) == 10
    assert queue.depth() == (2, 10)
