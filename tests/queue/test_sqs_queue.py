"""SqsQueue against moto's server mode: batching, attributes, visibility clamping, Lambda records.

Every queue test runs twice: over a boto3 client (threads) and over ``AsyncSqsClient`` (signed JSON
requests on the event loop), which must give the same results.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator

import aiohttp
import boto3
import pytest

from delivery.models import ReceivedMessage
from delivery.queue.sqs import (
    MAX_VISIBILITY_S,
    VISIBILITY_MARGIN_S,
    OutgoingMessage,
    SqsQueue,
    clamp_visibility_s,
    max_visibility_s,
    received_from_lambda_record,
)
from delivery.queue.sqs_limits import MAX_MESSAGE_BYTES
from delivery.queue.sqs_wire import AsyncSqsClient


@pytest.fixture(params=["boto3", "wire"])
async def queue(aws_env: dict[str, str], request: pytest.FixtureRequest) -> AsyncIterator[SqsQueue]:
    client = boto3.client("sqs")
    url = client.create_queue(QueueName=f"sqs-test-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    if request.param == "boto3":
        yield SqsQueue(url, client)
        client.close()
        return
    wire = AsyncSqsClient.from_environment(aiohttp.ClientSession())
    try:
        yield SqsQueue(url, wire)
    finally:
        await wire.close()
        client.close()


async def test_send_receive_delete_in_batches(queue: SqsQueue) -> None:
    failed = await queue.send([OutgoingMessage(f"m{i}", {"RUN": "r1"}) for i in range(23)])
    assert failed == []
    seen: list[str] = []
    for _ in range(10):
        got = await queue.receive(max_messages=10, wait_s=0)
        if not got:
            break
        assert all(m.receive_count == 1 and m.sent_ms > 0 and m.first_receive_ms > 0 for m in got)
        assert all(dict(m.attributes) == {"RUN": "r1"} for m in got)
        assert await queue.delete(got) == []
        seen += [m.body for m in got]
    assert sorted(seen) == sorted(f"m{i}" for i in range(23))
    assert await queue.depth() == (0, 0)


async def test_change_visibility_hides_then_returns(queue: SqsQueue) -> None:
    await queue.send([OutgoingMessage("x")])
    [msg] = await queue.receive(wait_s=1)
    assert await queue.change_visibility([(msg, 0)]) == []
    [again] = await queue.receive(wait_s=1)
    assert again.body == "x"
    assert again.receive_count == 2
    assert again.first_receive_ms == msg.first_receive_ms


async def test_huge_delay_is_clamped_not_rejected(queue: SqsQueue) -> None:
    await queue.send([OutgoingMessage("y")])
    [msg] = await queue.receive(wait_s=1)
    assert await queue.change_visibility([(msg, 10 * MAX_VISIBILITY_S)]) == []
    assert await queue.receive(wait_s=0) == []


def test_max_visibility_counts_from_send_time_with_margin() -> None:
    sent = 1_000_000
    assert max_visibility_s(sent, sent) == MAX_VISIBILITY_S - VISIBILITY_MARGIN_S
    assert max_visibility_s(sent, sent + 3_600_000) == MAX_VISIBILITY_S - 3600 - VISIBILITY_MARGIN_S
    assert max_visibility_s(sent, sent + 13 * 3_600_000) == 0
    assert clamp_visibility_s(30.9, sent, sent) == 30
    assert clamp_visibility_s(-5, sent, sent) == 0


def test_lambda_record_conversion() -> None:
    record = {
        "messageId": "id-1",
        "receiptHandle": "rh",
        "body": "{}",
        "attributes": {
            "ApproximateReceiveCount": "3",
            "SentTimestamp": "1700000000000",
            "ApproximateFirstReceiveTimestamp": "1700000000500",
        },
        "messageAttributes": {"ERROR_CODE": {"stringValue": "X", "dataType": "String"}},
    }
    msg = received_from_lambda_record(record)
    assert (msg.receive_count, msg.sent_ms, msg.first_receive_ms) == (3, 1_700_000_000_000, 1_700_000_000_500)
    assert msg.attributes == (("ERROR_CODE", "X"),)


async def _drain(queue: SqsQueue) -> list[ReceivedMessage]:
    seen: list[ReceivedMessage] = []
    while got := await queue.receive(max_messages=10, wait_s=0):
        seen += got
        assert await queue.delete(got) == []
    return seen


async def test_large_bodies_with_small_neighbours_are_cut_by_bytes_not_refused(queue: SqsQueue) -> None:
    big = [OutgoingMessage(f"{i}" + "p" * 250_000, {"KIND": "big"}) for i in range(5)]
    small = [OutgoingMessage(f"s{i}", {"KIND": "small"}) for i in range(5)]
    mixed = [m for pair in zip(big, small, strict=True) for m in pair]
    outcomes = await queue.send_entries(mixed)
    assert [o.ok for o in outcomes] == [True] * 10  # 10 entries, 1.25 MB: two calls, none refused
    seen = await _drain(queue)
    assert sorted(m.body for m in seen) == sorted(m.body for m in mixed)
    assert all(dict(m.attributes)["KIND"] in {"big", "small"} for m in seen)


async def test_an_oversized_message_fails_alone_with_its_own_outcome(queue: SqsQueue) -> None:
    # 256 KiB counted with the attributes: the body alone fits, with its attribute it does not
    body = "x" * (MAX_MESSAGE_BYTES - 10)
    messages = [OutgoingMessage("before"), OutgoingMessage(body, {"NOTE": "12345"}), OutgoingMessage("after")]
    outcomes = await queue.send_entries(messages)
    assert [(o.index, o.ok, o.code) for o in outcomes] == [
        (0, True, ""),
        (1, False, "MessageTooLong"),
        (2, True, ""),
    ]
    assert await queue.send(messages) == ["1"]
    assert sorted(m.body for m in await _drain(queue)) == ["after", "after", "before", "before"]


async def test_characters_sqs_refuses_are_escaped_in_bodies_and_replaced_in_attributes(
    queue: SqsQueue,
) -> None:
    body = json.dumps({"note": "a\ud800b\ufffe\uffff"}, ensure_ascii=False)
    assert await queue.send([OutgoingMessage(body, {"ERROR_MESSAGE": "bad \ud800 \uffff"})]) == []
    [got] = await _drain(queue)
    assert json.loads(got.body) == {"note": "a\ud800b\ufffe\uffff"}
    assert dict(got.attributes)["ERROR_MESSAGE"] == "bad \ufffd \ufffd"


async def test_batch_errors_are_per_entry(queue: SqsQueue) -> None:
    await queue.send([OutgoingMessage("good"), OutgoingMessage("also good")])
    got = await queue.receive(max_messages=10, wait_s=1)
    bogus = dataclasses.replace(got[0], message_id="bogus", receipt_handle="not-a-handle")
    assert await queue.delete([*got, bogus]) == ["bogus"]
    assert await queue.change_visibility([(bogus, 5)]) == ["bogus"]


async def test_redrive_policy_and_first_receive_timestamp(queue: SqsQueue, aws_env: dict[str, str]) -> None:
    client = boto3.client("sqs")
    dlq_url = client.create_queue(QueueName=f"sqs-test-dlq-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    client.set_queue_attributes(QueueUrl=queue.queue_url, Attributes={"RedrivePolicy": policy})
    await queue.send([OutgoingMessage("r", {"ERROR_CODE": "E1"})])
    [first] = await queue.receive(wait_s=1)
    assert await queue.change_visibility([(first, 0)]) == []
    [second] = await queue.receive(wait_s=1)
    assert (second.receive_count, second.first_receive_ms) == (2, first.first_receive_ms)
    assert await queue.change_visibility([(second, 0)]) == []
    assert await queue.receive(wait_s=0) == []  # the third receive moves it to the DLQ instead
    [dead] = await SqsQueue(dlq_url, client).receive(wait_s=1)
    assert (dead.body, dict(dead.attributes)) == ("r", {"ERROR_CODE": "E1"})
    client.close()


async def test_long_poll_returns_a_message_sent_while_it_waits(queue: SqsQueue) -> None:
    poll = asyncio.ensure_future(queue.receive(wait_s=5))
    await asyncio.sleep(0.2)  # let the poll start; correctness does not depend on it
    assert await queue.send([OutgoingMessage("late")]) == []
    [msg] = await poll
    assert msg.body == "late"
