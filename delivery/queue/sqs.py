"""Async SQS adapter, every call batched: over ``sqs_wire.AsyncSqsClient`` (signed requests on the event
loop, no threads: what the worker uses) or a boto3 client (blocking, called in a worker thread).

The rest of the engine sees only ``ReceivedMessage`` values and this small interface:

    receive(max_messages, wait_s) -> [ReceivedMessage]
    delete(messages) -> [failed message ids]
    change_visibility([(message, delay_s)]) -> [failed message ids]      (clamped to what SQS allows)
    send([OutgoingMessage]) -> [failed entry indexes]
    send_entries([OutgoingMessage]) -> [EntryOutcome]   (cut by count and bytes, see ``batches``)

SQS allows a message to stay invisible for 12 h in total, counted from its first receive on AWS and from
its send time on moto; ``max_visibility_s`` therefore counts from ``SentTimestamp`` (the earlier of the two)
and keeps a margin, which is safe on both.

A long poll (``wait_s > 0``) blocks its thread for up to 20 s, so it runs on a pool of its own
(``long_poll_executor``: one thread per concurrent poll, created on demand), never on asyncio's default pool
(``cpus + 4`` threads): a worker serving more queues than that would otherwise leave its settles, config
lookups and short receives queued behind idle polls for up to a poll's length.
"""

from __future__ import annotations

import asyncio
import functools
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from delivery.models import ReceivedMessage
from delivery.queue.batches import EntryOutcome, failed_indexes, plan_batches, too_long
from delivery.queue.sqs_limits import (
    ATTRIBUTE_TYPE,
    MAX_BATCH_ENTRIES,
    MAX_DELAY_S,
    message_bytes,
    sqs_json,
    sqs_text,
)

MAX_VISIBILITY_S = 43_200
VISIBILITY_MARGIN_S = 60
BATCH_LIMIT = MAX_BATCH_ENTRIES
_SYSTEM_ATTRIBUTES = ["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp", "SentTimestamp"]
LONG_POLL_THREADS = 1024  # an upper bound only: threads are started when no idle one is left
_long_polls: ThreadPoolExecutor | None = None
_long_polls_lock = threading.Lock()


def long_poll_executor() -> ThreadPoolExecutor:
    """The process-wide pool that runs blocking SQS long polls (one thread per poll in progress)."""
    global _long_polls
    with _long_polls_lock:
        if _long_polls is None:
            _long_polls = ThreadPoolExecutor(LONG_POLL_THREADS, thread_name_prefix="sqs-long-poll")
        return _long_polls


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    body: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    delay_s: int = 0


def _now_ms() -> int:
    return int(time.time() * 1000)


def max_visibility_s(sent_ms: int, now_ms: int) -> int:
    """The longest visibility change SQS accepts now for a message sent at ``sent_ms``."""
    age_s = math.ceil(max(0, now_ms - sent_ms) / 1000)
    return max(0, MAX_VISIBILITY_S - age_s - VISIBILITY_MARGIN_S)


def clamp_visibility_s(delay_s: float, sent_ms: int, now_ms: int) -> int:
    return max(0, min(int(delay_s), max_visibility_s(sent_ms, now_ms)))


