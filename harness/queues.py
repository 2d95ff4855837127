"""SQS as scenarios see it: publish, look into a queue without taking messages away, wait, purge.

Synchronous boto3 (scenario code is plain pytest). ``peek`` receives with a short visibility timeout and gives
every message straight back (visibility 0), so reading a DLQ never hides its messages from a later redrive.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3

from delivery.queue.batches import plan_batches
from delivery.queue.sqs_limits import MAX_MESSAGE_BYTES, message_bytes
from harness.environment import Environment
from harness.events import RUN_ID_ATTRIBUTE, message_id_of_body
from harness.waits import eventually


def aws_client(env: Environment, service: str) -> Any:
    """A boto3 client for the environment (explicit fake credentials when pointed at a local endpoint)."""
    kwargs: dict[str, Any] = {"region_name": env.region}
    endpoint_url = env.endpoint_for(service)
    if endpoint_url:
        kwargs.update(
            endpoint_url=endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    return boto3.client(service, **kwargs)


SCAN_VISIBILITY_S = 10


@dataclass(frozen=True, slots=True)
class QueueMessage:
    sqs_message_id: str
    body: str
    attributes: tuple[tuple[str, str], ...]  # string message attributes, sorted
    receive_count: int

    @property
    def message_id(self) -> str | None:
        """The correlation id (payload messageId) carried in the body."""
        return message_id_of_body(self.body)

    def attribute(self, name: str) -> str | None:
        return dict(self.attributes).get(name)

    def json(self) -> Any:
        return json.loads(self.body)


def _to_message(raw: dict[str, Any]) -> QueueMessage:
    attrs = raw.get("MessageAttributes") or {}
    pairs = tuple(sorted((k, str(v.get("StringValue", ""))) for k, v in attrs.items()))
    count = int((raw.get("Attributes") or {}).get("ApproximateReceiveCount", "1"))
    return QueueMessage(raw["MessageId"], raw["Body"], pairs, count)


@dataclass
class _Scan:
    sqs: Any
    queue_url: str
    rounds: int
    receipts: list[str] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)

    def messages(self) -> Iterator[tuple[dict[str, Any], QueueMessage]]:
        for _ in range(self.rounds):
            reply = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                VisibilityTimeout=SCAN_VISIBILITY_S, MessageAttributeNames=["All"],
                AttributeNames=["ApproximateReceiveCount"],
            )  # fmt: skip
            raw = reply.get("Messages", [])
            if not raw:
                return
            self.receipts.extend(m["ReceiptHandle"] for m in raw)
            yield from ((m, _to_message(m)) for m in raw)

    def delete(self, raw: dict[str, Any]) -> None:
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=raw["ReceiptHandle"])
        self.deleted.add(raw["ReceiptHandle"])


class Queues:
    """SQS operations on the environment's queues (one boto3 client; call ``close()``)."""

    def __init__(self, env: Environment, run_id: str) -> None:
        self.env = env
        self.run_id = run_id
        self.sqs = aws_client(env, "sqs")

    def close(self) -> None:
        self.sqs.close()

    def send(self, queue_url: str, bodies: Iterable[str]) -> list[str]:
        """Send bodies with the run-id attribute, in batches cut by count and bytes (the engine's batcher);
        returns SQS message ids in order. A body over SQS's size limit is a test mistake: ValueError."""
        attrs = {RUN_ID_ATTRIBUTE: {"DataType": "String", "StringValue": self.run_id}}
        items = list(bodies)
        plan = plan_batches([message_bytes(b, {RUN_ID_ATTRIBUTE: self.run_id}) for b in items])
        if plan.oversized:
            raise ValueError(f"bodies {list(plan.oversized)} exceed SQS's {MAX_MESSAGE_BYTES}-byte limit")
        ids: dict[int, str] = {}
        for batch in plan.batches:
            entries = [{"Id": str(i), "MessageBody": items[i], "MessageAttributes": attrs} for i in batch]
            reply = self.sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            if reply.get("Failed"):
                raise RuntimeError(f"SQS send to {queue_url} failed: {reply['Failed']}")
            ids.update((int(ok["Id"]), ok["MessageId"]) for ok in reply["Successful"])
        return [ids[i] for i in range(len(items))]

    @contextlib.contextmanager
    def _scan(self, queue_url: str, rounds: int) -> Iterator[_Scan]:
        """Receive every visible message once (each hidden while the scan runs, so each receive returns new
        ones); afterwards every message the caller did not delete is made visible again. If the scanner dies,
        messages reappear after ``SCAN_VISIBILITY_S`` anyway."""
        scan = _Scan(self.sqs, queue_url, rounds)
        try:
            yield scan
        finally:
            self._release([r for r in scan.receipts if r not in scan.deleted], queue_url)

    def peek(self, queue_url: str, *, rounds: int = 30) -> list[QueueMessage]:
        """What the queue currently holds (visible messages, up to ``rounds`` x 10), left in place."""
        with self._scan(queue_url, rounds) as scan:
            return list({m.sqs_message_id: m for _, m in scan.messages()}.values())

    def _release(self, receipts: list[str], queue_url: str) -> None:
        for start in range(0, len(receipts), 10):
            chunk = receipts[start : start + 10]
            entries = [
                {"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": 0} for i, r in enumerate(chunk)
            ]
            self.sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=entries)

    def find(self, queue_url: str, message_ids: Iterable[str]) -> list[QueueMessage]:
        wanted = set(message_ids)
        return [m for m in self.peek(queue_url) if m.message_id in wanted]

    def wait_for(
        self, queue_url: str, message_ids: Iterable[str], timeout_s: float, *, what: str = "queue messages"
    ) -> list[QueueMessage]:
        """Wait until every given correlation id is in the queue; returns those messages."""
        wanted = set(message_ids)

        def found() -> list[QueueMessage] | None:
            got = self.find(queue_url, wanted)
            return got if {m.message_id for m in got} >= wanted else None

        label = f"{what} {sorted(wanted)} in {queue_url}"
        result = eventually(found, timeout_s, what=label, max_interval_s=0.5)
        assert result is not None
        return result

    def wait_for_match(
        self, queue_url: str, predicate: Callable[[QueueMessage], bool], count: int, timeout_s: float
    ) -> list[QueueMessage]:
        """Wait until at least ``count`` messages in the queue satisfy ``predicate``."""

        def found() -> list[QueueMessage] | None:
            got = [m for m in self.peek(queue_url) if predicate(m)]
            return got if len(got) >= count else None

        result = eventually(
            found, timeout_s, what=f"{count} matching messages in {queue_url}", max_interval_s=0.5
        )
        assert result is not None
        return result

    def move(self, source_url: str, target_url: str, message_ids: Iterable[str]) -> int:
        """Send the bodies of the given messages to another queue, deleting each source copy only after its
        send succeeded (the reference redrive procedure, SPEC F); returns how many moved."""
        wanted, moved = set(message_ids), 0
        with self._scan(source_url, 30) as scan:
            for raw, message in scan.messages():
                if message.message_id in wanted:
                    self.sqs.send_message(QueueUrl=target_url, MessageBody=raw["Body"])
                    scan.delete(raw)
                    moved += 1
        return moved

    def depth(self, queue_url: str) -> tuple[int, int]:
        """(visible, in flight) as SQS reports them."""
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def purge(self, queue_url: str, keep: Callable[[QueueMessage], bool] | None = None) -> int:
        """Delete every visible message (or those ``keep`` rejects); safe on a shared queue with ``keep``."""
        deleted = 0
        with self._scan(queue_url, 100) as scan:
            for raw, message in scan.messages():
                if keep is None or not keep(message):
                    scan.delete(raw)
                    deleted += 1
        return deleted

    def purge_run(self, queue_url: str) -> int:
        """Delete only this run's messages (those whose body carries our run id)."""
        return self.purge(queue_url, keep=lambda m: self.run_id not in m.body)
