"""Settle one batch of outcomes against SQS, the powertools way (STYLE 15).

DEAD_LETTER messages are sent to the DLQ (original body, P10 attributes) in batched sends cut by count and
bytes; then one batched delete removes the ACKs and the successfully dead-lettered messages; then one batched
visibility change sets the RETRY/DEFER delays. A message whose DLQ send failed is left alone: it reappears
after the queue's visibility timeout (never deleted without its DLQ copy). The caller shields ``settle``
from cancellation.

A DLQ copy always fits SQS's size limit with its attributes (``fit_dead_letter``): ERROR_MESSAGE is trimmed
first; a body too large even so is stored in the ``BodyStore`` beside the client configs and the copy
points to it (``PAYLOAD_TOO_LARGE``, ``BODY_LOCATION``); without a store, or if storing fails, the body is
cut and its size and SHA-256 kept.

Lambda mode (``delete_settled=False``): the event source mapping deletes every record not reported as a
failure, so nothing is deleted here; ``report.failed_ids`` are the records to report (RETRY/DEFER after their
visibility was changed, and DLQ sends that failed).

``GroupSettler`` (the worker's ``Progress``): settles each target group as soon as the pipeline reports it,
so a slow target never holds back the acks of the others. Groups reported while a settle is running are
settled together next, in one set of batched calls; settle writes run in their own task (a cancelled batch
still finishes the writes it started).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from delivery.dead_letter import fit_dead_letter, offloaded, too_large
from delivery.models import Disposition, ReceivedMessage
from delivery.observe import output
from delivery.observe.logs import log
from delivery.queue.seam import OutgoingMessage, Queue
from delivery.runtime.offload import BodyStore, body_key
from delivery.stages import Decided

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SettleReport:
    acked: int = 0
    dead_lettered: int = 0
    requeued: int = 0
    failed_ids: tuple[str, ...] = ()  # still on the queue, to be seen again (Lambda: batchItemFailures)
    errors: tuple[str, ...] = ()  # message ids whose settle write failed

    @classmethod
    def combine(cls, reports: Sequence[SettleReport]) -> SettleReport:
        return cls(
            acked=sum(r.acked for r in reports),
            dead_lettered=sum(r.dead_lettered for r in reports),
            requeued=sum(r.requeued for r in reports),
            failed_ids=tuple(i for r in reports for i in r.failed_ids),
            errors=tuple(i for r in reports for i in r.errors),
        )


def _by_disposition(decided: Sequence[Decided], *dispositions: Disposition) -> list[Decided]:
    return [d for d in decided if d.outcome.disposition in dispositions]


async def _dead_letter_message(decided: Decided, bodies: BodyStore | None) -> OutgoingMessage:
    """The DLQ copy, cut to SQS's size limit with its attributes kept (``fit_dead_letter``); a body too
    large even so is stored in ``bodies`` (when there is one) and pointed to (``offloaded``)."""
    body, attributes = decided.message.body, decided.outcome.dlq_attributes
    if bodies is not None and too_large(body, attributes):
        client_id = dict(attributes).get("CLIENT_ID", "unknown")
        location = await bodies.put(body_key(client_id, decided.message.message_id), body)
        if location is not None:
            body, attributes = offloaded(body, attributes, location)
    body, attributes = fit_dead_letter(body, attributes)
    if attributes != decided.outcome.dlq_attributes:
        code = dict(attributes).get("ERROR_CODE")
        log(
            _log,
            "warning",
            "Dead letter cut to fit SQS",
            messageId=decided.message.message_id,
            errorCode=code,
        )
    return OutgoingMessage(body, dict(attributes))


async def _dead_letter(
    items: list[Decided], dlq: Queue, bodies: BodyStore | None
) -> tuple[list[Decided], list[str]]:
    """Send to the DLQ; returns (sent, failed message ids)."""
    if not items:
        return [], []
    outgoing = [await _dead_letter_message(d, bodies) for d in items]
    try:
        failed_indexes = {int(i) for i in await dlq.send(outgoing)}
    except Exception as exc:
        log(_log, "error", "DLQ send failed", count=len(items), error=f"{type(exc).__name__}: {exc}")
        failed_indexes = set(range(len(items)))
    sent = [d for i, d in enumerate(items) if i not in failed_indexes]
    return sent, [items[i].message.message_id for i in sorted(failed_indexes)]


async def _delete(messages: list[ReceivedMessage], queue: Queue) -> list[str]:
    if not messages:
        return []
    try:
        return await queue.delete(messages)
    except Exception as exc:
        log(_log, "error", "Delete failed", count=len(messages), error=f"{type(exc).__name__}: {exc}")
        return [m.message_id for m in messages]


async def _requeue(items: list[Decided], queue: Queue) -> list[str]:
    if not items:
        return []
    pairs = [(d.message, float(d.outcome.delay_s or 0)) for d in items]
    try:
        return await queue.change_visibility(pairs)
    except Exception as exc:
        log(_log, "error", "Visibility change failed", count=len(items), error=f"{type(exc).__name__}: {exc}")
        return [d.message.message_id for d in items]


async def settle(
    decided: Sequence[Decided],
    queue: Queue,
    dlq: Queue,
    *,
    delete_settled: bool = True,
    bodies: BodyStore | None = None,
) -> SettleReport:
    output.flush()  # the lines describing these records are out before anything is settled
    acks = _by_disposition(decided, Disposition.ACK)
    retries = _by_disposition(decided, Disposition.RETRY, Disposition.DEFER)
    sent, dlq_failed = await _dead_letter(_by_disposition(decided, Disposition.DEAD_LETTER), dlq, bodies)
    delete_failed = await _delete([d.message for d in acks + sent], queue) if delete_settled else []
    requeue_failed = await _requeue(retries, queue)
    for message_id in dlq_failed + delete_failed + requeue_failed:
        log(_log, "error", "Failed to settle record", messageId=message_id)
    return SettleReport(
        acked=len(acks),
        dead_lettered=len(sent),
        requeued=len(retries),
        failed_ids=tuple(d.message.message_id for d in retries) + tuple(dlq_failed),
        errors=tuple(dlq_failed + delete_failed + requeue_failed),
    )


class GroupSettler:
    """Settles groups of decided records as they come (``Progress``); ``finish`` settles the rest."""

    def __init__(
        self,
        queue: Queue,
        dlq: Queue,
        on_started: Callable[[], None] | None = None,
        bodies: BodyStore | None = None,
    ) -> None:
        self._queue, self._dlq, self._bodies = queue, dlq, bodies
        self._on_started = on_started
        self._pending: list[Decided] = []
        self._reported: set[str] = set()
        self._reports: list[SettleReport] = []
        self._task: asyncio.Task[None] | None = None

    def decided(self, group: Sequence[Decided]) -> None:
        if not group:
            return
        self._pending.extend(group)
        self._reported.update(d.message.message_id for d in group)
        if self._task is None or self._task.done():  # joined by every group decided before it runs
            self._task = asyncio.ensure_future(self._run())

    def started(self) -> None:
        callback, self._on_started = self._on_started, None
        if callback is not None:
            callback()

    async def _run(self) -> None:
        while self._pending:
            items, self._pending = self._pending, []
            self._reports.append(await settle(items, self._queue, self._dlq, bodies=self._bodies))

    async def settled(self) -> None:
        """Wait for the writes already started (never cancels them, even if the caller is cancelled)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})

    async def finish(self, decided: Sequence[Decided]) -> SettleReport:
        """Settle what was not reported yet, wait for every write, and sum the reports."""
        self.decided([d for d in decided if d.message.message_id not in self._reported])
        self.started()
        await self.settled()
        return SettleReport.combine(self._reports)