def _attributes_from_sqs(message_attributes: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    out = []
    for name, value in message_attributes.items():
        text = value.get("StringValue", value.get("stringValue"))
        if text is not None:
            out.append((name, str(text)))
    return tuple(sorted(out))


def _received(
    message_id: str,
    receipt_handle: str,
    body: str,
    attrs: Mapping[str, Any],
    message_attrs: Mapping[str, Any],
) -> ReceivedMessage:
    sent_ms = int(attrs.get("SentTimestamp", 0))
    return ReceivedMessage(
        message_id=message_id,
        receipt_handle=receipt_handle,
        body=body,
        receive_count=int(attrs.get("ApproximateReceiveCount", 1)),
        first_receive_ms=int(attrs.get("ApproximateFirstReceiveTimestamp", sent_ms)),
        sent_ms=sent_ms,
        attributes=_attributes_from_sqs(message_attrs),
    )


def received_from_sqs(raw: Mapping[str, Any]) -> ReceivedMessage:
    """A message of a ReceiveMessage reply (PascalCase keys) as a ``ReceivedMessage``."""
    return _received(
        raw["MessageId"],
        raw["ReceiptHandle"],
        raw.get("Body", ""),
        raw.get("Attributes", {}),
        raw.get("MessageAttributes", {}),
    )


def received_from_lambda_record(record: Mapping[str, Any]) -> ReceivedMessage:
    """An SQS record of a Lambda event (camelCase keys) as a ``ReceivedMessage``."""
    return _received(
        record["messageId"],
        record["receiptHandle"],
        record.get("body", ""),
        record.get("attributes", {}),
        record.get("messageAttributes", {}),
    )


def _chunks(items: Sequence[Any], size: int = BATCH_LIMIT) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _sqs_attributes(attributes: Mapping[str, str]) -> dict[str, dict[str, str]]:
    return {
        k: {"DataType": ATTRIBUTE_TYPE, "StringValue": sqs_text(v)} for k, v in attributes.items() if v != ""
    }


def _entry(msg: OutgoingMessage) -> dict[str, Any]:
    """A SendMessageBatch entry (without ``Id``); characters SQS refuses are escaped (body) or replaced."""
    entry: dict[str, Any] = {"MessageBody": sqs_json(msg.body)}
    if msg.attributes:
        entry["MessageAttributes"] = _sqs_attributes(msg.attributes)
    if msg.delay_s:
        entry["DelaySeconds"] = max(0, min(int(msg.delay_s), MAX_DELAY_S))
    return entry


def _entry_bytes(entry: Mapping[str, Any]) -> int:
    attributes = entry.get("MessageAttributes", {})
    return message_bytes(entry["MessageBody"], [(k, v["StringValue"]) for k, v in attributes.items()])


class SqsQueue:
    """One SQS queue. ``client`` is an ``AsyncSqsClient`` or a boto3 SQS client (default:
    ``boto3.client("sqs")``, which honours ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_SQS`` natively)."""

    def __init__(self, queue_url: str, client: Any | None = None, *, clock_ms: Callable[[], int] = _now_ms):
        if client is None:
            import boto3

            client = boto3.client("sqs")
        self.queue_url = queue_url
        self._client = client
        self._clock_ms = clock_ms
        self._async = bool(getattr(client, "is_async", False))

    async def _call(self, method: str, **kwargs: Any) -> Any:
        """``client.<method>(**kwargs)``: awaited on the loop for an async client, else in a thread (a long
        poll on the pool of its own)."""
        call = getattr(self._client, method)
        if self._async:
            return await call(**kwargs)
        if kwargs.get("WaitTimeSeconds", 0) > 0:
            pool = long_poll_executor()
            return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(call, **kwargs))
        return await asyncio.to_thread(call, **kwargs)

    async def receive(
        self, max_messages: int = BATCH_LIMIT, wait_s: int = 20, visibility_timeout_s: int | None = None
    ) -> list[ReceivedMessage]:
        kwargs: dict[str, Any] = {
            "QueueUrl": self.queue_url,
            "MaxNumberOfMessages": max(1, min(max_messages, BATCH_LIMIT)),
            "WaitTimeSeconds": wait_s,
            "MessageSystemAttributeNames": _SYSTEM_ATTRIBUTES,
            "MessageAttributeNames": ["All"],
        }
        if visibility_timeout_s is not None:
            kwargs["VisibilityTimeout"] = visibility_timeout_s
        reply = await self._call("receive_message", **kwargs)
        return [received_from_sqs(raw) for raw in reply.get("Messages", [])]

    async def delete(self, messages: Sequence[ReceivedMessage]) -> list[str]:
        failed: list[str] = []
        for chunk in _chunks(list(messages)):
            entries = [{"Id": str(i), "ReceiptHandle": m.receipt_handle} for i, m in enumerate(chunk)]
            reply = await self._call("delete_message_batch", QueueUrl=self.queue_url, Entries=entries)
            failed += [chunk[int(f["Id"])].message_id for f in reply.get("Failed", [])]
        return failed

    async def change_visibility(self, items: Sequence[tuple[ReceivedMessage, float]]) -> list[str]:
        now_ms = self._clock_ms()
        failed: list[str] = []
        for chunk in _chunks(list(items)):
            entries = [
                {
                    "Id": str(i),
                    "ReceiptHandle": m.receipt_handle,
                    "VisibilityTimeout": clamp_visibility_s(delay_s, m.sent_ms, now_ms),
                }
                for i, (m, delay_s) in enumerate(chunk)
            ]
            reply = await self._call(
                "change_message_visibility_batch", QueueUrl=self.queue_url, Entries=entries
            )
            failed += [chunk[int(f["Id"])][0].message_id for f in reply.get("Failed", [])]
        return failed

    async def send(self, messages: Sequence[OutgoingMessage]) -> list[str]:
        return failed_indexes(await self.send_entries(messages))

    async def send_entries(self, messages: Sequence[OutgoingMessage]) -> list[EntryOutcome]:
        """Send in batches cut by count and bytes (``plan_batches``); one outcome per message, in order.

        A message over the size limit is not sent (``MessageTooLong``); a batch call that fails as a whole
        with an SQS error is retried entry by entry, so one bad message never fails its neighbours."""
        entries = [_entry(msg) for msg in messages]
        sizes = [_entry_bytes(entry) for entry in entries]
        plan = plan_batches(sizes)
        outcomes = {i: too_long(i, sizes[i]) for i in plan.oversized}
        for batch in plan.batches:
            for outcome in await self._send_batch(batch, entries):
                outcomes[outcome.index] = outcome
        return [outcomes[i] for i in range(len(entries))]

    async def _send_batch(
        self, batch: Sequence[int], entries: Sequence[dict[str, Any]]
    ) -> list[EntryOutcome]:
        from botocore.exceptions import ClientError

        try:
            reply = await self._call(
                "send_message_batch",
                QueueUrl=self.queue_url,
                Entries=[{**entries[i], "Id": str(i)} for i in batch],
            )
        except ClientError as exc:
            if len(batch) > 1:  # confine the fault: each entry alone
                return [o for i in batch for o in await self._send_batch([i], entries)]
            error = exc.response.get("Error", {})
            return [EntryOutcome(batch[0], False, str(error.get("Code", "")), str(error.get("Message", exc)))]
        except Exception as exc:  # network or client failure: the whole batch failed, nothing else
            return [EntryOutcome(i, False, type(exc).__name__, str(exc)) for i in batch]
        failed = {int(f["Id"]): f for f in reply.get("Failed", [])}
        return [
            EntryOutcome(i, False, str(failed[i].get("Code", "")), str(failed[i].get("Message", "")))
            if i in failed else EntryOutcome(i, True)
            for i in batch
        ]  # fmt: skip

    async def depth(self) -> tuple[int, int]:
        """(visible, in flight) approximate message counts."""
        reply = await self._call(
            "get_queue_attributes",
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )
        attrs = reply.get("Attributes", {})
        return int(attrs.get("ApproximateNumberOfMessages", 0)), int(
            attrs.get("ApproximateNumberOfMessagesNotVisible", 0)
        )
