"""SqsPublishClient against moto's server mode: one request event per message, failures reported."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from loadtests import names
from loadtests.message_ids import forced_prefix, parse_message_id
from loadtests.profiles import Lane
from loadtests.publisher import PublishFailed, SqsPublishClient
from loadtests.targets import LoadTarget

RUN = "0badcafe"


class RecordingHook:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def fire(self, **kwargs: Any) -> None:
        self.events.append(kwargs)


@pytest.fixture
def sqs(aws_env: dict[str, str]) -> Iterator[Any]:
    client = boto3.client("sqs")
    yield client
    client.close()


@pytest.fixture
def queue_url(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName=f"lt-{uuid.uuid4().hex[:12]}")["QueueUrl"])


def lane(queue_url: str, prefix: str = "load", deliverable: bool = True) -> Lane:
    return Lane(LoadTarget("c1", queue_url, "t1", "s1"), prefix, deliverable, 1.0)


def drain(sqs: Any, queue_url: str, expected: int) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []
    for _ in range(20):
        if len(bodies) >= expected:
            break
        reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        bodies += [json.loads(m["Body"]) for m in reply.get("Messages", [])]
    return bodies


def test_single_and_batch_sends_report_each_message(sqs: Any, queue_url: str) -> None:
    hook = RecordingHook()
    client = SqsPublishClient(sqs, hook, RUN, seq_offset=2_000_000_000, clock_ms=lambda: 1_700_000_000_000)
    client.send_one(lane(queue_url))
    client.send_batch(lane(queue_url), 10)
    assert [e["name"] for e in hook.events] == [names.PUBLISH] + [names.PUBLISH_BATCH] * 10
    assert all(e["exception"] is None and e["request_type"] == names.PUBLISH_TYPE for e in hook.events)
    assert all(e["response_time"] >= 0 and e["response_length"] > 0 for e in hook.events)
    bodies = drain(sqs, queue_url, 11)
    ids = [parse_message_id(b["payload"]["data"][0]["attributes"]["messageId"]) for b in bodies]
    assert sorted(i.seq for i in ids if i) == list(range(2_000_000_001, 2_000_000_012))
    assert {(i.run_id, i.publish_ms) for i in ids if i} == {(RUN, 1_700_000_000_000)}
    assert {(b["targetId"], b["subscriptionId"]) for b in bodies} == {("t1", "s1")}


def test_forced_lanes_are_named_apart(sqs: Any, queue_url: str) -> None:
    hook = RecordingHook()
    client = SqsPublishClient(sqs, hook, RUN)
    client.send_batch(lane(queue_url, forced_prefix(500), deliverable=False), 2)
    client.send_one(lane(queue_url, forced_prefix(500), deliverable=False))
    assert [e["name"] for e in hook.events] == [names.PUBLISH_BATCH_FORCED] * 2 + [names.PUBLISH_FORCED]
    [body, *_] = drain(sqs, queue_url, 3)
    assert body["payload"]["data"][0]["attributes"]["messageId"].startswith("force-500-0badcafe-")


def test_a_refused_call_fails_every_message_it_carried(sqs: Any, queue_url: str) -> None:
    hook = RecordingHook()
    client = SqsPublishClient(sqs, hook, RUN)
    missing = queue_url.rsplit("/", 1)[0] + "/does-not-exist-" + uuid.uuid4().hex[:8]
    client.send_batch(lane(missing), 3)
    client.send_one(lane(missing))
    assert len(hook.events) == 4
    assert all(isinstance(e["exception"], PublishFailed) for e in hook.events)
    with pytest.raises(ValueError, match="batch size"):
        client.send_batch(lane(queue_url), 11)


class LargeBodies(SqsPublishClient):
    """Publishes ~250 KB bodies (and one over SQS's limit): only the body builder is replaced."""

    def __init__(self, *args: Any, pads: list[int]) -> None:
        super().__init__(*args)
        self._pads = iter(pads)

    def _prepare(self, lane: Lane, publish_ms: int) -> Any:
        prepared = super()._prepare(lane, publish_ms)
        body = prepared.body[:-1] + ',"pad":"' + "x" * next(self._pads) + '"}'
        return type(prepared)(prepared.message_id, body)


def test_large_batches_are_cut_by_bytes_and_an_oversized_message_fails_alone(
    sqs: Any, queue_url: str
) -> None:
    hook = RecordingHook()
    client = LargeBodies(sqs, hook, RUN, pads=[250_000, 250_000, 300_000, 250_000, 250_000, 250_000])
    client.send_batch(lane(queue_url), 6)  # 1.5 MB in all: more than one SendMessageBatch may carry
    assert len(hook.events) == 6
    failed = [e for e in hook.events if e["exception"] is not None]
    assert len(failed) == 1
    assert str(failed[0]["exception"]).startswith("MessageTooLong: ")
    bodies = drain(sqs, queue_url, 5)
    assert sorted(len(b["pad"]) for b in bodies) == [250_000] * 5
