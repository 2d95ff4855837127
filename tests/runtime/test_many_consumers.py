"""One worker serving many client queues (real SQS on moto, real HTTPS, real Redis gate): the blocking SQS
long polls of idle queues never hold up another queue's delivery, config lookup or settle.

Nine consumers is more than asyncio's default thread pool has threads on a small machine (``cpus + 4``), so
before long polls had threads of their own, a message published while the other queues sat in their long
polls waited for those polls to end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3
import botocore.config

from delivery.models import ReceivedMessage
from delivery.queue.seam import OutgoingMessage
from delivery.queue.sqs import SqsQueue
from delivery.runtime.worker import Worker
from tests.runtime.conftest import Stack, envelope, wait_until

IDLE_QUEUES = 8
LONG_POLL_S = 20  # SQS's longest: the widest window for the ordering condition


class WatchedQueue:
    """A real ``SqsQueue`` that counts its receives as they start and as they return (the ``Queue`` seam)."""

    def __init__(self, inner: SqsQueue) -> None:
        self.inner = inner
        self.started = 0
        self.returned = 0

    async def receive(self, max_messages: int = 10, wait_s: int = 20) -> list[ReceivedMessage]:
        self.started += 1
        try:
            return await self.inner.receive(max_messages, wait_s)
        finally:
            self.returned += 1

    async def delete(self, messages: Sequence[ReceivedMessage]) -> list[str]:
        return await self.inner.delete(messages)

    async def change_visibility(self, items: Sequence[tuple[ReceivedMessage, float]]) -> list[str]:
        return await self.inner.change_visibility(items)

    async def send(self, messages: Sequence[OutgoingMessage]) -> list[str]:
        return await self.inner.send(messages)


def _idle_queues(stack: Stack, sqs: Any) -> list[tuple[WatchedQueue, SqsQueue]]:
    out = []
    for i in range(IDLE_QUEUES):
        name = f"callbacks-test-{stack.client_id}-idle-{i}"
        queue_url = sqs.create_queue(QueueName=f"{name}-delivery-queue")["QueueUrl"]
        dlq_url = sqs.create_queue(QueueName=f"{name}-delivery-dlq-queue")["QueueUrl"]
        out.append((WatchedQueue(SqsQueue(queue_url, sqs)), SqsQueue(dlq_url, sqs)))
    return out


async def test_a_message_is_delivered_and_deleted_while_other_queues_sit_in_long_polls(stack: Stack) -> None:
    target = stack.add_target()
    sqs = boto3.client("sqs", config=botocore.config.Config(max_pool_connections=4 * IDLE_QUEUES))
    idle = _idle_queues(stack, sqs)
    resources = stack.resources()
    busy = WatchedQueue(stack.queue)
    consumers = [resources.consumer_for(stack.client_id, busy, stack.dlq)]
    consumers += [resources.consumer_for(stack.client_id, q, dlq) for q, dlq in idle]
    worker = Worker(consumers, wait_s=LONG_POLL_S)

    async def all_polling() -> bool:
        return all(q.started == 1 for q, _ in idle) and busy.started >= 1

    async def delivered_and_deleted() -> bool:  # ... and the busy queue is back in its long poll
        delivered = len(stack.receiver.requests(f"/{target}")) == 1
        return delivered and await stack.depth() == (0, 0) and busy.started == 2

    try:
        async with stack.running_worker(worker, resources):
            await wait_until(all_polling, timeout_s=LONG_POLL_S / 2)
            await stack.send(envelope(target, "m-busy"))
            # Condition on ordering: the delivery and its delete land before any idle long poll returns.
            await wait_until(delivered_and_deleted, timeout_s=LONG_POLL_S)
            assert [q.returned for q, _ in idle] == [0] * IDLE_QUEUES
            worker.stop()
            for i, queue in enumerate(
                [busy, *(q for q, _ in idle)]
            ):  # end the polls (they can't be recalled)
                await queue.send([OutgoingMessage(envelope(target, f"m-wake-{i}"))])
    finally:
        sqs.close()
    delivered = [s.message_id for s in stack.receiver.requests(f"/{target}")]
    assert delivered[0] == "m-busy"
    assert sorted(delivered[1:]) == sorted(f"m-wake-{i}" for i in range(IDLE_QUEUES + 1))  # nothing lost
