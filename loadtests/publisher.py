"""``SqsPublishClient``: synchronous boto3 publishing that reports every message as a Locust request event.

No asyncio and no Locust import here: the client gets the ``request`` event hook (anything with
``fire(**kwargs)``) and a boto3 SQS client. Under Locust, gevent's monkey-patching makes boto3's sockets
cooperative, so one client is shared by every user of a process.

Each *message* is one request event (a batch of 10 gives 10 events with the batch call's duration), so
Locust's publish/s is messages per second, directly comparable with ``e2e-delivery``/s.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from delivery.queue.batches import plan_batches
from delivery.queue.sqs_limits import MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES, message_bytes
from loadtests import names
from loadtests.message_ids import make_message_id
from loadtests.payloads import envelope_body
from loadtests.profiles import Lane

MAX_BATCH = MAX_BATCH_ENTRIES  # SQS SendMessageBatch limit (the batcher also cuts by bytes)


class RequestHook(Protocol):
    def fire(self, **kwargs: Any) -> None: ...


class PublishFailed(Exception):
    """SQS refused a message (the whole call or one batch entry)."""


@dataclass(frozen=True, slots=True)
class _Prepared:
    message_id: str
    body: str


def _too_long(body: str) -> str:
    return f"MessageTooLong: {message_bytes(body)} bytes, limit {MAX_MESSAGE_BYTES}"


def _epoch_ms() -> int:
    return time.time_ns() // 1_000_000


class SqsPublishClient:
    def __init__(
        self,
        sqs: Any,
        request_event: RequestHook,
        run_id: str,
        *,
        seq_offset: int = 0,
        clock_ms: Callable[[], int] = _epoch_ms,
    ) -> None:
        self.sqs = sqs
        self.request_event = request_event
        self.run_id = run_id
        self._seq = itertools.count(seq_offset + 1)
        self._clock_ms = clock_ms

    def _prepare(self, lane: Lane, publish_ms: int) -> _Prepared:
        message_id = make_message_id(lane.prefix, self.run_id, publish_ms, next(self._seq))
        body = envelope_body(
            message_id,
            publish_ms,
            subscription_id=lane.target.subscription_id,
            target_id=lane.target.target_id,
        )
        return _Prepared(message_id, body)

    def send_one(self, lane: Lane) -> None:
        prepared = self._prepare(lane, self._clock_ms())
        name = names.publish_name(batch=False, deliverable=lane.deliverable)
        started = time.perf_counter()
        error: Exception | None = None
        if message_bytes(prepared.body) > MAX_MESSAGE_BYTES:
            self._report(name, started, len(prepared.body), PublishFailed(_too_long(prepared.body)))
            return
        try:
            self.sqs.send_message(QueueUrl=lane.target.queue_url, MessageBody=prepared.body)
        except Exception as exc:  # any boto/network failure is a failed publish, reported to Locust
            error = PublishFailed(f"{type(exc).__name__}: {exc}")
        self._report(name, started, len(prepared.body), error)

    def send_batch(self, lane: Lane, count: int) -> None:
        """``count`` messages in SendMessageBatch calls cut by count and bytes (``delivery.queue.batches``);
        a message over SQS's size limit is reported failed without being sent, its neighbours go on."""
        if not 1 <= count <= MAX_BATCH:
            raise ValueError(f"batch size must be 1..{MAX_BATCH}, got {count}")
        publish_ms = self._clock_ms()
        batch = [self._prepare(lane, publish_ms) for _ in range(count)]
        name = names.publish_name(batch=True, deliverable=lane.deliverable)
        plan = plan_batches([message_bytes(p.body) for p in batch])
        started = time.perf_counter()
        for index in plan.oversized:
            self._report(name, started, len(batch[index].body), PublishFailed(_too_long(batch[index].body)))
        for indexes in plan.batches:
            self._send_planned(lane, name, [(i, batch[i]) for i in indexes])

    def _send_planned(self, lane: Lane, name: str, items: list[tuple[int, _Prepared]]) -> None:
        entries = [{"Id": str(i), "MessageBody": p.body} for i, p in items]
        started = time.perf_counter()
        failed: dict[int, Exception] = {}
        try:
            reply = self.sqs.send_message_batch(QueueUrl=lane.target.queue_url, Entries=entries)
            for entry in reply.get("Failed", []):
                failed[int(entry["Id"])] = PublishFailed(f"{entry.get('Code')}: {entry.get('Message')}")
        except Exception as exc:  # the whole call failed: every entry of it failed
            failed = {i: PublishFailed(f"{type(exc).__name__}: {exc}") for i, _ in items}
        for index, prepared in items:
            self._report(name, started, len(prepared.body), failed.get(index))

    def _report(self, name: str, started: float, length: int, error: Exception | None) -> None:
        self.request_event.fire(
            request_type=names.PUBLISH_TYPE,
            name=name,
            response_time=(time.perf_counter() - started) * 1000.0,
            response_length=length,
            exception=error,
            context={},
        )
