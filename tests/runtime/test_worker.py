"""Worker loop and settle against the in-memory queue (our own seam): burst, graceful drain, settle rules."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from delivery.models import Disposition, Outcome, ReceivedMessage
from delivery.queue.memory import InMemoryQueue
from delivery.queue.seam import OutgoingMessage
from delivery.runtime.settle import settle
from delivery.runtime.worker import Consumer, Worker
from delivery.stages import Decided, Progress

ACK = Outcome(Disposition.ACK, "delivered")


class Processor:
    """Decides by body: "ack", "retry", "dead"; optionally waits for ``release`` first."""

    def __init__(self, release: asyncio.Event | None = None) -> None:
        self.release = release
        self.started = asyncio.Event()
        self.seen: list[str] = []

    async def process(
        self, messages: Sequence[ReceivedMessage], progress: Progress | None = None
    ) -> list[Decided]:
        self.started.set()
        if self.release is not None:
            await self.release.wait()
        self.seen += [m.body for m in messages]
        return [Decided(m, _outcome(m.body)) for m in messages]


def _outcome(body: str) -> Outcome:
    if body.startswith("retry"):
        return Outcome(Disposition.RETRY, "HTTP_SERVER_ERROR", delay_s=60)
    if body.startswith("dead"):
        attrs = (("ERROR_CODE", "HTTP_CLIENT_ERROR"),)
        return Outcome(Disposition.DEAD_LETTER, "HTTP_CLIENT_ERROR", dlq_attributes=attrs)
    return ACK


async def test_burst_drains_and_settles_each_disposition() -> None:
    queue, dlq = InMemoryQueue(), InMemoryQueue()
    await queue.send(
        [OutgoingMessage(b) for b in ["ack-1", "retry-1", "dead-1", *[f"ack-{i}" for i in range(2, 25)]]]
    )
    processor = Processor()
    stats = await Worker([Consumer("c", queue, dlq, processor)], wait_s=0, burst=True).run()
    assert stats.received == 26
    assert stats.outcomes == {"ack": 24, "retry": 1, "dead_letter": 1}
    [kept] = queue.stored()
    assert kept.body == "retry-1"
    assert queue.depth() == (0, 1)  # hidden for its 60 s delay
    [dead] = dlq.stored()
    assert (dead.body, dict(dead.attributes)) == ("dead-1", {"ERROR_CODE": "HTTP_CLIENT_ERROR"})


async def test_stop_finishes_in_flight_batches_before_returning() -> None:
    queue, dlq = InMemoryQueue(), InMemoryQueue()
    await queue.send([OutgoingMessage("ack-a"), OutgoingMessage("ack-b")])
    release = asyncio.Event()
    processor = Processor(release)
    worker = Worker([Consumer("c", queue, dlq, processor)], wait_s=20, drain_s=10)
    run = asyncio.create_task(worker.run())
    await asyncio.wait_for(processor.started.wait(), 5)
    worker.stop()
    await asyncio.sleep(0)
    assert not run.done()  # still waiting for the in-flight batch
    release.set()
    stats = await asyncio.wait_for(run, 5)
    assert stats.outcomes == {"ack": 2}
    assert queue.stored() == []


async def test_drain_timeout_cancels_and_loses_nothing() -> None:
    queue, dlq = InMemoryQueue(visibility_timeout_s=30), InMemoryQueue()
    await queue.send_body("ack-stuck")
    processor = Processor(asyncio.Event())  # never released
    worker = Worker([Consumer("c", queue, dlq, processor)], wait_s=20, drain_s=0.05)
    run = asyncio.create_task(worker.run())
    await asyncio.wait_for(processor.started.wait(), 5)
    worker.stop()
    stats = await asyncio.wait_for(run, 5)
    assert stats.batches == 0
    assert [m.body for m in queue.stored()] == ["ack-stuck"]  # back after its visibility timeout


async def test_stop_interrupts_an_idle_long_poll() -> None:
    worker = Worker([Consumer("c", InMemoryQueue(), InMemoryQueue(), Processor())], wait_s=20)
    run = asyncio.create_task(worker.run())
    await asyncio.sleep(0.01)
    worker.stop()
    assert (await asyncio.wait_for(run, 2)).batches == 0


class FailingDlq(InMemoryQueue):
    async def send(self, messages: Sequence[OutgoingMessage]) -> list[str]:
        return [str(i) for i in range(len(messages))]


async def test_a_failed_dlq_send_never_deletes_the_message() -> None:
    queue = InMemoryQueue()
    await queue.send([OutgoingMessage("dead-1"), OutgoingMessage("ack-1")])
    batch = await queue.receive(10, wait_s=0)
    decided = [Decided(m, _outcome(m.body)) for m in batch]
    report = await settle(decided, queue, FailingDlq())
    assert [m.body for m in queue.stored()] == ["dead-1"]
    assert report.acked == 1
    assert report.dead_lettered == 0
    assert report.failed_ids == (batch[0].message_id,)


async def test_lambda_mode_deletes_nothing_and_reports_requeued() -> None:
    queue, dlq = InMemoryQueue(), InMemoryQueue()
    await queue.send([OutgoingMessage("ack-1"), OutgoingMessage("retry-1"), OutgoingMessage("dead-1")])
    batch = await queue.receive(10, wait_s=0)
    report = await settle([Decided(m, _outcome(m.body)) for m in batch], queue, dlq, delete_settled=False)
    assert report.failed_ids == (batch[1].message_id,)
    assert len(queue.stored()) == 3  # the event source mapping deletes the unreported ones
    assert [m.body for m in dlq.stored()] == ["dead-1"]
