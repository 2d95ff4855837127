"""The long-running worker (STYLE 14): poll -> process -> settle, bounded concurrency, graceful drain.

One poll loop per consumer (client queue). Each received batch is processed in its own task, and each of its
target groups is settled as soon as it is decided (``GroupSettler``: a slow target never holds back another
target's acks). At most ``max_batches_in_flight`` batches per consumer have records waiting to start, and a
loop receives only when a slot is free (so nothing sits received-but-waiting while its visibility timeout
runs); a batch frees its slot once every record is decided or on the wire (bounded by CONCURRENCY_LIMIT), so
a slow target's outstanding requests do not stop the next receives; records of an overloaded target that
cannot get its in-flight slot within TARGET_QUEUE_WAIT_MS are deferred (``TARGET_BUSY``) rather than held,
so they cannot stall the receives either. While receives come back
full, a loop takes up to ``max_batch`` messages at once, so one gate admission per target covers several SQS
batches (keep ``max_batch`` small enough to finish well within the queue's visibility timeout). Settle
writes are shielded from cancellation.

Shutdown (``stop()``, wired to SIGTERM/SIGINT by the CLI): stop receiving (an in-progress SQS long poll
cannot be recalled, so whatever it returns is delivered too; pollable fakes with ``receive_cancel_safe`` are
cancelled at once), finish the in-flight batches (up to ``drain_s``, then cancel them; their settle writes
still complete), return.
Burst mode returns once a receive comes back empty and no batch is in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from delivery.gate.limiter import Once
from delivery.models import ReceivedMessage
from delivery.observe import output
from delivery.observe.logs import log
from delivery.queue.seam import Queue
from delivery.runtime.offload import BodyStore
from delivery.runtime.settle import GroupSettler, SettleReport
from delivery.stages import Decided, Progress
from delivery.verdicts import is_infrastructure_error

_log = logging.getLogger(__name__)


def freeze_startup_objects() -> None:
    """Move everything allocated so far (imported modules, configs, clients) out of the garbage collector's
    reach (``gc.freeze``): a long-running worker then pays only for the objects its batches create.
    Called once by the process entry points (CLI worker, Lambda cold start), never by library code."""
    gc.collect()
    gc.freeze()


IDLE_PAUSE_S = 0.05


class BatchProcessor(Protocol):
    async def process(
        self, messages: Sequence[ReceivedMessage], progress: Progress | None = None
    ) -> list[Decided]: ...


@dataclass(frozen=True)
class Consumer:
    """One queue to drain: where messages come from, where dead letters go, and what processes them."""

    name: str  # client id (logs)
    queue: Queue
    dlq: Queue
    processor: BatchProcessor
    bodies: BodyStore | None = None  # where dead-letter bodies too large for the DLQ go


@dataclass
class WorkerStats:
    batches: int = 0
    received: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # by disposition
    settle_errors: int = 0
    infrastructure: Counter[str] = field(default_factory=Counter)  # requeues a dependency caused, by code
    last_infrastructure_error: str = ""

    def add(self, decided: Sequence[Decided], report: SettleReport) -> None:
        self.batches += 1
        self.received += len(decided)
        self.outcomes.update(d.outcome.disposition.value for d in decided)
        self.settle_errors += len(report.errors)
        for d in decided:
            if is_infrastructure_error(d.outcome):
                self.infrastructure[d.outcome.reason] += 1
                self.last_infrastructure_error = d.outcome.error_message or d.outcome.reason


async def handle_batch(
    consumer: Consumer, messages: Sequence[ReceivedMessage], on_started: Callable[[], None] | None = None
) -> tuple[list[Decided], SettleReport]:
    """Process one received batch, settling each group as it is decided (settle writes that started survive
    cancellation of the caller). ``on_started``: no record of the batch is waiting to start any more."""
    settler = GroupSettler(consumer.queue, consumer.dlq, on_started, consumer.bodies)
    try:
        decided = await consumer.processor.process(messages, settler)
    except asyncio.CancelledError:
        await settler.settled()
        raise
    report = await settler.finish(decided)
    output.flush()  # the batch's closing lines and metrics
    return decided, report


class Worker:
    def __init__(
        self,
        consumers: Sequence[Consumer],
        *,
        wait_s: int = 20,
        batch_size: int = 10,
        max_batch: int = 10,
        max_batches_in_flight: int = 4,
        drain_s: float = 30.0,
        burst: bool = False,
    ) -> None:
        self.consumers = tuple(consumers)
        self.wait_s = wait_s
        self.batch_size = batch_size
        self.max_batch = max(max_batch, batch_size)
        self.max_batches_in_flight = max_batches_in_flight
        self.drain_s = drain_s
        self.burst = burst
        self.stats = WorkerStats()
        self._stopping = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()

    def stop(self) -> None:
        """Stop receiving; ``run`` returns once in-flight batches are settled (or ``drain_s`` passed)."""
        self._stopping.set()

    async def run(self) -> WorkerStats:
        """Poll, process and settle until ``stop()`` (or, in burst mode, an empty queue). Output lines are
        batched meanwhile (``output.buffered``) and all written before this returns."""
        with output.buffered():
            return await self._run()

    async def _run(self) -> WorkerStats:
        log(_log, "info", "Worker started", consumers=[c.name for c in self.consumers], burst=self.burst)
        output.flush()  # seen at once, not with the first batch
        loops = [asyncio.create_task(self._poll_loop(c)) for c in self.consumers]
        try:
            await asyncio.gather(*loops)
        finally:
            for task in loops:
                task.cancel()
            await self._drain()
        log(
            _log,
            "info",
            "Worker stopped",
            batches=self.stats.batches,
            received=self.stats.received,
            outcomes=dict(self.stats.outcomes),
        )
        return self.stats

    async def _poll_loop(self, consumer: Consumer) -> None:
        slots = asyncio.BoundedSemaphore(self.max_batches_in_flight)
        mine: set[asyncio.Task[None]] = set()
        while not self._stopping.is_set():
            await slots.acquire()
            messages = await self._receive(consumer)
            if messages:
                messages += await self._top_up(consumer, len(messages))
            if not messages:
                slots.release()
                if self.burst and not mine:  # drained: nothing visible, nothing of ours in flight
                    return
                await self._idle(mine)
                continue
            free_slot = Once(slots.release)
            task = asyncio.create_task(self._run_batch(consumer, messages, free_slot))
            for group in (mine, self._in_flight):
                group.add(task)
                task.add_done_callback(group.discard)
            task.add_done_callback(free_slot)

    async def _idle(self, mine: set[asyncio.Task[None]]) -> None:
        """After an empty receive, never spin: a long poll already waited; a short one (burst mode, or
        ``wait_s=0``) waits for one of our batches to finish (it may requeue messages) or a moment."""
        if self.wait_s > 0 and not self.burst:
            return
        if mine:
            timeout_s = max(self._wait_s(), IDLE_PAUSE_S)
            await asyncio.wait(mine, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        else:
            await self._pause(IDLE_PAUSE_S)

    async def _receive(self, consumer: Consumer) -> list[ReceivedMessage]:
        receive = asyncio.ensure_future(consumer.queue.receive(self.batch_size, self._wait_s()))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({receive, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not receive.done() and getattr(consumer.queue, "receive_cancel_safe", False):
            receive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receive
            return []
        try:  # an SQS long poll runs in a thread and cannot be recalled: take what it brings and deliver it
            return await receive
        except Exception as exc:
            log(_log, "error", "Receive failed", consumer=consumer.name, error=f"{type(exc).__name__}: {exc}")
            await self._pause(1.0)
            return []

    async def _top_up(self, consumer: Consumer, have: int) -> list[ReceivedMessage]:
        """While receives come back full, take more at once (no waiting) up to ``max_batch``: one gate
        admission, one config lookup and one settle then cover several SQS batches."""
        more: list[ReceivedMessage] = []
        last = have
        while last == self.batch_size and have + len(more) < self.max_batch and not self._stopping.is_set():
            try:
                got = await consumer.queue.receive(min(self.batch_size, self.max_batch - have - len(more)), 0)
            except Exception:  # the messages we hold still get processed; the next poll reports errors
                break
            more += got
            last = len(got)
        return more

    def _wait_s(self) -> int:
        return min(self.wait_s, 1) if self.burst else self.wait_s

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _run_batch(
        self, consumer: Consumer, messages: Sequence[ReceivedMessage], free_slot: Callable[[], None]
    ) -> None:
        try:
            decided, report = await handle_batch(consumer, messages, free_slot)
        except Exception:  # the processor promises values, not exceptions; keep the loop alive anyway
            _log.exception("Batch failed")
            return
        self.stats.add(decided, report)

    async def _drain(self) -> None:
        pending = set(self._in_flight)
        if not pending:
            return
        _done, still = await asyncio.wait(pending, timeout=self.drain_s)
        for task in still:
            task.cancel()
        if still:
            log(_log, "warn", "Drain timed out; cancelled in-flight batches", count=len(still))
            await asyncio.wait(still)
