"""The router as a long-running worker on the inbound queue (long polling, graceful stop, burst mode).

Per batch: ``route_events`` on the message bodies, then settle the powertools way — one
DeleteMessageBatch for every record that is done (routed, filtered out, or dead-lettered by the router) and
one ChangeMessageVisibilityBatch for the RETRY records, hidden for ``retry_delay_s(receive_count)``.

``concurrency`` receive loops run side by side (SQS round trips dominate, not CPU).
``stop()`` (wired to SIGTERM/SIGINT by the CLI) ends the loops after the current batch; a receive already
waiting is awaited (at most ``wait_s``) and whatever it returns is made visible again at once. In burst mode
``run()`` returns as soon as a receive comes back empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from delivery.models import ReceivedMessage
from delivery.observe.logs import log
from delivery.queue.seam import Queue
from delivery.router.plan import Fate, RouteReport
from delivery.router.routing import RouterDeps, route_events

logger = logging.getLogger("delivery.router")
RETRY_BASE_S = 10
RETRY_MAX_S = 900
ERROR_PAUSE_S = 1.0


def retry_delay_s(receive_count: int) -> int:
    """Visibility delay before a RETRY record is seen again: 10 s, 20 s, 40 s … capped at 15 min."""
    return int(min(RETRY_BASE_S * 2 ** max(0, receive_count - 1), RETRY_MAX_S))


@dataclass
class WorkerStats:
    batches: int = 0
    received: int = 0
    envelopes_sent: int = 0
    fates: dict[str, int] = field(default_factory=lambda: {fate.value: 0 for fate in Fate})

    def add(self, report: RouteReport) -> None:
        self.batches += 1
        self.received += len(report.records)
        self.envelopes_sent += report.envelopes_sent
        for fate, count in report.counts().items():
            self.fates[fate] += count

    def as_dict(self) -> dict[str, object]:
        return {"batches": self.batches, "received": self.received, "envelopesSent": self.envelopes_sent,
                **self.fates}  # fmt: skip


class RouterWorker:
    def __init__(
        self,
        inbound: Queue,
        deps: RouterDeps,
        *,
        wait_s: int = 20,
        max_messages: int = 10,
        concurrency: int = 1,
    ):
        self.inbound = inbound
        self.deps = deps
        self.wait_s = wait_s
        self.max_messages = max_messages
        self.concurrency = max(1, concurrency)
        self.stats = WorkerStats()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def _receive(self) -> list[ReceivedMessage]:
        receiving = asyncio.ensure_future(self.inbound.receive(self.max_messages, self.wait_s))
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        messages = await receiving
        if self._stopping.is_set() and messages:
            await self.inbound.change_visibility([(m, 0) for m in messages])
            return []
        return messages

    async def process(self, messages: list[ReceivedMessage]) -> RouteReport:
        report = await route_events([m.body for m in messages], self.deps)
        retry = set(report.retry_indexes)
        done = [m for i, m in enumerate(messages) if i not in retry]
        later = [(m, float(retry_delay_s(m.receive_count))) for i, m in enumerate(messages) if i in retry]
        await asyncio.shield(self._settle(done, later))
        self.stats.add(report)
        return report

    async def _settle(self, done: list[ReceivedMessage], later: list[tuple[ReceivedMessage, float]]) -> None:
        failed = (await self.inbound.delete(done)) if done else []
        failed += (await self.inbound.change_visibility(later)) if later else []
        if failed:
            log(logger, "warn", "Inbound settle failed", messageIds=failed)

    async def _pause(self, seconds: float) -> None:
        """Back off after an error, waking early on ``stop()``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _consume(self, burst: bool) -> None:
        """One receive -> route -> settle loop."""
        while not self._stopping.is_set():
            try:
                messages = await self._receive()
                if messages:
                    await self.process(messages)
            except Exception:  # keep consuming; unsettled messages reappear after their visibility timeout
                logger.exception("router batch failed")
                messages = []
                if not burst:
                    await self._pause(ERROR_PAUSE_S)
            if burst and not messages:
                return

    async def run(self, *, burst: bool = False) -> WorkerStats:
        """Run ``concurrency`` loops until ``stop()`` (or, with ``burst``, until the queue is empty)."""
        await asyncio.gather(*(self._consume(burst) for _ in range(self.concurrency)))
        log(logger, "info", "Router worker stopped", **self.stats.as_dict())
        return self.stats
